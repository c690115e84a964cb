"""Run blocking calls off the GUI thread and bring results back by queued signal; the scan bridge."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TypeVar, cast

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal

from drivers.base import ScanEvent, ScannerState

from .qtcompat import emit

__all__ = ["ScanBridge", "TaskRunner"]

T = TypeVar("T")

logger = logging.getLogger(__name__)


class ScanBridge(QObject):
    """Lives on the GUI thread; driver threads call ``deliver``; ``scanned`` arrives queued on the GUI thread.

    Signals:
        scanned(ScanEvent): one scan from any reader.
        state_changed(str url, str state, str message): a reader's state.
        notice(str url, str message): a reader's notice.
    """

    scanned = Signal(object)
    state_changed = Signal(str, str, str)
    notice = Signal(str, str)

    def deliver(self, event: ScanEvent) -> None:
        """Any thread: hand ``event`` to the GUI thread."""
        emit(self.scanned, event)

    def state_callback(self, url: str) -> Callable[[ScannerState, str], None]:
        def on_state(state: ScannerState, message: str) -> None:
            emit(self.state_changed, url, state.value, message)
        return on_state

    def notice_callback(self, url: str) -> Callable[[str], None]:
        def on_notice(message: str) -> None:
            emit(self.notice, url, message)
        return on_notice


class _Signals(QObject):
    """Created on the GUI thread; ``done`` is emitted on a pool thread and delivered queued to ``_finish``."""

    done = Signal(object, object)  # (result, error)

    def __init__(self, callback: Callable[[object, object], None]) -> None:
        super().__init__()
        self._callback = callback
        self.done.connect(self._finish)

    def _finish(self, result: object, error: object) -> None:
        self._callback(result, error)


class _Task(QRunnable):
    def __init__(self, fn: Callable[[], object], signals: _Signals) -> None:
        super().__init__()
        self._fn = fn
        self._signals = signals

    def run(self) -> None:
        try:
            result = self._fn()
        except Exception as exc:  # noqa: BLE001 - handed to the GUI thread, which decides what to show
            logger.debug("background task failed: %r", exc)
            emit(self._signals.done, None, exc)
            return
        emit(self._signals.done, result, None)


class TaskRunner(QObject):
    """``submit(fn, on_done, on_error)``: ``fn`` runs on a pool thread; callbacks on the GUI thread."""

    def __init__(self, parent: QObject | None = None, max_threads: int = 4) -> None:
        super().__init__(parent)
        self._pool = QThreadPool(self)
        self._pool.setMaxThreadCount(max_threads)
        self._live: set[_Signals] = set()

    def submit(self, fn: Callable[[], T], on_done: Callable[[T], None] | None = None,
               on_error: Callable[[BaseException], None] | None = None) -> None:
        def finished(result: object, error: object) -> None:
            self._live.discard(signals)
            if isinstance(error, BaseException):
                if on_error is not None:
                    on_error(error)
                else:
                    logger.error("background task failed", exc_info=error)
            elif on_done is not None:
                on_done(cast(T, result))  # what fn returned, carried across the queued signal

        signals = _Signals(finished)
        self._live.add(signals)
        self._pool.start(_Task(fn, signals))

    def wait_idle(self, timeout_ms: int = 5000) -> bool:
        """Wait for running tasks (shutdown)."""
        return self._pool.waitForDone(timeout_ms)
