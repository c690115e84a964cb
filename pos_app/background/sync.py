"""The sync worker in its own process, supervised by the terminal; its status pushed back every second.

``SyncSupervisor`` offers what the terminal's UI uses of a ``SyncWorker`` (start, stop, nudge, status,
rows, retry_dead, discard_dead, running), so the status bar and the sync screen do not change:

- ``status()`` returns the last status the child pushed (no database access on the caller's thread);
- ``nudge()`` is one small message down the pipe;
- ``rows()`` and the supervisor decisions use a short-lived connection of the calling thread, as the
  in-process worker did (they are a supervisor's deliberate actions on the sync screen, not a poll).

The child (``run_sync_child``) builds the same worker as ``pos-app sync run`` from the terminal's
settings in effect (demo mode included), drains the outbox, and exits when the terminal closes its pipe.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from multiprocessing.connection import Connection
from typing import TYPE_CHECKING, Any

from pos_app.services.ports.outbox import OutboxRow, SyncApprover
from pos_app.services.sync import SyncStatus, discard_dead, retry_dead
from pos_app.settings import Settings

from .child import ChildExited, Supervised

if TYPE_CHECKING:
    from pos_app.storage.outbox import SqliteOutboxQueue

__all__ = ["SyncSupervisor", "run_sync_child", "STATUS_INTERVAL_S"]

logger = logging.getLogger(__name__)

STATUS_INTERVAL_S = 1.0
STARTING = SyncStatus(pending=0, oldest_pending_age_s=None, dead=0, offline_since=None,
                      last_error="sync worker starting")


class SyncSupervisor:
    """The outbox worker as a supervised child process (started/stopped with the terminal, restarted if it dies)."""

    def __init__(self, settings: Settings, *, listener: Callable[[SyncStatus], None] | None = None,
                 status_interval_s: float = STATUS_INTERVAL_S, restart_min_s: float = 0.5,
                 restart_max_s: float = 30.0) -> None:
        from pos_app.runtime import SystemClock

        self._settings = settings
        self._clock = SystemClock()
        self._listener = listener
        self._lock = threading.Lock()
        self._status = STARTING
        self._child = Supervised("sync", "pos_app.background.sync:run_sync_child",
                                 {"settings": settings, "status_interval_s": status_interval_s}, self._on_message,
                                 restart_min_s=restart_min_s, restart_max_s=restart_max_s)

    # --- what the UI uses ---------------------------------------------------------------------

    def start(self) -> None:
        self._child.start()

    def stop(self, timeout: float | None = None) -> bool:
        return self._child.stop(30.0 if timeout is None else timeout)

    @property
    def running(self) -> bool:
        return self._child.running

    @property
    def pid(self) -> int | None:
        """The worker process (None between a death and its restart)."""
        return self._child.pid

    @property
    def restarts(self) -> int:
        return self._child.restarts

    def nudge(self) -> None:
        """Wake the worker now (a sale's rows were committed)."""
        self._child.send("nudge")

    def status(self) -> SyncStatus:
        """The last status the worker pushed (never touches the database)."""
        with self._lock:
            return self._status

    def rows(self, states: tuple[str, ...] = ("pending", "dead"), limit: int = 500) -> list[OutboxRow]:
        store = self._store()
        try:
            return store.rows(states, limit)
        finally:
            store.close()

    def retry_dead(self, row_id: int, approver: SyncApprover) -> None:
        store = self._store()
        try:
            retry_dead(store, row_id, approver, self._clock)
        finally:
            store.close()
        self.nudge()

    def discard_dead(self, row_id: int, approver: SyncApprover, reason: str) -> None:
        store = self._store()
        try:
            discard_dead(store, row_id, approver, reason, self._clock)
        finally:
            store.close()
        self.nudge()

    # --- internals ----------------------------------------------------------------------------

    def _store(self) -> SqliteOutboxQueue:
        from pos_app.storage.outbox import SqliteOutboxQueue

        return SqliteOutboxQueue.open(self._settings.db_path)

    def _on_message(self, message: object) -> None:
        """Supervisor thread: a status from the child, or the news that it died."""
        if isinstance(message, SyncStatus):
            status = message
        elif isinstance(message, ChildExited):
            with self._lock:
                last = self._status
            status = SyncStatus(pending=last.pending, oldest_pending_age_s=last.oldest_pending_age_s, dead=last.dead,
                                offline_since=last.offline_since,
                                last_error=f"sync worker stopped (exit {message.code}); restarting in "
                                           f"{message.restart_in_s:.0f} s")
        elif isinstance(message, dict) and "error" in message:
            with self._lock:
                last = self._status
            status = SyncStatus(pending=last.pending, oldest_pending_age_s=last.oldest_pending_age_s, dead=last.dead,
                                offline_since=last.offline_since, last_error=str(message["error"]))
        else:
            logger.warning("sync supervisor: unexpected message %r", type(message).__name__)
            return
        with self._lock:
            self._status = status
        if self._listener is not None:
            self._listener(status)


def run_sync_child(payload: dict[str, Any], inbox: Connection, outbox: Connection) -> int:
    """Child process: the worker of ``pos-app sync run`` on the terminal's settings; status every interval."""
    from pos_app.logs import setup_logging

    settings: Settings = payload["settings"]
    interval = float(payload.get("status_interval_s", STATUS_INTERVAL_S))
    setup_logging(settings.log_dir)
    try:
        from pos_app.bootstrap import build_sync_worker

        worker = build_sync_worker(settings)
        if worker is None:
            raise ValueError("no gateway configured (gateway.url)")
    except Exception as exc:  # noqa: BLE001 - told to the terminal; the supervisor retries later
        logger.error("sync worker cannot start: %s", exc)
        outbox.send({"error": f"sync worker cannot start: {exc}"})
        return 4
    worker.start()
    try:
        while True:
            try:
                outbox.send(worker.status())
            except Exception:  # noqa: BLE001 - a failed status read is not a reason to stop syncing
                logger.debug("sync status failed", exc_info=True)
            if inbox.poll(interval):
                try:
                    message = inbox.recv()
                except EOFError:             # the terminal is gone
                    break
                if message == "stop":
                    break
                if message == "nudge":
                    worker.nudge()
    except (BrokenPipeError, EOFError, OSError):
        pass                                 # the terminal is gone
    finally:
        worker.stop(30)
    return 0
