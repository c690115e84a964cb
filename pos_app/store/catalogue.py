"""The catalogue importer's PostgreSQL target: in store mode ``pos-app catalogue import`` loads the validated
records into the store server (one transaction, audited, price history), and every lane pulls them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import psycopg

from pos_app.domain.items import ItemRecord

__all__ = ["StoreImportSummary", "import_items", "item_record"]

_COLS = ("code, name_zh, name_en, price_fen, unit, category, points_excluded, active, unit_label, "
         "member_price_fen, tax_rate_bp, barcodes")


@dataclass(frozen=True)
class StoreImportSummary:
    added: int
    changed: int
    deactivated: int
    unchanged: int
    price_changes: int
    import_id: int | None

    def line(self) -> str:
        return (f"store server: added {self.added}, changed {self.changed}, deactivated {self.deactivated}, "
                f"unchanged {self.unchanged} ({self.price_changes} price changes)")


def item_record(r: Any) -> ItemRecord:
    """A pos.item row (mapping) as the importer's record; a tombstone is an inactive item."""
    return ItemRecord(code=r["code"], name_zh=r["name_zh"], name_en=r["name_en"], price_fen=int(r["price_fen"]),
                      barcodes=tuple(r["barcodes"] or ()), category=r["category"], unit_label=r["unit_label"],
                      member_price_fen=None if r["member_price_fen"] is None else int(r["member_price_fen"]),
                      tax_rate_bp=int(r["tax_rate_bp"]), weighed=r["unit"] == "kg",
                      points_excluded=bool(r["points_excluded"]), active=bool(r["active"]) and not r["deleted"])


def _row(r: ItemRecord) -> tuple[Any, ...]:
    return (r.code, r.name_zh, r.name_en, r.price_fen, r.unit, r.category, r.points_excluded, r.active, r.unit_label,
            r.member_price_fen, r.tax_rate_bp, list(r.barcodes))


def import_items(conn: psycopg.Connection[Any], records: Sequence[ItemRecord], *, full: bool, by_user: str,
                 source: str, sha256: str, dry_run: bool = False) -> StoreImportSummary:
    """Apply validated records to pos.item in one transaction (``dry_run``: compute, then roll back)."""
    from psycopg.rows import dict_row

    class _DryRun(Exception):
        pass

    summary = StoreImportSummary(0, 0, 0, 0, 0, None)
    try:
        with conn.transaction():
            with conn.cursor(row_factory=dict_row) as cur:
                old = {r["code"]: item_record(r) for r in cur.execute(
                    f"SELECT {_COLS}, deleted FROM pos.item FOR UPDATE".encode())}
            incoming = {r.code: r for r in records}
            added = changed = unchanged = 0
            history: list[tuple[str, str, int | None, int | None]] = []
            writes: list[tuple[Any, ...]] = []
            for r in records:
                before = old.get(r.code)
                if before == r:
                    unchanged += 1
                    continue
                writes.append(_row(r))
                if before is None:
                    added += 1
                    continue
                changed += 1
                if before.price_fen != r.price_fen:
                    history.append((r.code, "price", before.price_fen, r.price_fen))
                if before.member_price_fen != r.member_price_fen:
                    history.append((r.code, "member_price", before.member_price_fen, r.member_price_fen))
            deactivate = [c for c, rec in old.items() if full and rec.active and c not in incoming]
            row = conn.execute(
                b"INSERT INTO pos.catalogue_import (by_user, source, sha256, full_import, added, changed, deactivated,"
                b" unchanged) VALUES (%s, %s, %s, %s, %s, %s, %s, %s) RETURNING id",
                (by_user, source, sha256, full, added, changed, len(deactivate), unchanged)).fetchone()
            import_id = int(row[0]) if row else None
            with conn.cursor() as cur:
                cur.executemany(
                    f"INSERT INTO pos.item ({_COLS}, deleted) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s,"
                    " false) ON CONFLICT (code) DO UPDATE SET name_zh = excluded.name_zh, name_en = excluded.name_en,"
                    " price_fen = excluded.price_fen, unit = excluded.unit, category = excluded.category,"
                    " points_excluded = excluded.points_excluded, active = excluded.active,"
                    " unit_label = excluded.unit_label, member_price_fen = excluded.member_price_fen,"
                    " tax_rate_bp = excluded.tax_rate_bp, barcodes = excluded.barcodes, deleted = false".encode(),
                    writes)
                cur.executemany(b"UPDATE pos.item SET active = false WHERE code = %s", [(c,) for c in deactivate])
                cur.executemany(b"INSERT INTO pos.price_history (item_code, field, old_fen, new_fen, by_user, import_id)"
                                b" VALUES (%s, %s, %s, %s, %s, %s)", [(*h, by_user, import_id) for h in history])
            summary = StoreImportSummary(added, changed, len(deactivate), unchanged, len(history), import_id)
            if dry_run:
                raise _DryRun
    except _DryRun:
        return StoreImportSummary(summary.added, summary.changed, summary.deactivated, summary.unchanged,
                                  summary.price_changes, None)
    return summary
