"""Daily Alipay reconciliation rules: match Alipay's bill entries with the terminal's payments and refunds.

Pure data in, findings out. Keys: a trade by ``out_trade_no`` (and ``trade_no`` when both sides know it),
a refund by ``(out_trade_no, out_request_no)``; every match also compares the amount in fen.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
import functools
from collections.abc import Iterable, Mapping

from .errors import DomainError

__all__ = [
    "EntryKind",
    "FindingKind",
    "AlipayEntry",
    "TerminalPayment",
    "TerminalRefund",
    "Finding",
    "Reconciliation",
    "match",
    "day_window",
    "BillError",
    "BillUnavailable",
    "BillFormatError",
    "AlipayBill",
]

BEIJING = dt.timezone(dt.timedelta(hours=8), "GMT+8")


class BillError(DomainError):
    """The day's bill cannot be had or used; ``str(err)`` says why in words for a supervisor."""


class BillUnavailable(BillError):
    """Alipay has no bill for the day yet (or refused the query); ``retry_later`` says whether to try again."""

    def __init__(self, message: str, *, retry_later: bool) -> None:
        super().__init__(message)
        self.retry_later = retry_later


class BillFormatError(BillError):
    """The downloaded file is not a usable trade bill of this account and day (not a zip, not GBK, truncated...)."""


class EntryKind(enum.StrEnum):
    TRADE = "trade"      # 交易
    REFUND = "refund"    # 退款


class FindingKind(enum.StrEnum):
    """What a reconciliation can find; ``MATCHED`` rows are counted, the others listed."""

    MATCHED = "matched"
    ALIPAY_ONLY_TRADE = "alipay_only_trade"            # money taken that the terminal does not know
    TERMINAL_ONLY_TRADE = "terminal_only_trade"        # the terminal counts money Alipay does not list
    TRADE_AMOUNT_DIFFERS = "trade_amount_differs"
    TRADE_NO_DIFFERS = "trade_no_differs"
    PAID_WITHOUT_SALE = "paid_without_sale"            # Alipay took the money, the sale was never completed
    TERMINAL_NOT_PAID = "terminal_not_paid"            # Alipay lists a trade the terminal holds as not paid
    ALIPAY_ONLY_REFUND = "alipay_only_refund"          # a refund the terminal does not know
    TERMINAL_ONLY_REFUND = "terminal_only_refund"      # a refund the terminal counts that Alipay never made
    REFUND_AMOUNT_DIFFERS = "refund_amount_differs"
    REFUND_NOT_DONE_AT_TERMINAL = "refund_not_done_at_terminal"  # Alipay refunded, the terminal is unsure


@dataclasses.dataclass(frozen=True, slots=True)
class AlipayEntry:
    """One row of Alipay's trade bill (业务明细)."""

    kind: EntryKind
    trade_no: str
    out_trade_no: str
    out_request_no: str      # refunds only ('' on trades, and on the refund of a cancelled trade)
    amount_fen: int          # 订单金额, positive for both kinds (a refund's sign is dropped)
    received_fen: int        # 商家实收, signed as in the bill
    finished_at: str         # 完成时间, ``yyyy-MM-dd HH:mm:ss`` Beijing time
    store_id: str = ""
    terminal_id: str = ""


@dataclasses.dataclass(frozen=True)
class AlipayBill:
    """A parsed daily trade bill whose rows added up to its own totals."""

    account: str                      # ``<PID>0156``
    bill_date: dt.date
    entries: tuple[AlipayEntry, ...]
    trade_count: int
    trade_received_fen: int
    refund_count: int
    refund_received_fen: int          # negative, as in the bill

    @property
    def partner_id(self) -> str:
        return self.account[:-4] if self.account.endswith("0156") and len(self.account) == 20 else self.account


@dataclasses.dataclass(frozen=True, slots=True)
class TerminalPayment:
    """An Alipay payment attempt as the terminal recorded it."""

    out_trade_no: str
    trade_no: str
    amount_fen: int
    state: str               # payment_attempts.state
    sale_id: int | None
    resolution: str          # '' | 'completed' | 'refunded' | 'refund_pending:<no>'
    at: dt.datetime          # when the money moved as far as the terminal knows (aware)


@dataclasses.dataclass(frozen=True, slots=True)
class TerminalRefund:
    out_trade_no: str
    out_request_no: str
    amount_fen: int
    state: str               # refunds.state: pending | done | failed | unknown
    at: dt.datetime


@dataclasses.dataclass(frozen=True, slots=True)
class Finding:
    kind: FindingKind
    out_trade_no: str
    trade_no: str = ""
    out_request_no: str = ""
    alipay_fen: int | None = None
    terminal_fen: int | None = None
    detail: str = ""

    @property
    def matched(self) -> bool:
        return self.kind is FindingKind.MATCHED


@dataclasses.dataclass(frozen=True)
class Reconciliation:
    bill_date: dt.date
    findings: tuple[Finding, ...]
    alipay_trades: int
    alipay_refunds: int
    alipay_trade_fen: int
    alipay_refund_fen: int

    @functools.cached_property
    def matched(self) -> int:
        return sum(1 for f in self.findings if f.kind is FindingKind.MATCHED)

    @functools.cached_property
    def problems(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.kind is not FindingKind.MATCHED)

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for f in self.findings:
            out[f.kind.value] = out.get(f.kind.value, 0) + 1
        return out


def day_window(day: dt.date) -> tuple[dt.datetime, dt.datetime]:
    """[day 00:00, day+1 00:00) in Beijing time: the bill's window."""
    start = dt.datetime.combine(day, dt.time(0, 0), tzinfo=BEIJING)
    return start, start + dt.timedelta(days=1)


_PAID_STATES = ("paid", "cancelled_refunded")


def match(day: dt.date, entries: Iterable[AlipayEntry], payments: Mapping[str, TerminalPayment],
          refunds: Mapping[tuple[str, str], TerminalRefund]) -> Reconciliation:
    """Match the bill of ``day`` with the terminal's records.

    ``payments`` is keyed by out_trade_no and ``refunds`` by (out_trade_no, out_request_no); they must hold
    every record the bill's entries name (from any day) and every record whose ``at`` falls inside the day,
    so that what only the terminal knows is found too.
    """
    start, end = day_window(day)
    findings: list[Finding] = []
    seen_pay: set[str] = set()
    seen_ref: set[tuple[str, str]] = set()
    n_trades = n_refunds = trade_fen = refund_fen = 0
    for e in entries:
        if e.kind is EntryKind.TRADE:
            n_trades += 1
            trade_fen += e.amount_fen
            seen_pay.add(e.out_trade_no)
            findings.append(_match_trade(e, payments.get(e.out_trade_no)))
        else:
            n_refunds += 1
            refund_fen += e.amount_fen
            findings.append(_match_refund(e, payments.get(e.out_trade_no), refunds, seen_ref))
    for p in payments.values():
        if not start <= p.at < end:
            continue
        if p.state in _PAID_STATES and p.out_trade_no not in seen_pay:
            findings.append(Finding(FindingKind.TERMINAL_ONLY_TRADE, p.out_trade_no, p.trade_no,
                                    terminal_fen=p.amount_fen,
                                    detail="the terminal holds this payment as paid; Alipay's bill does not list it"))
        if p.state == "cancelled_refunded" and (p.out_trade_no, "") not in seen_ref:
            findings.append(Finding(FindingKind.TERMINAL_ONLY_REFUND, p.out_trade_no, p.trade_no,
                                    terminal_fen=p.amount_fen,
                                    detail="the terminal holds this payment as cancelled and refunded; "
                                           "Alipay's bill lists no refund"))
    for key, r in refunds.items():
        if key in seen_ref or r.state != "done" or not start <= r.at < end:
            continue
        findings.append(Finding(FindingKind.TERMINAL_ONLY_REFUND, r.out_trade_no, out_request_no=r.out_request_no,
                                terminal_fen=r.amount_fen,
                                detail="the terminal counts this refund as done; Alipay's bill does not list it"))
    return Reconciliation(day, tuple(findings), n_trades, n_refunds, trade_fen, refund_fen)


def _match_trade(e: AlipayEntry, p: TerminalPayment | None) -> Finding:
    if p is None:
        return Finding(FindingKind.ALIPAY_ONLY_TRADE, e.out_trade_no, e.trade_no, alipay_fen=e.amount_fen,
                       detail="Alipay took this payment; the terminal has no record of it")
    if p.amount_fen != e.amount_fen:
        return Finding(FindingKind.TRADE_AMOUNT_DIFFERS, e.out_trade_no, e.trade_no, alipay_fen=e.amount_fen,
                       terminal_fen=p.amount_fen, detail="the amounts differ")
    if p.trade_no and p.trade_no != e.trade_no:
        return Finding(FindingKind.TRADE_NO_DIFFERS, e.out_trade_no, e.trade_no, alipay_fen=e.amount_fen,
                       terminal_fen=p.amount_fen, detail=f"the terminal recorded Alipay trade number {p.trade_no}")
    if p.state not in _PAID_STATES:
        return Finding(FindingKind.TERMINAL_NOT_PAID, e.out_trade_no, e.trade_no, alipay_fen=e.amount_fen,
                       terminal_fen=p.amount_fen,
                       detail=f"Alipay lists it as paid; the terminal holds the payment as {p.state}")
    if p.state == "paid" and p.sale_id is None and p.resolution != "refunded":
        return Finding(FindingKind.PAID_WITHOUT_SALE, e.out_trade_no, e.trade_no, alipay_fen=e.amount_fen,
                       terminal_fen=p.amount_fen,
                       detail="paid, but the sale was never completed (complete it or refund it: F12)")
    return Finding(FindingKind.MATCHED, e.out_trade_no, e.trade_no, alipay_fen=e.amount_fen, terminal_fen=p.amount_fen)


def _match_refund(e: AlipayEntry, p: TerminalPayment | None, refunds: Mapping[tuple[str, str], TerminalRefund],
                  seen: set[tuple[str, str]]) -> Finding:
    key = (e.out_trade_no, e.out_request_no)
    seen.add(key)
    r = refunds.get(key)
    if r is not None:
        if r.amount_fen != e.amount_fen:
            return Finding(FindingKind.REFUND_AMOUNT_DIFFERS, e.out_trade_no, e.trade_no, e.out_request_no,
                           e.amount_fen, r.amount_fen, "the refund amounts differ")
        if r.state != "done":
            return Finding(FindingKind.REFUND_NOT_DONE_AT_TERMINAL, e.out_trade_no, e.trade_no, e.out_request_no,
                           e.amount_fen, r.amount_fen, f"Alipay made this refund; the terminal holds it as {r.state}")
        return Finding(FindingKind.MATCHED, e.out_trade_no, e.trade_no, e.out_request_no, e.amount_fen, r.amount_fen)
    if p is not None:
        # a cancelled-and-refunded payment, or a paid-without-sale payment refunded by the supervisor
        orphan = p.resolution == "refunded" or p.resolution == f"refund_pending:{e.out_request_no}"
        if (not e.out_request_no and p.state == "cancelled_refunded") or orphan:
            if p.amount_fen != e.amount_fen:
                return Finding(FindingKind.REFUND_AMOUNT_DIFFERS, e.out_trade_no, e.trade_no, e.out_request_no,
                               e.amount_fen, p.amount_fen, "the refund amounts differ")
            if p.resolution.startswith("refund_pending:"):
                return Finding(FindingKind.REFUND_NOT_DONE_AT_TERMINAL, e.out_trade_no, e.trade_no,
                               e.out_request_no, e.amount_fen, p.amount_fen,
                               "Alipay made this refund; the terminal has not confirmed it yet")
            return Finding(FindingKind.MATCHED, e.out_trade_no, e.trade_no, e.out_request_no, e.amount_fen,
                           p.amount_fen)
    return Finding(FindingKind.ALIPAY_ONLY_REFUND, e.out_trade_no, e.trade_no, e.out_request_no, e.amount_fen,
                   detail="Alipay made this refund; the terminal has no record of it")
