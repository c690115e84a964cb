"""Keyboard-wedge filter with real offscreen widgets and realistic key timings."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QInputMethodEvent
from PySide6.QtWidgets import QApplication, QLineEdit, QVBoxLayout, QWidget

from drivers import open_scanner
from drivers.base import ScanEvent, ScannerState
from drivers.wedge import WedgeScanner
from drivers.wedge_qt import install_wedge


class Rig:
    def __init__(self, qtbot, url: str = "wedge://") -> None:
        self.qtbot = qtbot
        self.window = QWidget()
        lay = QVBoxLayout(self.window)
        self.edit = QLineEdit()
        self.other = QLineEdit()
        lay.addWidget(self.edit)
        lay.addWidget(self.other)
        qtbot.addWidget(self.window)
        self.window.show()
        qtbot.waitExposed(self.window)
        self.edit.setFocus()
        qtbot.waitUntil(lambda: QApplication.focusWidget() is self.edit)
        self.returns = 0
        self.edit.returnPressed.connect(self._ret)
        sc = open_scanner(url)
        assert isinstance(sc, WedgeScanner)
        self.scanner = sc
        self.scans: list[ScanEvent] = []
        self.states: list[ScannerState] = []
        sc.start(self.scans.append, lambda s, m: self.states.append(s))
        app = QApplication.instance()
        assert app is not None
        self.filter = install_wedge(app, sc)

    def _ret(self) -> None:
        self.returns += 1

    def type(self, text: str, gap_ms: int, widget: QWidget | None = None) -> None:
        w = widget or self.edit
        for ch in text:
            if ch == "\r":
                self.qtbot.keyClick(w, Qt.Key.Key_Return)
            elif ch == "\t":
                self.qtbot.keyClick(w, Qt.Key.Key_Tab)
            else:
                self.qtbot.keyClicks(w, ch)
            self.qtbot.wait(gap_ms)

    def close(self) -> None:
        self.filter.uninstall()
        self.scanner.stop()


@pytest.fixture
def rig(qtbot) -> Iterator[Rig]:
    r = Rig(qtbot)
    yield r
    r.close()


def test_scan_burst_with_enter_never_reaches_the_line_edit(rig: Rig) -> None:
    rig.edit.setText("note: ")
    rig.type("4006381333931\r", 5)
    assert [e.text for e in rig.scans] == ["4006381333931"]
    assert rig.edit.text() == "note: "
    assert rig.returns == 0


def test_scan_burst_without_terminator_ends_on_silence(rig: Rig) -> None:
    t0 = time.monotonic()
    rig.type("R0010000004217", 4)
    rig.qtbot.waitUntil(lambda: len(rig.scans) == 1, timeout=1000)
    assert rig.scans[0].text == "R0010000004217" and rig.edit.text() == ""
    assert rig.scans[0].at - t0 < 1.0


@pytest.mark.parametrize("gap_ms", [60, 80])
def test_fast_typist_is_never_swallowed(rig: Rig, gap_ms: int) -> None:
    rig.type("hello world", gap_ms)
    rig.qtbot.waitUntil(lambda: rig.edit.text() == "hello world", timeout=1000)
    rig.type("\r", 10)
    assert rig.returns == 1 and rig.scans == []


def test_short_fast_burst_is_typing(rig: Rig) -> None:
    rig.type("12", 5)
    rig.qtbot.waitUntil(lambda: rig.edit.text() == "12", timeout=1000)
    assert rig.scans == []


def test_typing_then_scan_then_typing(rig: Rig) -> None:
    rig.type("ab", 150)
    rig.type("8800123456789012\r", 5)
    rig.type("cd", 150)
    rig.qtbot.waitUntil(lambda: rig.edit.text() == "abcd", timeout=1000)
    assert [e.text for e in rig.scans] == ["8800123456789012"]


def test_ime_commit_passes_through(rig: Rig) -> None:
    rig.type("a", 20)
    ev = QInputMethodEvent()
    ev.setCommitString("你好")
    QApplication.sendEvent(rig.edit, ev)
    rig.type("b", 150)
    rig.qtbot.waitUntil(lambda: rig.edit.text() == "a你好b", timeout=1000)
    assert rig.scans == []


def test_shortcut_keys_pass_at_once(rig: Rig) -> None:
    rig.type("x", 1)
    rig.qtbot.keyClick(rig.edit, Qt.Key.Key_A, Qt.KeyboardModifier.ControlModifier)  # select all
    rig.qtbot.keyClicks(rig.edit, "y")
    rig.qtbot.waitUntil(lambda: rig.edit.text() == "y", timeout=1000)


def test_scan_wherever_focus_is(rig: Rig) -> None:
    rig.other.setFocus()
    rig.qtbot.waitUntil(lambda: QApplication.focusWidget() is rig.other)
    rig.type("6901234567892\t", 5, rig.other)
    assert [e.text for e in rig.scans] == ["6901234567892"]
    assert rig.other.text() == "" and QApplication.focusWidget() is rig.other


def test_prefix_key(qtbot) -> None:
    r = Rig(qtbot, "wedge://?prefix=%7E")  # "~" as the configured prefix
    try:
        r.type("~A1\r", 90)  # slow and short, but announced by the prefix
        assert [e.text for e in r.scans] == ["A1"] and r.edit.text() == ""
    finally:
        r.close()


def test_filter_disables_itself_on_error(rig: Rig, caplog) -> None:
    def boom(*_a: object) -> None:
        raise RuntimeError("decoder bug")

    rig.filter._decoder.key = boom  # type: ignore[method-assign]
    with caplog.at_level("CRITICAL"):
        rig.type("z", 20)
    rig.type("q", 20)
    assert rig.edit.text() == "zq"
    assert rig.states[-1] is ScannerState.FAILED
