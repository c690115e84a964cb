"""Storage errors, split into "the environment" (show the user) and "a bug" (crash loudly)."""

from __future__ import annotations

import sqlite3

from pos_app.services.ports.errors import ServiceUnavailable

__all__ = [
    "StorageError",
    "StorageUnavailable",
    "DatabaseLocked",
    "DiskFull",
    "ReadOnly",
    "DatabaseCorrupt",
    "DatabaseTooNew",
    "StorageBug",
    "translate",
]


class StorageError(Exception):
    """Base of every storage error."""


class StorageUnavailable(StorageError, ServiceUnavailable):
    """The environment stops us (locked, full, read-only, corrupt); ``str()`` is for the user.

    A ServiceUnavailable: the layers above catch that type (with ``reason``), never storage's own.
    """


class DatabaseLocked(StorageUnavailable):
    """Another process holds the database for longer than the busy timeout."""

    reason = "locked"


class DiskFull(StorageUnavailable):
    """No space left for the database or its journal."""

    reason = "disk_full"


class ReadOnly(StorageUnavailable):
    """The database file or its folder cannot be written."""

    reason = "read_only"


class DatabaseCorrupt(StorageUnavailable):
    """The file is not a database of ours, or is damaged."""

    reason = "corrupt"


class DatabaseTooNew(StorageUnavailable):
    """The database was written by a newer version of the terminal."""

    reason = "too_new"


class StorageBug(StorageError):
    """A programming error (bad SQL, constraint the code should have prevented)."""


def translate(exc: sqlite3.Error, path: str = "") -> StorageError:
    """Sort a sqlite3 exception into an environment problem or a bug."""
    where = f" ({path})" if path else ""
    code = getattr(exc, "sqlite_errorcode", None)
    primary = code & 0xFF if isinstance(code, int) else None
    text = str(exc).lower()
    if primary == sqlite3.SQLITE_FULL or "database or disk is full" in text or "disk is full" in text:
        return DiskFull(f"the disk is full: free some space and try again{where}")
    if primary in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED) or "database is locked" in text:
        return DatabaseLocked(f"the database is busy in another program; try again{where}")
    if primary in (sqlite3.SQLITE_READONLY, sqlite3.SQLITE_PERM, sqlite3.SQLITE_CANTOPEN) or "readonly" in text \
            or "read-only" in text or "unable to open" in text:
        return ReadOnly(f"the data folder cannot be written: check its permissions{where}")
    if primary in (sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB) or "not a database" in text or "malformed" in text:
        return DatabaseCorrupt(f"the database file is damaged or is not a POS database{where}")
    if primary == sqlite3.SQLITE_IOERR or "disk i/o error" in text:
        return DiskFull(f"the disk could not be written (I/O error; disk full?){where}")
    return StorageBug(f"{type(exc).__name__}: {exc}")
