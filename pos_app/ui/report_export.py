"""Export X/Z reports to PDF with Qt's own writer (A4 or 80 mm receipt width) and to CSV files."""

from __future__ import annotations

import html
import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from PySide6.QtCore import QMarginsF, QSizeF
from PySide6.QtGui import QFont, QGuiApplication, QPageLayout, QPageSize, QPdfWriter, QTextDocument
from PySide6.QtWidgets import QApplication

from pos_app.services.reports import figure_rows, render_csv

__all__ = ["PAGE_A4", "PAGE_80MM", "report_html", "export_pdf", "export_csv", "ensure_gui_app"]

logger = logging.getLogger(__name__)

PAGE_A4 = "a4"
PAGE_80MM = "80mm"
_RECEIPT_WIDTH_MM = 80.0
_ROW_MM = 4.2


def ensure_gui_app() -> QGuiApplication:
    """The running Qt application, or a new QApplication (headless use: set QT_QPA_PLATFORM=offscreen)."""
    app = QGuiApplication.instance()
    if app is None:
        # a QApplication (not only a QGuiApplication), so widgets can still be made in this process
        app = QApplication([])
    assert isinstance(app, QGuiApplication)
    return app


def report_html(figures: Mapping[str, Any], *, title: str = "") -> str:
    """The report as a simple HTML table (one row per figure, sections as headings)."""
    kind = figures.get("kind", "X")
    head = title or (f"{kind} report #{figures['z_number']}" if figures.get("z_number") else f"{kind} report")
    parts = [f"<h3>{html.escape(head)}</h3>", "<table width='100%' cellspacing='0' cellpadding='1'>"]
    section = None
    for sec, name, value, _raw in figure_rows(figures):
        if sec != section:
            section = sec
            if sec != "header":
                parts.append(f"<tr><td colspan='2'><b>{html.escape(sec.upper())}</b></td></tr>")
        parts.append(f"<tr><td>{html.escape(name)}</td><td align='right'>{html.escape(value)}</td></tr>")
    parts.append("</table>")
    return "\n".join(parts)


def export_pdf(figures: Mapping[str, Any], path: Path | str, *, page: str = PAGE_A4) -> Path:
    """Write the report as a PDF (A4, or a continuous 80 mm wide receipt page)."""
    ensure_gui_app()
    path = Path(path)
    writer = QPdfWriter(str(path))
    writer.setResolution(300)
    writer.setTitle(f"{figures.get('kind', 'X')} report {figures.get('terminal_id', '')}"
                    f"/{figures.get('shift_number', '')}")
    doc = QTextDocument()
    font = QFont()
    if page == PAGE_80MM:
        rows = len(figure_rows(figures))
        height = max(100.0, rows * _ROW_MM + 30.0)
        writer.setPageSize(QPageSize(QSizeF(_RECEIPT_WIDTH_MM, height), QPageSize.Unit.Millimeter, "receipt"))
        writer.setPageMargins(QMarginsF(3, 3, 3, 3), QPageLayout.Unit.Millimeter)
        font.setPointSizeF(7)
    elif page == PAGE_A4:
        writer.setPageSize(QPageSize(QPageSize.PageSizeId.A4))
        writer.setPageMargins(QMarginsF(15, 15, 15, 15), QPageLayout.Unit.Millimeter)
        font.setPointSizeF(9)
    else:
        raise ValueError(f"page must be {PAGE_A4!r} or {PAGE_80MM!r}")
    doc.setDefaultFont(font)
    doc.setHtml(report_html(figures))
    doc.print_(writer)
    del writer  # finishes the file
    logger.info("report exported to %s (%s)", path, page)
    return path


def export_csv(figures: Mapping[str, Any], path: Path | str) -> Path:
    """Write one row per figure, UTF-8 with a BOM."""
    path = Path(path)
    path.write_bytes(render_csv(figures))
    return path
