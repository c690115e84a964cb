"""X reports computed in a supervised child process, so building one never takes the GIL from the GUI.

``ProcessReports`` has the ReportService API: ``x_report`` is sent to the child (the calling thread,
a pool thread of the report screen, waits on a pipe, which holds no GIL); everything else (stored Z
reports, the Z list) is a short read answered by the terminal's own ReportService. While the child is
not up (starting, or restarting after a crash) ``x_report`` is computed locally, so the screen still
works. The child reads the figures from a snapshot (no write lock) and writes the audit entry in a
short transaction of its own (ReportService.x_report).
"""

from __future__ import annotations

import concurrent.futures as cf
import itertools
import logging
import threading
from multiprocessing.connection import Connection
from typing import Any

from pos_app.services.errors import ServiceError
from pos_app.services.reports import Report, ReportService
from pos_app.settings import Settings

from .child import ChildExited, Supervised

__all__ = ["ProcessReports", "run_report_child", "ReportWorkerError"]

logger = logging.getLogger(__name__)

TIMEOUT_S = 30.0


class ReportWorkerError(ServiceError):
    """The report process did not answer (it died or took longer than the timeout)."""


class ProcessReports:
    """ReportService whose X reports are computed by a child process."""

    def __init__(self, local: ReportService, settings: Settings, *, timeout_s: float = TIMEOUT_S) -> None:
        self._local = local
        self._timeout_s = timeout_s
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        self._waiting: dict[int, cf.Future[Report]] = {}
        self._ready = threading.Event()
        self._child = Supervised("reports", "pos_app.background.reports:run_report_child", {"settings": settings},
                                 self._on_message)
        self.remote_reports = 0

    def start(self) -> None:
        self._child.start()

    def stop(self, timeout: float | None = 10.0) -> bool:
        self._fail_all("the report process stopped")
        return self._child.stop(timeout)

    @property
    def pid(self) -> int | None:
        return self._child.pid

    def wait_ready(self, timeout: float) -> bool:
        """True once the child has said it is ready (tests, benchmarks)."""
        return self._ready.wait(timeout)

    def x_report(self, shift_number: int | None = None, *, printed_by: str = "") -> Report:
        """Computed by the child; locally while the child is not ready. Raises ServiceError subclasses."""
        if not self._ready.is_set():
            return self._local.x_report(shift_number, printed_by=printed_by)
        request = next(self._ids)
        future: cf.Future[Report] = cf.Future()
        with self._lock:
            self._waiting[request] = future
        if not self._child.send(("x_report", request, shift_number, printed_by)):
            with self._lock:
                self._waiting.pop(request, None)
            return self._local.x_report(shift_number, printed_by=printed_by)
        try:
            report = future.result(self._timeout_s)
        except cf.TimeoutError as exc:
            with self._lock:
                self._waiting.pop(request, None)
            raise ReportWorkerError("the report took too long; please try again") from exc
        self.remote_reports += 1
        return report

    def __getattr__(self, name: str) -> Any:
        """Everything else (z_report, z_reports, ...) from the terminal's own ReportService."""
        return getattr(self._local, name)

    # --- supervisor thread -----------------------------------------------------------------------

    def _on_message(self, message: object) -> None:
        if message == "ready":
            self._ready.set()
            return
        if isinstance(message, ChildExited):
            self._ready.clear()
            self._fail_all("the report process stopped; please try again")
            return
        if not (isinstance(message, tuple) and len(message) == 3):
            logger.warning("report process: unexpected message %r", type(message).__name__)
            return
        request, ok, value = message
        with self._lock:
            future = self._waiting.pop(request, None)
        if future is None:
            return                                # answered after its caller gave up
        if ok:
            future.set_result(value)
        else:
            future.set_exception(value if isinstance(value, BaseException) else ReportWorkerError(str(value)))

    def _fail_all(self, why: str) -> None:
        with self._lock:
            waiting, self._waiting = self._waiting, {}
        for future in waiting.values():
            future.set_exception(ReportWorkerError(why))


def run_report_child(payload: dict[str, Any], inbox: Connection, outbox: Connection) -> int:
    """Child process: X reports on request, on the terminal's database (figures from a read snapshot)."""
    from pos_app.logs import setup_logging
    from pos_app.runtime import SystemClock
    from pos_app.storage.db import connect
    from pos_app.storage.uow import SqliteUnitOfWork

    settings: Settings = payload["settings"]
    setup_logging(settings.log_dir)
    conn = connect(settings.db_path)
    service = ReportService(lambda: SqliteUnitOfWork(conn), SystemClock(), terminal_id=settings.store.terminal_id,
                            width=settings.printer.width_chars)
    outbox.send("ready")
    try:
        while True:
            try:
                message = inbox.recv()
            except EOFError:                  # the terminal is gone
                break
            if message == "stop":
                break
            if not (isinstance(message, tuple) and message and message[0] == "x_report"):
                continue
            _, request, shift_number, printed_by = message
            try:
                outbox.send((request, True, service.x_report(shift_number, printed_by=printed_by)))
            except ServiceError as exc:
                outbox.send((request, False, exc))
            except Exception as exc:  # noqa: BLE001 - told to the screen; the process keeps serving
                logger.exception("X report failed")
                outbox.send((request, False, ReportWorkerError(f"the report failed: {type(exc).__name__}")))
    except (BrokenPipeError, OSError):
        pass
    finally:
        conn.close()
    return 0
