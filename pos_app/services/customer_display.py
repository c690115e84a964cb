"""What the customer sees: an immutable view made from the till's snapshots, and its 2×20 pole-display text.

Both the second Qt window and the serial pole display render a :class:`CustomerView`; neither holds rules.
"""

from __future__ import annotations

import dataclasses
import unicodedata

from pos_app.domain.money import format_gateway
from pos_app.domain.sale import SaleSnapshot

from .checkout import CommittedSale
from .members import MemberView
from .till import ScanMode, TillSnapshot

__all__ = ["ViewLine", "CustomerView", "view_from_till", "view_thanks", "view_paying", "pole_lines",
           "POLE_WIDTH", "text_width", "PAYMENT_STATES", "PAYMENT_TEXTS"]

POLE_WIDTH = 20

PAYMENT_STATES = ("sending", "waiting", "paid", "failed")
"""Alipay payment progress as the customer sees it: the code is being sent, the customer must confirm in
Alipay (password), paid, not paid."""
PAYMENT_TEXTS: dict[str, tuple[str, str]] = {   # state: (Chinese, ASCII for a pole display without Chinese)
    "sending": ("正在请求支付宝…", "ALIPAY..."),
    "waiting": ("请在支付宝中确认付款", "CONFIRM IN ALIPAY"),
    "paid": ("支付成功", "PAID"),
    "failed": ("支付未完成", "NOT PAID"),
}


@dataclasses.dataclass(frozen=True)
class ViewLine:
    name: str
    quantity: int
    unit: str
    amount_fen: int


@dataclasses.dataclass(frozen=True)
class CustomerView:
    kind: str                              # idle | basket | paying | thanks
    lines: tuple[ViewLine, ...] = ()
    savings_fen: int = 0
    total_fen: int = 0
    member_name: str = ""
    member_level: str = ""
    member_points: int | None = None
    payment_text: str = ""
    points_earned: int = 0
    join_url: str = ""                     # shown while no member is attached ("scan to join")
    payment_state: str = ""                # one of PAYMENT_STATES while an Alipay payment runs

    @property
    def last_line(self) -> ViewLine | None:
        return self.lines[-1] if self.lines else None


def _lines(sale: SaleSnapshot) -> tuple[ViewLine, ...]:
    return tuple(ViewLine(ln.name, ln.quantity, ln.unit, ln.amount_fen) for ln in sale.active_lines)


def _member(member: MemberView | None) -> dict[str, object]:
    if member is None:
        return {}
    return {"member_name": member.name_masked, "member_level": member.level, "member_points": member.points_balance}


def view_from_till(till: TillSnapshot, *, join_url: str = "") -> CustomerView:
    sale = till.sale
    lines = _lines(sale)
    kind = "paying" if till.mode is ScanMode.AWAITING_PAYMENT else ("basket" if lines else "idle")
    return CustomerView(kind=kind, lines=lines, savings_fen=sale.totals.discount_fen,
                        total_fen=sale.totals.payable_fen, join_url="" if till.member else join_url,
                        **_member(till.member))  # type: ignore[arg-type]


def view_paying(till: TillSnapshot, state: str, *, join_url: str = "") -> CustomerView:
    """The basket with the Alipay payment's progress (``state`` one of PAYMENT_STATES)."""
    text = PAYMENT_TEXTS.get(state, ("", ""))[0]
    return dataclasses.replace(view_from_till(till, join_url=join_url), kind="paying", payment_text=text,
                               payment_state=state)


def view_thanks(committed: CommittedSale, *, join_url: str = "") -> CustomerView:
    sale = committed.snapshot
    member = sale.member
    return CustomerView(kind="thanks", lines=_lines(sale), savings_fen=sale.totals.discount_fen,
                        total_fen=sale.totals.payable_fen, points_earned=committed.points_earned,
                        member_points=committed.points_balance, member_name=member.name_masked if member else "",
                        join_url="" if member else join_url)


def text_width(text: str) -> int:
    """Display columns: East Asian wide characters take two."""
    return sum(2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1 for ch in text)


def _fit(left: str, right: str, width: int = POLE_WIDTH) -> str:
    """``left`` cut to leave room, ``right`` aligned to the right edge; exactly ``width`` columns."""
    room = width - text_width(right) - (1 if right else 0)
    out = ""
    for ch in left:
        if text_width(out + ch) > room:
            break
        out += ch
    pad = width - text_width(out) - text_width(right)
    return out + " " * max(0, pad) + right


def _ascii(text: str) -> str:
    return "".join(ch for ch in unicodedata.normalize("NFKC", text) if 32 <= ord(ch) < 127)


def pole_lines(view: CustomerView, *, chinese: bool = True) -> tuple[str, str]:
    """The two 20-column lines of a pole display. ``chinese=False`` (a VFD without a Chinese font): the
    words are English and a product shows as its amount only."""
    money = format_gateway
    if view.kind == "idle":
        return (_fit("欢迎光临", "") if chinese else _fit("WELCOME", ""),
                _fit("扫码领取会员卡", "") if chinese and view.join_url else _fit("", ""))
    if view.kind == "thanks":
        first = _fit("谢谢惠顾" if chinese else "THANK YOU", money(view.total_fen))
        if view.points_earned:
            second = _fit("积分" if chinese else "POINTS", f"+{view.points_earned}")
        else:
            second = _fit("欢迎再次光临" if chinese else "", "")
        return first, second
    if view.kind == "paying":
        if not view.payment_text:
            second = _fit("请付款" if chinese else "PLEASE PAY", "")
        elif chinese:
            second = _fit(view.payment_text, "")
        else:
            second = _fit(PAYMENT_TEXTS.get(view.payment_state, ("", _ascii(view.payment_text)))[1], "")
        return _fit("应付" if chinese else "TOTAL", money(view.total_fen)), second
    last = view.last_line
    if last is None:
        first = _fit("", "")
    else:
        name = last.name if chinese else _ascii(last.name)
        qty = f"x{last.quantity}" if last.unit != "kg" and last.quantity > 1 else ""
        first = _fit(f"{name}{qty}" if chinese or name else qty, money(last.amount_fen))
    label = "合计" if chinese else "TOTAL"
    if view.savings_fen and chinese:
        label = f"合计 省{money(view.savings_fen)}"
    return first, _fit(label, money(view.total_fen))
