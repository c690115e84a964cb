"""One translation function for all visible text; catalogues are JSON files in resources/i18n."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable
from pathlib import Path

__all__ = ["Translator", "RESOURCES_DIR", "I18N_DIR", "LANGUAGES", "translate_payment_message"]

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


# Payment texts with variable parts (pos_app/services/payment.py); each is translated as a template whose
# variable parts are passed as placeholders (a nested reason is itself translated).
_PAYMENT_TEMPLATES: tuple[tuple[re.Pattern[str], str, tuple[str, ...]], ...] = (
    (re.compile(r"^payment failed: (?P<reason>.+)$", re.DOTALL), "payment failed: {reason}", ("reason",)),
    (re.compile(r"^(?P<unknown>the result is not known — do not hand over goods; a supervisor must check this "
                r"payment \(it will be checked again automatically\)): (?P<reason>.+)$", re.DOTALL),
     "{unknown}: {reason}", ("unknown", "reason")),
    (re.compile(r"^paid (?P<amount>.+) with Alipay$"), "paid {amount} with Alipay", ()),
    (re.compile(r"^waiting for the customer to confirm in Alipay — (?P<seconds>\d+) s$"),
     "waiting for the customer to confirm in Alipay — {seconds} s", ()),
    (re.compile(r"^Alipay refused the payment \((?P<code>[^)]*)\): ask for another payment method$"),
     "Alipay refused the payment ({code}): ask for another payment method", ()),
    (re.compile(r"^Alipay refused to cancel \((?P<code>[^)]*)\)$"), "Alipay refused to cancel ({code})", ()),
)


def translate_payment_message(tr: Callable[..., str], message: str) -> str:
    """Translate a cashier-facing payment message, including the ones built from a template plus a reason."""
    for pattern, template, nested in _PAYMENT_TEMPLATES:
        m = pattern.match(message)
        if m is not None:
            values = {k: (translate_payment_message(tr, v) if k in nested else v) for k, v in m.groupdict().items()}
            return tr(template, **values)
    return tr(message)
