"""The lane's record of points held at the store before a sale is paid (store mode, schema 31).

One row per hold the till asked for; the sale's redeem ledger entry carries its ``entry_id`` and a trigger
marks the hold used in the sale's own transaction. A hold given up after the store was asked is journaled
(``points_release``) so the store gives the points back. This module only keeps the lane's side: the store
call and the offline rules are in ``pos_app.store_points``.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
import uuid
from dataclasses import dataclass
from pathlib import Path

from .db import connect, transaction
from .lane_journal import STORE_TZ

__all__ = ["HoldRow", "SqliteRedeemHolds"]


@dataclass(frozen=True)
class HoldRow:
    entry_id: str
    card_no: str
    points: int
    online: bool
    asked: bool
    state: str


class SqliteRedeemHolds:
    """Short-lived: one connection per call (the till calls from the GUI thread and the payment thread)."""

    def __init__(self, db_path: Path | str) -> None:
        self._path = db_path

    def _conn(self) -> sqlite3.Connection:
        return connect(self._path)

    @staticmethod
    def day(at: dt.datetime) -> str:
        return at.astimezone(STORE_TZ).date().isoformat()

    def add(self, entry_id: str, card_no: str, points: int, *, state: str, asked: bool, at: dt.datetime,
            approved_by: int | None = None) -> None:
        conn = self._conn()
        try:
            with transaction(conn):
                conn.execute("INSERT INTO lane_redeem (entry_id, card_no, points, asked, state, business_date, "
                             "created_at, approved_by) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                             (entry_id, card_no, points, int(asked), state, self.day(at), at.isoformat(),
                              approved_by))
        finally:
            conn.close()

    def set_state(self, entry_id: str, state: str, *, online: bool | None = None,
                  store_balance: int | None = None, approved_by: int | None = None) -> None:
        conn = self._conn()
        try:
            with transaction(conn):
                conn.execute("UPDATE lane_redeem SET state = ?, online = coalesce(?, online), "
                             "store_balance = coalesce(?, store_balance), approved_by = coalesce(?, approved_by) "
                             "WHERE entry_id = ? AND state <> 'used'",
                             (state, None if online is None else int(online), store_balance, approved_by,
                              entry_id))
        finally:
            conn.close()

    def release(self, entry_id: str, release_entry_id: str, at: dt.datetime) -> bool:
        """Give a hold back (not if its sale was committed meanwhile); True if it was released now."""
        conn = self._conn()
        try:
            with transaction(conn):
                cur = conn.execute("UPDATE lane_redeem SET state = 'released', release_entry_id = ?, released_at = ? "
                                   "WHERE entry_id = ? AND state IN ('asking', 'held', 'offline')",
                                   (release_entry_id, at.isoformat(), entry_id))
                return cur.rowcount == 1
        finally:
            conn.close()

    def release_orphans(self, at: dt.datetime) -> int:
        """At the terminal's start no sale is being paid: a hold still open lost its sale (the lane stopped between
        the hold and the commit) and is given back, unless an unfinished payment attempt carries it (that sale is
        completed from the attempt). Returns how many were released."""
        conn = self._conn()
        try:
            with transaction(conn):
                orphans = [r[0] for r in conn.execute(
                    "SELECT entry_id FROM lane_redeem h WHERE state IN ('asking', 'held', 'offline') AND NOT EXISTS "
                    "(SELECT 1 FROM payment_attempts a WHERE a.sale_id IS NULL AND a.state NOT IN "
                    "('failed', 'cancelled', 'cancelled_refunded') AND instr(a.basket_json, h.entry_id) > 0)")]
                for entry in orphans:
                    conn.execute("UPDATE lane_redeem SET state = 'released', release_entry_id = ?, released_at = ? "
                                 "WHERE entry_id = ?", (str(uuid.uuid4()), at.isoformat(), entry))
                return len(orphans)
        finally:
            conn.close()

    def get(self, entry_id: str) -> HoldRow | None:
        conn = self._conn()
        try:
            r = conn.execute("SELECT * FROM lane_redeem WHERE entry_id = ?", (entry_id,)).fetchone()
        finally:
            conn.close()
        if r is None:
            return None
        return HoldRow(r["entry_id"], r["card_no"], int(r["points"]), bool(r["online"]), bool(r["asked"]), r["state"])

    def offline_used(self, card_no: str, business_date: str) -> int:
        """Points this lane redeemed offline for the member that day (held or used, not given back)."""
        conn = self._conn()
        try:
            r = conn.execute("SELECT coalesce(sum(points), 0) FROM lane_redeem WHERE card_no = ? AND business_date = ? "
                             "AND online = 0 AND state IN ('offline', 'used')", (card_no, business_date)).fetchone()
        finally:
            conn.close()
        return int(r[0])

    def store_snapshot(self, card_no: str) -> tuple[int, dt.datetime] | None:
        """The member's store balance as last pulled and when (None: never pulled on this lane)."""
        conn = self._conn()
        try:
            r = conn.execute("SELECT store_balance, read_at FROM lane_member_points WHERE card_no = ?",
                             (card_no,)).fetchone()
        finally:
            conn.close()
        if r is None:
            return None
        return int(r[0]), dt.datetime.fromisoformat(r[1])

    def shown_balance(self, card_no: str) -> int:
        conn = self._conn()
        try:
            r = conn.execute("SELECT balance_after FROM points_ledger WHERE card_no = ? ORDER BY id DESC LIMIT 1",
                             (card_no,)).fetchone()
        finally:
            conn.close()
        return int(r[0]) if r else 0
