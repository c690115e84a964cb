"""Unit of work: one BEGIN IMMEDIATE transaction exposing the repositories on one connection."""

from __future__ import annotations

import contextlib
import sqlite3
from types import TracebackType

from .errors import translate

__all__ = ["SqliteUnitOfWork"]


class SqliteUnitOfWork:
    """``with SqliteUnitOfWork(conn) as uow: ...`` commits on success, rolls back on any exception.

    Repositories are attributes built on the same connection (each area adds its own below);
    the connection belongs to one thread.
    """

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn
        self._active = False

    def __enter__(self) -> SqliteUnitOfWork:
        try:
            self.conn.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as exc:
            raise translate(exc) from exc
        self._active = True
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self._active = False
        if exc_type is not None:
            with contextlib.suppress(sqlite3.Error):
                self.conn.execute("ROLLBACK")
            if isinstance(exc, sqlite3.Error):
                raise translate(exc) from exc
            return
        try:
            self.conn.execute("COMMIT")
        except sqlite3.Error as err:
            with contextlib.suppress(sqlite3.Error):
                self.conn.execute("ROLLBACK")
            raise translate(err) from err

    # --- repositories (each area adds a property returning its repository on self.conn) ---
