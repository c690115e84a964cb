"""The terminal's scheduled chores on a thread of their own: the nightly backup (rotated), pruning finished
outbox rows and old log files. Nothing here runs on the GUI thread; the backup copies a few pages at a
time so the cashier's commits go on (see pos_app/storage/backup.py)."""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path

from pos_app.settings import Settings

__all__ = ["Housekeeper", "ChoreReport", "prune_logs", "backup_due"]

logger = logging.getLogger(__name__)


@dataclasses.dataclass
class ChoreReport:
    backup: Path | None = None
    backup_error: str = ""
    outbox_pruned: int = 0
    logs_pruned: int = 0


def backup_due(newest: dt.datetime | None, now: dt.datetime, hour: int) -> bool:
    """The day's backup is due at the first check after ``hour`` o'clock (local) when none was made since then."""
    if now.hour < hour:
        return False
    since = now.replace(hour=hour, minute=0, second=0, microsecond=0)
    return newest is None or newest < since


def prune_logs(log_dir: Path, *, keep_days: int, now: float | None = None) -> int:
    """Delete rotated log files (``*.log.N`` and other ``*.log*``) not written for ``keep_days``; never the
    current ``pos.log``."""
    if not log_dir.is_dir():
        return 0
    cutoff = (now if now is not None else time.time()) - keep_days * 86400
    removed = 0
    for p in log_dir.iterdir():
        if p.name == "pos.log" or ".log" not in p.name or not p.is_file():
            continue
        with contextlib.suppress(OSError):
            if p.stat().st_mtime < cutoff:
                p.unlink()
                removed += 1
    if removed:
        logger.info("logs: %d files older than %d days deleted from %s", removed, keep_days, log_dir)
    return removed


class Housekeeper:
    """``run_once(now)`` does whatever is due; ``start()`` runs it every ``interval_minutes`` on a daemon thread."""

    def __init__(self, settings: Settings, *, now: Callable[[], dt.datetime] = dt.datetime.now) -> None:
        self.settings = settings
        self._now = now
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.last: ChoreReport | None = None

    def run_once(self, now: dt.datetime | None = None) -> ChoreReport:
        from pos_app.bootstrap import (
            BackupError,
            backup_name,
            connect_database,
            newest_backup,
            online_backup,
            prune_outbox,
            rotate,
        )

        s = self.settings
        now = now or self._now()
        local = now.astimezone().replace(tzinfo=None) if now.tzinfo else now  # backup names are local time
        report = ChoreReport()
        if s.backup.enabled and s.db_path.is_file():
            newest = newest_backup(s.backup_dir)
            if backup_due(newest[0] if newest else None, local, s.backup.hour):
                try:
                    report.backup = online_backup(s.db_path, s.backup_dir / backup_name(local)).path
                    rotate(s.backup_dir, keep_daily=s.backup.keep_daily, keep_weekly=s.backup.keep_weekly)
                except BackupError as exc:
                    report.backup_error = str(exc)
                    logger.error("nightly backup failed: %s", exc)
        if s.db_path.is_file():
            try:
                conn = connect_database(s)
                try:
                    cutoff = now.astimezone() - dt.timedelta(days=s.housekeeping.outbox_keep_days)
                    report.outbox_pruned = prune_outbox(conn, older_than=cutoff)
                finally:
                    conn.close()
            except Exception:  # a chore must never take the terminal down: logged, retried next time
                logger.exception("outbox pruning failed")
        report.logs_pruned = prune_logs(s.log_dir, keep_days=s.housekeeping.log_keep_days,
                                        now=now.timestamp())
        self.last = report
        return report

    def start(self, first_delay_s: float = 60.0) -> None:
        if self._thread is not None:
            return

        def loop() -> None:
            from pos_app.bootstrap import lower_priority

            lower_priority()  # chores yield the CPU to the cashier
            delay = first_delay_s
            while not self._stop.wait(delay):
                try:
                    self.run_once()
                except Exception:  # never kill the thread: logged and tried again next interval
                    logger.exception("housekeeping failed")
                delay = self.settings.housekeeping.interval_minutes * 60.0

        self._thread = threading.Thread(target=loop, name="housekeeping", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None
