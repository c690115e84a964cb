"""The full catalogue record of one item, as the shop's files carry it (import, export, store server).

:class:`ItemRecord` is the typed shape of a row of the catalogue file and of ``catalogue_items`` +
``item_barcodes`` in the terminal's database. Other parts (pricing, promotions, the store server)
read these fields; their meaning is fixed here:

* ``code``: the shop's item code (catalogue key, what a sale line records); unique.
* ``barcodes``: every code that scans as this item, normalised to the form the scanner's classifier
  looks up (:func:`normalize_barcode`): EAN-13 as is, EAN-8 as is, UPC-A and UPC-E as the 13-digit
  GTIN (``"0"`` + UPC-A), GTIN-14 with a leading 0 as its 13 digits, in-store codes (letters/digits
  that are not a GS1 length) as typed. A barcode belongs to one item only.
* ``price_fen``: the retail price **including tax**, whole fen, per piece or per kilogram
  (``weighed``). ``member_price_fen``: the price for identified members, or None.
* ``tax_rate_bp``: the VAT rate in basis points (1300 = 13 %), one of :data:`TAX_RATES_BP`
  (general taxpayer 13/9/6/0 %, small-scale 3/1 %). Prices include it.
* ``unit_label``: the shop's unit word shown to people ("瓶", "box", "kg"); ``weighed`` means
  the price is per kilogram and the quantity is in grams (the sale's ``kg`` unit).
* ``points_excluded``: earns no loyalty points (tobacco, gift cards). ``active``: sellable.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .catalogue import UNIT_EACH, UNIT_KG, CatalogueItem
from .codes import expand_upce, gtin_check_digit, is_valid_gtin
from .errors import CatalogueError
from .money import MAX_FEN

__all__ = ["TAX_RATES_BP", "ItemRecord", "PriceChange", "normalize_barcode", "MAX_BARCODES"]

TAX_RATES_BP = (1300, 900, 600, 300, 100, 0)
"""China VAT rates a retail item may carry, in basis points: 13, 9, 6, 3, 1, 0 %."""

MAX_BARCODES = 20
"""Most barcodes one item may carry (a typo guard)."""

_INSTORE_RE = re.compile(r"[0-9A-Za-z][0-9A-Za-z._/-]{0,31}")


def _upce_ok(code: str) -> bool:
    if code[0] not in "01":
        return False
    upca = expand_upce(code)
    return gtin_check_digit(upca[:-1]) == int(upca[-1])


def normalize_barcode(text: str) -> tuple[str, str]:
    """``(lookup key, "")`` for a good barcode, ``("", why)`` for a bad one.

    All-digit codes of a GS1 length (8, 12, 13, 14) must carry a correct check digit; an 8-digit
    code is EAN-8 when its check digit fits, else UPC-E. GS1 price/weight in-store codes (prefix
    21-25) must be given as their template (value digits 00000). Other codes of 1-32 letters,
    digits and ``._/-`` are in-store codes kept as typed.
    """
    code = text.strip()
    if not code:
        return "", "empty barcode"
    if code.isascii() and code.isdigit() and len(code) in (8, 12, 13, 14):
        if len(code) == 8:
            if is_valid_gtin(code):
                return code, ""
            if _upce_ok(code):
                return "0" + expand_upce(code), ""
            return "", "bad check digit (EAN-8/UPC-E)"
        if not is_valid_gtin(code):
            names = {12: "UPC-A", 13: "EAN-13", 14: "GTIN-14"}
            return "", f"bad check digit ({names[len(code)]}): the last digit should be {gtin_check_digit(code[:-1])}"
        if len(code) == 12:
            return "0" + code, ""
        if len(code) == 14:
            if code[0] != "0":
                return code, ""
            code = code[1:]
        if code[:2] in ("21", "22", "23", "24", "25") and code[7:12] != "00000":
            return "", "in-store price/weight code: give its template (digits 8-12 as 00000)"
        return code, ""
    if not _INSTORE_RE.fullmatch(code):
        return "", "not a barcode (letters, digits and ._/- only, at most 32)"
    return code, ""


@dataclass(frozen=True, slots=True)
class ItemRecord:
    """One catalogue item with every column of the catalogue file (see the module docstring).

    The constructor validates types and ranges (:class:`CatalogueError`); the importer reports the
    same rules per cell before it builds a record.
    """

    code: str
    name_zh: str
    name_en: str
    price_fen: int
    barcodes: tuple[str, ...] = ()
    category: str = ""
    unit_label: str = ""
    member_price_fen: int | None = None
    tax_rate_bp: int = 1300
    weighed: bool = False
    points_excluded: bool = False
    active: bool = True

    def __post_init__(self) -> None:
        if not self.code or self.code != self.code.strip():
            raise CatalogueError("item code must not be empty or padded")
        if not (self.name_zh.strip() or self.name_en.strip()):
            raise CatalogueError(f"item {self.code}: needs a name")
        for value in (self.price_fen, self.member_price_fen):
            if value is None:
                continue
            if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_FEN:
                raise CatalogueError(f"item {self.code}: prices must be whole fen from 0 to {MAX_FEN}")
        if self.tax_rate_bp not in TAX_RATES_BP:
            raise CatalogueError(f"item {self.code}: unknown tax rate {self.tax_rate_bp} bp")
        if len(self.barcodes) > MAX_BARCODES or len(set(self.barcodes)) != len(self.barcodes):
            raise CatalogueError(f"item {self.code}: barcodes must be distinct, at most {MAX_BARCODES}")

    @property
    def unit(self) -> str:
        """The sale's pricing unit: ``kg`` for weighed items, else ``each``."""
        return UNIT_KG if self.weighed else UNIT_EACH

    def to_catalogue_item(self) -> CatalogueItem:
        """The item as the till sells it."""
        return CatalogueItem(code=self.code, name_zh=self.name_zh, name_en=self.name_en,
                             price_fen=self.price_fen, unit=self.unit, category=self.category,
                             points_excluded=self.points_excluded, tax_rate_bp=self.tax_rate_bp,
                             member_price_fen=self.member_price_fen)


@dataclass(frozen=True, slots=True)
class PriceChange:
    """One row of an item's price history: ``field`` is ``price`` or ``member_price`` (None = no member price)."""

    item_code: str
    field: str
    old_fen: int | None
    new_fen: int | None
    at: str
    by_user: str
