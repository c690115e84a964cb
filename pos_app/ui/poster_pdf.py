"""The counter poster for joining the membership card: an A5 PDF with the join QR, the shop's name and
"扫码领取会员卡". The QR arrives as a matrix of modules (made by the caller), drawn as exact squares."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QColor, QFont, QFontDatabase, QPageLayout, QPageSize, QPainter, QPdfWriter

from .report_export import ensure_gui_app

__all__ = ["POSTER_CAPTION", "write_join_poster"]

POSTER_CAPTION = "扫码领取会员卡"
_CJK = ("Noto Sans CJK SC", "Noto Sans SC", "Source Han Sans SC", "WenQuanYi Zen Hei", "WenQuanYi Micro Hei",
        "AR PL UMing CN", "Droid Sans Fallback")


def _font(point_size: int, bold: bool = False) -> QFont:
    installed = set(QFontDatabase.families())
    family = next((f for f in _CJK if f in installed), "")
    font = QFont(family) if family else QFont()
    font.setPointSize(point_size)
    font.setBold(bold)
    return font


def write_join_poster(path: Path | str, matrix: Sequence[Sequence[bool]], shop_name: str, *,
                      caption: str = POSTER_CAPTION, footer: str = "") -> Path:
    """Write the poster; ``matrix`` is the QR's modules (True = dark), quiet zone included or not."""
    ensure_gui_app()
    out = Path(path)
    writer = QPdfWriter(str(out))
    writer.setPageSize(QPageSize(QPageSize.PageSizeId.A5))
    writer.setPageOrientation(QPageLayout.Orientation.Portrait)
    writer.setResolution(300)
    writer.setTitle(f"{shop_name} {caption}")
    writer.setCreator("pos-app")
    painter = QPainter(writer)
    try:
        width, height = writer.width(), writer.height()
        margin = width * 0.08
        painter.setPen(QColor("black"))
        painter.setFont(_font(26, bold=True))
        painter.drawText(QRectF(margin, margin, width - 2 * margin, height * 0.12),
                         int(Qt.AlignmentFlag.AlignCenter), shop_name)
        n = len(matrix)
        quiet = 4
        side = min(width - 2 * margin, height * 0.55)
        module = int(side // (n + 2 * quiet))
        qr_side = module * (n + 2 * quiet)
        left = int((width - qr_side) / 2)
        top = int(margin + height * 0.15)
        painter.fillRect(QRectF(left, top, qr_side, qr_side), QColor("white"))
        for y, row in enumerate(matrix):
            for x, dark in enumerate(row):
                if dark:
                    painter.fillRect(left + (x + quiet) * module, top + (y + quiet) * module, module, module,
                                     QColor("black"))
        painter.setFont(_font(22, bold=True))
        painter.drawText(QRectF(margin, top + qr_side + height * 0.02, width - 2 * margin, height * 0.1),
                         int(Qt.AlignmentFlag.AlignCenter), caption)
        if footer:
            painter.setFont(_font(10))
            painter.drawText(QRectF(margin, height - margin - height * 0.06, width - 2 * margin, height * 0.06),
                             int(Qt.AlignmentFlag.AlignCenter), footer)
    finally:
        painter.end()
    return out
