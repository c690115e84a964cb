"""Exchanges (换货): return goods of an earlier sale and sell new ones on one ticket, in one transaction.

:meth:`ExchangeService.plan` checks what comes back (the refund rules: a supervisor approved it, the quantities
are still refundable, no earlier refund of that sale is unfinished) and what it is worth. The till attaches the
plan to its sale (:meth:`pos_app.services.checkout.CheckoutService.attach_exchange`); the sale's commit calls
:meth:`ExchangeService.write` inside its own transaction, which records the return as refunds of the earlier
sale:

* the *credit* — the part of the returned goods' worth that pays the new sale — a cash refund matched by the
  new sale's tender ``exchange:<earlier receipt>`` (no money moves; the drawer's expected cash is unchanged);
* the *difference* owed to the customer when the returned goods are worth more than the new ones — a cash refund
  (done at once), or an Alipay refund of the earlier trade written ahead (``pending``) and sent after the commit
  through the refund path (:meth:`ExchangeService.settle`, retried like any refund);

and the points once: the earned points of the returned goods are reversed (and redeemed points restored) with
the credit refund, the new sale earns its own. A difference owed by the customer is paid like any sale (cash,
Alipay, or both: split tender).
"""

from __future__ import annotations

import dataclasses
import json
import logging
from collections.abc import Callable
from typing import Any

from pos_app.domain.errors import DomainError
from pos_app.domain.exchange import ExchangePlan, split_credit
from pos_app.domain.money import format_ui

from .errors import CheckoutError, RefundError
from .ports.clock import Clock, IdSource
from .ports.uow import UnitOfWork
from .refunds import RefundOutcome, RefundService

__all__ = ["ExchangeDone", "ExchangeService"]

logger = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True)
class ExchangeDone:
    """An exchange as committed with its new sale. ``difference_fen`` > 0: the customer paid it; < 0: given back
    (``back_state`` "done", or "pending" until the Alipay refund is confirmed by :meth:`ExchangeService.settle`)."""

    plan: ExchangePlan
    credit_used_fen: int
    difference_fen: int
    credit_refund_id: int
    back_refund_id: int | None
    back_state: str
    points_reversed: int
    points_restored: int


class ExchangeService:
    """Plans and records exchanges; the money of a difference goes through :class:`RefundService`."""

    def __init__(self, uow_factory: Callable[[], UnitOfWork], refunds: RefundService, clock: Clock,
                 ids: IdSource) -> None:
        self._uow = uow_factory
        self._refunds = refunds
        self._clock = clock
        self._ids = ids

    def plan(self, receipt_no: str, lines: dict[int, int], *, approved_by: int | None,
             reason: str = "exchange") -> ExchangePlan:
        """What comes back from the sale with ``receipt_no`` (line_no -> quantity) and what it is worth.

        Raises :class:`RefundError` (a message for the cashier) when the refund rules refuse it."""
        if approved_by is None:
            raise RefundError("an exchange returns goods: a supervisor must approve it")
        detail = self._refunds.find_sale(receipt_no)
        with self._uow() as uow:
            alloc, alipay_left = self._refunds.allocation_in(uow, detail.sale.id, lines)
        names = tuple(ln.name for ln in detail.lines for no, _ in sorted(lines.items()) if ln.line_no == no)
        back = "alipay" if detail.out_trade_no and alipay_left >= alloc.refund_fen else "cash"
        try:
            return ExchangePlan(detail.sale.id, detail.sale.receipt_no, tuple(sorted(lines.items())), names,
                                alloc.refund_fen, back, approved_by, reason.strip() or "exchange",
                                detail.sale.card_no or "")
        except DomainError as exc:
            raise RefundError(str(exc)) from exc

    def write(self, uow: UnitOfWork, plan: ExchangePlan, *, new_sale_id: int, new_receipt_no: str,
              new_total_fen: int, shift_id: int, cashier_id: int, cashier_name: str, now: Any) -> ExchangeDone:
        """Record the return inside the new sale's commit transaction (see the module docstring)."""
        try:
            alloc, _ = self._refunds.allocation_in(uow, plan.sale_id, dict(plan.lines))
        except RefundError as exc:
            raise CheckoutError(f"the exchange cannot be completed: {exc}") from exc
        if alloc.refund_fen != plan.credit_fen:
            raise CheckoutError("the earlier sale changed since the exchange started (refunded meanwhile): "
                                "start the exchange again")
        stamp = now.isoformat()
        credit = min(plan.credit_fen, new_total_fen)
        parts = [(p.line_no, p.quantity, p.refund_fen, p.discount_fen) for p in alloc.lines]
        used, rest = split_credit(parts, credit)
        reason = f"{plan.reason} → {new_receipt_no}"
        credit_id = uow.sales.add_refund(sale_id=plan.sale_id, shift_id=shift_id,
                                         out_request_no=self._ids.new_id("X"), method="cash", amount_fen=credit,
                                         reason=reason, lines_json=json.dumps(used), cashier_id=cashier_id,
                                         approved_by=plan.approved_by, created_at=stamp)
        uow.sales.update_refund(credit_id, points_reversed=alloc.points_to_reverse,
                                points_restored=alloc.points_to_restore)
        credit_rec = self._refunds.complete_in(uow, credit_id, cashier_id, cashier_name, now)
        back_id: int | None = None
        back_state = "done"
        back = plan.credit_fen - credit
        if back:
            back_id = uow.sales.add_refund(sale_id=plan.sale_id, shift_id=shift_id,
                                           out_request_no=self._ids.new_id("R"), method=plan.back_method,
                                           amount_fen=back, reason=reason, lines_json=json.dumps(rest),
                                           cashier_id=cashier_id, approved_by=plan.approved_by, created_at=stamp)
            if plan.back_method == "cash":
                self._refunds.complete_in(uow, back_id, cashier_id, cashier_name, now)
            else:
                back_state = "pending"   # sent to Alipay after the commit (settle); retried like any refund
        uow.sales.add_exchange(original_sale_id=plan.sale_id, new_sale_id=new_sale_id, credit_refund_id=credit_id,
                               back_refund_id=back_id, returned_fen=plan.credit_fen, new_fen=new_total_fen,
                               difference_fen=new_total_fen - plan.credit_fen, back_method=plan.back_method,
                               approved_by=plan.approved_by, lines_json=json.dumps([list(x) for x in plan.lines]),
                               created_at=stamp)
        uow.journal.audit(at=now, user_id=cashier_id, user_name=cashier_name, action="sale.exchange",
                          subject=new_receipt_no,
                          detail={"original": plan.receipt_no, "lines": [list(x) for x in plan.lines],
                                  "returned_fen": plan.credit_fen, "new_fen": new_total_fen,
                                  "difference_fen": new_total_fen - plan.credit_fen, "back_method": plan.back_method,
                                  "approved_by": plan.approved_by})
        logger.info("exchange: %s returned from %s for %s (difference %s)", format_ui(plan.credit_fen),
                    plan.receipt_no, new_receipt_no, format_ui(new_total_fen - plan.credit_fen))
        return ExchangeDone(plan, credit, new_total_fen - plan.credit_fen, credit_id, back_id, back_state,
                            credit_rec.points_reversed, credit_rec.points_restored)

    def settle(self, done: ExchangeDone, *, cashier_id: int, cashier_name: str = "") -> RefundOutcome | None:
        """Send the Alipay refund of a difference owed to the customer (None when nothing is pending)."""
        if done.back_refund_id is None or done.back_state != "pending":
            return None
        return self._refunds.retry(done.back_refund_id, cashier_id=cashier_id, cashier_name=cashier_name)
