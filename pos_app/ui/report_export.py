"""Export X/Z reports to PDF with Qt's own writer (A4 or 80 mm receipt width) and to CSV files."""

from __future__ import annotations

import csv
import html
import io
import logging
import re
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from PySide6.QtCore import QMarginsF, QPointF, QSizeF, Qt
from PySide6.QtGui import (
    QFont,
    QFontMetricsF,
    QGuiApplication,
    QPageLayout,
    QPageSize,
    QPainter,
    QPdfWriter,
    QTextDocument,
)
from PySide6.QtWidgets import QApplication

from pos_app.services.approvals import ACTIONS, reasons_for
from pos_app.services.reports import figure_rows

__all__ = ["PAGE_A4", "PAGE_80MM", "CSV_HEADER", "LocalizedRow", "section_label", "figure_label", "figure_value",
           "localized_rows", "report_html", "render_localized_csv", "export_pdf", "export_csv", "ensure_gui_app",
           "paginate", "rows_html", "export_rows_pdf", "render_rows_csv"]

#: report figures as the report service returns them (JSON-shaped: also stored with a Z report)
Figures = Mapping[str, Any]  # nested JSON values of several kinds (the report schema), read by key

logger = logging.getLogger(__name__)

PAGE_A4 = "a4"
PAGE_80MM = "80mm"
_RECEIPT_WIDTH_MM = 80.0
_ROW_MM = 4.2
#: CSV columns: the first four are the stable machine columns of ``render_csv``; the labels follow
CSV_HEADER = ("section", "figure", "value", "raw", "section_label", "figure_label")

LocalizedRow = tuple[str, str, str, str, str, str]


def _identity(text: str, /, **values: object) -> str:
    return text.format(**values) if values else text


_SECTION_KEYS = {"header": "Report", "sales": "Sales", "cash": "Cash drawer", "movements": "Cash movements",
                 "voids": "Voids / line deletions", "members": "Members", "sync": "Loyalty sync queue",
                 "alipay": "Alipay not settled", "approvals": "Approvals", "receipts": "Receipts",
                 "tax": "VAT per rate", "categories": "Sales per category", "discounts": "Discounts"}
_TENDER_KEYS = {"cash": "Cash", "alipay": "Alipay"}
_MOVEMENT_KEYS = ("Pay-in", "Pay-out", "Drop", "No-sale open")
#: figure labels that carry a count or a name: regex over the English label -> catalogue key
_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"^(?P<what>Pay-ins|Pay-outs|Drops|Refunds) \((?P<count>\d+)\)$"), "{what} ({count})"),
    (re.compile(r"^(?P<no>\d+)\. (?P<kind>Pay-in|Pay-out|Drop|No-sale open): (?P<rest>.*)$"),
     "{no}. {kind}: {rest}"),
    (re.compile(r"^Sale (?P<receipt>\S+) \((?P<who>.*)\)$"), "Sale {receipt} ({who})"),
    (re.compile(r"^#(?P<id>\d+) (?P<what>.*) tries (?P<count>\d+)$"), "#{id} {what} tries {count}"),
    (re.compile(r"^Escalated (?P<what>.*)$"), "Escalated {what}"),
    (re.compile(r"^Failed (?P<what>.*)$"), "Failed {what}"),
    (re.compile(r"^VAT (?P<rate>[\d.]+%) sales$"), "VAT {rate} sales"),
    (re.compile(r"^VAT (?P<rate>[\d.]+%) tax$"), "VAT {rate} tax"),
    (re.compile(r"^VAT (?P<rate>[\d.]+%) net of tax$"), "VAT {rate} net of tax"),
    (re.compile(r"^(?P<category>.+) sales \((?P<count>\d+) lines\)$"), "{category} sales ({count} lines)"),
    (re.compile(r"^(?P<kind>Promotion|Manual|Member price|Special price|Points|Cash rounding) (?P<rest>.*)"
                r" \((?P<count>\d+) sales\)$"), "{kind} {rest} ({count} sales)"),
    (re.compile(r"^(?P<category>.+) VAT$"), "{category} VAT"),
    (re.compile(r"^(?P<action>\S+) (?P<subject>.*?) by (?P<approver>.+?) for (?P<requested>.+?)"
                r" \[(?P<reason>[^\]]*)\](?P<note>.*)$"), "{action} {subject} by {approver} for {requested} [{reason}]{note}"),
    (re.compile(r"^(?P<action>\S+) (?P<subject>.*?) by (?P<approver>.+?) \[(?P<reason>[^\]]*)\](?P<note>.*)$"),
     "{action} {subject} by {approver} [{reason}]{note}"),
)
_APPROVED = re.compile(r", approved (?P<who>[^,()]+)")
_REPORT_VALUE = re.compile(r"^(?P<kind>[XZ]) report(?: #(?P<number>\d+))?$")


def section_label(section: str, tr: Callable[..., str] = _identity) -> str:
    """The heading of a figure section (machine key such as ``tender cash``) in the terminal language."""
    key = _SECTION_KEYS.get(section)
    if key is not None:
        return tr(key)
    kind, _, rest = section.partition(" ")
    if kind == "tender" and rest:
        return tr("Tender: {tender}", tender=tr(_TENDER_KEYS.get(rest, rest)))
    if kind == "count" and rest:
        return tr("Count: {tender}", tender=tr(_TENDER_KEYS.get(rest, rest)))
    if kind == "cashier" and rest:
        return tr("Cashier: {user}", user=rest)
    return tr(section)


def figure_label(label: str, tr: Callable[..., str] = _identity) -> str:
    """One figure label (English as produced by :func:`figure_rows`) in the terminal language."""
    if not label.strip() or label.startswith("  "):   # denomination rows ("  10.00 x 3") carry no words
        return label
    for pattern, key in _PATTERNS:
        m = pattern.match(label)
        if m is None:
            continue
        parts = m.groupdict()
        if "what" in parts and key.startswith("{what} ("):
            return tr(parts["what"] + " ({count})", count=parts["count"])
        if "kind" in parts:
            parts["kind"] = tr(parts["kind"])
        if "reason" in parts:   # QA #5: the reason's label, not its raw code
            labels = dict(reasons_for(parts.get("action", "")))
            code = parts["reason"]
            parts["reason"] = tr(labels[code]) if code in labels else code
        if "action" in parts:
            parts["action"] = tr(ACTIONS.get(parts["action"], parts["action"]))
        for name in ("rest", "who"):
            if name in parts:
                parts[name] = _APPROVED.sub(lambda a: tr(", approved {user}", user=a.group("who")), parts[name])
        return tr(key, **parts)
    return tr(label)


def figure_value(label: str, value: str, tr: Callable[..., str] = _identity) -> str:
    """A figure's shown value: only the report title value ("X report #3") carries words."""
    if label == "Report":
        m = _REPORT_VALUE.match(value)
        if m is not None:
            number = m.group("number")
            return (tr("{kind} report #{number}", kind=m.group("kind"), number=number) if number
                    else tr("{kind} report", kind=m.group("kind")))
    return value


def localized_rows(figures: Figures, tr: Callable[..., str] = _identity) -> list[LocalizedRow]:
    """Every figure as (section key, section label, figure key, figure label, value shown, raw value)."""
    return [(sec, section_label(sec, tr), name, figure_label(name, tr), figure_value(name, value, tr), raw)
            for sec, name, value, raw in figure_rows(figures)]



def ensure_gui_app() -> QGuiApplication:
    """The running Qt application, or a new QApplication (headless use: set QT_QPA_PLATFORM=offscreen)."""
    app = QGuiApplication.instance()
    if app is None:
        # a QApplication (not only a QGuiApplication), so widgets can still be made in this process
        app = QApplication([])
    assert isinstance(app, QGuiApplication)
    return app


def report_html(figures: Figures, *, title: str = "", tr: Callable[..., str] = _identity) -> str:
    """The report as a simple HTML table (one row per figure, sections as headings), in ``tr``'s language."""
    return rows_html(localized_rows(figures, tr), title or _title(figures, tr))


def _title(figures: Figures, tr: Callable[..., str]) -> str:
    kind = str(figures.get("kind", "X"))
    return (tr("{kind} report #{number}", kind=kind, number=figures["z_number"]) if figures.get("z_number")
            else tr("{kind} report", kind=kind))


def rows_html(rows: Sequence[LocalizedRow], title: str) -> str:
    """Localized report rows as a simple HTML table (sections as headings; the ``header`` section has none)."""
    parts = [f"<h3>{html.escape(title)}</h3>", "<table width='100%' cellspacing='0' cellpadding='1'>"]
    section = None
    for sec, sec_label, _name, label, value, _raw in rows:
        if sec != section:
            section = sec
            if sec != "header":
                parts.append(f"<tr><td colspan='2'><b>{html.escape(sec_label)}</b></td></tr>")
        parts.append(f"<tr><td>{html.escape(label)}</td><td align='right'>{html.escape(value)}</td></tr>")
    parts.append("</table>")
    return "\n".join(parts)


def export_pdf(figures: Figures, path: Path | str, *, page: str = PAGE_A4,
               tr: Callable[..., str] = _identity) -> Path:
    """Write the report as a PDF (A4, or a continuous 80 mm wide receipt page), labels in ``tr``'s language."""
    return export_rows_pdf(localized_rows(figures, tr), path, title=_title(figures, tr), page=page,
                           pdf_title=f"{figures.get('kind', 'X')} report {figures.get('terminal_id', '')}"
                                     f"/{figures.get('shift_number', '')}")


def export_rows_pdf(rows: Sequence[LocalizedRow], path: Path | str, *, title: str, page: str = PAGE_A4,
                    pdf_title: str = "") -> Path:
    """Write localized report rows as a PDF (A4 pages, or one continuous 80 mm wide receipt page)."""
    ensure_gui_app()
    path = Path(path)
    writer = QPdfWriter(str(path))
    writer.setResolution(300)
    writer.setTitle(pdf_title or title)
    doc = QTextDocument()
    font = QFont()
    if page == PAGE_80MM:
        height = max(100.0, len(rows) * _ROW_MM + 30.0)
        writer.setPageSize(QPageSize(QSizeF(_RECEIPT_WIDTH_MM, height), QPageSize.Unit.Millimeter, "receipt"))
        writer.setPageMargins(QMarginsF(3, 3, 3, 3), QPageLayout.Unit.Millimeter)
        font.setPointSizeF(7)
    elif page == PAGE_A4:
        writer.setPageSize(QPageSize(QPageSize.PageSizeId.A4))
        writer.setPageMargins(QMarginsF(15, 15, 15, 15), QPageLayout.Unit.Millimeter)
        font.setPointSizeF(9)
        _paint_a4(writer, rows, title, font)
        del writer  # finishes the file
        logger.info("report exported to %s (%s)", path, page)
        return path
    else:
        raise ValueError(f"page must be {PAGE_A4!r} or {PAGE_80MM!r}")
    doc.setDefaultFont(font)
    doc.setHtml(rows_html(rows, title))
    doc.print_(writer)
    del writer  # finishes the file
    logger.info("report exported to %s (%s)", path, page)
    return path


def paginate(kinds: list[str], per_page: int, keep: int = 2) -> list[list[int]]:
    """Indices of ``kinds`` ("title", "heading" or "row") per page, ``per_page`` lines each: a section heading
    never ends a page — it moves to the next page unless ``keep`` of its rows (or all, if fewer) fit after it."""
    if per_page < keep + 1:
        raise ValueError("a page must hold a heading and its first rows")
    pages: list[list[int]] = [[]]
    for i, kind in enumerate(kinds):
        room = per_page - len(pages[-1])
        if kind == "heading":
            rows = 0
            while i + 1 + rows < len(kinds) and kinds[i + 1 + rows] == "row":
                rows += 1
            if room < 1 + min(keep, rows) and pages[-1]:
                pages.append([])
        elif room <= 0:
            pages.append([])
        pages[-1].append(i)
    return pages


def _paint_a4(writer: QPdfWriter, rows: Sequence[LocalizedRow], title: str, font: QFont) -> None:
    """The report on A4 pages, drawn line by line (a heading is kept with its first rows: :func:`paginate`)."""
    lines: list[tuple[str, str, str]] = [("title", title, "")]
    section = None
    for sec, sec_label, _name, label, value, _raw in rows:
        if sec != section:
            section = sec
            if sec != "header":
                lines.append(("heading", sec_label, ""))
        lines.append(("row", label, value))
    painter = QPainter(writer)
    try:
        painter.setFont(font)
        bold = QFont(font)
        bold.setBold(True)
        metrics = QFontMetricsF(font, writer)
        step = metrics.lineSpacing() * 1.2
        area = writer.pageLayout().paintRectPixels(writer.resolution())
        per_page = max(4, int(area.height() // step))
        for n, page in enumerate(paginate([k for k, _a, _b in lines], per_page)):
            if n:
                writer.newPage()
            y = 0.0
            for i in page:
                kind_, text, value = lines[i]
                painter.setFont(bold if kind_ != "row" else font)
                base = y + metrics.ascent()
                value_w = metrics.horizontalAdvance(value)
                room = area.width() - value_w - metrics.horizontalAdvance("  ")
                shown = metrics.elidedText(text, Qt.TextElideMode.ElideRight, room) if kind_ == "row" else text
                painter.drawText(QPointF(0.0, base), shown)
                if value:
                    painter.drawText(QPointF(area.width() - value_w, base), value)
                y += step
    finally:
        painter.end()


def render_localized_csv(figures: Figures, tr: Callable[..., str] = _identity) -> bytes:
    """One row per figure: the machine columns (section, figure, value, raw) then the labels in ``tr``'s
    language (section_label, figure_label); UTF-8 with a BOM for spreadsheet programs."""
    # value stays as the service wrote it (stable)
    return render_rows_csv([(sec, name, value, raw, section_label(sec, tr), figure_label(name, tr))
                            for sec, name, value, raw in figure_rows(figures)])


def render_rows_csv(rows: Sequence[tuple[str, str, str, str, str, str]]) -> bytes:
    """CSV_HEADER then ``rows`` (section, figure, value, raw, section_label, figure_label); UTF-8 with a BOM."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow(CSV_HEADER)
    writer.writerows(rows)
    return ("\ufeff" + buf.getvalue()).encode("utf-8")


def export_csv(figures: Figures, path: Path | str, *, tr: Callable[..., str] = _identity) -> Path:
    """Write one row per figure (machine columns plus translated label columns), UTF-8 with a BOM."""
    path = Path(path)
    path.write_bytes(render_localized_csv(figures, tr))
    return path
