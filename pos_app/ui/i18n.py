"""One translation function for all visible text; catalogues are JSON files in resources/i18n."""

from __future__ import annotations

import json
import logging
from pathlib import Path

__all__ = ["Translator", "RESOURCES_DIR", "I18N_DIR", "LANGUAGES"]

logger = logging.getLogger(__name__)

RESOURCES_DIR = Path(__file__).resolve().parents[1] / "resources"  # pos_app/resources: packaged in the wheel
I18N_DIR = RESOURCES_DIR / "i18n"
LANGUAGES = ("zh_CN", "en")


class Translator:
    """``tr("Cash (F5)")`` -> the text in the chosen language; keys are the English source text.

    Placeholders use ``str.format`` names: ``tr("Change {amount}", amount="¥1.00")``. A key missing
    from the catalogue falls back to the English text (logged once at DEBUG).
    """

    def __init__(self, language: str = "zh_CN", directory: Path = I18N_DIR) -> None:
        self.language = language if language in LANGUAGES else "en"
        self._table: dict[str, str] = {}
        self._missing: set[str] = set()
        path = directory / f"{self.language}.json"
        if path.is_file():
            data = json.loads(path.read_text(encoding="utf-8"))
            self._table = {str(k): str(v) for k, v in data.items() if isinstance(v, str) and v}

    @property
    def is_chinese(self) -> bool:
        return self.language.startswith("zh")

    def __call__(self, text: str, /, **values: object) -> str:
        out = self._table.get(text)
        if out is None:
            out = text
            if self.language != "en" and text not in self._missing:
                self._missing.add(text)
                logger.debug("no %s translation for %r", self.language, text)
        if values:
            try:
                return out.format(**values)
            except (KeyError, IndexError, ValueError):
                return text.format(**values)
        return out
