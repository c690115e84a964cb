"""The one place signals are emitted from Python code in the UI.

PySide6 6.12.0 dropped a reference to ``True`` on every ``SignalInstance.emit()`` and aborted the
process after a few hundred emits ("Fatal Python error: bool_dealloc"). pyproject.toml pins PySide6
below 6.12 and tests/ui/test_qt_emit.py fails if an installed PySide6 has the fault again; keeping every
emit behind this function leaves one place to change if a later PySide6 needs a workaround.
"""

from __future__ import annotations

from PySide6.QtCore import SignalInstance

__all__ = ["emit"]


def emit(signal: SignalInstance, *args: object) -> None:
    """``signal.emit(*args)``."""
    signal.emit(*args)
