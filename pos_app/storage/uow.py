"""Unit of work: one BEGIN IMMEDIATE transaction exposing the repositories on one connection.

``uow.read()`` makes it a read: a deferred transaction (a consistent snapshot, no write lock) with
``PRAGMA query_only`` on, so a write inside a read fails loudly instead of taking the lock.
"""

from __future__ import annotations

import contextlib
import sqlite3
from types import TracebackType
from typing import TYPE_CHECKING

from .errors import translate
from .integrity import after_commit, discard_pending, seal_pending

if TYPE_CHECKING:
    from .audit import SqliteAuditLog
    from .catalogue import SqliteCatalogue
    from .members import SqliteMembers
    from .outbox import OutboxRepository
    from .payments import SqlitePaymentAttempts
    from .reports import SqliteReportRepository
    from .sales import SqliteJournal, SqliteSales
    from .shifts import SqliteShiftRepository
    from .users import SqliteUserRepository

__all__ = ["SqliteUnitOfWork"]


class SqliteUnitOfWork:
    """``with SqliteUnitOfWork(conn) as uow: ...`` commits on success, rolls back on any exception.

    Repositories are attributes built on the same connection (each area adds its own below);
    the connection belongs to one thread.
    """

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn
        self._active = False
        self._readonly = False

    def read(self) -> SqliteUnitOfWork:
        """This unit of work only reads: no write lock, writes refused (``with uow_factory().read() as uow``)."""
        self._readonly = True
        return self

    def __enter__(self) -> SqliteUnitOfWork:
        discard_pending(self.conn)
        try:
            if self._readonly:
                self.conn.execute("PRAGMA query_only = ON")
                self.conn.execute("BEGIN")
            else:
                self.conn.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as exc:
            raise translate(exc) from exc
        self._active = True
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self._active = False
        if self._readonly:
            with contextlib.suppress(sqlite3.Error):
                self.conn.execute("ROLLBACK")
            with contextlib.suppress(sqlite3.Error):
                self.conn.execute("PRAGMA query_only = OFF")
            if isinstance(exc, sqlite3.Error):
                raise translate(exc) from exc
            return
        if exc_type is not None:
            discard_pending(self.conn)
            with contextlib.suppress(sqlite3.Error):
                self.conn.execute("ROLLBACK")
            if isinstance(exc, sqlite3.Error):
                raise translate(exc) from exc
            return
        try:
            seal_pending(self.conn)  # each sale/refund inserted here gets its sealing audit entry
            self.conn.execute("COMMIT")
        except BaseException as err:  # nothing half-done stays open on this connection
            discard_pending(self.conn)
            with contextlib.suppress(sqlite3.Error):
                self.conn.execute("ROLLBACK")
            if isinstance(err, sqlite3.Error):
                raise translate(err) from err
            raise
        after_commit(self.conn)  # the chain head goes to the anchor file

    # --- repositories (each area adds a property returning its repository on self.conn) ---

    # shifts, users and reports
    @property
    def users(self) -> SqliteUserRepository:
        from .users import SqliteUserRepository

        return SqliteUserRepository(self.conn)

    @property
    def shifts(self) -> SqliteShiftRepository:
        from .shifts import SqliteShiftRepository

        return SqliteShiftRepository(self.conn)

    @property
    def reports(self) -> SqliteReportRepository:
        from .reports import SqliteReportRepository

        return SqliteReportRepository(self.conn)

    @property
    def audit(self) -> SqliteAuditLog:
        from .audit import SqliteAuditLog

        return SqliteAuditLog(self.conn)

    # checkout core: payments, sales, members, catalogue, journal (audit + outbox)
    @property
    def payments(self) -> SqlitePaymentAttempts:
        from .payments import SqlitePaymentAttempts

        return SqlitePaymentAttempts(self.conn)

    @property
    def sales(self) -> SqliteSales:
        from .sales import SqliteSales

        return SqliteSales(self.conn)

    @property
    def members(self) -> SqliteMembers:
        from .members import SqliteMembers

        return SqliteMembers(self.conn)

    @property
    def catalogue(self) -> SqliteCatalogue:
        from .catalogue import SqliteCatalogue

        return SqliteCatalogue(self.conn)

    @property
    def journal(self) -> SqliteJournal:
        from .sales import SqliteJournal

        return SqliteJournal(self.conn)

    # sync: the outbox (enqueue inside this transaction; queue figures for reports)
    @property
    def outbox(self) -> OutboxRepository:
        from .outbox import OutboxRepository

        return OutboxRepository(self.conn)
