"""Keyboard-wedge filter with real offscreen widgets and realistic key timings."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QInputMethodEvent
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QLineEdit, QPushButton, QVBoxLayout, QWidget

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
        self.ok = QPushButton("OK")
        lay.addWidget(self.edit)
        lay.addWidget(self.other)
        lay.addWidget(self.ok)
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
        r.type("~A1\r", 60)  # slow and short (typing without the prefix), but announced by it
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


# --- a click, a touch or a focus change releases held keys first (QA: PIN "9999" read as "999") ---


def _type_then(rig: Rig, text: str, gaps_ms: list[int], then_ms: int) -> None:
    """Type ``text`` into rig.edit with the given inter-key gaps, then wait ``then_ms``."""
    for i, ch in enumerate(text):
        if i:
            rig.qtbot.wait(gaps_ms[(i - 1) % len(gaps_ms)])
        rig.qtbot.keyClicks(rig.edit, ch)
    rig.qtbot.wait(then_ms)


def _read_and_clear_on_ok(rig: Rig) -> list[str]:
    seen: list[str] = []

    def on_ok() -> None:  # like the supervisor PIN dialog: check the field, then clear it
        seen.append(rig.edit.text())
        rig.edit.clear()

    rig.ok.clicked.connect(on_ok)
    return seen


@pytest.mark.parametrize(
    ("pin", "gaps_ms"),
    [
        ("9999", [60, 70, 80]),
        ("9999", [80, 60, 70]),
        ("999999", [60, 70, 80]),  # digits 5-6 are held at the click (the old code read "9999")
        ("9999", [45, 50, 45]),  # a fast keypad: all four held at the click
    ],
)
def test_pin_then_click_reads_every_digit(rig: Rig, pin: str, gaps_ms: list[int]) -> None:
    seen = _read_and_clear_on_ok(rig)
    _type_then(rig, pin, gaps_ms, 10)
    rig.qtbot.mouseClick(rig.ok, Qt.MouseButton.LeftButton)
    assert seen == [pin]
    rig.qtbot.wait(150)  # past the hold window: no late digit shows up in the cleared field
    assert rig.edit.text() == "" and rig.scans == []


def test_reason_then_click_reads_whole_text(rig: Rig) -> None:
    seen = _read_and_clear_on_ok(rig)
    _type_then(rig, "float topup", [60, 75, 80, 65], 10)
    rig.qtbot.mouseClick(rig.ok, Qt.MouseButton.LeftButton)
    assert seen == ["float topup"]
    rig.qtbot.wait(150)
    assert rig.edit.text() == "" and rig.scans == []


def test_double_click_releases_first(rig: Rig) -> None:
    texts: list[str] = []
    rig.edit.selectionChanged.connect(lambda: texts.append(rig.edit.text()))
    _type_then(rig, "abc", [70], 10)
    rig.qtbot.mouseDClick(rig.edit, Qt.MouseButton.LeftButton)
    assert rig.edit.text() == "abc" and rig.edit.selectedText() == "abc"
    assert texts and all(t == "abc" for t in texts)


def test_touch_releases_first(rig: Rig) -> None:
    seen: list[str] = []
    rig.ok.pressed.connect(lambda: seen.append(rig.edit.text()))
    device = QTest.createTouchDevice()
    _type_then(rig, "12", [70], 10)
    centre = rig.ok.rect().center()
    QTest.touchEvent(rig.ok, device).press(0, centre, rig.ok).commit()
    QTest.touchEvent(rig.ok, device).release(0, centre, rig.ok).commit()
    rig.qtbot.waitUntil(lambda: rig.edit.text() == "12", timeout=1000)
    assert seen in ([], ["12"])  # a touch may or may not synthesise a press; never a partial read
    assert rig.scans == []


def test_tab_after_typing_keeps_text_in_first_field(rig: Rig) -> None:
    _type_then(rig, "float topup", [60, 80, 70], 10)
    rig.qtbot.keyClick(rig.edit, Qt.Key.Key_Tab)
    assert QApplication.focusWidget() is rig.other
    assert rig.edit.text() == "float topup" and rig.other.text() == ""
    rig.type("42", 70, rig.other)
    rig.qtbot.waitUntil(lambda: rig.other.text() == "42", timeout=1000)
    assert rig.edit.text() == "float topup" and rig.scans == []


def test_backtab_after_typing_keeps_text_in_its_field(rig: Rig) -> None:
    rig.other.setFocus()
    rig.qtbot.waitUntil(lambda: QApplication.focusWidget() is rig.other)
    for ch in "777":
        rig.qtbot.keyClicks(rig.other, ch)
        rig.qtbot.wait(70)
    rig.qtbot.keyClick(rig.other, Qt.Key.Key_Backtab, Qt.KeyboardModifier.ShiftModifier)
    assert QApplication.focusWidget() is rig.edit
    assert rig.other.text() == "777" and rig.edit.text() == ""


def test_programmatic_focus_change_releases_before_focus_moves(rig: Rig) -> None:
    at_change: list[str] = []
    app = QApplication.instance()
    assert isinstance(app, QApplication)
    app.focusChanged.connect(lambda _old, _new: at_change.append(rig.edit.text()))
    try:
        _type_then(rig, "ab", [70], 5)
        rig.other.setFocus()
        assert at_change[:1] == ["ab"] and rig.edit.text() == "ab" and rig.other.text() == ""
    finally:
        app.focusChanged.disconnect()


def test_shortcut_with_modifier_releases_before_it_fires(rig: Rig) -> None:
    from PySide6.QtGui import QKeySequence, QShortcut

    seen: list[str] = []
    sc = QShortcut(QKeySequence("Ctrl+S"), rig.window)
    sc.activated.connect(lambda: seen.append(rig.edit.text()))
    _type_then(rig, "99", [70], 5)
    rig.qtbot.keyClick(rig.edit, Qt.Key.Key_S, Qt.KeyboardModifier.ControlModifier)
    assert seen == ["99"]


def test_shift_presses_inside_a_burst_keep_the_scan(rig: Rig) -> None:
    """A real wedge sends a bare Shift press before each upper-case letter: it must not split the scan."""
    for ch in "R0010000004217\r":
        if ch.isupper():
            QTest.keyPress(rig.edit, Qt.Key.Key_Shift)
        if ch == "\r":
            rig.qtbot.keyClick(rig.edit, Qt.Key.Key_Return)
        else:
            rig.qtbot.keyClicks(rig.edit, ch)
        if ch.isupper():
            QTest.keyRelease(rig.edit, Qt.Key.Key_Shift)
        rig.qtbot.wait(4)
    assert [e.text for e in rig.scans] == ["R0010000004217"] and rig.edit.text() == ""


def test_click_right_after_a_complete_scan_delivers_the_scan(rig: Rig) -> None:
    rig.type("6901234567892", 4)  # no terminator: would end on silence
    rig.qtbot.mouseClick(rig.ok, Qt.MouseButton.LeftButton, pos=QPoint(2, 2))
    assert [e.text for e in rig.scans] == ["6901234567892"] and rig.edit.text() == ""
