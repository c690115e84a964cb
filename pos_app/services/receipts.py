"""Receipt content as a neutral structure (the printing adapter renders it), plain text, and its hash."""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import logging
import unicodedata
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from pos_app.domain.codes import mask_code
from pos_app.domain.money import format_ui
from pos_app.domain.pricing import DiscountLine

from .ports.clock import BEIJING

if TYPE_CHECKING:
    from .checkout import CommittedSale

__all__ = ["StoreInfo", "ReceiptLine", "ReceiptContent", "build_receipt", "receipt_text", "receipt_hash",
           "text_width", "JOIN_CAPTION", "with_join_qr", "join_caption"]

logger = logging.getLogger(__name__)

_LABELS = {
    "en": {"receipt": "Receipt", "total": "TOTAL", "gross": "Subtotal", "discount": "Discounts",
           "promotion": "Promotion", "manual": "Discount", "member_price": "Member price",
           "special_price": "Special price", "points": "Points", "rounding": "Cash rounding", "vat": "VAT",
           "vat_base": "excl. VAT",
           "cash": "Cash", "alipay": "Alipay", "change": "Change", "member": "Member", "earned": "Points earned",
           "redeemed": "Points redeemed", "balance": "Points balance", "trade": "Alipay trade no",
           "cashier": "Cashier", "terminal": "Terminal", "thanks": "Thank you!", "void": "VOID",
           "exchange": "Exchange, returned from", "credit": "Exchange credit", "paid_diff": "Difference paid",
           "back_cash": "Given back in cash", "back_alipay": "Refunded to Alipay"},
    "zh": {"receipt": "收据", "total": "合计", "gross": "小计", "discount": "优惠合计", "cash": "现金",
           "promotion": "促销", "manual": "折扣", "member_price": "会员价", "special_price": "特价",
           "points": "积分抵扣", "rounding": "抹零", "vat": "增值税", "vat_base": "不含税",
           "alipay": "支付宝", "change": "找零", "member": "会员", "earned": "本次积分", "redeemed": "使用积分",
           "balance": "积分余额", "trade": "支付宝交易号", "cashier": "收银员", "terminal": "终端",
           "thanks": "谢谢惠顾！", "void": "作废",
           "exchange": "换货，退回原单", "credit": "退货抵扣", "paid_diff": "补差价", "back_cash": "退还现金",
           "back_alipay": "退回支付宝"},
}


@dataclasses.dataclass(frozen=True)
class StoreInfo:
    """What the receipt header says about the shop."""

    name: str = ""
    store_id: str = ""
    terminal_id: str = ""
    address: str = ""
    footer: str = ""


@dataclasses.dataclass(frozen=True)
class ReceiptLine:
    """One item line: name, then quantity × price and the amount (voided lines are marked)."""

    name: str
    quantity_text: str
    amount_text: str
    voided: bool = False
    discounts: tuple[tuple[str, str], ...] = ()   # (what, "-¥1.00") under the line: every discount, explained


@dataclasses.dataclass(frozen=True)
class ReceiptContent:
    """Everything a receipt shows, already formatted as text for the chosen language.

    ``totals``/``tenders``/``member_lines`` are (label, value) pairs; ``barcode`` is the receipt code to
    print as Code128; ``trade_no`` the Alipay trade number ("" for cash).
    """

    header: tuple[str, ...]
    items: tuple[ReceiptLine, ...]
    totals: tuple[tuple[str, str], ...]
    tenders: tuple[tuple[str, str], ...]
    member_lines: tuple[tuple[str, str], ...]
    trade_no: str
    barcode: str
    footer: tuple[str, ...]
    language: str = "zh"
    taxes: tuple[tuple[str, str], ...] = ()       # VAT per rate: ("增值税 13%", "¥2.88"), ...
    join_url: str = ""   # card (issue 15): a non-member's receipt ends with the shop's join QR (print time only)


def _qty(quantity: int, unit: str, price_fen: int) -> str:
    if unit == "kg":
        return f"{quantity / 1000:.3f} kg × {format_ui(price_fen)}/kg"
    return f"{quantity} × {format_ui(price_fen)}"


def local_time_text(iso: str) -> str:
    """A stored UTC timestamp as the store's wall-clock time (GMT+8, as the reports and Alipay use)."""
    try:
        return dt.datetime.fromisoformat(iso).astimezone(BEIJING).strftime("%Y-%m-%d %H:%M:%S")
    except ValueError:
        return iso[:19].replace("T", " ")


def build_receipt(committed: CommittedSale, store: StoreInfo, language: str = "zh") -> ReceiptContent:
    """The receipt of a committed sale."""
    lab = _LABELS.get(language, _LABELS["en"])
    snap = committed.snapshot
    header = tuple(x for x in (store.name, store.address,
                               f"{lab['terminal']} {store.terminal_id}  {committed.receipt_no}",
                               local_time_text(committed.committed_at),
                               f"{lab['cashier']} {committed.cashier_name}" if committed.cashier_name else "")
                   if x)
    items = tuple(ReceiptLine(line.name if language == "zh" or not line.name_en else line.name_en,
                              _qty(line.quantity, line.unit, line.unit_price_fen), format_ui(line.amount_fen),
                              line.voided, tuple(_discount_text(d, lab) for d in line.discounts if not line.voided))
                  for line in snap.lines)
    t = snap.totals
    totals: list[tuple[str, str]] = [(lab["gross"], format_ui(t.gross_fen))]
    if t.discount_fen:
        totals.append((lab["discount"], "-" + format_ui(t.discount_fen)))
    totals.append((lab["total"], format_ui(t.payable_fen)))
    totals.extend(_exchange_lines(committed.exchange, lab))
    tenders: list[tuple[str, str]] = []
    for tender in snap.tenders:
        kind = "credit" if tender.is_credit else tender.kind
        tenders.append((lab.get(kind, kind), format_ui(tender.tendered_fen)))
        if tender.change_fen:
            tenders.append((lab["change"], format_ui(tender.change_fen)))
    member_lines: list[tuple[str, str]] = []
    if snap.member is not None:
        member_lines.append((lab["member"], f"{snap.member.name_masked} {mask_code(snap.member.card_no)}"))
        member_lines.append((lab["earned"], str(committed.points_earned)))
        if t.points_redeemed:
            member_lines.append((lab["redeemed"], str(t.points_redeemed)))
        if committed.points_balance is not None:
            member_lines.append((lab["balance"], str(committed.points_balance)))
    footer = tuple(x for x in (store.footer, lab["thanks"]) if x)
    rates: dict[int, list[int]] = {}
    for line in snap.active_lines:
        r = rates.setdefault(line.tax_rate_bp, [0, 0])
        r[0] += line.paid_fen
        r[1] += line.tax_fen
    taxes = tuple((f"{lab['vat']} {bp / 100:g}%  {lab['vat_base']} {format_ui(paid - tax)}", format_ui(tax))
                  for bp, (paid, tax) in sorted(rates.items(), reverse=True))
    return ReceiptContent(header, items, tuple(totals), tuple(tenders), tuple(member_lines), committed.trade_no,
                          committed.receipt_no, footer, language, taxes)


def _exchange_lines(done: Any, lab: Mapping[str, str]) -> list[tuple[str, str]]:
    """An exchange: what came back from which receipt and what it was worth, and the difference."""
    if done is None:
        return []
    plan = done.plan
    out = [(f"{lab['exchange']} {plan.receipt_no}", "")]
    names = list(plan.names) + [""] * (len(plan.lines) - len(plan.names))
    out.extend((f"    {name} ×{qty}", "") for name, (_no, qty) in zip(names, plan.lines, strict=False))
    out.append(("    " + lab["credit"], "-" + format_ui(plan.credit_fen)))
    if done.difference_fen > 0:
        out.append((lab["paid_diff"], format_ui(done.difference_fen)))
    elif done.difference_fen < 0:
        out.append((lab["back_alipay" if plan.back_method == "alipay" else "back_cash"],
                    format_ui(-done.difference_fen)))
    return out


JOIN_CAPTION = {"zh": "扫码领取会员卡", "en": "Scan to get our membership card"}


def with_join_qr(content: ReceiptContent, join_url: str) -> ReceiptContent:
    """The sale receipt with the shop's join QR at its end, when the sale had no member and a join URL
    exists (the QR is added at print time: the receipt hash stored at commit covers the sale receipt only)."""
    if not join_url or content.member_lines:
        return content
    return dataclasses.replace(content, join_url=join_url)


def join_caption(content: ReceiptContent) -> str:
    return JOIN_CAPTION.get(content.language, JOIN_CAPTION["en"])


def _discount_text(d: DiscountLine, lab: Mapping[str, str]) -> tuple[str, str]:
    what = lab.get(d.kind, d.kind)
    if d.kind == "promotion":
        what = f"{what} {d.label}"
    elif d.kind in ("manual", "special_price", "member_price"):
        what = f"{what} {d.ref}"
    return ("    " + what, "-" + format_ui(d.amount_fen))


def text_width(text: str) -> int:
    """Printed width in columns: CJK wide characters take two."""
    return sum(2 if unicodedata.east_asian_width(c) in ("W", "F") else 1 for c in text)


def _pair(left: str, right: str, width: int) -> str:
    gap = width - text_width(left) - text_width(right)
    return left + " " * max(1, gap) + right


def receipt_text(content: ReceiptContent, width: int = 42) -> str:
    """The receipt as plain text, ``width`` columns wide (what is hashed and shown in previews)."""
    rule = "-" * width
    out: list[str] = [h.center(max(width - (text_width(h) - len(h)), len(h))).rstrip() for h in content.header]
    out.append(rule)
    for item in content.items:
        out.append(item.name + (" [VOID]" if item.voided else ""))
        out.append(_pair("  " + item.quantity_text, item.amount_text, width))
        out.extend(_pair(a, b, width) for a, b in item.discounts)
    out.append(rule)
    out.extend(_pair(a, b, width) for a, b in content.totals)
    out.extend(_pair(a, b, width) for a, b in content.tenders)
    if content.taxes:
        out.append(rule)
        out.extend(_pair(a, b, width) for a, b in content.taxes)
    if content.member_lines:
        out.append(rule)
        out.extend(_pair(a, b, width) for a, b in content.member_lines)
    if content.trade_no:
        label = _LABELS.get(content.language, _LABELS["en"])["trade"]
        out.append(label)
        out.append(content.trade_no)
    out.append(rule)
    out.append(content.barcode)
    out.extend(content.footer)
    if content.join_url:   # text form of the join QR (the printer and the PDF draw the code itself)
        caption = join_caption(content)
        out.append(rule)
        out.append(caption.center(max(width - (text_width(caption) - len(caption)), len(caption))).rstrip())
        out.append("[QR] " + content.join_url)
    return "\n".join(out) + "\n"


def receipt_hash(text: str) -> str:
    """SHA-256 of the receipt text (stored in sales.receipt_hash)."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()
