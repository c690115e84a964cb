"""The terminal's scheduled daily export of the sales journal (settings ``[export] folder``, ``time``).

Once a day, at or after ``time`` (store-local, Beijing), the previous store day's journal is written to
``folder/sales-<terminal>-<YYYY-MM-DD>.csv`` atomically (temporary file, rename; 0600). A day is
exported once: the file's existence is the record, so a terminal started late (or after a crash)
catches up on the days it missed, up to ``catch_up_days`` back. Runs on its own thread with its own
SQLite connection; ``stop()`` ends it.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from collections.abc import Callable
from pathlib import Path

from pos_app.services.ports.clock import BEIJING
from pos_app.settings import Settings

__all__ = ["DailyExporter", "due_days", "export_file", "export_day"]

logger = logging.getLogger(__name__)


def export_file(settings: Settings, day: dt.date) -> Path:
    """Where the export of ``day`` goes."""
    return Path(settings.export.folder).expanduser() / f"sales-{settings.store.terminal_id}-{day}.{settings.export.format}"


def due_days(settings: Settings, now: dt.datetime, exists: Callable[[Path], bool] = Path.exists) -> list[dt.date]:
    """The finished store days whose export is due and not written yet, oldest first."""
    local = now.astimezone(BEIJING)
    hour, minute = (int(x) for x in settings.export.time.split(":"))
    last = local.date() - dt.timedelta(days=1)
    if (local.hour, local.minute) < (hour, minute):
        last -= dt.timedelta(days=1)
    days = [last - dt.timedelta(days=k) for k in range(settings.export.catch_up_days)]
    return sorted(d for d in days if not exists(export_file(settings, d)))


def export_day(settings: Settings, day: dt.date, out: Path, *, now: dt.datetime) -> int:
    """Write one store day's journal to ``out`` (atomically, 0600); returns the number of rows."""
    from pos_app.bootstrap import JOURNAL_COLUMNS, journal_rows, open_database
    from pos_app.dataio.journal import write_journal

    conn = open_database(settings)
    try:
        return write_journal(out, settings.export.format, JOURNAL_COLUMNS,
                             journal_rows(conn, day, day, tz=BEIJING, now=now))
    finally:
        conn.close()


class DailyExporter:
    """A thread that checks every ``interval_s`` seconds whether a day's export is due."""

    def __init__(self, settings: Settings, *, clock: Callable[[], dt.datetime] | None = None,
                 interval_s: float = 60.0) -> None:
        self._settings = settings
        self._clock = clock or (lambda: dt.datetime.now(dt.UTC))
        self._interval = interval_s
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def run_once(self) -> list[Path]:
        """Write every due day's file; returns the files written (errors are logged, retried next time)."""

        written = []
        for day in due_days(self._settings, self._clock()):
            out = export_file(self._settings, day)
            try:
                out.parent.mkdir(parents=True, exist_ok=True)
                n = export_day(self._settings, day, out, now=self._clock())
            except Exception:  # a full disk or a missing share must not stop the terminal: log, retry later
                logger.exception("daily export of %s to %s failed; retried in %.0f s", day, out, self._interval)
                break
            logger.info("daily export of %s: %d rows to %s", day, n, out)
            written.append(out)
        return written

    def _loop(self) -> None:
        while not self._stop.is_set():
            self.run_once()
            self._stop.wait(self._interval)

    def start(self) -> DailyExporter:
        self._thread = threading.Thread(target=self._loop, name="daily-export", daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
