"""Domain events: facts that happened, recorded by the services and written to the outbox/ledger.

All events are frozen; amounts are fen, times are aware datetimes from the injected clock, ids come
from the ``IdSource`` port (nothing here calls the clock or makes ids). Card numbers are the
member's external card number; ``repr()`` masks them.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass

from .codes import mask_code

__all__ = ["Event", "SaleCompleted", "PointsChanged", "RefundCompleted"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Event:
    """Marker base: every event has an id and the time it happened."""

    event_id: str
    occurred_at: dt.datetime


@dataclass(frozen=True)
class SaleCompleted(Event):
    """A sale was paid and committed.

    Attributes:
        sale_id: our sale id; receipt_code: the code printed on the receipt.
        gross_fen / discount_fen / paid_fen: basket totals (paid = gross − points discount).
        tender_kind: "alipay" or "cash"; trade_no: Alipay ``trade_no`` ("" for cash).
        card_no: member card ("" if none); points_earned / points_redeemed: for that member.
    """

    sale_id: str
    receipt_code: str
    gross_fen: int
    discount_fen: int
    paid_fen: int
    tender_kind: str
    trade_no: str = ""
    card_no: str = ""
    points_earned: int = 0
    points_redeemed: int = 0

    def __repr__(self) -> str:
        return (f"SaleCompleted(event_id={self.event_id!r}, sale_id={self.sale_id!r}, paid_fen={self.paid_fen}, "
                f"tender_kind={self.tender_kind!r}, card_no={mask_code(self.card_no)!r}, "
                f"points_earned={self.points_earned}, points_redeemed={self.points_redeemed})")


@dataclass(frozen=True)
class PointsChanged(Event):
    """A member's points moved: one ledger entry.

    Attributes:
        card_no: the member; delta: signed points (+earn, −redeem, −reverse, +restore);
        balance_after: the balance after this entry; reason: "earn", "redeem", "refund_reverse",
        "refund_restore" or "adjust"; sale_id / refund_id: what caused it ("" if nothing).
    """

    card_no: str
    delta: int
    balance_after: int
    reason: str
    sale_id: str = ""
    refund_id: str = ""

    def __repr__(self) -> str:
        return (f"PointsChanged(event_id={self.event_id!r}, card_no={mask_code(self.card_no)!r}, "
                f"delta={self.delta}, balance_after={self.balance_after}, reason={self.reason!r}, "
                f"sale_id={self.sale_id!r}, refund_id={self.refund_id!r})")


@dataclass(frozen=True)
class RefundCompleted(Event):
    """Money went back to a customer for (part of) a sale.

    Attributes:
        refund_id / sale_id: ids; out_request_no: the Alipay refund request number ("" for cash);
        refund_fen: money back; fully: the sale is now fully refunded; tender_kind: "alipay" or "cash";
        card_no, points_reversed (earned points taken back), points_restored (redeemed points given back);
        reason: why (from the supervisor); approved_by: the supervisor's user id.
    """

    refund_id: str
    sale_id: str
    refund_fen: int
    fully: bool
    tender_kind: str
    out_request_no: str = ""
    card_no: str = ""
    points_reversed: int = 0
    points_restored: int = 0
    reason: str = ""
    approved_by: str = ""

    def __repr__(self) -> str:
        return (f"RefundCompleted(event_id={self.event_id!r}, refund_id={self.refund_id!r}, "
                f"sale_id={self.sale_id!r}, refund_fen={self.refund_fen}, fully={self.fully}, "
                f"card_no={mask_code(self.card_no)!r}, points_reversed={self.points_reversed}, "
                f"points_restored={self.points_restored})")
