"""Regression: PySide6 6.12.0 dropped a reference to True on every Signal.emit() and aborted the
process after a few hundred emits ("Fatal Python error: bool_dealloc"). pyproject.toml pins
PySide6 below 6.12; this test fails if an installed PySide6 has the fault again."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap


def test_thousands_of_signal_emits_keep_the_process_alive() -> None:
    script = textwrap.dedent("""
        import sys
        from PySide6.QtCore import QCoreApplication, QObject, Signal

        class Source(QObject):
            changed = Signal(int)

        app = QCoreApplication([])
        source = Source()
        seen = []
        source.changed.connect(seen.append)
        before = sys.getrefcount(True)
        for i in range(5000):
            source.changed.emit(i)
        after = sys.getrefcount(True)
        print(len(seen), after - before)
    """)
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=60,
                          check=False)
    assert proc.returncode == 0, proc.stderr[-2000:]
    count, drift = proc.stdout.split()
    assert int(count) == 5000
    assert int(drift) >= 0, "emit() leaks references to True"
