"""Benchmark of scan latency: serial (real pty at 9600 baud) and keyboard wedge (offscreen Qt).

Run: ``QT_QPA_PLATFORM=offscreen .venv/bin/python -m tests.bench.bench_scanners``.
"""

from __future__ import annotations

import os
import pty
import statistics
import sys
import threading
import time
import tty

from drivers import open_scanner
from drivers.base import ScanEvent

RUNS = 40


def p95(xs: list[float]) -> float:
    return sorted(xs)[max(0, int(len(xs) * 0.95) - 1)]


def serial_latency() -> list[float]:
    master, slave = pty.openpty()
    tty.setraw(slave)
    sc = open_scanner(f"serial://{os.ttyname(slave)}?suffix=cr")
    got: list[ScanEvent] = []
    ev = threading.Event()

    def on_scan(e: ScanEvent) -> None:
        got.append(e)
        ev.set()

    sc.start(on_scan)
    assert sc.wait_open(3)  # type: ignore[attr-defined]
    out = []
    try:
        for _ in range(RUNS):
            ev.clear()
            for b in b"4006381333931":
                os.write(master, bytes([b]))
                time.sleep(0.00104)
            t0 = time.monotonic()
            os.write(master, b"\r")
            assert ev.wait(2)
            out.append((got[-1].at - t0) * 1000)
            time.sleep(0.02)
    finally:
        sc.stop()
        os.close(master)
        os.close(slave)
    return out


def wedge_latency(app: object, terminator: bool) -> list[float]:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtCore import QCoreApplication, QEvent, Qt
    from PySide6.QtGui import QKeyEvent
    from PySide6.QtTest import QTest
    from PySide6.QtWidgets import QLineEdit

    from drivers.wedge import WedgeScanner
    from drivers.wedge_qt import install_wedge

    edit = QLineEdit()
    edit.show()
    edit.setFocus()
    QTest.qWait(10)
    sc = open_scanner("wedge://")
    assert isinstance(sc, WedgeScanner)
    got: list[float] = []
    sc.start(lambda e: got.append(time.monotonic()))
    filt = install_wedge(app, sc)
    out = []
    try:
        for _ in range(RUNS):
            n = len(got)
            for ch in "4006381333931":
                QCoreApplication.sendEvent(edit, QKeyEvent(QEvent.Type.KeyPress, ord(ch), Qt.KeyboardModifier.NoModifier, ch))
                QTest.qWait(4)
            t0 = time.monotonic()
            if terminator:
                QCoreApplication.sendEvent(edit, QKeyEvent(QEvent.Type.KeyPress, Qt.Key.Key_Return, Qt.KeyboardModifier.NoModifier, "\r"))
            deadline = time.monotonic() + 1
            while len(got) == n and time.monotonic() < deadline:
                # WORKAROUND: a Python loop over app.processEvents() crashes PySide6 6.12 after some
                # thousand calls ("deallocating None"); QTest.qWait loops in C++.
                QTest.qWait(1)
            assert len(got) > n and edit.text() == ""
            out.append((got[-1] - t0) * 1000)
    finally:
        filt.uninstall()
        sc.stop()
    return out


def main() -> int:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance() or QApplication([])
    rows = [
        ("serial: event after terminator (ms)", "<= 5", serial_latency()),
        ("wedge: event after Enter (ms)", "<= 5", wedge_latency(app, True)),
        ("wedge: event after last key, no terminator (ms)", "<= 110", wedge_latency(app, False)),
    ]
    print("| figure | target | median | p95 |\n|---|---|---|---|")
    for name, target, xs in rows:
        print(f"| {name} | {target} | {statistics.median(xs):.2f} | {p95(xs):.2f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
