"""Apply the terminal's style sheet and a font that has Chinese glyphs."""

from __future__ import annotations

import logging

from PySide6.QtCore import QLibraryInfo, QLocale, QTranslator
from PySide6.QtGui import QFont, QFontDatabase
from PySide6.QtWidgets import QApplication

from .i18n import RESOURCES_DIR

__all__ = ["apply_style", "STYLE_SHEET", "install_qt_translations"]

logger = logging.getLogger(__name__)

STYLE_SHEET = RESOURCES_DIR / "styles" / "terminal.qss"
_CJK_FAMILIES = ("Noto Sans CJK SC", "Noto Sans SC", "Source Han Sans SC", "WenQuanYi Micro Hei",
                 "Microsoft YaHei", "PingFang SC")


_QT_TRANSLATORS: list[QTranslator] = []  # installed ones must outlive the call (Qt does not own them)


def install_qt_translations(app: QApplication, language: str) -> bool:
    """Qt's own words (Cancel/OK of standard buttons, a text field's context menu) in the cashier's language.

    Our texts go through :class:`~pos_app.ui.i18n.Translator`; Qt's built-in ones come from the
    ``qtbase_<lang>.qm`` catalogue shipped with PySide6. Returns whether one was installed.
    """
    for old in _QT_TRANSLATORS:
        app.removeTranslator(old)
    _QT_TRANSLATORS.clear()
    QLocale.setDefault(QLocale(language))
    if language == "en":
        return False
    translator = QTranslator(app)
    folder = QLibraryInfo.path(QLibraryInfo.LibraryPath.TranslationsPath)
    if not translator.load(f"qtbase_{language}", folder):
        logger.warning("no Qt translation qtbase_%s in %s: Qt's standard buttons stay in English", language, folder)
        return False
    app.installTranslator(translator)
    _QT_TRANSLATORS.append(translator)
    return True


def apply_style(app: QApplication, language: str | None = None) -> None:
    """Style sheet + a CJK-capable default font when one is installed (+ Qt's own words in ``language``)."""
    if language is not None:
        install_qt_translations(app, language)
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
