"""An open basket as JSON and back: what park/recall (挂单/取单) and the crash-safe open basket store.

The JSON holds the lines as rung up (codes, quantities, prices fixed at the scan, manual discounts), the member,
the points to redeem and the sale discount. A basket read back is an OPEN sale priced again now.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from .errors import SaleRuleError
from .loyalty import LoyaltyRules
from .pricing import ManualDiscount
from .sale import MemberRef, Sale, SaleLine, SalePricing, SaleSnapshot, SaleState, SaleTotals

__all__ = ["BASKET_FORMAT", "HeldRecord", "basket_to_json", "basket_from_json"]

BASKET_FORMAT = 2


@dataclasses.dataclass(frozen=True)
class HeldRecord:
    """A stored basket: a parked sale (``kind`` "parked") or the open basket of the till (``kind`` "open")."""

    id: int
    kind: str
    label: str
    body: dict[str, Any]
    total_fen: int
    line_count: int
    state: str
    shift_id: int | None
    cashier_id: int | None
    created_at: str
    reason: str = ""


def _line_json(line: SaleLine) -> dict[str, Any]:
    """One line as rung up (its discounts are worked out again when it is read back)."""
    out = line.to_dict()
    out["discount_fen"] = 0
    out["tax_fen"] = 0
    out["discounts"] = ()
    return out


def basket_to_json(snapshot: SaleSnapshot) -> dict[str, Any]:
    """The JSON-ready basket of an open sale."""
    return {
        "format": BASKET_FORMAT,
        "lines": [_line_json(line) for line in snapshot.lines],
        "member": dataclasses.asdict(snapshot.member) if snapshot.member is not None else None,
        "points_redeemed": snapshot.totals.points_redeemed,
        "sale_discount": dataclasses.asdict(snapshot.sale_discount) if snapshot.sale_discount else None,
        "payable_fen": snapshot.totals.payable_fen,
        "line_count": snapshot.totals.line_count,
    }


def basket_from_json(data: Mapping[str, Any], rules: LoyaltyRules, pricing: SalePricing | None = None) -> Sale:
    """The open sale stored by :func:`basket_to_json`; :class:`SaleRuleError` names what is wrong."""
    try:
        lines = tuple(SaleLine(**line) for line in data.get("lines", []))
        member_data = data.get("member")
        member = MemberRef(**member_data) if isinstance(member_data, Mapping) else None
        discount_data = data.get("sale_discount")
        discount = ManualDiscount(**discount_data) if isinstance(discount_data, Mapping) else None
        points = int(data.get("points_redeemed", 0))
    except (TypeError, ValueError) as exc:
        raise SaleRuleError(f"the stored basket does not read: {exc}") from exc
    totals = SaleTotals(0, 0, points, 0, 0, "", 0, 0)
    snap = SaleSnapshot(SaleState.OPEN, lines, member, totals, (), False, None, discount)
    return Sale.from_snapshot(snap, rules, pricing)
