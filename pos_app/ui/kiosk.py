"""Kiosk mode: the till fills the screen without a window frame, and leaving it needs a supervisor.

A close the window system asks for (Alt+F4, a session's close request) and the Ctrl+Alt+Q shortcut
go through the supervisor approval; a close by the program itself (shutdown, SIGTERM) is not held.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import QWidget

__all__ = ["KioskGuard", "enter_kiosk", "LEAVE_SHORTCUT"]

logger = logging.getLogger(__name__)

LEAVE_SHORTCUT = "Ctrl+Alt+Q"


class KioskGuard(QObject):
    """Event filter on the main window: a spontaneous close is ignored unless ``approve()`` says yes."""

    def __init__(self, window: QWidget, approve: Callable[[], bool]) -> None:
        super().__init__(window)
        self.setObjectName("kiosk_guard")
        self._window = window
        self._approve = approve
        self._leaving = False
        window.installEventFilter(self)
        self.shortcut = QShortcut(QKeySequence(LEAVE_SHORTCUT), window)
        self.shortcut.setContext(Qt.ShortcutContext.ApplicationShortcut)
        self.shortcut.activated.connect(self.request_leave)

    def request_leave(self) -> bool:
        """Ask for a supervisor; on approval close the window (the terminal then exits). Returns the verdict."""
        if not self._approve():
            logger.info("kiosk: leaving the till refused (no supervisor approval)")
            return False
        logger.warning("kiosk: leaving the till, approved by a supervisor")
        self._leaving = True
        self._window.close()
        return True

    def holds(self, event: QEvent) -> bool:
        """Whether this close must wait for a supervisor: asked by the window system, not by the program."""
        return event.type() == QEvent.Type.Close and event.spontaneous() and not self._leaving

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt's name
        if watched is self._window and self.holds(event):
            event.ignore()
            self.request_leave()
            return True
        return False


def enter_kiosk(window: QWidget, approve: Callable[[], bool]) -> KioskGuard:
    """Frameless, full screen, always on top of the desktop; returns the guard (kept by the window)."""
    window.setWindowFlag(Qt.WindowType.FramelessWindowHint, True)
    guard = KioskGuard(window, approve)
    window.showFullScreen()
    return guard
