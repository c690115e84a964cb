"""SQLite store of parked sales and of the open basket (schema 42). Each call is its own short transaction."""

from __future__ import annotations

import datetime as dt
import json
import logging
import sqlite3
from collections.abc import Callable
from typing import Any

from pos_app.domain.held import HeldRecord

from .audit import append_audit
from .db import transaction

__all__ = ["SqliteHeldBaskets"]

logger = logging.getLogger(__name__)

_COLS = "id, kind, label, body, total_fen, line_count, state, shift_id, cashier_id, created_at, reason"


def _record(r: sqlite3.Row) -> HeldRecord:
    return HeldRecord(id=r[0], kind=r[1], label=r[2], body=json.loads(r[3]), total_fen=r[4], line_count=r[5],
                      state=r[6], shift_id=r[7], cashier_id=r[8], created_at=r[9], reason=r[10])


class SqliteHeldBaskets:
    """Parked sales and the open basket of one terminal, on connections from ``connect``."""

    def __init__(self, connect: Callable[[], sqlite3.Connection], terminal_id: str) -> None:
        self._connect = connect
        self._terminal = terminal_id

    def _dump(self, body: dict[str, Any]) -> str:
        return json.dumps(body, ensure_ascii=False, sort_keys=True, separators=(",", ":"))

    def park(self, body: dict[str, Any], *, label: str, shift_id: int | None, cashier_id: int | None,
             user_name: str, at: dt.datetime) -> int:
        """Store a parked sale and drop the open basket, in one transaction (audited)."""
        conn = self._connect()
        stamp = at.isoformat()
        with transaction(conn):
            cur = conn.execute(
                "INSERT INTO held_baskets (kind, terminal_id, shift_id, cashier_id, label, body, total_fen, line_count,"
                " created_at, updated_at) VALUES ('parked', ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (self._terminal, shift_id, cashier_id, label, self._dump(body), int(body.get("payable_fen", 0)),
                 int(body.get("line_count", 0)), stamp, stamp))
            held_id = int(cur.lastrowid or 0)
            conn.execute("DELETE FROM held_baskets WHERE terminal_id = ? AND kind = 'open' AND state = 'held'",
                         (self._terminal,))
            append_audit(conn, at=at, user_id=cashier_id, user_name=user_name, action="sale.park",
                         subject=str(held_id), detail={"label": label, "total_fen": body.get("payable_fen", 0)})
        return held_id

    def parked(self) -> list[HeldRecord]:
        """The parked sales still waiting, oldest first."""
        conn = self._connect()
        return [_record(r) for r in conn.execute(
            f"SELECT {_COLS} FROM held_baskets WHERE terminal_id = ? AND kind = 'parked' AND state = 'held'"
            " ORDER BY id", (self._terminal,))]

    def get(self, held_id: int) -> HeldRecord | None:
        conn = self._connect()
        r = conn.execute(f"SELECT {_COLS} FROM held_baskets WHERE id = ? AND terminal_id = ?",
                         (held_id, self._terminal)).fetchone()
        return _record(r) if r is not None else None

    def close(self, held_id: int, *, state: str, user_id: int | None, user_name: str, reason: str,
              at: dt.datetime, open_body: dict[str, Any] | None = None) -> bool:
        """Mark a parked sale recalled or discarded (audited); a recalled one becomes the open basket in the
        same transaction. False if it was no longer waiting (recalled or discarded elsewhere)."""
        conn = self._connect()
        stamp = at.isoformat()
        with transaction(conn):
            cur = conn.execute("UPDATE held_baskets SET state = ?, closed_by = ?, reason = ?, updated_at = ?"
                               " WHERE id = ? AND terminal_id = ? AND kind = 'parked' AND state = 'held'",
                               (state, user_id, reason, stamp, held_id, self._terminal))
            if cur.rowcount != 1:
                return False
            if open_body is not None:
                self._put_open(conn, open_body, user_id, stamp)
            append_audit(conn, at=at, user_id=user_id, user_name=user_name,
                         action="sale.recall" if state == "recalled" else "sale.discard_parked",
                         subject=str(held_id), detail={"reason": reason} if reason else {})
        return True

    def _put_open(self, conn: sqlite3.Connection, body: dict[str, Any], cashier_id: int | None, stamp: str) -> None:
        conn.execute("DELETE FROM held_baskets WHERE terminal_id = ? AND kind = 'open' AND state = 'held'",
                     (self._terminal,))
        conn.execute("INSERT INTO held_baskets (kind, terminal_id, cashier_id, body, total_fen, line_count,"
                     " created_at, updated_at) VALUES ('open', ?, ?, ?, ?, ?, ?, ?)",
                     (self._terminal, cashier_id, self._dump(body), int(body.get("payable_fen", 0)),
                      int(body.get("line_count", 0)), stamp, stamp))

    def save_open(self, body: dict[str, Any] | None, *, cashier_id: int | None, at: dt.datetime) -> None:
        """Keep the open basket (None or an empty basket: forget it).

        Written with ``synchronous = NORMAL`` (this connection, this write only): the till writes the open
        basket after every scan, and a full fsync each time held the write lock for milliseconds a committed
        sale then waited for. In WAL mode the write is in the WAL when this returns, so it survives a crash of
        the program; a power cut can lose the last few scans of the open basket (never a committed sale: each
        sale's commit is synchronous = FULL and makes everything before it durable with it).
        """
        conn = self._connect()
        conn.execute("PRAGMA synchronous = NORMAL")
        try:
            with transaction(conn):
                if body is None or not body.get("lines"):
                    conn.execute("DELETE FROM held_baskets WHERE terminal_id = ? AND kind = 'open'"
                                 " AND state = 'held'", (self._terminal,))
                else:
                    self._put_open(conn, body, cashier_id, at.isoformat())
        finally:
            conn.execute("PRAGMA synchronous = FULL")

    def open_basket(self) -> HeldRecord | None:
        """The open basket kept from before a crash or restart, if any."""
        conn = self._connect()
        r = conn.execute(f"SELECT {_COLS} FROM held_baskets WHERE terminal_id = ? AND kind = 'open'"
                         " AND state = 'held'", (self._terminal,)).fetchone()
        return _record(r) if r is not None else None
