"""Apply the terminal's style sheet and a font that has Chinese glyphs."""

from __future__ import annotations

import logging

from PySide6.QtGui import QFont, QFontDatabase
from PySide6.QtWidgets import QApplication

from .i18n import RESOURCES_DIR

__all__ = ["apply_style", "STYLE_SHEET"]

logger = logging.getLogger(__name__)

STYLE_SHEET = RESOURCES_DIR / "styles" / "terminal.qss"
_CJK_FAMILIES = ("Noto Sans CJK SC", "Noto Sans SC", "Source Han Sans SC", "WenQuanYi Micro Hei",
                 "Microsoft YaHei", "PingFang SC")


def apply_style(app: QApplication) -> None:
    """Style sheet + a CJK-capable default font when one is installed."""
    families = set(QFontDatabase.families())
    for family in _CJK_FAMILIES:
        if family in families:
            font = QFont(family)
            font.setPointSize(11)
            app.setFont(font)
            break
    else:
        if QFontDatabase.families(QFontDatabase.WritingSystem.SimplifiedChinese):
            logger.debug("Chinese glyphs come from a fallback font (e.g. Droid Sans Fallback)")
        else:
            logger.warning("no font with Chinese glyphs: Chinese text shows as boxes "
                           "(install fonts-droid-fallback or fonts-noto-cjk)")
    if STYLE_SHEET.is_file():
        app.setStyleSheet(STYLE_SHEET.read_text(encoding="utf-8"))
