"""An exchange (换货): goods of an earlier sale come back and new goods are sold, on one ticket.

The returned goods are worth what was paid for them (:func:`refund_allocation`, ``credit_fen``). That credit pays
the new sale first (a tender of its own, :data:`EXCHANGE_REF_PREFIX`); the customer pays what the new goods cost
above it, or gets back what is left of it (in cash, or to Alipay when the earlier sale was paid by Alipay).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .errors import SaleRuleError

__all__ = ["ExchangePlan", "EXCHANGE_REF_PREFIX", "split_credit"]

EXCHANGE_REF_PREFIX = "exchange:"
"""The reference of the tender paid by the credit of returned goods: ``exchange:<earlier receipt>``."""


@dataclass(frozen=True)
class ExchangePlan:
    """What comes back, from which sale, what it is worth, and how a difference owed to the customer is paid.

    ``lines`` are (line_no, quantity) of the earlier sale; ``names`` their names for the receipt;
    ``back_method`` is "cash" or "alipay" (Alipay only when the earlier sale has an Alipay tender).
    """

    sale_id: int
    receipt_no: str
    lines: tuple[tuple[int, int], ...]
    names: tuple[str, ...]
    credit_fen: int
    back_method: str
    approved_by: int
    reason: str = "exchange"
    card_no: str = ""

    def __post_init__(self) -> None:
        if not self.lines:
            raise SaleRuleError("an exchange returns at least one item")
        if self.credit_fen <= 0:
            raise SaleRuleError("the returned goods are worth nothing: nothing to exchange")
        if self.back_method not in ("cash", "alipay"):
            raise SaleRuleError("a difference goes back in cash or to Alipay")

    @property
    def reference(self) -> str:
        """The reference of the credit tender on the new sale."""
        return EXCHANGE_REF_PREFIX + self.receipt_no

    def to_json(self) -> dict[str, Any]:
        return {"sale_id": self.sale_id, "receipt_no": self.receipt_no, "lines": [list(x) for x in self.lines],
                "names": list(self.names), "credit_fen": self.credit_fen, "back_method": self.back_method,
                "approved_by": self.approved_by, "reason": self.reason, "card_no": self.card_no}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ExchangePlan:
        try:
            return cls(int(data["sale_id"]), str(data["receipt_no"]),
                       tuple((int(a), int(b)) for a, b in data["lines"]), tuple(str(n) for n in data["names"]),
                       int(data["credit_fen"]), str(data["back_method"]), int(data["approved_by"]),
                       str(data.get("reason", "exchange")), str(data.get("card_no", "")))
        except (KeyError, TypeError, ValueError) as exc:
            raise SaleRuleError(f"the stored exchange does not read: {exc}") from exc


def split_credit(parts: list[tuple[int, int, int, int]], amount_fen: int) -> tuple[list[list[int]], list[list[int]]]:
    """Split the refunded parts (line_no, qty, refund_fen, discount_fen) of returned goods into the part that pays
    the new sale (``amount_fen`` of them, with the quantities) and the rest given back (quantities 0), so each sums
    exactly: money and discount are spread in proportion, rounded down cumulatively."""
    total = sum(p[2] for p in parts)
    if not 0 <= amount_fen <= total:
        raise SaleRuleError("the credit used cannot be more than the returned goods are worth")
    used: list[list[int]] = []
    rest: list[list[int]] = []
    done_fen = 0
    for line_no, qty, fen, disc in parts:
        before, after = done_fen, done_fen + fen
        take = (amount_fen * after // total - amount_fen * before // total) if total else 0
        take_disc = disc * take // fen if fen else 0
        used.append([line_no, qty, take, take_disc])
        if fen - take:
            rest.append([line_no, 0, fen - take, disc - take_disc])
        done_fen = after
    return used, rest
