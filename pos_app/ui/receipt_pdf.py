"""A receipt (sale or refund slip) as a one-page PDF at 80 mm paper width, with its Code128 barcode image."""

from __future__ import annotations

import dataclasses
import logging
import re
import unicodedata
from pathlib import Path

from PySide6.QtCore import QMarginsF, QPointF, QRectF, QSizeF, Qt
from PySide6.QtGui import (
    QFont,
    QFontDatabase,
    QFontMetricsF,
    QImage,
    QPageLayout,
    QPageSize,
    QPainter,
    QPdfWriter,
)

from pos_app.services.receipts import ReceiptContent, join_caption, receipt_text

__all__ = ["RECEIPT_PAGE_WIDTH_MM", "ReceiptPdfError", "receipt_pdf_name", "default_receipt_pdf_path",
           "write_receipt_pdf"]

logger = logging.getLogger(__name__)

RECEIPT_PAGE_WIDTH_MM = 80.0
_MARGIN_MM = 3.0
_DPI = 300
_MONO_FAMILIES = ("DejaVu Sans Mono", "Noto Sans Mono", "Liberation Mono", "Noto Sans Mono CJK SC",
                  "Sarasa Mono SC", "Consolas", "Courier New")
_CJK_FAMILIES = ("Noto Sans Mono CJK SC", "Noto Sans CJK SC", "Source Han Sans SC", "WenQuanYi Micro Hei Mono",
                 "WenQuanYi Micro Hei", "Droid Sans Fallback", "Microsoft YaHei", "PingFang SC")
_REFUND_MARK = "REFUND"
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")
_SEGMENT = re.compile(r"\S+(?: \S+)*")


class ReceiptPdfError(Exception):
    """The receipt PDF could not be written (folder not writable, Qt could not open the file)."""


def _mm(mm: float) -> float:
    return mm * _DPI / 25.4


def _wide(ch: str) -> bool:
    return unicodedata.east_asian_width(ch) in ("W", "F")


def _is_refund(content: ReceiptContent) -> bool:
    header = tuple(getattr(content, "header", ()) or ())
    return bool(header) and header[0].startswith(_REFUND_MARK)


def receipt_pdf_name(content: ReceiptContent) -> str:
    """``<receipt_no>.pdf`` for a sale, ``<receipt_no>-refund.pdf`` for a refund slip (file-name safe)."""
    code = _UNSAFE.sub("_", str(getattr(content, "barcode", "") or "receipt")).strip("._") or "receipt"
    return f"{code}-refund.pdf" if _is_refund(content) else f"{code}.pdf"


def default_receipt_pdf_path(content: ReceiptContent, data_dir: Path | str) -> Path:
    """Where "Save PDF" proposes to write: ``<data_dir>/receipts/<name>``; a refund slip never overwrites an
    earlier one (``-2``, ``-3``… are appended), a sale receipt is simply rewritten."""
    folder = Path(data_dir) / "receipts"
    path = folder / receipt_pdf_name(content)
    if _is_refund(content):
        n = 2
        while path.exists():
            path = folder / f"{path.stem.rsplit('-refund', 1)[0]}-refund-{n}.pdf"
            n += 1
    return path


def _font(families: tuple[str, ...], fallback: tuple[str, ...]) -> QFont:
    installed = set(QFontDatabase.families())
    chosen = [f for f in families if f in installed] + [f for f in fallback if f in installed]
    font = QFont(chosen[0] if chosen else "monospace")
    if chosen:
        font.setFamilies(list(dict.fromkeys(chosen)))
    font.setStyleHint(QFont.StyleHint.TypeWriter)
    font.setFixedPitch(True)
    return font


def _sized(font: QFont, cell_px: float, device: QPdfWriter) -> QFont:
    """``font`` scaled so one narrow character advances exactly ``cell_px``."""
    probe = QFont(font)
    probe.setPixelSize(200)
    advance = QFontMetricsF(probe, device).horizontalAdvance("0") or 120.0
    out = QFont(font)
    out.setPixelSize(max(1, int(200 * cell_px / advance)))
    actual = QFontMetricsF(out, device).horizontalAdvance("0")
    if 0 < actual < cell_px:   # the whole-pixel size is a little narrow: pad each character to the cell
        out.setLetterSpacing(QFont.SpacingType.AbsoluteSpacing, cell_px - actual)
    return out


def _cols(text: str) -> int:
    return sum(2 if _wide(ch) else 1 for ch in text)


def _draw_columns(painter: QPainter, line: str, x0: float, baseline: float, cell: float, width_chars: int) -> None:
    """Draw ``line`` on a column grid (CJK characters count two columns): each stretch of text between gaps of
    two or more spaces starts at its column, and one that ends at the right edge is right-aligned there, so
    amounts line up whatever the CJK font's advance is and words are never spaced out letter by letter."""
    metrics = painter.fontMetrics()
    for seg in _SEGMENT.finditer(line):
        start = _cols(line[:seg.start()])
        text = seg.group()
        x = x0 + start * cell
        if start > 0 and start + _cols(text) >= width_chars:
            x = x0 + width_chars * cell - metrics.horizontalAdvance(text)
        painter.drawText(QPointF(x, baseline), text)


def write_receipt_pdf(content: ReceiptContent, path: Path | str, *, barcode_png: bytes | None = None,
                      width_chars: int = 42, join_qr_png: bytes | None = None) -> Path:
    """Write ``content`` (a ReceiptContent: sale receipt or refund slip) as a one-page PDF 80 mm wide whose
    height fits the receipt: the header centred (first line bold), the lines, totals, tenders, member points,
    trade number and footer in a monospace grid of ``width_chars`` columns, then the Code128 image, then (a
    non-member's receipt with ``content.join_url``) the join caption and ``join_qr_png``, the join QR."""
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ReceiptPdfError(f"cannot create {path.parent}: {exc}") from exc
    header = tuple(getattr(content, "header", ()) or ())
    join_url = str(getattr(content, "join_url", "") or "")
    body = str(receipt_text(dataclasses.replace(content, join_url="") if join_url else content,
                            width_chars)).splitlines()[len(header):]
    image = QImage()
    if barcode_png:
        image.loadFromData(barcode_png)
    join_image = QImage()
    if join_url and join_qr_png:
        join_image.loadFromData(join_qr_png)
    join_side = _mm(36) if not join_image.isNull() else 0.0

    writer = QPdfWriter(str(path))
    writer.setResolution(_DPI)
    writer.setCreator("pos_app")
    writer.setTitle(f"Receipt {getattr(content, 'barcode', '')}".strip())
    inner = _mm(RECEIPT_PAGE_WIDTH_MM - 2 * _MARGIN_MM)
    cell = inner / width_chars
    base = _font(_MONO_FAMILIES, _CJK_FAMILIES)
    font = _sized(base, cell, writer)
    title = QFont(font)
    title.setBold(True)
    title.setPixelSize(int(font.pixelSize() * 1.5))
    line_h = QFontMetricsF(font, writer).lineSpacing()
    title_h = QFontMetricsF(title, writer).lineSpacing()
    bar_w = bar_h = 0.0
    if not image.isNull():
        dots_per_mm = image.dotsPerMeterX() / 1000.0 or 200 / 25.4
        bar_w = min(inner, _mm(image.width() / dots_per_mm))
        bar_h = bar_w * image.height() / max(1, image.width())
    height_px = (title_h if header else 0) + max(0, len(header) - 1) * line_h + len(body) * line_h
    height_px += (bar_h + line_h) if bar_h else 0
    height_px += (2 * line_h + join_side) if join_side else 0
    height_mm = height_px * 25.4 / _DPI + 2 * _MARGIN_MM + 1
    writer.setPageSize(QPageSize(QSizeF(RECEIPT_PAGE_WIDTH_MM, height_mm), QPageSize.Unit.Millimeter, "receipt"))
    writer.setPageMargins(QMarginsF(_MARGIN_MM, _MARGIN_MM, _MARGIN_MM, _MARGIN_MM), QPageLayout.Unit.Millimeter)

    painter = QPainter()
    if not painter.begin(writer):
        raise ReceiptPdfError(f"cannot write {path}")
    try:
        y = 0.0
        for i, text in enumerate(header):
            f = title if i == 0 else font
            painter.setFont(f)
            h = title_h if i == 0 else line_h
            painter.drawText(QRectF(0, y, inner, h), int(Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignVCenter),
                             text)
            y += h
        painter.setFont(font)
        ascent = QFontMetricsF(font, writer).ascent()
        for text in body:
            _draw_columns(painter, text, 0.0, y + ascent, cell, width_chars)
            y += line_h
        if bar_h:
            y += line_h / 2
            painter.drawImage(QRectF((inner - bar_w) / 2, y, bar_w, bar_h), image)
            y += bar_h
        if join_side:
            y += line_h / 2
            painter.drawText(QRectF(0, y, inner, line_h), int(Qt.AlignmentFlag.AlignHCenter), join_caption(content))
            y += line_h
            painter.drawImage(QRectF((inner - join_side) / 2, y, join_side, join_side), join_image)
    finally:
        painter.end()
    del writer  # flushes the file
    logger.info("receipt PDF written to %s", path)
    return path
