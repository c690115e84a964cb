"""Kiosk mode on the real terminal window: full screen without a frame; leaving asks a supervisor."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QEvent, Qt
from PySide6.QtGui import QCloseEvent

from pos_app.app import Terminal, kiosk_approval
from pos_app.ui.kiosk import enter_kiosk


def test_kiosk_fills_the_screen_and_leaving_needs_a_supervisor(qtbot: Any, terminal: Terminal) -> None:
    window = terminal.window
    decisions = [False, True]
    asked: list[bool] = []

    def approve() -> bool:
        asked.append(decisions[len(asked)])
        return asked[-1]

    guard = enter_kiosk(window, approve)
    qtbot.waitUntil(window.isFullScreen, timeout=5000)
    assert window.windowFlags() & Qt.WindowType.FramelessWindowHint
    # a close asked for by the program (shutdown, SIGTERM) is not held; one from the window system is
    assert not guard.holds(QCloseEvent())
    assert not guard.holds(QEvent(QEvent.Type.Show))
    qtbot.keyClick(window, Qt.Key.Key_Q, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.AltModifier)
    assert asked == [False] and window.isVisible()  # refused: the till stays
    qtbot.keyClick(window, Qt.Key.Key_Q, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.AltModifier)
    assert asked == [False, True]
    qtbot.waitUntil(lambda: not window.isVisible(), timeout=5000)


def test_leaving_kiosk_asks_the_navigators_supervisor_approval(terminal: Terminal) -> None:
    asked: list[tuple[str, str]] = []
    verdicts = [None, object()]  # cancelled, then a recorded approval

    def ask(parent: Any, action: str, subject: str, reasons: Any) -> Any:
        asked.append((action, subject))
        return verdicts[len(asked) - 1]

    approve = kiosk_approval(terminal)
    terminal.ctx.nav.ask_approval = ask
    assert approve() is False
    assert approve() is True
    assert [a for a, _ in asked] == ["leave_kiosk", "leave_kiosk"]
