"""Online backups of the terminal's database: SQLite's backup API, step-wise, never a file copy.

A backup holds one read transaction on the live file for its whole run (WAL: writers go on, the copy
is one consistent snapshot and never restarts), copies a few pages per step with a pause between
steps so the cashier's commits are not held up, checks the copy with ``PRAGMA integrity_check`` and
only then gives it its final name (owner-only, 0600). Rotation keeps the newest copy of each of the
last ``keep_daily`` days and of each of the last ``keep_weekly`` ISO weeks.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import logging
import os
import re
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path

__all__ = [
    "BackupError",
    "BackupResult",
    "online_backup",
    "integrity_problems",
    "backup_name",
    "list_backups",
    "rotate",
    "newest_backup",
    "BACKUP_PATTERN",
    "RestoreResult",
    "restore",
    "premigrate_backup",
    "lower_priority",
]

logger = logging.getLogger(__name__)

BACKUP_PATTERN = re.compile(r"^pos-(\d{8})-(\d{6})\.sqlite3$")
PAGES_PER_STEP = 64          # 256 KiB of 4 KiB pages per step: each step is a short read
STEP_PAUSE_S = 0.004         # between steps the cashier's transactions get the disk


class BackupError(RuntimeError):
    """A backup or restore that did not happen; the message says why (nothing was replaced)."""


@dataclasses.dataclass(frozen=True)
class BackupResult:
    path: Path
    size_bytes: int
    seconds: float
    steps: int


def lower_priority() -> None:
    """Make the calling thread yield the CPU to the cashier's (Linux: nice 10 for this thread only)."""
    import threading

    with contextlib.suppress(AttributeError, OSError):
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 10)


def _connect_source(path: Path) -> sqlite3.Connection:
    if not path.is_file():
        raise BackupError(f"{path}: no database to back up")
    try:
        # read-write open (not mode=ro) so a WAL file left by a crash can be read; nothing is written
        conn = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False)
        conn.execute("PRAGMA busy_timeout = 5000")
        return conn
    except sqlite3.Error as exc:
        raise BackupError(f"{path}: cannot open ({exc})") from exc


def _create_private(path: Path) -> None:
    """An empty file only the owner may read, created before SQLite writes into it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.close(fd)
    os.chmod(path, 0o600)


def integrity_problems(path: Path, *, quick: bool = False) -> list[str]:
    """``PRAGMA integrity_check`` (or ``quick_check``) of a database file; [] when it is sound."""
    if not path.is_file():
        return [f"{path}: no such file"]
    try:
        conn = sqlite3.connect(Path(path).resolve().as_uri() + "?mode=ro", uri=True, isolation_level=None)
    except sqlite3.Error as exc:
        return [f"{path}: cannot open ({exc})"]
    try:
        rows = conn.execute("PRAGMA quick_check" if quick else "PRAGMA integrity_check").fetchall()
        problems = [str(r[0]) for r in rows if str(r[0]) != "ok"]
        problems += [f"foreign key: {tuple(r)}" for r in conn.execute("PRAGMA foreign_key_check").fetchall()]
        return problems
    except sqlite3.Error as exc:
        return [f"{path}: {exc}"]
    finally:
        conn.close()


def online_backup(db_path: Path, dest: Path, *, pages: int = PAGES_PER_STEP, pause_s: float = STEP_PAUSE_S,
                  check: bool = True, progress: Callable[[int, int], None] | None = None) -> BackupResult:
    """Copy the live database at ``db_path`` to ``dest`` (0600) through SQLite's backup API.

    Raises BackupError (and leaves no file at ``dest``) when the copy fails or does not pass the check.
    """
    t0 = time.monotonic()
    dest = Path(dest)
    tmp = dest.with_name(dest.name + ".partial")
    src = _connect_source(Path(db_path))
    steps = 0

    def on_step(_status: int, remaining: int, total: int) -> None:
        nonlocal steps
        steps += 1
        if progress is not None:
            progress(total - remaining, total)

    try:
        _create_private(tmp)
        dst = sqlite3.connect(str(tmp), isolation_level=None)
        try:
            # the copy is not a database anyone uses until it is checked and renamed: no journal, no fsync
            # per step (each would queue behind, and in front of, the cashier's own commit fsyncs)
            dst.execute("PRAGMA synchronous = OFF")
            dst.execute("PRAGMA journal_mode = OFF")
            src.execute("BEGIN")  # one snapshot for the whole copy: never restarted by the cashier's commits
            src.execute("SELECT count(*) FROM sqlite_master").fetchone()
            src.backup(dst, pages=pages, progress=on_step, sleep=pause_s)
            src.execute("COMMIT")
            dst.execute("PRAGMA journal_mode = DELETE")  # a single self-contained file
        finally:
            dst.close()
        fd = os.open(tmp, os.O_RDONLY)
        try:
            os.fsync(fd)  # once, at the end
        finally:
            os.close(fd)
        os.chmod(tmp, 0o600)
        if check:
            problems = integrity_problems(tmp)
            if problems:
                raise BackupError(f"the copy failed its integrity check: {problems[0]}")
        os.replace(tmp, dest)
        with contextlib.suppress(OSError):
            fd = os.open(dest.parent, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
    except (sqlite3.Error, OSError) as exc:
        raise BackupError(f"backup of {db_path} to {dest} failed: {exc}") from exc
    finally:
        with contextlib.suppress(sqlite3.Error):
            src.close()
        with contextlib.suppress(OSError):
            tmp.unlink()
    result = BackupResult(dest, dest.stat().st_size, time.monotonic() - t0, steps)
    logger.info("backup %s written (%d bytes, %.1f s, %d steps)", dest, result.size_bytes, result.seconds, steps)
    return result


def backup_name(now: dt.datetime) -> str:
    """``pos-YYYYMMDD-HHMMSS.sqlite3`` in local time (the shop's day)."""
    return f"pos-{now:%Y%m%d-%H%M%S}.sqlite3"


def list_backups(folder: Path) -> list[tuple[dt.datetime, Path]]:
    """Automatic backups in ``folder``, newest first."""
    out: list[tuple[dt.datetime, Path]] = []
    if not folder.is_dir():
        return out
    for p in folder.iterdir():
        m = BACKUP_PATTERN.match(p.name)
        if not m or not p.is_file():
            continue
        try:
            out.append((dt.datetime.strptime(m.group(1) + m.group(2), "%Y%m%d%H%M%S"), p))
        except ValueError:
            continue
    out.sort(key=lambda t: t[0], reverse=True)
    return out


def newest_backup(folder: Path) -> tuple[dt.datetime, Path] | None:
    found = list_backups(folder)
    return found[0] if found else None


def rotate(folder: Path, *, keep_daily: int = 7, keep_weekly: int = 4) -> list[Path]:
    """Delete automatic backups beyond the newest of each of the last ``keep_daily`` days and
    ``keep_weekly`` ISO weeks; returns the deleted files. Other files in the folder are never touched."""
    backups = list_backups(folder)
    keep: set[Path] = set()
    days: list[dt.date] = []
    weeks: list[tuple[int, int]] = []
    for at, path in backups:  # newest first: the first seen of a day/week is its newest copy
        day = at.date()
        if day not in days and len(days) < keep_daily:
            days.append(day)
            keep.add(path)
        iso = at.isocalendar()
        week = (iso[0], iso[1])
        if week not in weeks and len(weeks) < keep_weekly:
            weeks.append(week)
            keep.add(path)
    removed: list[Path] = []
    for _, path in backups:
        if path not in keep:
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
                removed.append(path)
    if removed:
        logger.info("backups rotated: %d removed from %s", len(removed), folder)
    return removed


@dataclasses.dataclass(frozen=True)
class RestoreResult:
    restored_from: Path
    replaced_kept_at: Path | None
    schema_version: int


def restore(db_path: Path, backup: Path, *, now: dt.datetime, who: str = "pos-app db restore") -> RestoreResult:
    """Put ``backup`` in place of ``db_path``: refused while a terminal or sync worker uses the file or when
    the backup is not sound; the replaced file (with its WAL) is kept aside as ``<name>.replaced-<time>``;
    the restore is recorded in the restored file's audit log."""
    from pos_app.storage.audit import append_audit
    from pos_app.storage.db import APPLICATION_ID, SCHEMA_VERSION, connect, transaction
    from pos_app.storage.integrity import re_anchor
    from pos_app.storage.runlock import RunLock, in_use

    db_path, backup = Path(db_path), Path(backup)
    if backup.resolve() == db_path.resolve():
        raise BackupError(f"{backup} is the database itself")
    problems = integrity_problems(backup)
    if problems:
        raise BackupError(f"{backup} is not a sound database: {problems[0]}; nothing was replaced")
    with contextlib.closing(sqlite3.connect(Path(backup).resolve().as_uri() + "?mode=ro", uri=True)) as probe:
        app_id = probe.execute("PRAGMA application_id").fetchone()[0]
        version = int(probe.execute("PRAGMA user_version").fetchone()[0])
    if app_id != APPLICATION_ID:
        raise BackupError(f"{backup} is not a terminal database; nothing was replaced")
    if version > SCHEMA_VERSION:
        raise BackupError(f"{backup} is from a newer version of the terminal (schema {version}, this program "
                          f"knows {SCHEMA_VERSION}); nothing was replaced")
    lock = RunLock.for_database(db_path)
    user = in_use(db_path)
    if user or not lock.acquire(shared=False):
        raise BackupError(f"{db_path} is in use by {user or 'a terminal'}; close it first (nothing was replaced)")
    try:
        aside: Path | None = None
        tmp = db_path.with_name(db_path.name + ".restoring")
        online_backup(backup, tmp, pages=-1, pause_s=0.0, check=False)  # a copy of a file nobody writes
        if db_path.exists():
            aside = db_path.with_name(f"{db_path.name}.replaced-{now:%Y%m%d-%H%M%S}")
            for suffix in ("", "-wal", "-shm"):
                part = Path(str(db_path) + suffix)
                if part.exists():
                    os.replace(part, Path(str(aside) + suffix))
                    with contextlib.suppress(OSError):
                        os.chmod(Path(str(aside) + suffix), 0o600)
        os.replace(tmp, db_path)
        conn = connect(db_path)
        try:
            with transaction(conn):
                append_audit(conn, at=now, user_id=None, user_name=who, action="db.restore", subject=str(backup),
                             detail={"replaced_kept_at": str(aside) if aside else "",
                                     "schema_version": version})
                _new_store_epoch(conn)
            re_anchor(conn)  # the restored file is the truth now (a copy put back by hand is still refused)
        finally:
            conn.close()
    finally:
        lock.release()
    logger.warning("database %s restored from %s (replaced file kept at %s)", db_path, backup, aside)
    return RestoreResult(backup, aside, version)


def _new_store_epoch(conn: sqlite3.Connection) -> None:
    """Store mode (issue 13): a restored lane is a new epoch at once, and its receipt numbers continue in a new
    block, also for the sales it makes before it reaches the store again."""
    enabled = conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'lane_store_state'").fetchone()
    if enabled and conn.execute("SELECT enabled FROM lane_store_state WHERE id = 1").fetchone()[0]:
        from pos_app.storage.lane_journal import start_new_epoch

        start_new_epoch(conn)
        logger.warning("restored lane: a new store epoch; receipt numbers continue in a new block")


def premigrate_backup(db_path: Path, folder: Path, now: dt.datetime | None = None) -> Path | None:
    """Before migrating: a backup ``pre-migrate-v<old>-<time>.sqlite3`` when the file exists and is older than
    this program's schema (None when there is nothing to migrate). Never rotated away."""
    from pos_app.storage.db import SCHEMA_VERSION

    db_path = Path(db_path)
    if not db_path.is_file():
        return None
    try:
        with contextlib.closing(sqlite3.connect(Path(db_path).resolve().as_uri() + "?mode=ro", uri=True)) as probe:
            version = int(probe.execute("PRAGMA user_version").fetchone()[0])
            tables = int(probe.execute("SELECT count(*) FROM sqlite_master").fetchone()[0])
    except sqlite3.Error:
        return None  # not a database: migrate reports it and touches nothing
    if version >= SCHEMA_VERSION or tables == 0:
        return None
    now = now or dt.datetime.now()
    return online_backup(db_path, folder / f"pre-migrate-v{version}-{now:%Y%m%d-%H%M%S}.sqlite3").path
