"""Workarounds for the installed PySide6; every signal emitted from Python goes through ``emit``.

WORKAROUND for PySide6 6.12.0: ``SignalInstance.emit()`` returns ``True`` without taking a reference,
so each emit from Python drops one reference to ``True``; after a few hundred emits the interpreter
aborts with "Fatal Python error: bool_dealloc". ``emit`` detects the fault once and gives the
reference back (an extra reference to a bool is harmless; a missing one is fatal).
"""

from __future__ import annotations

import ctypes
import sys
import threading
from typing import Any

from PySide6.QtCore import QObject, Signal

__all__ = ["emit", "emit_leaks_bool"]

_incref = ctypes.pythonapi.Py_IncRef
_incref.argtypes = [ctypes.py_object]
_incref.restype = None
_state: dict[str, bool] = {}
_lock = threading.Lock()


class _Probe(QObject):
    ping = Signal()


def emit_leaks_bool() -> bool:
    """True when this PySide6 drops a reference to the bool emit() returns (measured once)."""
    with _lock:
        if "leaks" not in _state:
            probe = _Probe()
            before = sys.getrefcount(True)
            for _ in range(8):
                result = probe.ping.emit()  # type: ignore[func-returns-value]
                del result
            after = sys.getrefcount(True)
            leaks = after < before
            for _ in range(8 if leaks else 0):
                _incref(True)
            _state["leaks"] = leaks
        return _state["leaks"]


def emit(signal: Any, *args: Any) -> None:
    """``signal.emit(*args)``, repairing the reference count of the returned bool where needed."""
    result: object = signal.emit(*args)
    if isinstance(result, bool) and emit_leaks_bool():
        _incref(result)
