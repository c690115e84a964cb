"""Refunds: find a sale by receipt, write the refund ahead with a stored out_request_no, move the money
(alipay.trade.refund confirmed by fund_change or fastpay.refund.query, or cash back), then reverse points
through the ledger and the outbox in one transaction."""

from __future__ import annotations

import dataclasses
import json
import logging
from collections.abc import Callable
from typing import Any

from pos_app.domain.codes import mask_code
from pos_app.domain.errors import DomainError
from pos_app.domain.money import format_ui
from pos_app.domain.sale import RefundAllocation, RefundLine, SaleLine, refund_allocation

from .errors import RefundError
from .gateway_trust import TrustedTradeGateway
from .ports.card_events import CardRequests, CardTrade, CardUpdate, OutboxRequest
from .ports.clock import Clock, IdSource
from .ports.gateway import (
    FailureKind,
    GatewayBusinessFailure,
    GatewaySuccess,
    RefundQueryResult,
    RefundResult,
    TradeGateway,
)
from .ports.sales import RefundRecord, SaleLineRecord, SaleRecord, TenderRecord
from .ports.uow import UnitOfWork

__all__ = ["SaleDetail", "RefundOutcome", "RefundService"]

logger = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True)
class SaleDetail:
    """A committed sale as the refund screen shows it. ``refundable_qty`` maps line_no -> quantity left."""

    sale: SaleRecord
    lines: tuple[SaleLineRecord, ...]
    tenders: tuple[TenderRecord, ...]
    refunds: tuple[RefundRecord, ...]
    refundable_fen: int
    refundable_qty: dict[int, int]
    member_masked: str
    out_trade_no: str
    trade_no: str


@dataclasses.dataclass(frozen=True)
class RefundOutcome:
    """The result of :meth:`RefundService.refund`: ``state`` is done, failed or unknown (retry later)."""

    refund_id: int
    state: str
    amount_fen: int
    method: str
    out_request_no: str
    points_reversed: int
    points_restored: int
    sale_state: str
    message: str


def _sale_line(r: SaleLineRecord) -> SaleLine:
    return SaleLine(r.line_no, r.code, r.name, r.quantity, r.unit, r.unit_price_fen, r.amount_fen, r.open_price,
                    r.points_excluded, r.voided, r.void_reason, r.discount_fen)


def _previous(refund: RefundRecord, lines: list[SaleLine]) -> RefundAllocation:
    """Rebuild a stored refund as the domain allocation (for cumulative rounding of later refunds)."""
    data = json.loads(refund.lines_json or "[]")
    parts = tuple(RefundLine(int(p[0]), int(p[1]), int(p[2]), int(p[3])) for p in data if len(p) >= 4)
    active = [ln for ln in lines if not ln.voided]
    if parts:
        excluded = {ln.line_no for ln in active if ln.points_excluded}
        eligible = sum(p.refund_fen for p in parts if p.line_no not in excluded)
        discount = sum(p.discount_fen for p in parts)
    else:
        paid = sum(ln.paid_fen for ln in active) or 1
        eligible = refund.amount_fen * sum(ln.paid_fen for ln in active if not ln.points_excluded) // paid
        discount = refund.amount_fen * sum(ln.discount_fen for ln in active) // paid
    return RefundAllocation(refund.amount_fen, refund.points_reversed, refund.points_restored, parts, eligible,
                            discount)


class RefundService:
    """Refunds of committed sales.

    Args:
        uow_factory: a new unit of work on this thread's connection for each call.
        gateway: the trade calls (None: cash refunds only).
        clock, ids: time and identifiers (out_request_no, outbox event ids).
        store_id, store_name: written into the consume.sync bodies.
    """

    def __init__(self, uow_factory: Callable[[], UnitOfWork], gateway: TradeGateway | None, clock: Clock,
                 ids: IdSource, *, card_requests: CardRequests, store_id: str = "", store_name: str = "") -> None:
        self._uow = uow_factory
        self._card_requests = card_requests
        self._gateway: TradeGateway | None = TrustedTradeGateway(gateway) if gateway is not None else None
        self._clock = clock
        self._ids = ids
        self._store_id = store_id
        self._store_name = store_name

    def find_sale(self, receipt_no: str) -> SaleDetail:
        """The sale with this receipt code (or Alipay trade number); :class:`RefundError` if none."""
        with self._uow() as uow:
            sale = uow.sales.by_receipt(receipt_no.strip()) or uow.sales.by_trade_no(receipt_no.strip())
            if sale is None:
                raise RefundError("no sale with this receipt number on this terminal")
            return self._detail(uow, sale)

    def _detail(self, uow: UnitOfWork, sale: SaleRecord) -> SaleDetail:
        lines = uow.sales.lines(sale.id)
        tenders = uow.sales.tenders(sale.id)
        refunds = uow.sales.refunds(sale.id)
        out_trade_no = ""
        for t in tenders:
            if t.kind == "alipay" and t.attempt_id is not None:
                att = uow.payments.get(t.attempt_id)
                out_trade_no = att.out_trade_no if att else ""
        counted = [r for r in refunds if r.state != "failed"]
        refundable_qty: dict[int, int] = {}
        domain_lines = [_sale_line(r) for r in lines]
        prev = [_previous(r, domain_lines) for r in counted]
        for ln in lines:
            if not ln.voided:
                done = sum(p.quantity for a in prev for p in a.lines if p.line_no == ln.line_no)
                refundable_qty[ln.line_no] = ln.quantity - done
        left = sale.total_fen - sum(r.amount_fen for r in counted)
        trade_no = next((t.trade_no for t in tenders if t.kind == "alipay"), "")
        return SaleDetail(sale, tuple(lines), tuple(tenders), tuple(refunds), left, refundable_qty,
                          mask_code(sale.card_no) if sale.card_no else "", out_trade_no, trade_no)

    def refund(self, sale_id: int, lines: list[tuple[int, int]] | None, amount_fen: int | None, *, method: str,
               reason: str, cashier_id: int, approved_by: int | None, shift_id: int,
               cashier_name: str = "") -> RefundOutcome:
        """Refund goods (``lines``: [(line_no, qty)]) or an amount, by ``method`` "alipay" or "cash"."""
        if method not in ("alipay", "cash"):
            raise RefundError("refund by Alipay or cash")
        if not reason.strip():
            raise RefundError("a refund needs a reason")
        now = self._clock.now()
        with self._uow() as uow:
            sale = uow.sales.get(sale_id)
            if sale is None:
                raise RefundError("no such sale")
            detail = self._detail(uow, sale)
            if method == "alipay" and not detail.out_trade_no:
                raise RefundError("this sale was not paid by Alipay: refund it in cash")
            alipay_left = sum(t.amount_fen for t in detail.tenders if t.kind == "alipay") - sum(
                r.amount_fen for r in detail.refunds if r.method == "alipay" and r.state != "failed")
            if any(r.state in ("pending", "unknown") for r in detail.refunds):
                raise RefundError("an earlier refund of this sale is not finished: retry it first")
            alloc = _allocate(sale, detail, lines, amount_fen)
            if method == "alipay" and alloc.refund_fen > alipay_left:
                raise RefundError(f"only {format_ui(alipay_left)} of this sale can go back to Alipay (the rest was "
                                  "paid in cash): refund the rest in cash")
            out_request_no = self._ids.new_id("R")
            parts = [[p.line_no, p.quantity, p.refund_fen, p.discount_fen] for p in alloc.lines]
            refund_id = uow.sales.add_refund(sale_id=sale_id, shift_id=shift_id, out_request_no=out_request_no,
                                             method=method, amount_fen=alloc.refund_fen, reason=reason.strip(),
                                             lines_json=json.dumps(parts), cashier_id=cashier_id,
                                             approved_by=approved_by, created_at=now.isoformat())
            uow.sales.update_refund(refund_id, points_reversed=alloc.points_to_reverse,
                                    points_restored=alloc.points_to_restore)
        return self._move_money(refund_id, detail.out_trade_no, cashier_id, cashier_name)

    def quote(self, sale_id: int, lines: list[tuple[int, int]] | None, amount_fen: int | None) -> int:
        """What :meth:`refund` would pay back for these lines (or this amount), in fen, before anyone approves it
        (the supervisor sees the amount). Raises :class:`RefundError` as the refund itself would."""
        with self._uow().read() as uow:
            sale = uow.sales.get(sale_id)
            if sale is None:
                raise RefundError("no such sale")
            detail = self._detail(uow, sale)
        return _allocate(sale, detail, lines, amount_fen).refund_fen

    def allocation_in(self, uow: UnitOfWork, sale_id: int, quantities: dict[int, int]) -> tuple[RefundAllocation, int]:
        """Inside the caller's transaction: the refund of goods ``quantities`` (line_no -> qty) of a sale under the
        refund rules, and how much of the sale may still go back to Alipay; :class:`RefundError` if refused."""
        sale = uow.sales.get(sale_id)
        if sale is None:
            raise RefundError("no such sale")
        if sale.state not in ("paid", "partly_refunded"):
            raise RefundError(f"this sale is {sale.state.replace('_', ' ')}: nothing to return")
        detail = self._detail(uow, sale)
        if any(r.state in ("pending", "unknown") for r in detail.refunds):
            raise RefundError("an earlier refund of this sale is not finished: retry it first")
        domain_lines = [_sale_line(r) for r in detail.lines]
        prev = [_previous(r, domain_lines) for r in detail.refunds if r.state != "failed"]
        try:
            alloc = refund_allocation(domain_lines, points_earned=sale.points_earned,
                                      points_redeemed=sale.points_redeemed, quantities=quantities, previous=prev)
        except DomainError as exc:
            raise RefundError(str(exc)) from exc
        alipay_left = sum(t.amount_fen for t in detail.tenders if t.kind == "alipay") - sum(
            r.amount_fen for r in detail.refunds if r.method == "alipay" and r.state != "failed")
        return alloc, alipay_left

    def complete_in(self, uow: UnitOfWork, refund_id: int, cashier_id: int, cashier_name: str,
                    now: Any) -> RefundRecord:
        """Inside the caller's transaction: a refund whose money moved (or needs no move) is done: quantities,
        the sale's state, points (ledger + outbox) and the audit entry. Returns the refund as completed."""
        refund = uow.sales.get_refund(refund_id)
        assert refund is not None
        refund, _ = self._complete_in(uow, refund, cashier_id, cashier_name, now)
        return refund

    def retry(self, refund_id: int, *, cashier_id: int, cashier_name: str = "") -> RefundOutcome:
        """Finish a refund left ``pending``/``unknown`` (same stored out_request_no)."""
        with self._uow() as uow:
            refund = uow.sales.get_refund(refund_id)
            if refund is None:
                raise RefundError("no such refund")
            sale = uow.sales.get(refund.sale_id)
            assert sale is not None
            detail = self._detail(uow, sale)
        if refund.state not in ("pending", "unknown"):
            raise RefundError(f"this refund is already {refund.state}")
        return self._move_money(refund_id, detail.out_trade_no, cashier_id, cashier_name)

    def _move_money(self, refund_id: int, out_trade_no: str, cashier_id: int, cashier_name: str) -> RefundOutcome:
        with self._uow() as uow:
            refund = uow.sales.get_refund(refund_id)
        assert refund is not None
        if refund.method == "cash":
            return self._complete(refund, cashier_id, cashier_name)
        if self._gateway is None:
            return self._mark(refund, "unknown", "Alipay is not configured: retry when it is")
        res = self._gateway.refund(out_trade_no, refund.out_request_no, refund.amount_fen, refund.reason)
        if isinstance(res, GatewaySuccess) and isinstance(res.answer, RefundResult) and res.answer.money_moved:
            return self._complete(refund, cashier_id, cashier_name)
        if isinstance(res, GatewayBusinessFailure) and res.kind is not FailureKind.TRANSIENT:
            return self._mark(refund, "failed", f"Alipay refused the refund ({res.label})")
        q = self._gateway.refund_query(out_trade_no, refund.out_request_no)
        if isinstance(q, GatewaySuccess) and isinstance(q.answer, RefundQueryResult) and q.answer.succeeded:
            return self._complete(refund, cashier_id, cashier_name)
        return self._mark(refund, "unknown", "the refund is not confirmed yet: retry it (the same request is resent)")

    def _mark(self, refund: RefundRecord, state: str, message: str) -> RefundOutcome:
        with self._uow() as uow:
            uow.sales.update_refund(refund.id, state=state, fail_message=message)
            sale = uow.sales.get(refund.sale_id)
        assert sale is not None
        return RefundOutcome(refund.id, state, refund.amount_fen, refund.method, refund.out_request_no, 0, 0,
                             sale.state, message)

    def _complete(self, refund: RefundRecord, cashier_id: int, cashier_name: str) -> RefundOutcome:
        now = self._clock.now()
        with self._uow() as uow:
            refund, state = self._complete_in(uow, refund, cashier_id, cashier_name, now)
        logger.info("refund %d done: %s by %s", refund.id, format_ui(refund.amount_fen), refund.method)
        return RefundOutcome(refund.id, "done", refund.amount_fen, refund.method, refund.out_request_no,
                             refund.points_reversed, refund.points_restored, state,
                             f"refunded {format_ui(refund.amount_fen)}"
                             + (" in cash" if refund.method == "cash" else " to the customer's Alipay"))

    def _complete_in(self, uow: UnitOfWork, refund: RefundRecord, cashier_id: int, cashier_name: str,
                     now: Any) -> tuple[RefundRecord, str]:
        stamp = now.isoformat()
        sale = uow.sales.get(refund.sale_id)
        assert sale is not None
        lines = {ln.line_no: ln for ln in uow.sales.lines(sale.id)}
        for part in json.loads(refund.lines_json or "[]"):
            if int(part[1]):
                uow.sales.add_refunded_qty(lines[int(part[0])].id, int(part[1]))
        refunded = sale.refunded_fen + refund.amount_fen
        state = "refunded" if refunded >= sale.total_fen else "partly_refunded"
        uow.sales.set_refunded(sale.id, refunded, state)
        # the money moved now: into the open shift if the refund's own shift closed meanwhile (finding O1)
        uow.sales.update_refund(refund.id, state="done", completed_at=stamp, fail_message="",
                                shift_id=uow.sales.settling_shift(refund.shift_id))
        if sale.card_no and (refund.points_reversed or refund.points_restored):
            refund = self._points(uow, sale, refund, now)
        uow.journal.audit(at=now, user_id=cashier_id, user_name=cashier_name, action="refund.done",
                          subject=sale.receipt_no,
                          detail={"sale_id": sale.id, "refund_id": refund.id, "amount_fen": refund.amount_fen,
                                  "method": refund.method, "approved_by": refund.approved_by,
                                  "out_request_no": refund.out_request_no,
                                  "points_reversed": refund.points_reversed,
                                  "points_restored": refund.points_restored})
        return refund, state

    def _points(self, uow: UnitOfWork, sale: SaleRecord, refund: RefundRecord, now: Any) -> RefundRecord:
        card_no = sale.card_no
        assert card_no is not None
        stamp = now.isoformat()
        balance = uow.members.balance(card_no)
        if refund.points_reversed > max(balance, 0):
            # the earned points were spent meanwhile: reverse what is left, never below zero (a negative
            # balance cannot be sent to Alipay and would block the card's sync; finding F2 of docs/reliability.md)
            logger.info("points reversal capped at the balance: %d of %d", max(balance, 0), refund.points_reversed)
            refund = dataclasses.replace(refund, points_reversed=max(balance, 0))
            uow.sales.update_refund(refund.id, points_reversed=refund.points_reversed)
        if refund.points_reversed:
            balance = uow.members.add_ledger(card_no, kind="reverse_earn", points=-refund.points_reversed,
                                             sale_id=sale.id, refund_id=refund.id, reason=sale.receipt_no, at=stamp)
        if refund.points_restored:
            balance = uow.members.add_ledger(card_no, kind="restore_redeem", points=refund.points_restored,
                                             sale_id=sale.id, refund_id=refund.id, reason=sale.receipt_no, at=stamp)
        member = uow.members.get(card_no)
        level = member.level if member else ""
        biz = member.biz_card_no if member else None
        # consume.sync must name an ALIPAY trade (alipay-api.md 5.3; the sandbox answers TRADE_NOT_EXIST to
        # out_request_no, the row dies and blocks the card): the sale's trade, or none for a cash sale
        alipay_trade = next((t.trade_no for t in uow.sales.tenders(sale.id) if t.kind == "alipay" and t.trade_no), "")
        if alipay_trade:
            self._enqueue(uow, card_no, CardTrade(
                card_no=card_no, biz_card_no=biz, level=level, trade_no=alipay_trade, trade_time=now,
                is_return=True, trade_name=self._store_name or "refund", trade_amount_fen=refund.amount_fen,
                act_pay_amount_fen=refund.amount_fen, points_after=balance, points_redeemed=0, discount_fen=0,
                shop_code=self._store_id, memo=sale.receipt_no), now, balance, sale.id, refund.id)
        self._enqueue(uow, card_no, CardUpdate(
            card_no=card_no, biz_card_no=biz, level=level, occur_time=now, points_after=balance,
            changed_point=refund.points_restored - refund.points_reversed), now, balance, sale.id, refund.id)
        return refund

    def _enqueue(self, uow: UnitOfWork, card_no: str, event: CardTrade | CardUpdate, now: Any, balance: int,
                 sale_id: int, refund_id: int) -> None:
        req: OutboxRequest = self._card_requests.request(event)
        uow.journal.enqueue(event_id=self._ids.new_id("E"), kind=req.kind, card_no=card_no, method=req.method,
                            body=req.body, created_at=now, points_after=balance, sale_id=sale_id,
                            refund_id=refund_id)


def _allocate(sale: SaleRecord, detail: SaleDetail, lines: list[tuple[int, int]] | None,
              amount_fen: int | None) -> RefundAllocation:
    domain_lines = [_sale_line(r) for r in detail.lines]
    prev = [_previous(r, domain_lines) for r in detail.refunds if r.state != "failed"]
    try:
        return refund_allocation(domain_lines, points_earned=sale.points_earned, points_redeemed=sale.points_redeemed,
                                 quantities=dict(lines) if lines is not None else None, amount_fen=amount_fen,
                                 previous=prev)
    except DomainError as exc:
        raise RefundError(str(exc)) from exc
