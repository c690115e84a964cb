"""Kiosk mode on the real terminal window: full screen without a frame; leaving asks a supervisor."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QEvent, Qt
from PySide6.QtGui import QCloseEvent

from pos_app.app import Terminal, kiosk
from pos_app.ui.kiosk import enter_kiosk
from tests.ui.modal import ModalScript, is_a, supervisor_approves

CTRL_ALT = Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.AltModifier


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
    qtbot.keyClick(window, Qt.Key.Key_Q, CTRL_ALT)
    assert asked == [False] and window.isVisible()  # refused: the till stays
    qtbot.keyClick(window, Qt.Key.Key_Q, CTRL_ALT)
    assert asked == [False, True]
    qtbot.waitUntil(lambda: not window.isVisible(), timeout=5000)


def test_the_terminal_kiosk_asks_the_real_approval_dialog(qtbot: Any, terminal: Terminal) -> None:
    """As `pos-app run` wires it: a cashier's number is refused, a supervisor's number and PIN let the till go."""
    window = terminal.window
    kiosk(terminal)
    qtbot.waitUntil(window.isFullScreen, timeout=5000)
    refused = ModalScript([supervisor_approves("1001", "1234"),
                           (is_a("ApprovalDialog"), lambda w: w.reject())])
    qtbot.keyClick(window, Qt.Key.Key_Q, CTRL_ALT)
    refused.finish(qtbot)
    assert window.isVisible() and window.isFullScreen()
    window.activateWindow()  # the window manager gives the focus back when the dialog closes; offscreen has none
    qtbot.waitUntil(window.isActiveWindow, timeout=5000)
    approved = ModalScript([supervisor_approves()])
    qtbot.keyClick(window, Qt.Key.Key_Q, CTRL_ALT)
    approved.finish(qtbot)
    qtbot.waitUntil(lambda: not window.isVisible(), timeout=5000)


def test_leaving_works_when_the_window_is_not_active(qtbot: Any, terminal: Terminal) -> None:
    """A kiosk counter has no window manager to give the focus back after a dialog: the window is then not
    active, Qt gives it no shortcuts, and Ctrl+Alt+Q must still reach the guard (through keyPressEvent)."""
    from PySide6.QtWidgets import QApplication, QWidget

    window = terminal.window
    asked: list[bool] = []
    enter_kiosk(window, lambda: asked.append(True) or False)
    qtbot.waitUntil(window.isFullScreen, timeout=5000)
    other = QWidget()
    qtbot.addWidget(other)
    other.show()
    other.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is other, timeout=5000)
    other.close()       # and gone: no window of the terminal is active (no window manager to pick one)
    qtbot.waitUntil(lambda: QApplication.activeWindow() is None, timeout=5000)
    qtbot.keyClick(window, Qt.Key.Key_Q, CTRL_ALT)
    assert asked == [True]
