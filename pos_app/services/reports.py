"""X and Z shift reports: figures from storage, text for the printer and CLI, CSV; stored Z reprints."""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import hashlib
import io
import json
import logging
import unicodedata
from collections.abc import Callable, Mapping
from typing import Any

from pos_app.domain.money import format_ui

from .errors import ServiceError
from .ports.clock import BEIJING, Clock
from .ports.reports import ZReportRecord
from .ports.shifts import ShiftRecord
from .ports.uow import UnitOfWork

__all__ = [
    "Report",
    "StoredZ",
    "ReportNotFound",
    "ReportService",
    "figure_rows",
    "render_text",
    "render_csv",
    "canonical_json",
    "z_hash",
    "display_width",
]

logger = logging.getLogger(__name__)

DEFAULT_WIDTH = 42
_MOVEMENT_LABEL = {"pay_in": "Pay-in", "pay_out": "Pay-out", "drop": "Drop", "no_sale": "No-sale open"}


class ReportNotFound(ServiceError):
    """No shift or no stored Z report matches the request."""


@dataclasses.dataclass(frozen=True)
class Report:
    """A computed report: ``figures`` (JSON-able, fen integers) and the text as printed."""

    kind: str
    figures: Mapping[str, Any]
    text: str


@dataclasses.dataclass(frozen=True)
class StoredZ:
    """A stored Z report, never recomputed: figures parsed from what was stored, text as printed."""

    number: int
    shift_id: int
    shift_number: int
    created_at: dt.datetime
    figures: Mapping[str, Any]
    text: str
    hash: str
    intact: bool                  # the stored hash still matches figures + text


def canonical_json(figures: Mapping[str, Any]) -> str:
    return json.dumps(figures, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def z_hash(figures_json: str, text: str) -> str:
    """SHA-256 over the stored figures and text of a Z report."""
    return hashlib.sha256((figures_json + "\n" + text).encode("utf-8")).hexdigest()


def _yuan(fen: int) -> str:
    return format_ui(int(fen), symbol="")


def _local(iso: str) -> str:
    if not iso:
        return ""
    try:
        return dt.datetime.fromisoformat(iso).astimezone(BEIJING).strftime("%Y-%m-%d %H:%M")
    except ValueError:
        return iso


def display_width(text: str) -> int:
    """Columns ``text`` takes on a receipt printer (CJK characters take two)."""
    return sum(2 if unicodedata.east_asian_width(c) in ("W", "F") else 1 for c in text)


Row = tuple[str, str, str, str]   # section, figure, value as text, value in fen/count ("" if none)


def figure_rows(fig: Mapping[str, Any]) -> list[Row]:
    """Every figure of a report as (section, figure, text value, raw value): CSV and text both use it."""
    rows: list[Row] = []

    def add(section: str, name: str, value: Any, money: bool = False) -> None:
        if money:
            rows.append((section, name, _yuan(int(value)), str(int(value))))
        else:
            rows.append((section, name, "" if value is None else str(value), "" if value is None else str(value)))

    h = "header"
    add(h, "Report", f"{fig.get('kind', 'X')} report" + (f" #{fig['z_number']}" if fig.get("z_number") else ""))
    add(h, "Terminal", fig["terminal_id"])
    add(h, "Shift", fig["shift_number"])
    add(h, "Opened by", fig["opened_by"])
    add(h, "Opened at", _local(fig["opened_at"]))
    if fig.get("closed_at"):
        add(h, "Closed by", fig.get("closed_by", ""))
        add(h, "Closed at", _local(fig["closed_at"]))
    add(h, "Printed by", fig.get("printed_by", ""))
    add(h, "Printed at", _local(fig.get("printed_at", "")))
    s = "sales"
    add(s, "Transactions", fig["transactions"])
    add(s, "Gross", fig["gross_fen"], True)
    add(s, "Discounts (incl. points)", fig["discount_fen"], True)
    add(s, "Sales", fig["sales_fen"], True)
    add(s, "Refunds", fig["refunds_fen"], True)
    add(s, "Refund count", fig["refund_count"])
    add(s, "Refunds of earlier shifts", fig["refunds_earlier_fen"], True)
    add(s, "Net", fig["net_fen"], True)
    if fig.get("refunds_unsettled_count"):
        add(s, "Refunds not settled", fig["refunds_unsettled_fen"], True)
    if fig.get("parked_waiting"):
        add(s, "Parked sales waiting", fig["parked_waiting"])
    for t in fig.get("tax") or []:
        rate = f"{t['rate_bp'] / 100:g}%"
        add("tax", f"VAT {rate} sales", t["sales_fen"], True)
        add("tax", f"VAT {rate} tax", t["tax_fen"], True)
        add("tax", f"VAT {rate} net of tax", t["net_ex_tax_fen"], True)
    if "tax_fen" in fig:
        add("tax", "VAT total", fig["tax_fen"], True)
    for c in fig.get("categories") or []:
        name = c["category"] or "-"
        add("categories", f"{name} sales ({c['lines']} lines)", c["sales_fen"], True)
        add("categories", f"{name} VAT", c["tax_fen"], True)
    for d in fig.get("discounts") or []:
        label = _DISCOUNT_LABEL.get(d["kind"], d["kind"])
        what = f"{label} {d['ref']}" + (f" {d['label']}" if d["kind"] == "promotion" else "")
        add("discounts", f"{what} ({d['sales']} sales)", d["amount_fen"], True)
    if fig.get("split_sales"):
        add(s, "Sales paid by more than one tender", fig["split_sales"])
    ex = fig.get("exchanges") or {}
    if ex.get("count"):
        add("exchanges", "Exchanges", ex["count"])
        add("exchanges", "Goods returned", ex["returned_fen"], True)
        add("exchanges", "Goods sold in exchange", ex["new_fen"], True)
        add("exchanges", "Credit used (cash refund taken back)", ex["credit_fen"], True)
        add("exchanges", "Difference paid by customers", ex["paid_fen"], True)
        add("exchanges", "Difference given back in cash", ex["back_cash_fen"], True)
        add("exchanges", "Difference refunded to Alipay", ex["back_alipay_fen"], True)
    for kind, t in fig["tenders"].items():
        sec = f"tender {kind}"
        add(sec, "Payments", t["count"])
        add(sec, "Taken", t["taken_fen"], True)
        if kind == "cash":
            add(sec, "Tendered", t["tendered_fen"], True)
            add(sec, "Change given", t["change_fen"], True)
        add(sec, "Refunds", t["refunds_fen"], True)
        add(sec, "Net", t["net_fen"], True)
    c = fig["cash"]
    fl = fig.get("float") or {}
    if "carried_fen" in fl:
        add("cash", "Float left by the last shift", fl["carried_fen"], True)
        add("cash", "Opening float difference", fl["opening_difference_fen"], True)
    add("cash", "Opening float", c["opening_float_fen"], True)
    add("cash", "Cash taken (tendered - change)", c["taken_fen"], True)
    add("cash", "Cash refunds", c["refunds_fen"], True)
    add("cash", f"Pay-ins ({c['pay_in_count']})", c["pay_in_fen"], True)
    add("cash", f"Pay-outs ({c['pay_out_count']})", c["pay_out_fen"], True)
    add("cash", f"Drops ({c['drop_count']})", c["drop_fen"], True)
    add("cash", "No-sale drawer opens", c["no_sale_count"])
    add("cash", "Expected cash", c["expected_fen"], True)
    if "left_fen" in fl:
        add("cash", "Left in the drawer for the next shift", fl["left_fen"], True)
        add("cash", "Taken to the safe", fl["to_safe_fen"], True)
    for i, m in enumerate(fig["movements"], 1):
        label = _MOVEMENT_LABEL.get(m["kind"], m["kind"])
        who = m["user"] + (f", approved {m['approved_by']}" if m["approved_by"] else "")
        rows.append(("movements", f"{i}. {label}: {m['reason']} ({who}) {_local(m['at'])[11:]}",
                     _yuan(m["amount_fen"]), str(m["amount_fen"])))
    for kind, cnt in (fig.get("count") or {}).items():
        sec = f"count {kind}"
        add(sec, "Expected", cnt["expected_fen"], True)
        if cnt.get("counted", True):
            add(sec, "Counted", cnt["counted_fen"], True)
            add(sec, "Difference (over/short)", cnt["difference_fen"], True)
        else:
            add(sec, "Counted", "not counted")
        for denom, pieces in sorted((cnt.get("denominations") or {}).items(), key=lambda kv: -int(kv[0])):
            add(sec, f"  {_yuan(int(denom))} x {pieces}", int(denom) * int(pieces), True)
    v = fig["voided_sales"]
    add("voids", "Voided sales", v["count"])
    add("voids", "Voided sales amount", v["total_fen"], True)
    for item in v["items"]:
        rows.append(("voids", f"Sale {item['receipt_no']} ({item['cashier']}"
                     + (f", approved {item['approved_by']}" if item["approved_by"] else "") + ")",
                     _yuan(item["total_fen"]), str(item["total_fen"])))
    lv = fig["line_voids"]
    add("voids", "Line deletions", lv["count"])
    add("voids", "Line deletions amount", lv["amount_fen"], True)
    for item in lv["items"]:
        rows.append(("voids", f"{item['receipt_no']}/{item['line_no']} {item['name']} x{item['quantity']}"
                     f" {item['reason']} ({item['voided_by']})", _yuan(item["amount_fen"]), str(item["amount_fen"])))
    for cshr in fig["cashiers"]:
        sec = f"cashier {cshr['user']}"
        add(sec, "Transactions", cshr["transactions"])
        add(sec, "Sales", cshr["sales_fen"], True)
        add(sec, "Cash", cshr["cash_fen"], True)
        add(sec, "Alipay", cshr["alipay_fen"], True)
        add(sec, f"Refunds ({cshr['refund_count']})", cshr["refunds_fen"], True)
        add(sec, "Cash movements", cshr["movement_count"])
    mb = fig["members"]
    add("members", "Member sales", mb["sales_count"])
    add("members", "Member sales amount", mb["sales_fen"], True)
    add("members", "Points earned", mb["points_earned"])
    add("members", "Points redeemed", mb["points_redeemed"])
    add("members", "Points reversed by refunds", mb["points_reversed"])
    add("members", "Points restored by refunds", mb["points_restored"])
    sy = fig["sync"]
    add("sync", "Pending", sy["pending"])
    age = sy["oldest_pending_age_s"]
    add("sync", "Oldest pending age", "" if age is None else f"{age // 3600}h{age % 3600 // 60:02d}m")
    add("sync", "Dead letters", sy["dead"])
    for item in sy["items"]:
        rows.append(("sync", f"#{item['id']} {item['kind']} {item['card']} tries {item['attempts']}",
                     _local(item["created_at"]), ""))
    add("alipay", "Payments not settled", len(fig["unsettled_payments"]))
    for p in fig["unsettled_payments"]:
        rows.append(("alipay", f"{p['out_trade_no']} {p['state']} ({p['cashier']})", _yuan(p["amount_fen"]),
                     str(p["amount_fen"])))
    failed = fig.get("failed_payments")
    if failed is not None:
        add("alipay", "Failed Alipay attempts", len(failed))
        for p in failed:
            rows.append(("alipay", f"Failed {p['out_trade_no']} {p['state']} ({p['cashier']})",
                         _yuan(p["amount_fen"]), str(p["amount_fen"])))
    for p in fig.get("escalated_payments") or []:
        rows.append(("alipay", f"Escalated {p['out_trade_no']} {p['state']}", _yuan(p["amount_fen"]),
                     str(p["amount_fen"])))
    add("approvals", "Approvals", len(fig["approvals"]))
    for a in fig["approvals"]:
        rows.append(("approvals", f"{a['action']} {a['subject']} by {a['approved_by']}"
                     + (f" for {a['requested_by']}" if a["requested_by"] else "") + f" [{a['reason_code']}]"
                     + (f" {a['note']}" if a["note"] else ""), _local(a["at"])[11:], ""))
    for r in fig.get("reconciliation") or []:
        rec = "reconcile"
        add(rec, f"Alipay bill {r['bill_date']}", f"{r['alipay_trades']} trades, {r['alipay_refunds']} refunds")
        add(rec, f"{r['bill_date']} matched", r["matched"])
        add(rec, f"{r['bill_date']} differences", r["problems"])
        for kind, n in sorted(r["differences"].items()):
            add(rec, f"{r['bill_date']} {kind}", n)
    last = fig.get("last_receipt")
    add("receipts", "Last receipt", last["receipt_no"] if last else "-")
    add("receipts", "Last receipt hash", (last["hash"] or "-") if last else "-")
    head = fig.get("audit_head")
    if head:  # the audit chain's head at the close: compare with `pos-app audit verify` later
        add("receipts", "Audit head", f"#{head['id']} {str(head['hash'])[:19]}")
    return rows


_DISCOUNT_LABEL = {"promotion": "Promotion", "manual": "Manual", "member_price": "Member price",
                   "special_price": "Special price", "points": "Points", "rounding": "Cash rounding"}

_SECTION_TITLE = {"header": "", "sales": "SALES", "tax": "VAT PER RATE", "categories": "SALES PER CATEGORY",
                  "discounts": "DISCOUNTS", "cash": "CASH DRAWER", "movements": "CASH MOVEMENTS",
                  "voids": "VOIDS / LINE DELETIONS", "members": "MEMBERS", "sync": "LOYALTY SYNC QUEUE",
                  "alipay": "ALIPAY NOT SETTLED", "approvals": "APPROVALS",
                  "reconcile": "ALIPAY RECONCILIATION", "receipts": "RECEIPTS"}


def _line(label: str, value: str, width: int) -> list[str]:
    gap = width - display_width(label) - display_width(value)
    if gap >= 1:
        return [label + " " * gap + value]
    return [label, " " * max(0, width - display_width(value)) + value]


def render_text(fig: Mapping[str, Any], *, width: int = DEFAULT_WIDTH) -> str:
    """The report as plain text lines ``width`` columns wide (receipt printer and CLI)."""
    out: list[str] = []
    section = None
    for sec, name, value, _raw in figure_rows(fig):
        if sec != section:
            section = sec
            title = _SECTION_TITLE.get(sec, sec.upper())
            out.append("=" * width if sec == "header" else "-" * width)
            if title:
                out.append(title)
        out.extend(_line(name, value, width))
    out.append("=" * width)
    return "\n".join(out) + "\n"


def render_csv(fig: Mapping[str, Any]) -> bytes:
    """One row per figure (section, figure, value, raw), UTF-8 with a BOM for spreadsheet programs."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow(["section", "figure", "value", "raw"])
    writer.writerows(figure_rows(fig))
    return ("\ufeff" + buf.getvalue()).encode("utf-8")


def _stored(rec: ZReportRecord) -> StoredZ:
    figures = json.loads(rec.figures_json)
    return StoredZ(number=rec.number, shift_id=rec.shift_id, shift_number=int(figures.get("shift_number", 0)),
                   created_at=rec.created_at, figures=figures, text=rec.text, hash=rec.hash,
                   intact=z_hash(rec.figures_json, rec.text) == rec.hash)


class ReportService:
    """X reports on demand and stored Z reports for one terminal."""

    def __init__(self, uow_factory: Callable[[], UnitOfWork], clock: Clock, *, terminal_id: str,
                 width: int = DEFAULT_WIDTH) -> None:
        self._uow = uow_factory
        self._clock = clock
        self._terminal_id = terminal_id
        self._width = width

    def _shift(self, uow: UnitOfWork, shift_number: int | None) -> ShiftRecord:
        if shift_number is None:
            shift = uow.shifts.current(self._terminal_id) or uow.shifts.latest(self._terminal_id)
        else:
            shift = uow.shifts.by_number(self._terminal_id, shift_number)
        if shift is None:
            raise ReportNotFound("no such shift on this terminal" if shift_number else "no shift yet")
        return shift

    def x_report(self, shift_number: int | None = None, *, printed_by: str = "") -> Report:
        """The X report of the open shift (or of shift ``shift_number``): read-only, any number of times."""
        now = self._clock.now()
        # the figures from a read snapshot (no write lock held while they are summed), then a short write
        with self._uow().read() as uow:
            shift = self._shift(uow, shift_number)
            fig = uow.reports.figures(shift.id, now=now)
        with self._uow() as uow:
            uow.audit.append(at=now, user_id=None, user_name=printed_by, action="report.x",
                             subject=f"shift {shift.number}")
        fig.update({"kind": "X", "printed_by": printed_by, "printed_at": now.astimezone(dt.UTC).isoformat()})
        return Report("X", fig, render_text(fig, width=self._width))

    def z_report(self, shift_number: int | None = None) -> StoredZ:
        """The stored Z report (latest, or of shift ``shift_number``) exactly as it was printed."""
        with self._uow() as uow:
            if shift_number is None:
                rec = uow.reports.z_report(self._terminal_id)
            else:
                shift = uow.shifts.by_number(self._terminal_id, shift_number)
                rec = uow.reports.z_report(self._terminal_id, shift_id=shift.id) if shift else None
        if rec is None:
            raise ReportNotFound("no Z report for that shift" if shift_number else "no Z report yet")
        return _stored(rec)

    def z_reports(self, limit: int = 100) -> list[StoredZ]:
        """Past Z reports, newest first."""
        with self._uow() as uow:
            return [_stored(r) for r in uow.reports.z_reports(self._terminal_id, limit)]
