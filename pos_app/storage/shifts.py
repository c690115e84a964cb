"""Shifts, cashier changes and cash movements in SQLite."""

from __future__ import annotations

import datetime as dt
import json
import logging
import sqlite3
from collections.abc import Mapping

from pos_app.services.ports.shifts import ShiftRecord, UnsettledPayment

__all__ = ["SqliteShiftRepository", "UNSETTLED_STATES"]

logger = logging.getLogger(__name__)

UNSETTLED_STATES = ("created", "sending", "waiting", "checking", "cancelling", "unknown")
_COLS = ("id, terminal_id, number, state, opened_by, opened_at, opening_float_fen, opening_count_json,"
         " closed_by, closed_at")


def _iso(at: dt.datetime) -> str:
    return at.astimezone(dt.UTC).isoformat()


def _shift(row: sqlite3.Row) -> ShiftRecord:
    counts = {int(k): int(v) for k, v in json.loads(row[7] or "{}").items()}
    return ShiftRecord(id=row[0], terminal_id=row[1], number=row[2], state=row[3], opened_by=row[4],
                       opened_at=dt.datetime.fromisoformat(row[5]), opening_float_fen=row[6],
                       opening_count=counts, closed_by=row[8],
                       closed_at=dt.datetime.fromisoformat(row[9]) if row[9] else None)


class SqliteShiftRepository:
    """ShiftRepository on one connection (inside the caller's transaction)."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn

    def open(self, *, terminal_id: str, opened_by: int, opened_at: dt.datetime, opening_float_fen: int,
             opening_count: Mapping[int, int]) -> ShiftRecord:
        number = int(self._conn.execute("SELECT coalesce(max(number), 0) + 1 FROM shifts WHERE terminal_id = ?",
                                        (terminal_id,)).fetchone()[0])
        counts = json.dumps({str(k): int(v) for k, v in sorted(opening_count.items())}, separators=(",", ":"))
        cur = self._conn.execute(
            "INSERT INTO shifts (terminal_id, number, state, opened_by, opened_at, opening_float_fen,"
            " opening_count_json) VALUES (?, ?, 'open', ?, ?, ?, ?)",
            (terminal_id, number, opened_by, _iso(opened_at), opening_float_fen, counts))
        shift_id = int(cur.lastrowid or 0)
        self._conn.execute("INSERT INTO shift_cashiers (shift_id, user_id, started_at) VALUES (?, ?, ?)",
                           (shift_id, opened_by, _iso(opened_at)))
        shift = self.get(shift_id)
        assert shift is not None
        return shift

    def current(self, terminal_id: str) -> ShiftRecord | None:
        row = self._conn.execute(f"SELECT {_COLS} FROM shifts WHERE terminal_id = ? AND state = 'open'",
                                 (terminal_id,)).fetchone()
        return _shift(row) if row else None

    def get(self, shift_id: int) -> ShiftRecord | None:
        row = self._conn.execute(f"SELECT {_COLS} FROM shifts WHERE id = ?", (shift_id,)).fetchone()
        return _shift(row) if row else None

    def by_number(self, terminal_id: str, number: int) -> ShiftRecord | None:
        row = self._conn.execute(f"SELECT {_COLS} FROM shifts WHERE terminal_id = ? AND number = ?",
                                 (terminal_id, number)).fetchone()
        return _shift(row) if row else None

    def latest(self, terminal_id: str) -> ShiftRecord | None:
        row = self._conn.execute(f"SELECT {_COLS} FROM shifts WHERE terminal_id = ? ORDER BY number DESC LIMIT 1",
                                 (terminal_id,)).fetchone()
        return _shift(row) if row else None

    def current_cashier(self, shift_id: int) -> int | None:
        row = self._conn.execute("SELECT user_id FROM shift_cashiers WHERE shift_id = ? AND ended_at IS NULL"
                                 " ORDER BY id DESC LIMIT 1", (shift_id,)).fetchone()
        return int(row[0]) if row else None

    def change_cashier(self, shift_id: int, user_id: int, at: dt.datetime) -> None:
        self._conn.execute("UPDATE shift_cashiers SET ended_at = ? WHERE shift_id = ? AND ended_at IS NULL",
                           (_iso(at), shift_id))
        self._conn.execute("INSERT INTO shift_cashiers (shift_id, user_id, started_at) VALUES (?, ?, ?)",
                           (shift_id, user_id, _iso(at)))

    def add_movement(self, *, shift_id: int, kind: str, amount_fen: int, reason: str, user_id: int,
                     approved_by: int | None, created_at: dt.datetime) -> int:
        cur = self._conn.execute(
            "INSERT INTO cash_movements (shift_id, kind, amount_fen, reason, user_id, approved_by, created_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)", (shift_id, kind, amount_fen, reason, user_id, approved_by,
                                               _iso(created_at)))
        return int(cur.lastrowid or 0)

    def unsettled_payments(self, shift_id: int) -> list[UnsettledPayment]:
        marks = ",".join("?" * len(UNSETTLED_STATES))
        rows = self._conn.execute(
            "SELECT p.id, p.out_trade_no, p.state, p.amount_fen, coalesce(u.name, ''), p.created_at"
            " FROM payment_attempts p LEFT JOIN users u ON u.id = p.cashier_id"
            f" WHERE p.shift_id = ? AND (p.state IN ({marks})"
            "   OR (p.state = 'paid' AND p.sale_id IS NULL AND p.resolution IN ('', 'held')))"
            " ORDER BY p.id", (shift_id, *UNSETTLED_STATES)).fetchall()
        return [UnsettledPayment(id=r[0], out_trade_no=r[1], state=r[2], amount_fen=r[3], cashier=r[4],
                                 created_at=r[5]) for r in rows]

    def set_float_left(self, shift_id: int, left_fen: int) -> None:
        self._conn.execute("INSERT INTO shift_floats (shift_id, left_fen) VALUES (?, ?)"
                           " ON CONFLICT (shift_id) DO UPDATE SET left_fen = excluded.left_fen", (shift_id, left_fen))

    def set_carried(self, shift_id: int, carried_fen: int) -> None:
        self._conn.execute("INSERT INTO shift_floats (shift_id, carried_fen) VALUES (?, ?)"
                           " ON CONFLICT (shift_id) DO UPDATE SET carried_fen = excluded.carried_fen",
                           (shift_id, carried_fen))

    def float_left(self, terminal_id: str) -> int | None:
        row = self._conn.execute(
            "SELECT f.left_fen FROM shifts s LEFT JOIN shift_floats f ON f.shift_id = s.id"
            " WHERE s.terminal_id = ? AND s.state = 'closed' ORDER BY s.number DESC LIMIT 1", (terminal_id,)).fetchone()
        return int(row[0]) if row is not None and row[0] is not None else None

    def close(self, shift_id: int, closed_by: int, closed_at: dt.datetime) -> None:
        self._conn.execute("UPDATE shifts SET state = 'closed', closed_by = ?, closed_at = ? WHERE id = ?",
                           (closed_by, _iso(closed_at), shift_id))
        self._conn.execute("UPDATE shift_cashiers SET ended_at = ? WHERE shift_id = ? AND ended_at IS NULL",
                           (_iso(closed_at), shift_id))
