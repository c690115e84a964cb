"""Catalogue items (what can be sold) and the amount of a line of them."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .codes import is_valid_gtin
from .errors import CatalogueError, MoneyError
from .money import MAX_FEN

__all__ = [
    "UNITS",
    "UNIT_EACH",
    "UNIT_KG",
    "MAX_EACH_QUANTITY",
    "MAX_GRAMS",
    "CatalogueItem",
    "line_amount",
]

logger = logging.getLogger(__name__)

UNIT_EACH = "each"
UNIT_KG = "kg"
UNITS = (UNIT_EACH, UNIT_KG)
"""``each``: quantity is a count; ``kg``: price is per kilogram and quantity is in grams."""

MAX_EACH_QUANTITY = 9_999
"""Most pieces on one line (a typo guard)."""

MAX_GRAMS = 99_999
"""Most grams on one weighed line (what a GS1 weight-embedded code can carry)."""

_FIELDS = ("code", "name_zh", "name_en", "price_fen", "unit", "category", "points_excluded", "sku", "tax_rate_bp",
           "member_price_fen")


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


@dataclass(frozen=True)
class CatalogueItem:
    """One sellable item. ``price_fen`` is per piece, or per kilogram when ``unit == "kg"``.

    ``code`` is the catalogue key (see :func:`pos_app.domain.codes.classify`: ``item_code``);
    ``points_excluded`` items (tobacco, gift cards) earn no points. ``tax_rate_bp``: the VAT rate included in the
    price (1300 = 13 %); ``member_price_fen``: the price for identified members, if any. The constructor validates.
    """

    code: str
    name_zh: str
    name_en: str
    price_fen: int
    unit: str = UNIT_EACH
    category: str = ""
    points_excluded: bool = False
    sku: str = ""
    tax_rate_bp: int = 1300
    member_price_fen: int | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.code, str) or not self.code.strip():
            raise CatalogueError("item code must not be empty")
        if not isinstance(self.name_zh, str) or not isinstance(self.name_en, str):
            raise CatalogueError(f"item {self.code}: names must be text")
        if not (self.name_zh.strip() or self.name_en.strip()):
            raise CatalogueError(f"item {self.code}: needs a name")
        if not _is_int(self.price_fen) or not 0 <= self.price_fen <= MAX_FEN:
            raise CatalogueError(f"item {self.code}: price must be whole fen from 0 to {MAX_FEN}")
        if self.unit not in UNITS:
            raise CatalogueError(f"item {self.code}: unit must be one of {', '.join(UNITS)}, not {self.unit!r}")
        if not isinstance(self.points_excluded, bool):
            raise CatalogueError(f"item {self.code}: points_excluded must be true or false")
        if not isinstance(self.category, str) or not isinstance(self.sku, str):
            raise CatalogueError(f"item {self.code}: category and sku must be text")
        if not _is_int(self.tax_rate_bp) or not 0 <= self.tax_rate_bp <= 10_000:
            raise CatalogueError(f"item {self.code}: VAT rate must be whole basis points (1300 = 13 %)")
        if self.member_price_fen is not None and (not _is_int(self.member_price_fen)
                                                  or not 0 <= self.member_price_fen <= MAX_FEN):
            raise CatalogueError(f"item {self.code}: member price must be whole fen from 0 to {MAX_FEN}")

    @property
    def has_gtin(self) -> bool:
        """True if the code is a GS1 code with a correct check digit."""
        return is_valid_gtin(self.code)

    def display_name(self, language: str = "zh") -> str:
        """The name in ``language`` ("zh" or "en"), falling back to the other one."""
        first, second = (self.name_en, self.name_zh) if language == "en" else (self.name_zh, self.name_en)
        return first or second

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> CatalogueItem:
        """Build from a JSON-like record; :class:`CatalogueError` names what is wrong."""
        unknown = sorted(set(data) - set(_FIELDS))
        if unknown:
            raise CatalogueError(f"unknown catalogue field(s): {', '.join(unknown)}")
        missing = [key for key in ("code", "price_fen") if key not in data]
        if missing:
            raise CatalogueError(f"catalogue record lacks {', '.join(missing)}")
        fields = {key: data[key] for key in _FIELDS if key in data}
        fields.setdefault("name_zh", "")
        fields.setdefault("name_en", "")
        return cls(**fields)

    def to_mapping(self) -> dict[str, Any]:
        """The JSON-ready record (inverse of :meth:`from_mapping`)."""
        return {key: getattr(self, key) for key in _FIELDS}


def line_amount(unit_price_fen: int, quantity: int, unit: str) -> int:
    """Amount of a line in fen.

    ``each``: price × count. ``kg``: price per kg × grams / 1000, rounded half up
    (the one rounding of weighed goods). Raises :class:`MoneyError` for negative or
    non-integer inputs and for a result above ``MAX_FEN``.
    """
    if not _is_int(unit_price_fen) or not _is_int(quantity):
        raise MoneyError("price and quantity must be whole numbers")
    if unit_price_fen < 0 or quantity < 0:
        raise MoneyError("price and quantity must not be negative")
    if unit == UNIT_EACH:
        amount = unit_price_fen * quantity
    elif unit == UNIT_KG:
        amount = (unit_price_fen * quantity + 500) // 1000
    else:
        raise MoneyError(f"unknown unit {unit!r}")
    if amount > MAX_FEN:
        raise MoneyError("line amount too large")
    return amount
