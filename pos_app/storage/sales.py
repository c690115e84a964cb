"""SQLite repository of sales, lines, tenders, refunds and counters; plus the journal (audit + outbox)."""

from __future__ import annotations

import datetime as dt
import json
import logging
import sqlite3
from collections.abc import Mapping
from typing import Any

from pos_app.services.ports.sales import RefundRecord, SaleLineRecord, SaleRecord, TenderRecord

from .audit import append_audit
from .integrity import note_row
from .outbox import enqueue

__all__ = ["SqliteSales", "SqliteJournal"]

logger = logging.getLogger(__name__)

_SALE_COLS = ("id, receipt_no, shift_id, terminal_id, cashier_id, card_no, state, gross_fen, discount_fen, total_fen,"
              " points_redeemed, points_earned, earn_explanation, refunded_fen, started_at, committed_at,"
              " receipt_hash")
_LINE_COLS = ("id, sale_id, line_no, code, name, quantity, unit, unit_price_fen, amount_fen, discount_fen,"
              " open_price, points_excluded, voided, void_reason, refunded_qty")
_TENDER_COLS = "id, sale_id, kind, amount_fen, tendered_fen, change_fen, attempt_id, trade_no"
_REFUND_COLS = ("id, sale_id, shift_id, out_request_no, method, amount_fen, state, reason, lines_json,"
                " points_reversed, points_restored, cashier_id, approved_by, fail_message, created_at, completed_at")
_REFUND_UPDATABLE = frozenset({"state", "points_reversed", "points_restored", "fail_message", "completed_at",
                               "shift_id"})


def _line(r: sqlite3.Row) -> SaleLineRecord:
    v = list(r)
    for i in (10, 11, 12):
        v[i] = bool(v[i])
    return SaleLineRecord(*v)


class SqliteSales:
    """Sales and refunds on one connection, inside the caller's transaction."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn

    def next_counter(self, name: str) -> int:
        """Increment and return the counter ``name`` (starts at 1)."""
        r = self._conn.execute(
            "INSERT INTO counters (name, value) VALUES (?, 1) ON CONFLICT(name) DO UPDATE SET value = value + 1"
            " RETURNING value", (name,)).fetchone()
        return int(r[0])

    def add_sale(self, *, receipt_no: str, shift_id: int, terminal_id: str, cashier_id: int, card_no: str | None,
                 gross_fen: int, discount_fen: int, total_fen: int, points_redeemed: int, points_earned: int,
                 earn_explanation: str, started_at: str, committed_at: str) -> int:
        cur = self._conn.execute(
            "INSERT INTO sales (receipt_no, shift_id, terminal_id, cashier_id, card_no, state, gross_fen,"
            " discount_fen, total_fen, points_redeemed, points_earned, earn_explanation, started_at, committed_at)"
            " VALUES (?,?,?,?,?,'paid',?,?,?,?,?,?,?,?)",
            (receipt_no, shift_id, terminal_id, cashier_id, card_no, gross_fen, discount_fen, total_fen,
             points_redeemed, points_earned, earn_explanation, started_at, committed_at))
        sale_id = int(cur.lastrowid or 0)
        note_row(self._conn, "sale", sale_id)  # sealed in the audit chain at COMMIT (with its lines, tenders)
        return sale_id

    def forget_open_basket(self, terminal_id: str, basket_lines: list[dict[str, Any]]) -> bool:
        """Drop the kept open basket (held_baskets, kind 'open') when it holds exactly ``basket_lines``.

        Called inside the sale's commit, so that a crash right after the commit cannot bring the paid
        basket back as open at the next start (the till's own "forget it" write comes a moment later, off
        the cashier's thread). A different open basket (the cashier's next customer while a supervisor
        completes an old payment) is left alone.
        """
        row = self._conn.execute("SELECT id, body FROM held_baskets WHERE terminal_id = ? AND kind = 'open'"
                                 " AND state = 'held'", (terminal_id,)).fetchone()
        if row is None:
            return False
        try:
            stored = json.loads(row[1]).get("lines")
        except (ValueError, AttributeError):
            return False
        if stored != json.loads(json.dumps(basket_lines, ensure_ascii=False)):
            return False
        self._conn.execute("DELETE FROM held_baskets WHERE id = ?", (row[0],))
        return True

    def add_lines(self, sale_id: int, lines: list[dict[str, Any]]) -> None:
        """The sale's lines, with their VAT and each discount (``discounts``: kind, ref, label, amount_fen)."""
        self._conn.executemany(
            "INSERT INTO sale_lines (sale_id, line_no, code, name, quantity, unit, unit_price_fen, amount_fen,"
            " discount_fen, open_price, points_excluded, voided, void_reason, voided_by, category, tax_rate_bp,"
            " tax_fen) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
            [(sale_id, d["line_no"], d["code"], d["name"], d["quantity"], d["unit"], d["unit_price_fen"],
              d["amount_fen"], d["discount_fen"], int(d["open_price"]), int(d["points_excluded"]), int(d["voided"]),
              d["void_reason"], d.get("voided_by"), d.get("category", ""), d.get("tax_rate_bp", 1300),
              d.get("tax_fen", 0)) for d in lines])
        rows = []
        for d in lines:
            if d["voided"]:
                continue
            for disc in d.get("discounts") or ():
                kind, ref, label, amount = (disc["kind"], disc["ref"], disc["label"], disc["amount_fen"]) \
                    if isinstance(disc, dict) else tuple(disc)
                rows.append((sale_id, d["line_no"], kind, ref, label, amount))
        self._conn.executemany("INSERT INTO sale_line_discounts (sale_id, line_no, kind, ref, label, amount_fen)"
                               " VALUES (?,?,?,?,?,?)", rows)

    def add_tender(self, sale_id: int, *, kind: str, amount_fen: int, tendered_fen: int, change_fen: int,
                   attempt_id: int | None, trade_no: str) -> int:
        cur = self._conn.execute(
            "INSERT INTO tenders (sale_id, kind, amount_fen, tendered_fen, change_fen, attempt_id, trade_no)"
            " VALUES (?,?,?,?,?,?,?)", (sale_id, kind, amount_fen, tendered_fen, change_fen, attempt_id, trade_no))
        return int(cur.lastrowid or 0)

    def set_receipt_hash(self, sale_id: int, receipt_hash: str) -> None:
        self._conn.execute("UPDATE sales SET receipt_hash = ? WHERE id = ?", (receipt_hash, sale_id))

    def get(self, sale_id: int) -> SaleRecord | None:
        r = self._conn.execute(f"SELECT {_SALE_COLS} FROM sales WHERE id = ?", (sale_id,)).fetchone()
        return SaleRecord(*tuple(r)) if r else None

    def by_receipt(self, receipt_no: str) -> SaleRecord | None:
        r = self._conn.execute(f"SELECT {_SALE_COLS} FROM sales WHERE receipt_no = ?", (receipt_no,)).fetchone()
        return SaleRecord(*tuple(r)) if r else None

    def by_trade_no(self, trade_no: str) -> SaleRecord | None:
        r = self._conn.execute(
            f"SELECT {', '.join('s.' + c.strip() for c in _SALE_COLS.split(','))} FROM sales s"
            " JOIN tenders t ON t.sale_id = s.id WHERE t.trade_no = ? AND t.kind = 'alipay' LIMIT 1",
            (trade_no,)).fetchone()
        return SaleRecord(*tuple(r)) if r else None

    def lines(self, sale_id: int) -> list[SaleLineRecord]:
        rows = self._conn.execute(f"SELECT {_LINE_COLS} FROM sale_lines WHERE sale_id = ? ORDER BY line_no",
                                  (sale_id,)).fetchall()
        return [_line(r) for r in rows]

    def tenders(self, sale_id: int) -> list[TenderRecord]:
        rows = self._conn.execute(f"SELECT {_TENDER_COLS} FROM tenders WHERE sale_id = ? ORDER BY id",
                                  (sale_id,)).fetchall()
        return [TenderRecord(*tuple(r)) for r in rows]

    def add_refund(self, *, sale_id: int, shift_id: int, out_request_no: str, method: str, amount_fen: int,
                   reason: str, lines_json: str, cashier_id: int, approved_by: int | None,
                   created_at: str) -> int:
        cur = self._conn.execute(
            "INSERT INTO refunds (sale_id, shift_id, out_request_no, method, amount_fen, state, reason, lines_json,"
            " cashier_id, approved_by, created_at) VALUES (?,?,?,?,?,'pending',?,?,?,?,?)",
            (sale_id, shift_id, out_request_no, method, amount_fen, reason, lines_json, cashier_id, approved_by,
             created_at))
        refund_id = int(cur.lastrowid or 0)
        note_row(self._conn, "refund", refund_id)
        return refund_id

    def settling_shift(self, shift_id: int) -> int:
        """The shift that money settling now belongs to: ``shift_id`` while it is open, else the terminal's
        open shift (a refund confirmed, or an escalated payment completed, after its shift was closed must not
        land in a Z report that was already printed); ``shift_id`` when no shift is open."""
        row = self._conn.execute(
            "SELECT s.state, (SELECT o.id FROM shifts o WHERE o.terminal_id = s.terminal_id AND o.state = 'open')"
            " FROM shifts s WHERE s.id = ?", (shift_id,)).fetchone()
        if row is None or row[0] == "open" or row[1] is None:
            return shift_id
        return int(row[1])

    def update_refund(self, refund_id: int, **fields: Any) -> None:
        bad = set(fields) - _REFUND_UPDATABLE
        if bad:
            raise ValueError(f"cannot update refund field(s) {sorted(bad)}")
        sets = ", ".join(f"{k} = ?" for k in fields)
        self._conn.execute(f"UPDATE refunds SET {sets} WHERE id = ?", (*fields.values(), refund_id))

    def get_refund(self, refund_id: int) -> RefundRecord | None:
        r = self._conn.execute(f"SELECT {_REFUND_COLS} FROM refunds WHERE id = ?", (refund_id,)).fetchone()
        return RefundRecord(*tuple(r)) if r else None

    def refunds(self, sale_id: int) -> list[RefundRecord]:
        rows = self._conn.execute(f"SELECT {_REFUND_COLS} FROM refunds WHERE sale_id = ? ORDER BY id",
                                  (sale_id,)).fetchall()
        return [RefundRecord(*tuple(r)) for r in rows]

    def add_refunded_qty(self, line_id: int, qty: int) -> None:
        self._conn.execute("UPDATE sale_lines SET refunded_qty = refunded_qty + ? WHERE id = ?", (qty, line_id))

    def set_refunded(self, sale_id: int, refunded_fen: int, state: str) -> None:
        self._conn.execute("UPDATE sales SET refunded_fen = ?, state = ? WHERE id = ?", (refunded_fen, state, sale_id))

    def add_exchange(self, *, original_sale_id: int, new_sale_id: int, credit_refund_id: int,
                     back_refund_id: int | None, returned_fen: int, new_fen: int, difference_fen: int,
                     back_method: str, approved_by: int | None, lines_json: str, created_at: str) -> int:
        cur = self._conn.execute(
            "INSERT INTO exchanges (original_sale_id, new_sale_id, credit_refund_id, back_refund_id, returned_fen,"
            " new_fen, difference_fen, back_method, approved_by, lines_json, created_at)"
            " VALUES (?,?,?,?,?,?,?,?,?,?,?)",
            (original_sale_id, new_sale_id, credit_refund_id, back_refund_id, returned_fen, new_fen, difference_fen,
             back_method, approved_by, lines_json, created_at))
        return int(cur.lastrowid or 0)


class SqliteJournal:
    """The audit log and the outbox, written inside the caller's transaction."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn

    def audit(self, *, at: dt.datetime, user_id: int | None, user_name: str, action: str, subject: str = "",
              detail: Mapping[str, Any] | None = None) -> int:
        return append_audit(self._conn, at=at, user_id=user_id, user_name=user_name, action=action,
                            subject=subject, detail=detail)

    def enqueue(self, *, event_id: str, kind: str, card_no: str, method: str, body: Mapping[str, Any],
                created_at: dt.datetime, points_after: int | None = None, sale_id: int | None = None,
                refund_id: int | None = None) -> int:
        return enqueue(self._conn, event_id=event_id, kind=kind, card_no=card_no, method=method, body=body,
                       created_at=created_at,
                       points_after=points_after, sale_id=sale_id, refund_id=refund_id)
