"""Shared helpers for the shop-data tests: write catalogue files, read the database back."""

from __future__ import annotations

import csv
import sqlite3
from collections.abc import Iterable, Sequence
from pathlib import Path

from pos_app.domain.codes import gtin_check_digit

EN_HEADERS = ["item code", "barcodes", "name (Chinese)", "name (English)", "category", "unit", "price",
              "member price", "tax rate", "weighed", "no points", "active"]


def ean13(n: int, prefix: str = "690") -> str:
    body = f"{prefix}{n:0{12 - len(prefix)}d}"
    return body + str(gtin_check_digit(body))


def item_row(n: int, *, price: str = "", barcode: str | None = None) -> list[str]:
    return [f"A{n:06d}", ean13(n) if barcode is None else barcode, f"商品{n}", f"Item {n}", "饮料", "瓶",
            price or f"{1 + n % 97}.{n % 100:02d}", "", "13%", "0", "0", "1"]


def write_csv(path: Path, rows: Iterable[Sequence[str]], *, headers: Sequence[str] = EN_HEADERS,
              encoding: str = "utf-8-sig", delimiter: str = ",") -> Path:
    with path.open("w", encoding=encoding, newline="") as fh:
        w = csv.writer(fh, delimiter=delimiter)
        w.writerow(headers)
        w.writerows(rows)
    return path


def catalogue_state(db: Path) -> list[tuple[object, ...]]:
    conn = sqlite3.connect(db)
    try:
        items = conn.execute("SELECT code, name_zh, price_fen, member_price_fen, tax_rate_bp, unit, active"
                             " FROM catalogue_items ORDER BY code").fetchall()
        codes = conn.execute("SELECT barcode, item_code FROM item_barcodes ORDER BY barcode").fetchall()
        return [*items, *codes]
    finally:
        conn.close()
