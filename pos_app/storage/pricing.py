"""What the pricing engine reads from the terminal database: items as :class:`PriceItem`, member levels.

The catalogue's VAT rate and member price columns (``tax_rate_bp``, ``member_price_fen``, schema 20) are read
when the database has them; an older catalogue prices at 13 % VAT without a member price.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Iterable

from pos_app.domain.pricing import PriceItem

__all__ = ["SqlitePriceItems"]

logger = logging.getLogger(__name__)


class SqlitePriceItems:
    """Read items for pricing on one connection (read-only queries)."""

    def __init__(self, conn: sqlite3.Connection, *, language: str = "zh") -> None:
        self._conn = conn
        self._language = language
        cols = {r[1] for r in conn.execute("PRAGMA table_info(catalogue_items)")}
        self._has_tax = "tax_rate_bp" in cols
        self._has_member = "member_price_fen" in cols
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        self._has_barcodes = "item_barcodes" in tables
        self._has_levels = "item_level_prices" in tables

    def _row_item(self, r: sqlite3.Row) -> PriceItem:
        code, name_zh, name_en, price, unit, category, excluded, tax, member = r
        name = (name_en or name_zh) if self._language == "en" else (name_zh or name_en)
        levels: dict[str, int] = {}
        if self._has_levels:
            levels = {str(lv): int(fen) for lv, fen in self._conn.execute(
                "SELECT level, price_fen FROM item_level_prices WHERE item_code = ?", (code,))}
        return PriceItem(str(code), str(name), int(price), str(unit), str(category),
                         int(tax) if tax is not None else 1300, levels, bool(excluded),
                         int(member) if member is not None else None)

    def get(self, code: str) -> PriceItem | None:
        """The active item scanned as ``code`` (a barcode or the item code), or None."""
        tax = "tax_rate_bp" if self._has_tax else "NULL"
        member = "member_price_fen" if self._has_member else "NULL"
        sql = (f"SELECT code, name_zh, name_en, price_fen, unit, category, points_excluded, {tax}, {member}"
               " FROM catalogue_items WHERE code = ? AND active = 1")
        row = None
        if self._has_barcodes:
            row = self._conn.execute(sql.replace("code = ?", "code = (SELECT item_code FROM item_barcodes"
                                                 " WHERE barcode = ?)"), (code,)).fetchone()
        if row is None:
            row = self._conn.execute(sql, (code,)).fetchone()
        return self._row_item(row) if row is not None else None

    def get_many(self, codes: Iterable[str]) -> dict[str, PriceItem]:
        """The items found among ``codes`` (unknown codes left out)."""
        out: dict[str, PriceItem] = {}
        for code in codes:
            item = self.get(code)
            if item is not None:
                out[code] = item
        return out

    def member_level(self, card_no: str) -> str | None:
        """The cached member's level, or None for a card this terminal does not know."""
        row = self._conn.execute("SELECT level FROM members WHERE card_no = ? OR biz_card_no = ?",
                                 (card_no, card_no)).fetchone()
        return str(row[0]) if row is not None else None
