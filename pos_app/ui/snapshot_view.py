"""Turn the domain's SaleSnapshot and the member views into frozen display records (the one place that reads them)."""

from __future__ import annotations

import dataclasses

from pos_app.domain.loyalty import RedeemOption
from pos_app.domain.sale import MemberRef, SaleLine, SaleSnapshot
from pos_app.services.members import MemberView

__all__ = ["LineView", "TotalsView", "MemberPanelView", "line_views", "totals_view", "member_view"]


@dataclasses.dataclass(frozen=True)
class LineView:
    """One basket line as shown."""

    line_id: int
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


def _line(line: SaleLine, chinese: bool) -> LineView:
    name = line.name_en if (not chinese and line.name_en) else line.name
    weighed = line.unit == "kg"
    qty = line.quantity
    return LineView(
        line_id=line.line_no,
        code=line.code,
        name=name or line.code or "?",
        quantity=qty,
        quantity_text=f"{qty / 1000:.3f} kg" if weighed else str(qty),
        unit_price_fen=line.unit_price_fen,
        amount_fen=line.amount_fen,
        voided=line.voided,
        void_reason=line.void_reason,
        weighed=weighed,
        open_price=line.open_price,
    )


def line_views(snapshot: SaleSnapshot | None, chinese: bool = True) -> tuple[LineView, ...]:
    return tuple(_line(line, chinese) for line in snapshot.lines) if snapshot is not None else ()


def totals_view(snapshot: SaleSnapshot | None) -> TotalsView:
    if snapshot is None:
        return TotalsView(0, 0, 0, 0, 0, 0)
    t = snapshot.totals
    return TotalsView(gross_fen=t.gross_fen, discount_fen=t.discount_fen, payable_fen=t.payable_fen,
                      points_to_earn=t.points_to_earn, points_redeemed=t.points_redeemed, line_count=t.line_count)


def _mask_name(name: str) -> str:
    if not name:
        return ""
    if "*" in name:
        return name
    return name[0] + "*" * max(1, len(name) - 1) if len(name) <= 3 else name[0] + "**" + name[-1]


def member_view(member: MemberView | MemberRef | None, redeem: RedeemOption | None = None) -> MemberPanelView | None:
    """From a MemberView (services.members; confirmed and pending points) or a sale's MemberRef."""
    if member is None:
        return None
    if isinstance(member, MemberView):
        # the ledger balance is what the member has and may spend; "pending sync" is the part the member's
        # Alipay card does not show yet (a member without the Alipay card has nothing to sync: no note)
        points = member.points_balance
        pending = member.points_pending if member.alipay_card else 0
    else:
        points, pending = member.points_balance, 0
    return MemberPanelView(
        masked_name=member.name_masked or _mask_name(""),
        level=member.level,
        card_masked="****" + member.card_no[-4:] if member.card_no else "",
        points=points,
        pending_points=pending,
        redeemable_points=redeem.max_points if redeem is not None else 0,
        redeemable_fen=redeem.max_fen if redeem is not None else 0,
        note="",
    )
