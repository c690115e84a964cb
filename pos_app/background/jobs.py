"""The terminal's scheduled chores in one supervised child process (issue 18).

The daily sales-journal export, the morning Alipay reconciliation and the nightly housekeeping (backup,
outbox and log pruning) each ran on a thread of the terminal: when one of them worked (a day's export, a
20 000-line bill, a backup) it shared the GIL with the GUI thread. Here they run, unchanged, in a child
process started and stopped with the terminal and restarted if it dies (``child.Supervised``); they report
through the log as before.
"""

from __future__ import annotations

import logging
from multiprocessing.connection import Connection
from typing import Any

from pos_app.settings import Settings

from .child import Supervised

__all__ = ["JobsSupervisor", "run_jobs_child"]

logger = logging.getLogger(__name__)


class JobsSupervisor:
    """``export``: the daily export; ``reconcile``: the morning reconciliation; ``housekeeping``: backups and
    pruning. Nothing to start when all three are off (``start`` then does nothing)."""

    def __init__(self, settings: Settings, *, export: bool = False, reconcile: bool = False,
                 housekeeping: bool = False, restart_min_s: float = 0.5, restart_max_s: float = 30.0) -> None:
        self.jobs = {"export": export, "reconcile": reconcile, "housekeeping": housekeeping}
        self._child = Supervised("jobs", "pos_app.background.jobs:run_jobs_child",
                                 {"settings": settings, **self.jobs}, self._on_message,
                                 restart_min_s=restart_min_s, restart_max_s=restart_max_s)

    def start(self) -> JobsSupervisor:
        if any(self.jobs.values()):
            self._child.start()
        return self

    def stop(self, timeout: float = 10.0) -> bool:
        return self._child.stop(timeout)

    @property
    def pid(self) -> int | None:
        return self._child.pid

    def _on_message(self, message: object) -> None:
        logger.debug("jobs process: %r", message)


def run_jobs_child(payload: dict[str, Any], inbox: Connection, outbox: Connection) -> int:
    """Child process: the chores the terminal asked for, on its settings, until the terminal stops them."""
    from pos_app.logs import setup_logging
    from pos_app.runtime import SystemClock

    settings: Settings = payload["settings"]
    setup_logging(settings.log_dir)
    running: list[Any] = []
    try:
        if payload.get("export"):
            from pos_app.daily_export import DailyExporter

            running.append(DailyExporter(settings).start())
        if payload.get("reconcile"):
            from pos_app.reconcile_runner import MorningReconcile

            running.append(MorningReconcile(settings, SystemClock()).start())
        if payload.get("housekeeping"):
            from pos_app.housekeeping import Housekeeper

            housekeeper = Housekeeper(settings)
            housekeeper.start()
            running.append(housekeeper)
        outbox.send("ready")
        while True:
            try:
                message = inbox.recv()
            except EOFError:                 # the terminal is gone
                break
            if message == "stop":
                break
    except (BrokenPipeError, OSError):
        pass                                 # the terminal is gone
    finally:
        for job in reversed(running):
            job.stop()
    return 0
