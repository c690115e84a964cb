"""The sales journal for the back office: every row of a day, numbered gap-free per terminal.

Rows (``record``): ``shift_open``, ``sale``, ``line``, ``tender``, ``points``, ``refund``,
``cash_movement``, ``shift_close``, ``z_report``. A row gets its sequence number (``seq``) the first
time an export sees it, in the order things happened, and keeps it forever (``export_seq``): the
numbers of consecutive exports continue each other, so a back office can prove it has every row.
Refunds are numbered when they are done (their money moved), pending ones wait.

Money columns are integer fen (``*_fen``). What each column means per record:

* ``sale``: amount_fen = gross, discount_fen, total_fen (paid), points = earned, points_redeemed,
  refunded_fen, state, user = cashier number, card_no = member.
* ``line``: item_code, name, quantity (pieces, or grams for unit kg), unit, unit_price_fen,
  amount_fen, discount_fen, state = ``voided`` or empty, reason = void reason.
* ``tender``: kind (cash/alipay), amount_fen (applied), tendered_fen, change_fen, reference = trade_no.
* ``points``: card_no, kind (earn/redeem/reverse_earn/restore_redeem), points (signed), balance.
* ``refund``: receipt_no of the refunded sale, shift_no where the money moved, kind = method,
  amount_fen, reference = out_request_no, points = reversed, points_redeemed = restored, reason.
* ``cash_movement``: kind (pay_in/pay_out/drop/no_sale), amount_fen, reason, user, reference = approver.
* ``shift_open``: amount_fen = opening float, user. ``shift_close``: user. ``z_report``: z_no, reference = hash.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
from collections.abc import Iterator
from importlib import resources
from typing import Any

from .db import _run_script, transaction

__all__ = ["COLUMNS", "assign_sequence", "journal_rows"]

COLUMNS = ("seq", "terminal_id", "record", "at", "shift_no", "z_no", "receipt_no", "line_no", "card_no", "user",
           "kind", "state", "item_code", "name", "quantity", "unit", "unit_price_fen", "amount_fen",
           "discount_fen", "tendered_fen", "change_fen", "total_fen", "refunded_fen", "points",
           "points_redeemed", "balance", "reference", "reason")

# (record, id, at, group, sub) of every row that can be numbered; group/sub keep a sale's rows together
_CANDIDATES = """
SELECT 'shift_open' AS rec, id AS rid, opened_at AS at, 0 AS grp, id AS gid, 0 AS sub FROM shifts
UNION ALL SELECT 'sale', s.id, s.committed_at, 1, s.id, 0 FROM sales s
UNION ALL SELECT 'line', l.id, s.committed_at, 1, s.id, 100000 + l.line_no FROM sale_lines l JOIN sales s ON s.id = l.sale_id
UNION ALL SELECT 'tender', t.id, s.committed_at, 1, s.id, 200000 + t.id FROM tenders t JOIN sales s ON s.id = t.sale_id
UNION ALL SELECT 'points', p.id, s.committed_at, 1, s.id, 300000 + p.id FROM points_ledger p
    JOIN sales s ON s.id = p.sale_id WHERE p.refund_id IS NULL
UNION ALL SELECT 'refund', r.id, coalesce(r.completed_at, r.created_at), 2, r.id, 0 FROM refunds r WHERE r.state = 'done'
UNION ALL SELECT 'points', p.id, coalesce(r.completed_at, r.created_at), 2, r.id, 300000 + p.id FROM points_ledger p
    JOIN refunds r ON r.id = p.refund_id WHERE r.state = 'done'
UNION ALL SELECT 'cash_movement', id, created_at, 3, id, 0 FROM cash_movements
UNION ALL SELECT 'shift_close', id, closed_at, 4, id, 0 FROM shifts WHERE state = 'closed' AND closed_at IS NOT NULL
UNION ALL SELECT 'z_report', id, created_at, 5, id, 0 FROM z_reports
"""


def assign_sequence(conn: sqlite3.Connection, *, now: dt.datetime) -> int:
    """Number every row that happened up to ``now`` and has no number yet; returns how many were numbered."""
    now_text = now.astimezone(dt.UTC).isoformat()
    with transaction(conn):
        if conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'export_seq'").fetchone() is None:
            # a file migrated past 21 by a higher-numbered migration from a parallel branch skipped schema 21
            _run_script(conn, resources.files(__package__).joinpath("schema_v21.sql").read_text(encoding="utf-8"))
        before = conn.execute("SELECT count(*) FROM export_seq").fetchone()[0]
        conn.execute(
            "INSERT INTO export_seq (record, ref_id, at) SELECT c.rec, c.rid, c.at FROM ("
            f"{_CANDIDATES}) c"
            " LEFT JOIN export_seq e ON e.record = c.rec AND e.ref_id = c.rid"
            " WHERE e.seq IS NULL AND c.at <= ? ORDER BY c.at, c.grp, c.gid, c.sub", (now_text,))
        after = conn.execute("SELECT count(*) FROM export_seq").fetchone()[0]
    return int(after - before)


def _day_bounds(first: dt.date, last: dt.date, tz: dt.tzinfo) -> tuple[str, str]:
    start = dt.datetime.combine(first, dt.time(0), tzinfo=tz).astimezone(dt.UTC).isoformat()
    end = dt.datetime.combine(last + dt.timedelta(days=1), dt.time(0), tzinfo=tz).astimezone(dt.UTC).isoformat()
    return start, end


_DETAIL: dict[str, str] = {
    "shift_open": "SELECT e.seq, sh.terminal_id, sh.number, u.number, sh.opening_float_fen FROM export_seq e"
                  " JOIN shifts sh ON sh.id = e.ref_id JOIN users u ON u.id = sh.opened_by",
    "shift_close": "SELECT e.seq, sh.terminal_id, sh.number, u.number FROM export_seq e"
                   " JOIN shifts sh ON sh.id = e.ref_id LEFT JOIN users u ON u.id = sh.closed_by",
    "z_report": "SELECT e.seq, z.terminal_id, sh.number, z.number, z.hash FROM export_seq e"
                " JOIN z_reports z ON z.id = e.ref_id JOIN shifts sh ON sh.id = z.shift_id",
    "sale": "SELECT e.seq, s.terminal_id, sh.number, s.receipt_no, coalesce(s.card_no, ''), u.number, s.state,"
            " s.gross_fen, s.discount_fen, s.total_fen, s.refunded_fen, s.points_earned, s.points_redeemed"
            " FROM export_seq e JOIN sales s ON s.id = e.ref_id JOIN shifts sh ON sh.id = s.shift_id"
            " JOIN users u ON u.id = s.cashier_id",
    "line": "SELECT e.seq, s.terminal_id, sh.number, s.receipt_no, l.line_no, l.code, l.name, l.quantity, l.unit,"
            " l.unit_price_fen, l.amount_fen, l.discount_fen, l.voided, l.void_reason FROM export_seq e"
            " JOIN sale_lines l ON l.id = e.ref_id JOIN sales s ON s.id = l.sale_id JOIN shifts sh ON sh.id = s.shift_id",
    "tender": "SELECT e.seq, s.terminal_id, sh.number, s.receipt_no, t.kind, t.amount_fen, t.tendered_fen,"
              " t.change_fen, t.trade_no FROM export_seq e JOIN tenders t ON t.id = e.ref_id"
              " JOIN sales s ON s.id = t.sale_id JOIN shifts sh ON sh.id = s.shift_id",
    "points": "SELECT e.seq, s.terminal_id, sh.number, s.receipt_no, p.card_no, p.kind, p.points, p.balance_after"
              " FROM export_seq e JOIN points_ledger p ON p.id = e.ref_id"
              " LEFT JOIN refunds r ON r.id = p.refund_id"
              " JOIN sales s ON s.id = coalesce(p.sale_id, r.sale_id) JOIN shifts sh ON sh.id = s.shift_id",
    "refund": "SELECT e.seq, sh.terminal_id, sh.number, s.receipt_no, coalesce(s.card_no, ''), r.method, r.state,"
              " r.amount_fen, r.out_request_no, r.points_reversed, r.points_restored, r.reason, u.number"
              " FROM export_seq e JOIN refunds r ON r.id = e.ref_id JOIN sales s ON s.id = r.sale_id"
              " JOIN shifts sh ON sh.id = r.shift_id JOIN users u ON u.id = r.cashier_id",
    "cash_movement": "SELECT e.seq, sh.terminal_id, sh.number, m.kind, m.amount_fen, m.reason, u.number,"
                     " coalesce(a.number, '') FROM export_seq e JOIN cash_movements m ON m.id = e.ref_id"
                     " JOIN shifts sh ON sh.id = m.shift_id JOIN users u ON u.id = m.user_id"
                     " LEFT JOIN users a ON a.id = m.approved_by",
}


def _row(record: str, r: tuple[Any, ...], at: str) -> dict[str, Any]:
    d: dict[str, Any] = {"seq": r[0], "terminal_id": r[1], "record": record, "at": at, "shift_no": r[2]}
    if record == "shift_open":
        d.update(user=r[3], amount_fen=r[4])
    elif record == "shift_close":
        d.update(user=r[3] or "")
    elif record == "z_report":
        d.update(z_no=r[3], reference=r[4])
    elif record == "sale":
        d.update(receipt_no=r[3], card_no=r[4], user=r[5], state=r[6], amount_fen=r[7], discount_fen=r[8],
                 total_fen=r[9], refunded_fen=r[10], points=r[11], points_redeemed=r[12])
    elif record == "line":
        d.update(receipt_no=r[3], line_no=r[4], item_code=r[5], name=r[6], quantity=r[7], unit=r[8],
                 unit_price_fen=r[9], amount_fen=r[10], discount_fen=r[11], state="voided" if r[12] else "",
                 reason=r[13])
    elif record == "tender":
        d.update(receipt_no=r[3], kind=r[4], amount_fen=r[5], tendered_fen=r[6], change_fen=r[7], reference=r[8])
    elif record == "points":
        d.update(receipt_no=r[3], card_no=r[4], kind=r[5], points=r[6], balance=r[7])
    elif record == "refund":
        d.update(receipt_no=r[3], card_no=r[4], kind=r[5], state=r[6], amount_fen=r[7], reference=r[8],
                 points=r[9], points_redeemed=r[10], reason=r[11], user=r[12])
    elif record == "cash_movement":
        d.update(kind=r[3], amount_fen=r[4], reason=r[5], user=r[6], reference=r[7])
    return d


def journal_rows(conn: sqlite3.Connection, first: dt.date, last: dt.date, *, tz: dt.tzinfo,
                 now: dt.datetime) -> Iterator[dict[str, Any]]:
    """Every journal row of the store-local days ``first``..``last`` (numbered first), in ``seq`` order."""
    assign_sequence(conn, now=now)
    start, end = _day_bounds(first, last, tz)
    ats = dict(conn.execute("SELECT seq, at FROM export_seq WHERE at >= ? AND at < ?", (start, end)).fetchall())
    if not ats:
        return iter(())
    lo, hi = min(ats), max(ats)
    rows: list[dict[str, Any]] = []
    for record, sql in _DETAIL.items():
        for r in conn.execute(f"{sql} WHERE e.record = ? AND e.seq BETWEEN ? AND ?", (record, lo, hi)):
            if r[0] in ats:
                rows.append(_row(record, tuple(r), ats[r[0]]))
    rows.sort(key=lambda d: d["seq"])
    return iter(rows)
