"""Run blocking calls off the GUI thread and bring results back by queued signal; the scan bridge."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, TypeVar

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
    """One per TaskRunner, created on the GUI thread and parented to it: ``done`` is emitted on a pool thread and
    delivered queued to the runner on the GUI thread."""

    done = Signal(int, object, object)  # (task number, result, error)


class _Task(QRunnable):
    """Runs ``fn`` on a pool thread; holds nothing the GUI thread owns.

    A pool thread must never drop the last reference to a Qt object: shiboken would delete the C++ object on
    that thread while the GUI thread still uses it (seen: a segfault in QItemSelectionModel::reset on the GUI
    thread while a pooled thread freed a per-task signals object whose callback held a view). So the callbacks
    stay with the runner (GUI thread), the signals object is the runner's own, and ``fn`` is let go here before
    the result is sent.
    """

    def __init__(self, fn: Callable[[], object], number: int, signals: _Signals) -> None:
        super().__init__()
        self._fn: Callable[[], object] | None = fn
        self._number = number
        self._signals = signals

    def run(self) -> None:
        fn, self._fn = self._fn, None
        if fn is None:
            return
        result: object = None
        error: object = None
        try:
            result = fn()
        except Exception as exc:  # noqa: BLE001 - handed to the GUI thread, which decides what to show
            logger.debug("background task failed: %r", exc)
            error = exc
        del fn
        emit(self._signals.done, self._number, result, error)


class TaskRunner(QObject):
    """``submit(fn, on_done, on_error)``: ``fn`` runs on a pool thread; callbacks on the GUI thread."""

    def __init__(self, parent: QObject | None = None, max_threads: int = 4) -> None:
        super().__init__(parent)
        self._pool = QThreadPool(self)
        self._pool.setMaxThreadCount(max_threads)
        self._signals = _Signals(self)          # the runner's, for its whole life: never freed by a pool thread
        self._signals.done.connect(self._finish)
        self._live: dict[int, tuple[Callable[[Any], None] | None, Callable[[BaseException], None] | None]] = {}
        self._count = 0

    def submit(self, fn: Callable[[], T], on_done: Callable[[T], None] | None = None,
               on_error: Callable[[BaseException], None] | None = None) -> None:
        self._count += 1
        self._live[self._count] = (on_done, on_error)   # released here, on the GUI thread, when it is done
        self._pool.start(_Task(fn, self._count, self._signals))

    def _finish(self, number: int, result: object, error: object) -> None:
        on_done, on_error = self._live.pop(number, (None, None))
        if isinstance(error, BaseException):
            if on_error is not None:
                on_error(error)
            else:
                logger.error("background task failed", exc_info=error)
        elif on_done is not None:
            on_done(result)  # what fn returned, carried across the queued signal

    def wait_idle(self, timeout_ms: int = 5000) -> bool:
        """Wait for running tasks (shutdown)."""
        return self._pool.waitForDone(timeout_ms)
