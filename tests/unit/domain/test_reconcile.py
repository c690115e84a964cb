"""The reconciliation matcher: every kind of difference, and what the day window decides."""

from __future__ import annotations

import datetime as dt

from pos_app.domain.reconcile import (
    BEIJING,
    AlipayEntry,
    EntryKind,
    TerminalPayment,
    TerminalRefund,
    match,
)

DAY = dt.date(2026, 3, 10)
NOON = dt.datetime(2026, 3, 10, 12, 0, tzinfo=BEIJING)


def _trade(out: str, fen: int, trade_no: str = "") -> AlipayEntry:
    return AlipayEntry(EntryKind.TRADE, trade_no or f"T{out}", out, "", fen, fen, "2026-03-10 12:00:00")


def _refund(out: str, req: str, fen: int) -> AlipayEntry:
    return AlipayEntry(EntryKind.REFUND, f"T{out}", out, req, fen, -fen, "2026-03-10 13:00:00")


def _pay(out: str, fen: int, state: str = "paid", sale_id: int | None = 1, resolution: str = "",
         at: dt.datetime = NOON, trade_no: str = "") -> TerminalPayment:
    return TerminalPayment(out, trade_no or f"T{out}", fen, state, sale_id, resolution, at)


def test_each_difference_is_named() -> None:
    entries = [_trade("A", 100), _trade("B", 200), _trade("C", 300), _trade("D", 400), _trade("E", 500),
               _trade("F", 600), _refund("A", "R1", 50), _refund("A", "R2", 10), _refund("B", "R3", 20),
               _refund("G", "", 70)]
    payments = {p.out_trade_no: p for p in (
        _pay("A", 100), _pay("B", 250), _pay("C", 300, sale_id=None), _pay("D", 400, state="checking"),
        _pay("E", 500, trade_no="OTHER"), _pay("G", 70, state="cancelled_refunded"),
        _pay("H", 900), _pay("I", 900, at=NOON - dt.timedelta(days=1)))}
    refunds = {("A", "R1"): TerminalRefund("A", "R1", 50, "done", NOON), ("A", "R2"): TerminalRefund("A", "R2", 10,
                                                                                                       "unknown", NOON),
               ("B", "R3"): TerminalRefund("B", "R3", 25, "done", NOON),
               ("A", "R9"): TerminalRefund("A", "R9", 5, "done", NOON)}
    rec = match(DAY, entries, payments, refunds)
    got = sorted((f.kind.value, f.out_trade_no, f.out_request_no) for f in rec.problems)
    assert got == [
        ("alipay_only_trade", "F", ""),
        ("paid_without_sale", "C", ""),
        ("refund_amount_differs", "B", "R3"),
        ("refund_not_done_at_terminal", "A", "R2"),
        ("terminal_not_paid", "D", ""),
        ("terminal_only_refund", "A", "R9"),
        ("terminal_only_trade", "G", ""),   # the cancel-refund's trade leg was on another day's bill
        ("terminal_only_trade", "H", ""),
        ("trade_amount_differs", "B", ""),
        ("trade_no_differs", "E", ""),
    ]
    assert rec.matched == 3  # A, A/R1, G's cancel-refund
    assert (rec.alipay_trades, rec.alipay_refunds, rec.alipay_trade_fen, rec.alipay_refund_fen) == (6, 4, 2100, 150)
    assert rec.counts()["matched"] == 3


def test_orphan_refund_and_unrefunded_cancel() -> None:
    payments = {"A": _pay("A", 100, sale_id=None, resolution="refunded"),
                "B": _pay("B", 200, sale_id=None, resolution="refund_pending:RX"),
                "C": _pay("C", 300, state="cancelled_refunded")}
    rec = match(DAY, [_trade("A", 100), _refund("A", "RO1", 100), _trade("B", 200), _refund("B", "RX", 200),
                      _trade("C", 300)], payments, {})
    got = sorted((f.kind.value, f.out_trade_no) for f in rec.problems)
    assert got == [("paid_without_sale", "B"), ("refund_not_done_at_terminal", "B"), ("terminal_only_refund", "C")]
    assert rec.matched == 3
