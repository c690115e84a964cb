"""SQLite side of the daily Alipay reconciliation: the terminal's payments and refunds, and stored results."""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from collections.abc import Iterable
from typing import Any

from pos_app.domain.reconcile import BEIJING, Reconciliation, TerminalPayment, TerminalRefund

from .db import transaction

__all__ = ["SqliteReconcileStore", "reconciliations_for_report", "mark_reported"]

_CHUNK = 500


def _when(text: str | None, *, beijing_naive: bool = False) -> dt.datetime | None:
    if not text:
        return None
    try:
        when = dt.datetime.fromisoformat(text)
    except ValueError:
        try:
            when = dt.datetime.strptime(text, "%Y-%m-%d %H:%M:%S")
        except ValueError:
            return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=BEIJING if beijing_naive else dt.UTC)
    return when


class SqliteReconcileStore:
    """Reads the terminal's Alipay payments and refunds; writes reconciliation runs (one connection, one thread)."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn

    # --- the terminal's side ----------------------------------------------------------------------

    def _payment(self, r: sqlite3.Row | tuple[Any, ...]) -> TerminalPayment:
        out, trade_no, amount, state, sale_id, resolution, gmt_payment, updated = r
        at = _when(gmt_payment, beijing_naive=True) if state == "paid" else None
        at = at or _when(updated) or dt.datetime.min.replace(tzinfo=dt.UTC)
        return TerminalPayment(out, trade_no or "", int(amount), state, sale_id, resolution or "", at)

    _PAY_COLS = ("p.out_trade_no, p.trade_no, p.amount_fen, p.state, p.sale_id, p.resolution, p.gmt_payment,"
                 " p.updated_at")
    _REF_SQL = ("SELECT (SELECT pa.out_trade_no FROM tenders t JOIN payment_attempts pa ON pa.id = t.attempt_id"
                "        WHERE t.sale_id = r.sale_id AND t.kind = 'alipay' ORDER BY t.id LIMIT 1),"
                " r.out_request_no, r.amount_fen, r.state, r.completed_at, r.created_at FROM refunds r"
                " WHERE r.method = 'alipay' AND ")

    def terminal_records(self, start: dt.datetime, end: dt.datetime, out_trade_nos: Iterable[str],
                         refund_keys: Iterable[tuple[str, str]] = ()
                         ) -> tuple[dict[str, TerminalPayment], dict[tuple[str, str], TerminalRefund]]:
        """Every Alipay payment and refund touched around ``[start, end)`` plus those the bill names."""
        lo = (start - dt.timedelta(days=1)).astimezone(dt.UTC).isoformat()
        hi = (end + dt.timedelta(days=1)).astimezone(dt.UTC).isoformat()
        payments: dict[str, TerminalPayment] = {}
        for r in self._conn.execute(f"SELECT {self._PAY_COLS} FROM payment_attempts p"  # noqa: S608
                                    " WHERE p.updated_at >= ? AND p.updated_at < ?", (lo, hi)):
            p = self._payment(tuple(r))
            payments[p.out_trade_no] = p
        missing = sorted(set(out_trade_nos) - payments.keys())
        for i in range(0, len(missing), _CHUNK):
            chunk = missing[i:i + _CHUNK]
            marks = ",".join("?" * len(chunk))
            for r in self._conn.execute(f"SELECT {self._PAY_COLS} FROM payment_attempts p"  # noqa: S608
                                        f" WHERE p.out_trade_no IN ({marks})", chunk):
                p = self._payment(tuple(r))
                payments[p.out_trade_no] = p
        refunds: dict[tuple[str, str], TerminalRefund] = {}

        def add(rows: Iterable[Any]) -> None:
            for out, req, amount, state, completed, created in rows:
                at = _when(completed) or _when(created) or dt.datetime.min.replace(tzinfo=dt.UTC)
                refunds[(out or "", req)] = TerminalRefund(out or "", req, int(amount), state, at)

        add(self._conn.execute(self._REF_SQL + "((r.completed_at >= ? AND r.completed_at < ?)"
                               " OR (r.created_at >= ? AND r.created_at < ?))", (lo, hi, lo, hi)))
        wanted = sorted({req for key in refund_keys if key not in refunds for req in key[1:]})
        for i in range(0, len(wanted), _CHUNK):
            chunk = wanted[i:i + _CHUNK]
            add(self._conn.execute(self._REF_SQL + f"r.out_request_no IN ({','.join('?' * len(chunk))})", chunk))
        return payments, refunds

    # --- results ------------------------------------------------------------------------------------

    def save(self, rec: Reconciliation, *, account: str, run_at: dt.datetime, csv_path: str) -> int:
        """Store one run and its non-matched findings in one transaction; returns its id."""
        with transaction(self._conn):
            cur = self._conn.execute(
                "INSERT INTO reconciliations (bill_date, run_at, account, alipay_trades, alipay_refunds,"
                " alipay_trade_fen, alipay_refund_fen, matched, problems, counts_json, csv_path)"
                " VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                (rec.bill_date.isoformat(), run_at.astimezone(dt.UTC).isoformat(), account, rec.alipay_trades,
                 rec.alipay_refunds, rec.alipay_trade_fen, rec.alipay_refund_fen, rec.matched, len(rec.problems),
                 json.dumps(rec.counts(), sort_keys=True), csv_path))
            run_id = int(cur.lastrowid or 0)
            self._conn.executemany(
                "INSERT INTO reconciliation_items (reconciliation_id, kind, out_trade_no, trade_no, out_request_no,"
                " alipay_fen, terminal_fen, detail) VALUES (?,?,?,?,?,?,?,?)",
                [(run_id, f.kind.value, f.out_trade_no, f.trade_no, f.out_request_no, f.alipay_fen, f.terminal_fen,
                  f.detail) for f in rec.problems])
        return run_id

    def known_account(self) -> str | None:
        """The account of the first stored bill (the merchant this terminal reconciles against)."""
        r = self._conn.execute("SELECT account FROM reconciliations ORDER BY id LIMIT 1").fetchone()
        return str(r[0]) if r else None

    def latest(self, bill_date: dt.date | None = None) -> dict[str, Any] | None:
        """The newest run (of ``bill_date`` when given) with its problem rows, for screens and reports."""
        if bill_date is None:
            r = self._conn.execute("SELECT id FROM reconciliations ORDER BY bill_date DESC, id DESC LIMIT 1").fetchone()
        else:
            r = self._conn.execute("SELECT id FROM reconciliations WHERE bill_date = ? ORDER BY id DESC LIMIT 1",
                                   (bill_date.isoformat(),)).fetchone()
        return self.run(int(r[0])) if r else None

    def run(self, run_id: int) -> dict[str, Any] | None:
        r = self._conn.execute(
            "SELECT id, bill_date, run_at, account, alipay_trades, alipay_refunds, alipay_trade_fen,"
            " alipay_refund_fen, matched, problems, counts_json, csv_path, reported_in_z FROM reconciliations"
            " WHERE id = ?", (run_id,)).fetchone()
        if r is None:
            return None
        keys = ("id", "bill_date", "run_at", "account", "alipay_trades", "alipay_refunds", "alipay_trade_fen",
                "alipay_refund_fen", "matched", "problems", "counts_json", "csv_path", "reported_in_z")
        out = dict(zip(keys, tuple(r), strict=True))
        out["counts"] = json.loads(out.pop("counts_json"))
        out["items"] = [dict(zip(("kind", "out_trade_no", "trade_no", "out_request_no", "alipay_fen", "terminal_fen",
                                  "detail"), tuple(i), strict=True))
                        for i in self._conn.execute(
                            "SELECT kind, out_trade_no, trade_no, out_request_no, alipay_fen, terminal_fen, detail"
                            " FROM reconciliation_items WHERE reconciliation_id = ? ORDER BY id", (run_id,))]
        return out

    def done_dates(self, since: dt.date) -> set[dt.date]:
        """Bill dates reconciled at least once since ``since``."""
        return {dt.date.fromisoformat(str(r[0])) for r in self._conn.execute(
            "SELECT DISTINCT bill_date FROM reconciliations WHERE bill_date >= ?", (since.isoformat(),))}

    def unreported(self) -> list[dict[str, Any]]:
        """Runs not shown on a Z report yet (newest last), for the next Z report."""
        ids = [int(r[0]) for r in self._conn.execute(
            "SELECT id FROM reconciliations WHERE reported_in_z IS NULL ORDER BY id")]
        return [run for run in (self.run(i) for i in ids) if run is not None]


def reconciliations_for_report(conn: sqlite3.Connection) -> list[dict[str, Any]]:
    """The newest run of each bill date not yet shown on a Z report (for the X/Z figures)."""
    rows = conn.execute(
        "SELECT r.id, r.bill_date, r.alipay_trades, r.alipay_refunds, r.matched, r.problems, r.counts_json"
        " FROM reconciliations r WHERE r.reported_in_z IS NULL AND r.id = (SELECT max(r2.id) FROM reconciliations r2"
        " WHERE r2.bill_date = r.bill_date) ORDER BY r.bill_date").fetchall()
    return [{"id": int(r[0]), "bill_date": r[1], "alipay_trades": int(r[2]), "alipay_refunds": int(r[3]),
             "matched": int(r[4]), "problems": int(r[5]),
             "differences": {k: v for k, v in json.loads(r[6]).items() if k != "matched"}} for r in rows]


def mark_reported(conn: sqlite3.Connection, z_id: int, figures_json: str) -> None:
    """Mark the runs listed in a stored Z's figures (and older runs of the same dates) as reported."""
    try:
        listed = json.loads(figures_json).get("reconciliation") or []
    except (ValueError, AttributeError):
        return
    for run in listed:
        conn.execute("UPDATE reconciliations SET reported_in_z = ? WHERE reported_in_z IS NULL AND bill_date = ?"
                     " AND id <= ?", (z_id, run["bill_date"], int(run["id"])))
