"""The "Looking up the member…" notice shows only for a lookup that takes a while (issue 18: a card known here
is found in a few ms, and showing then hiding the notice re-laid the screen out twice per member scan)."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QEvent, QObject

from tests.ui.conftest import scan

MEMBER = "8800671208341214"  # a demo member, known on this terminal


class Shown(QObject):
    def __init__(self) -> None:
        super().__init__()
        self.texts: list[str] = []

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.Show:
            self.texts.append(str(watched.text()))  # type: ignore[attr-defined]
        return False


def test_a_member_known_here_shows_without_the_lookup_notice(qtbot: Any, terminal: Any) -> None:
    view = terminal.window.checkout_view
    shown = Shown()
    view.notice.installEventFilter(shown)
    scan(terminal, MEMBER, "CODE128")
    qtbot.waitUntil(lambda: MEMBER[-4:] in view.member_detail.text())
    qtbot.wait(400)                                   # past the notice's delay: it must not come late either
    assert not any("Looking up" in text for text in shown.texts)
    assert not view.notice.isVisible()


def test_a_slow_lookup_says_it_is_looking(qtbot: Any, terminal: Any) -> None:
    view = terminal.window.checkout_view
    number = "8800999999999999"                      # not known here: Alipay is asked
    assert terminal.services.members.get(number) is None
    terminal.sandbox.inject_fault("slow", "alipay.marketing.card.query", count=None, delay_s=1.0)
    scan(terminal, number)
    qtbot.waitUntil(lambda: view.notice.isVisible() and "Looking up" in view.notice.text(), timeout=5_000)
    terminal.sandbox.clear_faults()
    qtbot.waitUntil(lambda: "Looking up" not in view.notice.text(), timeout=15_000)  # the answer replaces it


def test_the_terminal_keeps_qt_painting_on_the_gui_thread(terminal: Any) -> None:
    """Qt's raster fills are not handed to a thread pool the GUI thread then waits for (issue 18)."""
    import os

    assert os.environ.get("QT_NO_GUI_THREADPOOL") == "1"
