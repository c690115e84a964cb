"""Refunds of a paid sale: money back per line, earned points to take back, redeemed points to give back.

Re-exported by :mod:`pos_app.domain.sale` (``refund_allocation`` is part of the sale's API).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from .errors import SaleRuleError

if TYPE_CHECKING:
    from .sale import SaleLine

__all__ = ["RefundLine", "RefundAllocation", "refund_allocation"]

logger = logging.getLogger(__name__)


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


@dataclass(frozen=True)
class RefundLine:
    """The part of one sale line being refunded: quantity (pieces or grams), money and discount share."""

    line_no: int
    quantity: int
    refund_fen: int
    discount_fen: int


@dataclass(frozen=True)
class RefundAllocation:
    """One refund: money back, points to take back (earned) and to give back (redeemed).

    ``eligible_fen`` (refunded money that had earned points) and ``discount_fen`` (points discount
    inside the refunded goods) are kept so that later refunds of the same sale stay exact.
    """

    refund_fen: int
    points_to_reverse: int
    points_to_restore: int
    lines: tuple[RefundLine, ...] = ()
    eligible_fen: int = 0
    discount_fen: int = 0


def _ceil_div(a: int, b: int) -> int:
    return -(-a // b)


def _pro_rata(value: int, done_before: int, done_after: int, whole: int) -> int:
    """``value`` × share of ``whole`` done by this step, rounded down cumulatively (so steps add up exactly)."""
    return value * done_after // whole - value * done_before // whole


def refund_allocation(
    lines: Sequence[SaleLine],
    *,
    points_earned: int,
    points_redeemed: int,
    quantities: Mapping[int, int] | None = None,
    amount_fen: int | None = None,
    previous: Iterable[RefundAllocation] = (),
) -> RefundAllocation:
    """Work out a refund of a paid sale, by goods (``quantities``: line_no -> quantity) or by ``amount_fen``.

    ``lines`` are the sale's lines with their ``discount_fen`` (from the snapshot); ``previous`` are this
    sale's earlier refunds. Rules (chosen so that refunding everything, in any number of steps, gives back
    exactly what was paid and takes back exactly the points earned):

    * money: per line, ``paid × quantity / line quantity``, rounded down *cumulatively* over the
      line's refunds (the last piece gets the leftover fen); by amount: that amount, at most what is left;
    * points earned are reversed pro rata to the refunded *eligible* money, rounded **up** cumulatively, so
      a member never keeps points for refunded goods;
    * points redeemed are restored pro rata to the points discount inside the refunded goods, rounded
      **down** cumulatively (an amount refund counts ``amount × discount / paid`` of discount).

    Raises :class:`SaleRuleError` for unknown or voided lines, quantities beyond what is left, both or
    neither of ``quantities``/``amount_fen``, or more money than is left to refund.
    """
    if (quantities is None) == (amount_fen is None):
        raise SaleRuleError("refund either goods (quantities) or an amount, not both or neither")
    active = {line.line_no: line for line in lines if not line.voided}
    paid_total = sum(line.paid_fen for line in active.values())
    discount_total = sum(line.discount_fen for line in active.values())
    eligible_total = sum(line.paid_fen for line in active.values() if not line.points_excluded)
    prior = list(previous)
    refunded_before = sum(r.refund_fen for r in prior)
    eligible_before = sum(r.eligible_fen for r in prior)
    discount_before = sum(r.discount_fen for r in prior)
    left = paid_total - refunded_before

    refund_lines: list[RefundLine] = []
    if quantities is not None:
        prior_qty: dict[int, int] = {}
        for refund in prior:
            for part in refund.lines:
                prior_qty[part.line_no] = prior_qty.get(part.line_no, 0) + part.quantity
        if not quantities:
            raise SaleRuleError("choose at least one line to refund")
        refund_fen = eligible = discount = 0
        for line_no, quantity in sorted(quantities.items()):
            line = active.get(line_no)
            if line is None:
                raise SaleRuleError(f"line {line_no} is not a paid line of this sale")
            done = prior_qty.get(line_no, 0)
            if not _is_int(quantity) or not 1 <= quantity <= line.quantity - done:
                raise SaleRuleError(f"line {line_no}: can refund 1 to {line.quantity - done}, not {quantity}")
            fen = _pro_rata(line.paid_fen, done, done + quantity, line.quantity)
            disc = _pro_rata(line.discount_fen, done, done + quantity, line.quantity)
            refund_lines.append(RefundLine(line_no, quantity, fen, disc))
            refund_fen += fen
            discount += disc
            if not line.points_excluded:
                eligible += fen
        if refund_fen > left:
            raise SaleRuleError("that is more than is left to refund on this sale")
    else:
        assert amount_fen is not None
        if not _is_int(amount_fen) or not 1 <= amount_fen <= left:
            raise SaleRuleError(f"the refund amount must be from 1 to {left} fen")
        refund_fen = amount_fen
        eligible = amount_fen * eligible_total // paid_total
        discount = amount_fen * discount_total // paid_total

    reverse = 0
    if eligible_total:
        after = min(eligible_before + eligible, eligible_total)
        before = min(eligible_before, eligible_total)
        reverse = _ceil_div(points_earned * after, eligible_total) - _ceil_div(points_earned * before, eligible_total)
    restore = 0
    if discount_total:
        after = min(discount_before + discount, discount_total)
        restore = _pro_rata(points_redeemed, min(discount_before, discount_total), after, discount_total)
    return RefundAllocation(refund_fen, reverse, restore, tuple(refund_lines), eligible, discount)

