"""Shift report figures computed with SQL aggregates, and the immutable stored Z reports."""

from __future__ import annotations

import datetime as dt
import logging
import sqlite3
from typing import Any

from pos_app.domain.codes import mask_code
from pos_app.services.ports.reports import ZReportRecord

from . import outbox as _outbox

__all__ = ["SqliteReportRepository"]

logger = logging.getLogger(__name__)

TENDER_KINDS = ("cash", "alipay")
MOVEMENT_KINDS = ("pay_in", "pay_out", "drop", "no_sale")
_UNSETTLED = ("created", "sending", "waiting", "checking", "cancelling", "unknown")
_PENDING_LIST_MAX = 500


def _iso(at: dt.datetime) -> str:
    return at.astimezone(dt.UTC).isoformat()


_mask = mask_code  # the one masking function (pos_app.domain.codes)


def _z(row: sqlite3.Row) -> ZReportRecord:
    return ZReportRecord(id=row[0], terminal_id=row[1], number=row[2], shift_id=row[3],
                         created_at=dt.datetime.fromisoformat(row[4]), figures_json=row[5], text=row[6],
                         hash=row[7])


class SqliteReportRepository:
    """ReportRepository on one connection. Every money figure is an integer number of fen."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn

    def _one(self, sql: str, params: tuple[Any, ...]) -> tuple[Any, ...]:
        return tuple(self._conn.execute(sql, params).fetchone())

    def _cash_parts(self, shift_id: int) -> dict[str, int]:
        q = self._conn.execute
        float_fen = int(q("SELECT opening_float_fen FROM shifts WHERE id = ?", (shift_id,)).fetchone()[0])
        taken = int(q("SELECT coalesce(sum(t.tendered_fen - t.change_fen), 0) FROM tenders t"
                      " JOIN sales s ON s.id = t.sale_id"
                      " WHERE s.shift_id = ? AND s.state != 'voided' AND t.kind = 'cash'", (shift_id,)).fetchone()[0])
        refunds = int(q("SELECT coalesce(sum(amount_fen), 0) FROM refunds WHERE shift_id = ? AND state = 'done'"
                        " AND method = 'cash'", (shift_id,)).fetchone()[0])
        moves = {k: (0, 0) for k in MOVEMENT_KINDS}
        for kind, n, fen in q("SELECT kind, count(*), coalesce(sum(amount_fen), 0) FROM cash_movements"
                              " WHERE shift_id = ? GROUP BY kind", (shift_id,)):
            moves[kind] = (int(n), int(fen))
        expected = float_fen + taken - refunds + moves["pay_in"][1] - moves["pay_out"][1] - moves["drop"][1]
        return {"opening_float_fen": float_fen, "taken_fen": taken, "refunds_fen": refunds,
                "pay_in_count": moves["pay_in"][0], "pay_in_fen": moves["pay_in"][1],
                "pay_out_count": moves["pay_out"][0], "pay_out_fen": moves["pay_out"][1],
                "drop_count": moves["drop"][0], "drop_fen": moves["drop"][1],
                "no_sale_count": moves["no_sale"][0], "expected_fen": expected}

    def expected_cash(self, shift_id: int) -> int:
        return self._cash_parts(shift_id)["expected_fen"]

    def figures(self, shift_id: int, *, now: dt.datetime) -> dict[str, Any]:
        q = self._conn.execute
        head = q("SELECT s.terminal_id, s.number, s.state, uo.name, s.opened_at, uc.name, s.closed_at"
                 " FROM shifts s JOIN users uo ON uo.id = s.opened_by LEFT JOIN users uc ON uc.id = s.closed_by"
                 " WHERE s.id = ?", (shift_id,)).fetchone()
        if head is None:
            raise LookupError(f"no shift with id {shift_id}")
        fig: dict[str, Any] = {
            "terminal_id": head[0], "shift_id": shift_id, "shift_number": head[1], "state": head[2],
            "opened_by": head[3], "opened_at": head[4], "closed_by": head[5] or "", "closed_at": head[6] or "",
        }
        n, gross, disc, total, voided_n, voided_fen = self._one(
            "SELECT coalesce(sum(state != 'voided'), 0),"
            " coalesce(sum(CASE WHEN state != 'voided' THEN gross_fen END), 0),"
            " coalesce(sum(CASE WHEN state != 'voided' THEN discount_fen END), 0),"
            " coalesce(sum(CASE WHEN state != 'voided' THEN total_fen END), 0),"
            " coalesce(sum(state = 'voided'), 0),"
            " coalesce(sum(CASE WHEN state = 'voided' THEN total_fen END), 0)"
            " FROM sales WHERE shift_id = ?", (shift_id,))
        refunds = {k: (0, 0) for k in TENDER_KINDS}
        for method, rn, rfen in q("SELECT method, count(*), sum(amount_fen) FROM refunds"
                                  " WHERE shift_id = ? AND state = 'done' GROUP BY method", (shift_id,)):
            refunds[method] = (int(rn), int(rfen))
        earlier_n, earlier_fen = self._one(
            "SELECT count(*), coalesce(sum(r.amount_fen), 0) FROM refunds r JOIN sales s ON s.id = r.sale_id"
            " WHERE r.shift_id = ? AND r.state = 'done' AND s.shift_id != r.shift_id", (shift_id,))
        open_n, open_fen = self._one(
            "SELECT count(*), coalesce(sum(amount_fen), 0) FROM refunds"
            " WHERE shift_id = ? AND state IN ('pending', 'unknown')", (shift_id,))
        refund_n = sum(v[0] for v in refunds.values())
        refund_fen = sum(v[1] for v in refunds.values())
        fig.update({"transactions": int(n), "gross_fen": int(gross), "discount_fen": int(disc),
                    "sales_fen": int(total), "refund_count": refund_n, "refunds_fen": refund_fen,
                    "refunds_earlier_count": int(earlier_n), "refunds_earlier_fen": int(earlier_fen),
                    "refunds_unsettled_count": int(open_n), "refunds_unsettled_fen": int(open_fen),
                    "net_fen": int(total) - refund_fen})
        tenders: dict[str, dict[str, int]] = {}
        rows = {r[0]: r[1:] for r in q(
            "SELECT t.kind, count(*), sum(t.amount_fen), sum(t.tendered_fen), sum(t.change_fen)"
            " FROM tenders t JOIN sales s ON s.id = t.sale_id WHERE s.shift_id = ? AND s.state != 'voided'"
            " GROUP BY t.kind", (shift_id,))}
        for kind in TENDER_KINDS:
            tc, amount, tendered, change = rows.get(kind, (0, 0, 0, 0))
            taken = int(tendered) - int(change)
            tenders[kind] = {"count": int(tc), "amount_fen": int(amount), "tendered_fen": int(tendered),
                             "change_fen": int(change), "taken_fen": taken, "refund_count": refunds[kind][0],
                             "refunds_fen": refunds[kind][1], "net_fen": taken - refunds[kind][1]}
        fig["tenders"] = tenders
        fig["cash"] = self._cash_parts(shift_id)
        fig["movements"] = [
            {"kind": r[0], "amount_fen": r[1], "reason": r[2], "user": r[3], "approved_by": r[4] or "",
             "at": r[5]}
            for r in q("SELECT m.kind, m.amount_fen, m.reason, u.name, a.name, m.created_at FROM cash_movements m"
                       " JOIN users u ON u.id = m.user_id LEFT JOIN users a ON a.id = m.approved_by"
                       " WHERE m.shift_id = ? ORDER BY m.id", (shift_id,))]
        fig["voided_sales"] = {"count": int(voided_n), "total_fen": int(voided_fen), "items": [
            {"receipt_no": r[0], "cashier": r[1], "total_fen": r[2], "approved_by": r[3] or "", "at": r[4]}
            for r in q("SELECT s.receipt_no, u.name, s.total_fen,"
                       " (SELECT au.name FROM approvals ap JOIN users au ON au.id = ap.approved_by"
                       "  WHERE ap.action = 'void_sale' AND ap.subject = s.receipt_no ORDER BY ap.id DESC LIMIT 1),"
                       " s.committed_at FROM sales s JOIN users u ON u.id = s.cashier_id"
                       " WHERE s.shift_id = ? AND s.state = 'voided' ORDER BY s.id", (shift_id,))]}
        items = [{"receipt_no": r[0], "line_no": r[1], "name": r[2], "quantity": r[3], "amount_fen": r[4],
                  "reason": r[5], "voided_by": r[6] or ""}
                 for r in q("SELECT s.receipt_no, l.line_no, l.name, l.quantity, l.amount_fen, l.void_reason,"
                            " vu.name FROM sale_lines l JOIN sales s ON s.id = l.sale_id"
                            " LEFT JOIN users vu ON vu.id = l.voided_by"
                            " WHERE s.shift_id = ? AND l.voided = 1 ORDER BY s.id, l.line_no", (shift_id,))]
        fig["line_voids"] = {"count": len(items), "amount_fen": sum(int(i["amount_fen"]) for i in items),
                             "items": items}
        fig["cashiers"] = self._cashiers(shift_id)
        m = self._one(
            "SELECT coalesce(sum(card_no IS NOT NULL), 0),"
            " coalesce(sum(CASE WHEN card_no IS NOT NULL THEN total_fen END), 0),"
            " coalesce(sum(points_earned), 0), coalesce(sum(points_redeemed), 0)"
            " FROM sales WHERE shift_id = ? AND state != 'voided'", (shift_id,))
        pr = self._one("SELECT coalesce(sum(points_reversed), 0), coalesce(sum(points_restored), 0) FROM refunds"
                       " WHERE shift_id = ? AND state = 'done'", (shift_id,))
        fig["members"] = {"sales_count": int(m[0]), "sales_fen": int(m[1]), "points_earned": int(m[2]),
                          "points_redeemed": int(m[3]), "points_reversed": int(pr[0]),
                          "points_restored": int(pr[1])}
        fig["sync"] = self.sync_stats(now=now)
        marks = ",".join("?" * len(_UNSETTLED))
        fig["unsettled_payments"] = [
            {"out_trade_no": r[0], "state": r[1], "amount_fen": r[2], "cashier": r[3] or "", "at": r[4]}
            for r in q("SELECT p.out_trade_no, p.state, p.amount_fen, u.name, p.created_at FROM payment_attempts p"
                       " LEFT JOIN users u ON u.id = p.cashier_id"
                       f" WHERE p.shift_id = ? AND (p.state IN ({marks})"
                       " OR (p.state = 'paid' AND p.sale_id IS NULL AND p.resolution IN ('', 'held'))) ORDER BY p.id",
                       (shift_id, *_UNSETTLED))]
        fig["approvals"] = [
            {"action": r[0], "subject": r[1], "approved_by": r[2], "requested_by": r[3] or "",
             "reason_code": r[4], "note": r[5], "at": r[6]}
            for r in q("SELECT ap.action, ap.subject, au.name, ru.name, ap.reason_code, ap.note, ap.created_at"
                       " FROM approvals ap JOIN users au ON au.id = ap.approved_by"
                       " LEFT JOIN users ru ON ru.id = ap.requested_by WHERE ap.shift_id = ? ORDER BY ap.id",
                       (shift_id,))]
        last = q("SELECT receipt_no, receipt_hash FROM sales WHERE shift_id = ? ORDER BY id DESC LIMIT 1",
                 (shift_id,)).fetchone()
        fig["last_receipt"] = {"receipt_no": last[0], "hash": last[1]} if last else None
        hours: dict[int, dict[str, int]] = {}
        for h, sales_n, cash_fen, alipay_fen in q(
                "SELECT CAST(strftime('%H', s.committed_at, '+8 hours') AS INTEGER), count(DISTINCT s.id),"
                " coalesce(sum(CASE WHEN t.kind = 'cash' THEN t.tendered_fen - t.change_fen END), 0),"
                " coalesce(sum(CASE WHEN t.kind = 'alipay' THEN t.tendered_fen - t.change_fen END), 0)"
                " FROM sales s LEFT JOIN tenders t ON t.sale_id = s.id"
                " WHERE s.shift_id = ? AND s.state != 'voided' GROUP BY 1 ORDER BY 1", (shift_id,)):
            hours[int(h)] = {"hour": int(h), "count": int(sales_n), "cash_fen": int(cash_fen),
                             "alipay_fen": int(alipay_fen)}
        fig["hours"] = list(hours.values())
        from .reconcile import reconciliations_for_report  # card: Alipay bills not yet on a Z report

        recon = reconciliations_for_report(self._conn)
        if recon:
            fig["reconciliation"] = recon
        fig.update(self._tax_and_discounts(shift_id))
        return fig

    def _tax_and_discounts(self, shift_id: int) -> dict[str, Any]:
        """Sales and VAT per rate and per category, discounts per promotion / reason (sales of the shift)."""
        q = self._conn.execute
        live = ("FROM sale_lines l JOIN sales s ON s.id = l.sale_id"
                " WHERE s.shift_id = ? AND s.state != 'voided' AND l.voided = 0")
        tax = [{"rate_bp": int(r[0]), "sales_fen": int(r[1]), "tax_fen": int(r[2]),
                "net_ex_tax_fen": int(r[1]) - int(r[2])}
               for r in q(f"SELECT l.tax_rate_bp, sum(l.amount_fen - l.discount_fen), sum(l.tax_fen) {live}"
                          " GROUP BY l.tax_rate_bp ORDER BY l.tax_rate_bp DESC", (shift_id,))]
        categories = [{"category": r[0], "lines": int(r[1]), "sales_fen": int(r[2]), "tax_fen": int(r[3])}
                      for r in q(f"SELECT l.category, count(*), sum(l.amount_fen - l.discount_fen), sum(l.tax_fen)"
                                 f" {live} GROUP BY l.category ORDER BY l.category", (shift_id,))]
        discounts = [{"kind": r[0], "ref": r[1], "label": r[2], "sales": int(r[3]), "amount_fen": int(r[4])}
                     for r in q("SELECT d.kind, d.ref, max(d.label), count(DISTINCT d.sale_id), sum(d.amount_fen)"
                                " FROM sale_line_discounts d JOIN sales s ON s.id = d.sale_id"
                                " WHERE s.shift_id = ? AND s.state != 'voided' GROUP BY d.kind, d.ref"
                                " ORDER BY d.kind, d.ref", (shift_id,))]
        parked = q("SELECT count(*) FROM held_baskets WHERE kind = 'parked' AND state = 'held'"
                   " AND terminal_id = (SELECT terminal_id FROM shifts WHERE id = ?)", (shift_id,)).fetchone()
        failed = [{"out_trade_no": r[0], "state": r[1], "amount_fen": int(r[2]), "cashier": r[3] or "", "at": r[4]}
                  for r in q("SELECT p.out_trade_no, p.state, p.amount_fen, u.name, p.created_at"
                             " FROM payment_attempts p LEFT JOIN users u ON u.id = p.cashier_id"
                             " WHERE p.shift_id = ? AND p.state IN ('failed', 'cancelled', 'cancelled_refunded')"
                             " ORDER BY p.id", (shift_id,))]
        ex = q("SELECT count(*), coalesce(sum(e.returned_fen), 0), coalesce(sum(e.new_fen), 0),"
               " coalesce(sum(CASE WHEN e.difference_fen > 0 THEN e.difference_fen END), 0),"
               " coalesce(sum(CASE WHEN e.difference_fen < 0 AND e.back_method = 'cash' THEN -e.difference_fen END), 0),"
               " coalesce(sum(CASE WHEN e.difference_fen < 0 AND e.back_method = 'alipay' THEN -e.difference_fen END), 0)"
               " FROM exchanges e JOIN sales s ON s.id = e.new_sale_id WHERE s.shift_id = ?", (shift_id,)).fetchone()
        credit = q("SELECT coalesce(sum(t.amount_fen), 0) FROM tenders t JOIN sales s ON s.id = t.sale_id"
                   " WHERE s.shift_id = ? AND s.state != 'voided' AND t.trade_no LIKE 'exchange:%'",
                   (shift_id,)).fetchone()
        split = q("SELECT count(*) FROM (SELECT t.sale_id FROM tenders t JOIN sales s ON s.id = t.sale_id"
                  " WHERE s.shift_id = ? AND s.state != 'voided' AND t.trade_no NOT LIKE 'exchange:%'"
                  " GROUP BY t.sale_id HAVING count(*) > 1)", (shift_id,)).fetchone()
        fl = q("SELECT f.carried_fen, s.opening_float_fen FROM shifts s LEFT JOIN shift_floats f ON f.shift_id = s.id"
               " WHERE s.id = ?", (shift_id,)).fetchone()
        carried = {"carried_fen": int(fl[0]), "opening_difference_fen": int(fl[1]) - int(fl[0])} \
            if fl is not None and fl[0] is not None else {}
        return {"float": carried,
                "exchanges": {"count": int(ex[0]), "returned_fen": int(ex[1]), "new_fen": int(ex[2]),
                              "paid_fen": int(ex[3]), "back_cash_fen": int(ex[4]), "back_alipay_fen": int(ex[5]),
                              "credit_fen": int(credit[0])},
                "split_sales": int(split[0]),
                "failed_payments": failed,
                "tax": tax, "tax_fen": sum(t["tax_fen"] for t in tax), "categories": categories,
                "discounts": discounts,
                "rounding_fen": sum(d["amount_fen"] for d in discounts if d["kind"] == "rounding"),
                "parked_waiting": int(parked[0])}

    def _cashiers(self, shift_id: int) -> list[dict[str, Any]]:
        q = self._conn.execute
        per: dict[int, dict[str, Any]] = {}

        def row(uid: int) -> dict[str, Any]:
            if uid not in per:
                name = q("SELECT name FROM users WHERE id = ?", (uid,)).fetchone()
                per[uid] = {"user": name[0] if name else str(uid), "transactions": 0, "sales_fen": 0, "cash_fen": 0,
                            "alipay_fen": 0, "refund_count": 0, "refunds_fen": 0, "movement_count": 0}
            return per[uid]

        for uid, n, fen in q("SELECT cashier_id, count(*), sum(total_fen) FROM sales"
                             " WHERE shift_id = ? AND state != 'voided' GROUP BY cashier_id", (shift_id,)):
            r = row(uid)
            r["transactions"], r["sales_fen"] = int(n), int(fen)
        for uid, kind, fen in q("SELECT s.cashier_id, t.kind, sum(t.tendered_fen - t.change_fen) FROM tenders t"
                                " JOIN sales s ON s.id = t.sale_id WHERE s.shift_id = ? AND s.state != 'voided'"
                                " GROUP BY s.cashier_id, t.kind", (shift_id,)):
            row(uid)[f"{kind}_fen"] = int(fen)
        for uid, n, fen in q("SELECT cashier_id, count(*), sum(amount_fen) FROM refunds"
                             " WHERE shift_id = ? AND state = 'done' GROUP BY cashier_id", (shift_id,)):
            r = row(uid)
            r["refund_count"], r["refunds_fen"] = int(n), int(fen)
        for uid, n in q("SELECT user_id, count(*) FROM cash_movements WHERE shift_id = ? GROUP BY user_id",
                        (shift_id,)):
            row(uid)["movement_count"] = int(n)
        return [per[k] for k in sorted(per)]

    def sync_stats(self, *, now: dt.datetime) -> dict[str, Any]:
        q = self._conn.execute
        stats_fn = getattr(_outbox, "outbox_stats", None)
        pending = dead = discarded = 0
        oldest: str | None = None
        if callable(stats_fn):
            stats = stats_fn(self._conn)
            pending = int(stats.get("pending", stats.get("pending_count", 0)) or 0)
            dead = int(stats.get("dead", stats.get("dead_count", 0)) or 0)
            discarded = int(stats.get("discarded", 0) or 0)
            raw = stats.get("oldest_pending_created_at", stats.get("oldest_pending"))
            oldest = raw.isoformat() if isinstance(raw, dt.datetime) else (str(raw) if raw else None)
        else:
            pending, oldest, dead = q(
                "SELECT coalesce(sum(state = 'pending'), 0),"
                " min(CASE WHEN state = 'pending' THEN created_at END),"
                " coalesce(sum(state = 'dead'), 0) FROM outbox").fetchone()
        age: int | None = None
        if oldest:
            try:
                age = max(0, int((now - dt.datetime.fromisoformat(oldest)).total_seconds()))
            except ValueError:
                age = None
        items = [{"id": r[0], "kind": r[1], "card": _mask(r[2]), "attempts": r[3], "created_at": r[4],
                  "last_error": (r[5] or "")[:80]}
                 for r in q("SELECT id, kind, card_no, attempts, created_at, last_error FROM outbox"
                            " WHERE state IN ('pending', 'dead') ORDER BY id LIMIT ?", (_PENDING_LIST_MAX,))]
        return {"pending": int(pending), "oldest_pending_at": oldest or "", "oldest_pending_age_s": age,
                "dead": int(dead), "discarded": discarded, "items": items}

    def next_z_number(self, terminal_id: str) -> int:
        return int(self._conn.execute("SELECT coalesce(max(number), 0) + 1 FROM z_reports WHERE terminal_id = ?",
                                      (terminal_id,)).fetchone()[0])

    def add_z_report(self, *, terminal_id: str, shift_id: int, created_at: dt.datetime, figures_json: str,
                     text: str, hash: str, number: int) -> ZReportRecord:
        cur = self._conn.execute(
            "INSERT INTO z_reports (terminal_id, number, shift_id, created_at, figures_json, text, hash)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)", (terminal_id, number, shift_id, _iso(created_at), figures_json, text,
                                               hash))
        from .reconcile import mark_reported  # card: the reconciliations this Z showed

        mark_reported(self._conn, int(cur.lastrowid or 0), figures_json)
        found = self._conn.execute("SELECT id, terminal_id, number, shift_id, created_at, figures_json, text, hash"
                                   " FROM z_reports WHERE id = ?", (cur.lastrowid,)).fetchone()
        return _z(found)

    def z_report(self, terminal_id: str, *, shift_id: int | None = None,
                 number: int | None = None) -> ZReportRecord | None:
        sql = ("SELECT id, terminal_id, number, shift_id, created_at, figures_json, text, hash FROM z_reports"
               " WHERE terminal_id = ?")
        params: list[Any] = [terminal_id]
        if shift_id is not None:
            sql += " AND shift_id = ?"
            params.append(shift_id)
        if number is not None:
            sql += " AND number = ?"
            params.append(number)
        row = self._conn.execute(sql + " ORDER BY number DESC LIMIT 1", params).fetchone()
        return _z(row) if row else None

    def z_reports(self, terminal_id: str, limit: int = 100) -> list[ZReportRecord]:
        return [_z(r) for r in self._conn.execute(
            "SELECT id, terminal_id, number, shift_id, created_at, figures_json, text, hash FROM z_reports"
            " WHERE terminal_id = ? ORDER BY number DESC LIMIT ?", (terminal_id, limit))]
