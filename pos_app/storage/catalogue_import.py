"""Apply a validated catalogue (list of ItemRecord) to the terminal's SQLite file in ONE transaction.

Compare with what is stored, write only the differences, keep every price change in
``price_history`` and the import itself in ``catalogue_imports`` + the audit log. A kill at any
moment leaves the old catalogue or the new one (SQLite's transaction), never a mix.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import sqlite3
from collections.abc import Sequence

from pos_app.domain.items import ItemRecord, PriceChange

from .audit import append_audit
from .db import transaction

__all__ = ["ImportSummary", "apply_catalogue", "read_records", "price_history", "search_records"]


@dataclasses.dataclass(frozen=True)
class ImportSummary:
    """What an import did (or would do, for a dry run)."""

    added: int
    changed: int
    deactivated: int
    unchanged: int
    price_changes: int
    import_id: int | None = None

    def line(self) -> str:
        return (f"added {self.added}, changed {self.changed}, deactivated {self.deactivated}, "
                f"unchanged {self.unchanged} ({self.price_changes} price changes)")


_SELECT = ("SELECT code, name_zh, name_en, price_fen, unit, category, points_excluded, active, unit_label,"
           " member_price_fen, tax_rate_bp FROM catalogue_items")


def read_records(conn: sqlite3.Connection, *, active_only: bool = False) -> dict[str, ItemRecord]:
    """Every stored item as an :class:`ItemRecord` (with its barcodes), keyed by item code."""
    barcodes: dict[str, list[str]] = {}
    for barcode, code in conn.execute("SELECT barcode, item_code FROM item_barcodes ORDER BY rowid"):
        barcodes.setdefault(code, []).append(barcode)
    out: dict[str, ItemRecord] = {}
    sql = _SELECT + (" WHERE active = 1" if active_only else "") + " ORDER BY code"
    for r in conn.execute(sql):
        out[r[0]] = ItemRecord(
            code=r[0], name_zh=r[1], name_en=r[2], price_fen=r[3], weighed=r[4] == "kg", category=r[5],
            points_excluded=bool(r[6]), active=bool(r[7]), unit_label=r[8], member_price_fen=r[9],
            tax_rate_bp=r[10], barcodes=tuple(barcodes.get(r[0], ())))
    return out


def _values(r: ItemRecord, at: str) -> tuple[object, ...]:
    return (r.name_zh, r.name_en, r.price_fen, r.unit, r.category, int(r.points_excluded), int(r.active),
            r.unit_label, r.member_price_fen, r.tax_rate_bp, at, r.code)


def apply_catalogue(conn: sqlite3.Connection, records: Sequence[ItemRecord], *, full: bool, by_user: str,
                    source: str, sha256: str, at: dt.datetime, dry_run: bool = False) -> ImportSummary:
    """Write ``records`` (already validated) in one transaction; items not in the file are deactivated
    only when ``full``. ``dry_run`` computes the summary and rolls back."""
    at_text = at.astimezone(dt.UTC).isoformat()

    class _DryRun(Exception):
        pass

    summary = ImportSummary(0, 0, 0, 0, 0)
    try:
        with transaction(conn):
            summary = _apply(conn, records, full=full, by_user=by_user, source=source, sha256=sha256,
                             at=at, at_text=at_text)
            if dry_run:
                raise _DryRun
    except _DryRun:
        return dataclasses.replace(summary, import_id=None)
    return summary


def _apply(conn: sqlite3.Connection, records: Sequence[ItemRecord], *, full: bool, by_user: str, source: str,
           sha256: str, at: dt.datetime, at_text: str) -> ImportSummary:
    old = read_records(conn)
    incoming = {r.code: r for r in records}
    inserts: list[tuple[object, ...]] = []
    updates: list[tuple[object, ...]] = []
    history: list[tuple[object, ...]] = []
    barcode_items: list[str] = []
    added = changed = unchanged = 0
    for r in records:
        before = old.get(r.code)
        if before is None:
            inserts.append(_values(r, at_text))
            added += 1
            if r.barcodes:
                barcode_items.append(r.code)
            continue
        if before == r:
            unchanged += 1
            continue
        changed += 1
        updates.append(_values(r, at_text))
        if before.barcodes != r.barcodes:
            barcode_items.append(r.code)
        if before.price_fen != r.price_fen:
            history.append((r.code, "price", before.price_fen, r.price_fen))
        if before.member_price_fen != r.member_price_fen:
            history.append((r.code, "member_price", before.member_price_fen, r.member_price_fen))
    deactivate = [code for code, rec in old.items() if full and rec.active and code not in incoming]
    cur = conn.execute(
        "INSERT INTO catalogue_imports (at, by_user, source, sha256, full_import, added, changed, deactivated,"
        " unchanged) VALUES (?,?,?,?,?,?,?,?,?)",
        (at_text, by_user, source, sha256, int(full), added, changed, len(deactivate), unchanged))
    import_id = int(cur.lastrowid or 0)
    if barcode_items:
        conn.executemany("DELETE FROM item_barcodes WHERE item_code = ?", [(c,) for c in barcode_items])
    conn.executemany(
        "INSERT INTO catalogue_items (name_zh, name_en, price_fen, unit, category, points_excluded, active,"
        " unit_label, member_price_fen, tax_rate_bp, updated_at, code) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)", inserts)
    conn.executemany(
        "UPDATE catalogue_items SET name_zh=?, name_en=?, price_fen=?, unit=?, category=?, points_excluded=?,"
        " active=?, unit_label=?, member_price_fen=?, tax_rate_bp=?, updated_at=? WHERE code=?", updates)
    if barcode_items:
        # a barcode moved from an item kept unchanged in this file to another one: the file wins
        moved = [(b, code) for code in barcode_items for b in incoming[code].barcodes]
        conn.executemany("DELETE FROM item_barcodes WHERE barcode = ?", [(b,) for b, _ in moved])
        conn.executemany("INSERT INTO item_barcodes (barcode, item_code) VALUES (?, ?)", moved)
    if deactivate:
        conn.executemany("UPDATE catalogue_items SET active = 0, updated_at = ? WHERE code = ?",
                         [(at_text, c) for c in deactivate])
    conn.executemany(
        "INSERT INTO price_history (item_code, field, old_fen, new_fen, at, by_user, import_id)"
        " VALUES (?,?,?,?,?,?,?)", [(*h, at_text, by_user, import_id) for h in history])
    summary = ImportSummary(added, changed, len(deactivate), unchanged, len(history), import_id)
    append_audit(conn, at=at, user_id=None, user_name=by_user, action="catalogue.import", subject=source,
                 detail={"sha256": sha256, "full": full, "import_id": import_id, "added": added,
                         "changed": changed, "deactivated": len(deactivate), "unchanged": unchanged,
                         "price_changes": len(history)})
    return summary


def search_records(conn: sqlite3.Connection, text: str, limit: int = 100) -> list[ItemRecord]:
    """Items (active or not) whose code or barcode starts with ``text`` or whose name contains it."""
    text = text.strip()
    esc = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    codes = [r[0] for r in conn.execute(
        "SELECT code FROM catalogue_items WHERE code LIKE ? ESCAPE '\\' OR name_zh LIKE ? ESCAPE '\\'"
        " OR name_en LIKE ? ESCAPE '\\' OR code IN (SELECT item_code FROM item_barcodes WHERE barcode LIKE ?"
        " ESCAPE '\\') ORDER BY code LIMIT ?", (esc + "%", f"%{esc}%", f"%{esc}%", esc + "%", limit))]
    out = []
    for code in codes:
        r = conn.execute(_SELECT + " WHERE code = ?", (code,)).fetchone()
        barcodes = tuple(b[0] for b in conn.execute(
            "SELECT barcode FROM item_barcodes WHERE item_code = ? ORDER BY rowid", (code,)))
        out.append(ItemRecord(
            code=r[0], name_zh=r[1], name_en=r[2], price_fen=r[3], weighed=r[4] == "kg", category=r[5],
            points_excluded=bool(r[6]), active=bool(r[7]), unit_label=r[8], member_price_fen=r[9],
            tax_rate_bp=r[10], barcodes=barcodes))
    return out


def price_history(conn: sqlite3.Connection, item_code: str) -> list[PriceChange]:
    """The item's price changes, newest first."""
    return [PriceChange(*r) for r in conn.execute(
        "SELECT item_code, field, old_fen, new_fen, at, by_user FROM price_history WHERE item_code = ?"
        " ORDER BY id DESC", (item_code,))]
