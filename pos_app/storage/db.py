"""Open the terminal's SQLite file safely: pragmas, identity check, numbered migrations."""

from __future__ import annotations

import contextlib
import logging
import os
import sqlite3
from collections.abc import Callable, Iterator
from importlib import resources
from pathlib import Path

from .errors import DatabaseCorrupt, DatabaseTooNew, ReadOnly, StorageError, translate

__all__ = [
    "APPLICATION_ID",
    "SCHEMA_VERSION",
    "MIGRATIONS",
    "Database",
    "connect",
    "migrate",
    "schema_version",
    "transaction",
]

logger = logging.getLogger(__name__)

APPLICATION_ID = 0x504F5331  # "POS1": marks the file as ours (PRAGMA application_id)
BUSY_TIMEOUT_MS = 5000


def _sql_file(name: str) -> Callable[[sqlite3.Connection], None]:
    def apply(conn: sqlite3.Connection) -> None:
        _run_script(conn, resources.files(__package__).joinpath(name).read_text(encoding="utf-8"))

    return apply


def _run_script(conn: sqlite3.Connection, script: str) -> None:
    """Run a multi-statement script inside the caller's transaction (executescript would commit)."""
    statement = ""
    for line in script.splitlines(keepends=True):
        statement += line
        if sqlite3.complete_statement(statement):
            conn.execute(statement)
            statement = ""
    if statement.strip():
        raise StorageError(f"incomplete SQL statement in migration: {statement[:60]!r}")


# Numbered migrations, applied in order inside one transaction each. Never edit a released one:
# add a new number. Each area may add its own numbers; gaps are fine (user_version = highest applied).
MIGRATIONS: list[tuple[int, Callable[[sqlite3.Connection], None]]] = [
    (1, _sql_file("schema_v1.sql")),
    (20, _sql_file("schema_v20.sql")),  # data (issue 12): full catalogue record, barcodes, price history
    (21, _sql_file("schema_v21.sql")),  # data (issue 12): sales journal row numbers
    (30, _sql_file("lane_store_v30.sql")),   # store mode: lane journal (issue 13)
    (31, _sql_file("lane_store_v31.sql")),   # store mode: points held at the store before payment (issue 13)
    (32, _sql_file("lane_store_v32.sql")),   # store mode: store settings and users pulled (issue 13)
    (36, _sql_file("lane_store_v36.sql")),   # store mode: who approved an offline redemption (issue 13)
    (40, _sql_file("schema_v40.sql")),  # counter (issue 14): promotions, special prices, per-level member prices
    (41, _sql_file("schema_v41.sql")),  # counter (issue 14): VAT and discounts of each sale line
    (42, _sql_file("schema_v42.sql")),  # counter (issue 14): parked sales and the open basket
    (43, _sql_file("schema_v43.sql")),  # counter (issue 14): exchanges
    (44, _sql_file("schema_v44.sql")),  # counter (issue 14): pricing version (promotions apply without a restart)
    (45, _sql_file("schema_v45.sql")),  # counter (issue 14): the float carried to the next shift
    (50, _sql_file("schema_50_reconcile.sql")),  # card: daily Alipay reconciliation
    (51, _sql_file("schema_51_card_openings.sql")),  # card: cards opened by the opening endpoint
    (60, _sql_file("schema_v60.sql")),  # store PC (issue 17): members without the shop's Alipay card
]
SCHEMA_VERSION = max(v for v, _ in MIGRATIONS)


def connect(path: Path | str, *, readonly: bool = False, shared: bool = False) -> sqlite3.Connection:
    """Open a connection with the terminal's pragmas (WAL, synchronous=FULL, foreign keys, busy timeout).

    ``shared``: the caller hands the connection to one thread at a time itself (and may close it from another
    thread once that one has ended), so SQLite's same-thread check is off.

    Raises StorageUnavailable for a file we cannot use (not a database, not ours, read-only folder).
    """
    path = Path(path)
    try:
        if readonly:
            # as_uri() percent-escapes '?', '#' and '%' in the folder names (a raw f"file:{path}" opened,
            # or created, another file)
            conn = sqlite3.connect(path.resolve().as_uri() + "?mode=ro", uri=True, isolation_level=None,
                                   check_same_thread=not shared)
        else:
            if not path.parent.exists():
                path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            _create_owner_only(path)  # SQLite gives -wal/-shm the database file's mode
            conn = sqlite3.connect(str(path), isolation_level=None, check_same_thread=not shared)
        conn.row_factory = sqlite3.Row
        conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        app_id = conn.execute("PRAGMA application_id").fetchone()[0]
        tables = conn.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]
        if app_id != APPLICATION_ID and (app_id != 0 or tables > 0):
            conn.close()
            raise DatabaseCorrupt(f"{path} is a database of another program; it was not touched")
        if not readonly:
            mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
            if str(mode).lower() != "wal":
                logger.warning("journal_mode is %s, not WAL, for %s", mode, path)
            conn.execute("PRAGMA synchronous = FULL")
        conn.execute("PRAGMA foreign_keys = ON")
        return conn
    except sqlite3.Error as exc:
        err = translate(exc, str(path))
        if not path.parent.exists() or not os.access(path.parent, os.W_OK):
            err = ReadOnly(f"the data folder cannot be written: {path.parent}")
        raise err from exc
    except PermissionError as exc:
        raise ReadOnly(f"the data folder cannot be written: {path.parent}") from exc


def _create_owner_only(path: Path) -> None:
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except OSError:
        return  # exists already, or cannot be created: SQLite's own open reports that precisely
    os.close(fd)


def schema_version(conn: sqlite3.Connection) -> int:
    """The schema version recorded in the file (PRAGMA user_version)."""
    return int(conn.execute("PRAGMA user_version").fetchone()[0])


@contextlib.contextmanager
def transaction(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """BEGIN IMMEDIATE ... COMMIT, or ROLLBACK on any exception; sqlite errors are translated."""
    try:
        conn.execute("BEGIN IMMEDIATE")
    except sqlite3.Error as exc:
        raise translate(exc) from exc
    try:
        yield conn
    except BaseException as exc:
        with contextlib.suppress(sqlite3.Error):
            conn.execute("ROLLBACK")
        if isinstance(exc, sqlite3.Error):
            raise translate(exc) from exc
        raise
    try:
        conn.execute("COMMIT")
    except sqlite3.Error as exc:
        with contextlib.suppress(sqlite3.Error):
            conn.execute("ROLLBACK")
        raise translate(exc) from exc


def _applied_versions(conn: sqlite3.Connection, current: int) -> set[int]:
    """The migrations this file has had, from its ``schema_migrations`` table.

    A file written before that table existed recorded only the highest version (``user_version``); for it every
    known migration up to that version counts as applied, which is what the single counter meant.
    """
    has_table = conn.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'").fetchone()
    if has_table:
        return {int(r[0]) for r in conn.execute("SELECT version FROM schema_migrations")}
    return {v for v, _ in MIGRATIONS if v <= current}


def migrate(conn: sqlite3.Connection) -> list[int]:
    """Apply every migration this file has not had yet; refuse a file newer than this code.

    Each migration is recorded in ``schema_migrations``, so one with a lower number that arrives after a higher one
    (areas number their migrations in their own ranges) is still applied, not skipped because ``user_version``
    (the highest applied) is already past it. Returns the versions applied; each runs in its own transaction.
    """
    current = schema_version(conn)
    if current > SCHEMA_VERSION:
        raise DatabaseTooNew(
            f"the database is from a newer version of the terminal (schema {current}, this program knows "
            f"{SCHEMA_VERSION}); install the newer version, the file was not touched")
    applied: list[int] = []
    try:
        done = _applied_versions(conn, current)
        for version, step in sorted(MIGRATIONS, key=lambda m: m[0]):
            if version in done:
                continue
            with transaction(conn):
                step(conn)
                conn.execute("CREATE TABLE IF NOT EXISTS schema_migrations ("
                              "version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)")
                conn.executemany("INSERT OR IGNORE INTO schema_migrations (version, applied_at)"
                                 " VALUES (?, strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))",
                                 [(v,) for v in sorted(done | {version})])
                conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
                conn.execute(f"PRAGMA user_version = {max(current, version)}")
            logger.info("database migrated to schema %d", version)
            applied.append(version)
            done.add(version)
            current = max(current, version)
    except sqlite3.Error as exc:
        raise translate(exc) from exc
    return applied


class Database:
    """The terminal's database file. Hands out one new connection per caller/thread."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)

    def connect(self) -> sqlite3.Connection:
        """A new connection (never share it across threads)."""
        return connect(self.path)

    def open_and_migrate(self) -> sqlite3.Connection:
        """Connect, apply migrations, and return the connection."""
        conn = connect(self.path)
        try:
            migrate(conn)
        except BaseException:
            conn.close()
            raise
        return conn
