"""SQLite repository of Alipay payment attempts (the write-ahead log of alipay.trade.pay)."""

from __future__ import annotations

import datetime as dt
import logging
import sqlite3
from typing import Any

from pos_app.services.ports.payments import PaymentAttempt

__all__ = ["SqlitePaymentAttempts"]

logger = logging.getLogger(__name__)

_COLUMNS = ("id, out_trade_no, shift_id, cashier_id, amount_fen, subject, auth_code_masked, state, trade_no,"
            " buyer_logon_id, buyer_user_id, gmt_payment, polls, cancel_tries, fail_code, fail_sub_code,"
            " fail_message, basket_json, sale_id, resolution, resolved_by, created_at, updated_at")
_UPDATABLE = frozenset({"state", "trade_no", "buyer_logon_id", "buyer_user_id", "gmt_payment", "polls",
                        "cancel_tries", "fail_code", "fail_sub_code", "fail_message", "sale_id", "resolution",
                        "resolved_by"})


def _row(r: sqlite3.Row) -> PaymentAttempt:
    return PaymentAttempt(*tuple(r))


class SqlitePaymentAttempts:
    """Payment attempts on one connection, inside the caller's transaction."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn

    def add(self, *, out_trade_no: str, shift_id: int, cashier_id: int, amount_fen: int, subject: str,
            auth_code_masked: str, state: str, basket_json: str, at: dt.datetime) -> int:
        stamp = at.astimezone(dt.UTC).isoformat()
        cur = self._conn.execute(
            "INSERT INTO payment_attempts (out_trade_no, shift_id, cashier_id, amount_fen, subject,"
            " auth_code_masked, state, basket_json, created_at, updated_at) VALUES (?,?,?,?,?,?,?,?,?,?)",
            (out_trade_no, shift_id, cashier_id, amount_fen, subject, auth_code_masked, state, basket_json,
             stamp, stamp))
        return int(cur.lastrowid or 0)

    def get(self, attempt_id: int) -> PaymentAttempt | None:
        r = self._conn.execute(f"SELECT {_COLUMNS} FROM payment_attempts WHERE id = ?", (attempt_id,)).fetchone()
        return _row(r) if r else None

    def by_out_trade_no(self, out_trade_no: str) -> PaymentAttempt | None:
        r = self._conn.execute(f"SELECT {_COLUMNS} FROM payment_attempts WHERE out_trade_no = ?",
                               (out_trade_no,)).fetchone()
        return _row(r) if r else None

    def update(self, attempt_id: int, *, at: dt.datetime, **fields: Any) -> None:
        bad = set(fields) - _UPDATABLE
        if bad:
            raise ValueError(f"cannot update payment attempt field(s) {sorted(bad)}")
        sets = ", ".join(f"{k} = ?" for k in fields)
        self._conn.execute(f"UPDATE payment_attempts SET {sets}{', ' if sets else ''}updated_at = ? WHERE id = ?",
                           (*fields.values(), at.astimezone(dt.UTC).isoformat(), attempt_id))

    def in_states(self, states: tuple[str, ...]) -> list[PaymentAttempt]:
        marks = ",".join("?" * len(states))
        rows = self._conn.execute(f"SELECT {_COLUMNS} FROM payment_attempts WHERE state IN ({marks}) ORDER BY id",
                                  states).fetchall()
        return [_row(r) for r in rows]

    def orphans(self) -> list[PaymentAttempt]:
        rows = self._conn.execute(
            f"SELECT {_COLUMNS} FROM payment_attempts WHERE state = 'paid' AND sale_id IS NULL"
            " AND resolution NOT IN ('completed', 'refunded', 'held') ORDER BY id").fetchall()
        return [_row(r) for r in rows]

    def held(self) -> list[PaymentAttempt]:
        rows = self._conn.execute(
            f"SELECT {_COLUMNS} FROM payment_attempts WHERE state = 'paid' AND sale_id IS NULL"
            " AND resolution = 'held' ORDER BY id").fetchall()
        return [_row(r) for r in rows]
