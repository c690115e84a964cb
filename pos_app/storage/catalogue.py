"""SQLite catalogue repository: lookup by code, search by name or code, bulk load."""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Iterable

from pos_app.domain.catalogue import CatalogueItem

__all__ = ["SqliteCatalogue", "load_items"]

logger = logging.getLogger(__name__)

MAX_SEARCH_CHARS = 100  # longer than any item code or name
_COLS = "code, name_zh, name_en, price_fen, unit, category, points_excluded, sku, tax_rate_bp, member_price_fen"


def _item(r: sqlite3.Row) -> CatalogueItem:
    return CatalogueItem(code=r[0], name_zh=r[1], name_en=r[2], price_fen=r[3], unit=r[4], category=r[5],
                         points_excluded=bool(r[6]), sku=r[7], tax_rate_bp=r[8], member_price_fen=r[9])


class SqliteCatalogue:
    """Read the catalogue on one connection."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn

    def get(self, code: str) -> CatalogueItem | None:
        """The active item with this barcode (``item_barcodes``), else with this item code."""
        r = self._conn.execute(
            f"SELECT {_COLS} FROM catalogue_items WHERE code = (SELECT item_code FROM item_barcodes"
            " WHERE barcode = ?) AND active = 1", (code,)).fetchone()
        if r is None:
            r = self._conn.execute(f"SELECT {_COLS} FROM catalogue_items WHERE code = ? AND active = 1",
                                   (code,)).fetchone()
        return _item(r) if r else None

    def search(self, text: str, limit: int = 50) -> list[CatalogueItem]:
        """Items whose code starts with ``text`` or whose name contains it (code prefix matches first).

        Text beyond ``MAX_SEARCH_CHARS`` is cut (SQLite refuses LIKE patterns over 50 000 bytes).
        """
        text = text.strip()[:MAX_SEARCH_CHARS].strip()
        if not text:
            return []
        like = "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        prefix = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        rows = self._conn.execute(
            f"SELECT {_COLS} FROM catalogue_items WHERE active = 1 AND (code LIKE ? ESCAPE '\\'"
            " OR code IN (SELECT item_code FROM item_barcodes WHERE barcode LIKE ? ESCAPE '\\'))"
            " ORDER BY code LIMIT ?", (prefix, prefix, limit)).fetchall()
        found = [_item(r) for r in rows]
        if len(found) < limit:
            seen = {i.code for i in found}
            rows = self._conn.execute(
                f"SELECT {_COLS} FROM catalogue_items WHERE active = 1 AND (name_zh LIKE ? ESCAPE '\\'"
                " OR name_en LIKE ? ESCAPE '\\') ORDER BY name_zh LIMIT ?", (like, like, limit)).fetchall()
            found.extend(i for i in map(_item, rows) if i.code not in seen)
        return found[:limit]


def load_items(conn: sqlite3.Connection, items: Iterable[CatalogueItem]) -> int:
    """Insert or replace ``items`` inside the caller's transaction; returns how many were written."""
    rows = [(i.code, i.sku, i.name_zh, i.name_en, i.price_fen, i.unit, i.category, int(i.points_excluded),
             i.tax_rate_bp, i.member_price_fen) for i in items]
    conn.executemany(
        "INSERT INTO catalogue_items (code, sku, name_zh, name_en, price_fen, unit, category, points_excluded,"
        " tax_rate_bp, member_price_fen, active) VALUES (?,?,?,?,?,?,?,?,?,?,1) ON CONFLICT(code) DO UPDATE SET"
        " sku=excluded.sku, name_zh=excluded.name_zh, name_en=excluded.name_en, price_fen=excluded.price_fen,"
        " unit=excluded.unit, category=excluded.category, points_excluded=excluded.points_excluded,"
        " tax_rate_bp=excluded.tax_rate_bp, member_price_fen=excluded.member_price_fen, active=1", rows)
    return len(rows)
