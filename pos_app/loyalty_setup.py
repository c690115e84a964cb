"""The shop's loyalty rules from the settings: a ``[loyalty]`` table, or ``[loyalty] file = PATH`` naming a
TOML or JSON file with the same keys. A real (non-demo) terminal without rules is refused with one clear
line; only demo mode falls back to the demo rules."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path
from typing import Any

from pos_app.domain.errors import LoyaltyError
from pos_app.domain.loyalty import LoyaltyRules
from pos_app.settings import Settings

__all__ = ["LoyaltyConfigError", "loyalty_rules", "DEMO_RULES"]

DEMO_RULES = Path(__file__).resolve().parent.parent / "resources" / "demo" / "loyalty.json"


class LoyaltyConfigError(ValueError):
    """The loyalty rules are missing or wrong (a settings problem)."""


def _read(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise LoyaltyConfigError(f"loyalty.file: cannot read {path}: {exc.strerror or exc}") from None
    try:
        data = json.loads(text) if path.suffix.lower() == ".json" else tomllib.loads(text)
    except (ValueError, tomllib.TOMLDecodeError) as exc:
        raise LoyaltyConfigError(f"loyalty.file: {path} is not valid {path.suffix.lstrip('.') or 'TOML'} ({exc})") from None
    if not isinstance(data, dict):
        raise LoyaltyConfigError(f"loyalty.file: {path} must hold a table of rules")
    return data


def loyalty_rules(settings: Settings, *, demo: bool) -> LoyaltyRules:
    """The configured rules; :class:`LoyaltyConfigError` (one line) when a real terminal has none or bad ones."""
    data: dict[str, Any] = dict(settings.loyalty)
    source = "loyalty"
    if "file" in data:
        raw = data.pop("file")
        if data:
            raise LoyaltyConfigError("loyalty: give either loyalty.file or the rules themselves, not both")
        if not isinstance(raw, str) or not raw:
            raise LoyaltyConfigError("loyalty.file: must be a file path")
        path = Path(raw).expanduser()
        if not path.is_absolute() and settings.config_file is not None:
            path = settings.config_file.parent / path
        data = _read(path)
        source = f"loyalty.file {path}"
    if not data:
        if demo and DEMO_RULES.is_file():
            return LoyaltyRules.from_mapping(json.loads(DEMO_RULES.read_text(encoding="utf-8")))
        raise LoyaltyConfigError(
            "loyalty: no loyalty rules configured; a real terminal needs a [loyalty] section (for example "
            "points_per_yuan = 1) or [loyalty] file = \"/etc/pos-app/loyalty.toml\"; it never runs on the demo rules")
    try:
        return LoyaltyRules.from_mapping(data)
    except LoyaltyError as exc:
        raise LoyaltyConfigError(f"{source}: {exc}") from None
