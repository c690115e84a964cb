"""Turn the domain's SaleSnapshot / member views into plain display records (the one place that reads them)."""

from __future__ import annotations

import dataclasses
from typing import Any

__all__ = ["LineView", "TotalsView", "MemberPanelView", "line_views", "totals_view", "member_view", "field"]


def field(obj: Any, *names: str, default: Any = None) -> Any:
    """The first attribute (or mapping key) of ``obj`` among ``names`` that exists."""
    for name in names:
        if obj is None:
            return default
        if isinstance(obj, dict) and name in obj:
            return obj[name]
        if hasattr(obj, name):
            value = getattr(obj, name)
            return value() if callable(value) and name.startswith(("is_", "get_")) else value
    return default


@dataclasses.dataclass(frozen=True)
class LineView:
    """One basket line as shown."""

    line_id: Any
    code: str
    name: str
    quantity: int
    quantity_text: str
    unit_price_fen: int
    amount_fen: int
    voided: bool
    void_reason: str
    weighed: bool
    open_price: bool


@dataclasses.dataclass(frozen=True)
class TotalsView:
    gross_fen: int
    discount_fen: int
    payable_fen: int
    points_to_earn: int
    points_redeemed: int
    line_count: int


@dataclasses.dataclass(frozen=True)
class MemberPanelView:
    masked_name: str
    level: str
    card_masked: str
    points: int
    pending_points: int
    redeemable_points: int
    redeemable_fen: int
    note: str
    redeemed_points: int = 0
    redeemed_fen: int = 0


def _line(line: Any, index: int, chinese: bool) -> LineView:
    item = field(line, "item")
    name = field(line, "name", default=None)
    name_en = field(line, "name_en", default="")
    if not chinese and name_en:
        name = name_en
    if name is None or callable(name):
        if item is not None and hasattr(item, "display_name"):
            name = item.display_name("zh" if chinese else "en")
        else:
            zh = field(line, "name_zh", default="") or ""
            en = field(line, "name_en", default="") or ""
            name = (zh or en) if chinese else (en or zh)
    unit = field(line, "unit", default=None) or field(item, "unit", default="each")
    qty = int(field(line, "quantity", "qty", default=1))
    weighed = unit == "kg"
    qty_text = f"{qty / 1000:.3f} kg" if weighed else str(qty)
    price = int(field(line, "unit_price_fen", "price_fen", default=None)
                or field(item, "price_fen", default=0) or 0)
    amount = field(line, "amount_fen", "line_total_fen", "total_fen", default=None)
    if amount is None:
        amount = price * qty if not weighed else (price * qty + 500) // 1000
    code = field(line, "code", "item_code", default=None) or field(item, "code", default="") or ""
    return LineView(
        line_id=field(line, "line_id", "id", "index", "line_no", default=index),
        code=str(code),
        name=str(name or code or "?"),
        quantity=qty,
        quantity_text=qty_text,
        unit_price_fen=price,
        amount_fen=int(amount),
        voided=bool(field(line, "voided", "is_voided", default=False)),
        void_reason=str(field(line, "void_reason", default="") or ""),
        weighed=weighed,
        open_price=bool(field(line, "open_price", "is_open_price", default=False)),
    )


def line_views(snapshot: Any, chinese: bool = True) -> tuple[LineView, ...]:
    lines = field(snapshot, "lines", default=()) or ()
    return tuple(_line(line, i, chinese) for i, line in enumerate(lines))


def totals_view(snapshot: Any) -> TotalsView:
    if snapshot is None:
        return TotalsView(0, 0, 0, 0, 0, 0)
    snapshot = field(snapshot, "totals", default=snapshot)
    gross = int(field(snapshot, "gross_fen", "subtotal_fen", "total_fen", default=0) or 0)
    discount = int(field(snapshot, "points_discount_fen", "discount_fen", "redeem_fen", default=0) or 0)
    payable = field(snapshot, "payable_fen", "due_fen", "amount_due_fen", default=None)
    lines = [line for line in line_views(snapshot) if not line.voided] if hasattr(snapshot, "lines") else []
    return TotalsView(
        gross_fen=gross,
        discount_fen=discount,
        payable_fen=int(payable) if payable is not None else gross - discount,
        points_to_earn=int(field(snapshot, "points_to_earn", "earn_points", "points_earned", default=0) or 0),
        points_redeemed=int(field(snapshot, "points_redeemed", "redeem_points", default=0) or 0),
        line_count=int(field(snapshot, "line_count", default=len(lines))),
    )


def _mask_name(name: str) -> str:
    if not name:
        return ""
    if "*" in name:
        return name
    return name[0] + "*" * max(1, len(name) - 1) if len(name) <= 3 else name[0] + "**" + name[-1]


def member_view(member: Any, redeem: Any = None) -> MemberPanelView | None:
    """From a MemberView / MemberRef (services.members) and an optional redeem option."""
    if member is None:
        return None
    name = field(member, "name_masked", "masked_name", default=None) or _mask_name(str(field(member, "name", default="") or ""))
    card = str(field(member, "card_masked", "masked_card", default="") or "")
    if not card:
        raw = str(field(member, "card_no", "card_number", default="") or "")
        card = "****" + raw[-4:] if raw else ""
    points = int(field(member, "points_confirmed", "points", "points_balance", default=0) or 0)
    pending = int(field(member, "points_pending", "pending_points", default=0) or 0)
    red_pts = int(field(redeem, "max_points", "points", default=None)
                  or field(member, "redeemable_points", default=0) or 0)
    red_fen = int(field(redeem, "max_fen", "fen", "discount_fen", default=None)
                  or field(member, "redeemable_fen", default=0) or 0)
    return MemberPanelView(
        masked_name=str(name),
        level=str(field(member, "level", "level_name", default="") or ""),
        card_masked=card,
        points=points,
        pending_points=pending,
        redeemable_points=red_pts,
        redeemable_fen=red_fen,
        note=str(field(member, "note", "reason", "stale_note", default="") or ""),
    )
