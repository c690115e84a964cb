"""Keyboard-wedge scanner: an application-wide Qt event filter feeding WedgeDecoder.

Printable keys are held for a moment while they may be a scanner burst; a burst that turns out
to be a scan is swallowed (it never reaches the focused widget) and delivered to the
WedgeScanner; anything else is replayed, in order, to the widget it was meant for. Keys with
Ctrl/Alt/Meta, function keys and input-method events are never held, and release whatever is
held before they are processed; so do a mouse press, a touch and a focus or window-activation
change (a scanner never sends those inside a burst): the held keys are sent, synchronously and in
order, to the widget that had focus when they were typed, before the interrupting event is
processed. Bare modifier presses (Shift before an upper-case letter) neither hold nor release.
If the filter itself raises, it logs, removes itself and marks the scanner FAILED (typing keeps
working).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

import shiboken6
from PySide6.QtCore import QCoreApplication, QEvent, QObject, Qt, QTimer
from PySide6.QtGui import QGuiApplication, QKeyEvent, QWindow

from drivers.framing import WedgeDecision, WedgeDecoder
from drivers.wedge import WedgeScanner

__all__ = ["WedgeFilter", "install_wedge"]

logger = logging.getLogger(__name__)

_Token = tuple[Any, int, Any, str]  # (receiver, key, modifiers, text)
_MODS_ALLOWED = Qt.KeyboardModifier.ShiftModifier | Qt.KeyboardModifier.KeypadModifier
_TERMINATORS = {Qt.Key.Key_Return: "\r", Qt.Key.Key_Enter: "\r", Qt.Key.Key_Tab: "\t"}
_MODIFIER_KEYS = frozenset({
    Qt.Key.Key_Shift, Qt.Key.Key_Control, Qt.Key.Key_Meta, Qt.Key.Key_Alt, Qt.Key.Key_AltGr,
    Qt.Key.Key_CapsLock, Qt.Key.Key_NumLock, Qt.Key.Key_Super_L, Qt.Key.Key_Super_R,
    Qt.Key.Key_Hyper_L, Qt.Key.Key_Hyper_R,
})
_T = QEvent.Type
# events that end a burst: whatever is held is released before the event is processed
_INTERRUPTS = frozenset({
    _T.MouseButtonPress, _T.MouseButtonDblClick, _T.MouseButtonRelease,
    _T.NonClientAreaMouseButtonPress, _T.NonClientAreaMouseButtonDblClick,
    _T.TouchBegin, _T.TabletPress,
    _T.FocusAboutToChange, _T.FocusOut, _T.FocusIn,
    _T.WindowActivate, _T.WindowDeactivate, _T.ActivationChange, _T.WindowBlocked,
})


class WedgeFilter(QObject):
    """Install with ``install(app)``; feeds ``scanner.deliver`` with each detected scan."""

    def __init__(
        self, scanner: WedgeScanner, clock: Callable[[], float] = time.monotonic, parent: QObject | None = None
    ) -> None:
        super().__init__(parent)
        self.setObjectName("wedge_filter")
        self.scanner = scanner
        self._clock = clock
        self._decoder: WedgeDecoder[_Token] = WedgeDecoder(scanner.config)
        self._replaying = False
        self._app: QCoreApplication | None = None
        self._timer = QTimer(self)
        self._timer.setObjectName("wedge_silence_timer")
        self._timer.setSingleShot(True)
        self._timer.timeout.connect(self._on_silence)

    def install(self, app: QCoreApplication) -> None:
        self._app = app
        app.installEventFilter(self)

    def uninstall(self) -> None:
        if self._app is not None:
            self._app.removeEventFilter(self)
            self._app = None
        self._timer.stop()

    # -- the filter -----------------------------------------------------------------------

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt override
        if self._replaying:
            return False
        etype = event.type()
        if etype in _INTERRUPTS:
            if not self._decoder.holding:
                return False
        elif etype not in (_T.KeyPress, _T.InputMethod, _T.ShortcutOverride):
            return False
        try:
            if etype in _INTERRUPTS:
                self._interrupt()
                return False
            return self._filter(obj, event)
        except Exception as exc:  # noqa: BLE001 - never break the keyboard (qutebrowser eventfilter style)
            logger.exception("keyboard-wedge filter failed; disabling it")
            self.uninstall()
            self._replaying = True
            self.scanner.fail(f"keyboard-wedge filter disabled after an error: {exc!r}")
            return False

    def _interrupt(self) -> None:
        """A click, touch or focus change: the burst (if any) is over, before that event is processed."""
        self._apply(self._decoder.interrupt(self._clock()))
        self._arm()

    def _filter(self, obj: QObject, event: QEvent) -> bool:
        if not self.scanner.active:
            if self._decoder.holding:  # stopped mid-burst: the held keys are the user's typing
                self._interrupt()
            return False
        if event.type() == _T.ShortcutOverride:
            # sent to the focus object before a key press; a matching shortcut then fires
            # instead of the key press, so a key that cannot be part of a scan releases here
            assert isinstance(event, QKeyEvent)
            if not _scannable(event):
                self._apply(self._decoder.other_key(self._clock()))
                self._arm()
            return False
        # a key event visits the window, then the focus widget, then (if ignored) its parents:
        # decide once, at the focus object (or at the window when nothing has focus)
        focus = QGuiApplication.focusObject()
        if not (obj is focus or (focus is None and isinstance(obj, QWindow))):
            return False
        if event.type() == QEvent.Type.InputMethod:
            self._apply(self._decoder.other_key(self._clock()))
            return False
        assert isinstance(event, QKeyEvent)
        return self._key(obj, event)

    def _key(self, obj: QObject, event: QKeyEvent) -> bool:
        now = self._clock()
        key = event.key()
        mods = event.modifiers()
        text = event.text()
        if key in _MODIFIER_KEYS:
            return False
        if key in _TERMINATORS and not (mods & ~_MODS_ALLOWED):
            text = _TERMINATORS[Qt.Key(key)]
        elif not _scannable(event):
            self._apply(self._decoder.other_key(now))
            self._arm()
            return False
        d = self._decoder.key(text, now, (obj, key, mods, event.text()))
        self._apply(d)
        self._arm()
        return d.consume

    def _on_silence(self) -> None:
        try:
            self._apply(self._decoder.poll(self._clock()))
            self._arm()
        except Exception:  # noqa: BLE001
            logger.exception("keyboard-wedge timer failed")

    def _arm(self) -> None:
        deadline = self._decoder.deadline()
        if deadline is None:
            self._timer.stop()
            return
        self._timer.start(max(0, int((deadline - self._clock()) * 1000) + 1))

    def _apply(self, d: WedgeDecision[_Token]) -> None:
        if d.release:
            self._replay(d.release)
        if d.scan:
            self.scanner.deliver(d.scan, self._clock())

    def _replay(self, tokens: list[_Token]) -> None:
        self._replaying = True
        try:
            for receiver, key, mods, text in tokens:
                target = receiver if shiboken6.isValid(receiver) else QGuiApplication.focusObject()
                if target is None:
                    continue
                QCoreApplication.sendEvent(target, QKeyEvent(QEvent.Type.KeyPress, key, mods, text))
                QCoreApplication.sendEvent(target, QKeyEvent(QEvent.Type.KeyRelease, key, mods, text))
        finally:
            self._replaying = False


def _scannable(event: QKeyEvent) -> bool:
    """Could this key be part of a scanner burst (a printable character or a terminator)?"""
    key, mods, text = event.key(), event.modifiers(), event.text()
    if key in _MODIFIER_KEYS:
        return True  # a bare modifier press neither holds nor releases
    if mods & ~_MODS_ALLOWED or event.isAutoRepeat():
        return False
    if key in _TERMINATORS:
        return True
    return len(text) == 1 and text.isprintable()


def install_wedge(app: QCoreApplication, scanner: WedgeScanner) -> WedgeFilter:
    """Create the filter for ``scanner`` (parented to ``app``) and install it."""
    f = WedgeFilter(scanner, parent=app)
    f.install(app)
    return f
