"""Demo data: load resources/demo/catalogue.json and members.json idempotently; bulk loads for benchmarks."""

from __future__ import annotations

import datetime as dt
import json
import logging
import sqlite3
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from pos_app.domain.catalogue import CatalogueItem

from .catalogue import load_items
from .db import transaction

__all__ = ["seed_demo", "load_catalogue", "load_members"]

logger = logging.getLogger(__name__)


def _read(path: Path, key: str) -> list[Mapping[str, Any]]:
    if not path.exists():
        logger.info("no demo file %s", path)
        return []
    data = json.loads(path.read_text("utf-8"))
    if isinstance(data, Mapping):
        data = data.get(key, [])
    return [d for d in data if isinstance(d, Mapping)] if isinstance(data, list) else []


def load_catalogue(conn: sqlite3.Connection, items: Iterable[CatalogueItem | Mapping[str, Any]]) -> int:
    """Insert or replace catalogue items in one transaction; returns how many."""
    objs = [i if isinstance(i, CatalogueItem) else CatalogueItem.from_mapping(i) for i in items]
    with transaction(conn):
        return load_items(conn, objs)


def load_members(conn: sqlite3.Connection, members: Iterable[Mapping[str, Any]], *,
                 at: dt.datetime | None = None) -> int:
    """Add members that are not cached yet (with an 'opening' ledger entry and points_synced = points)."""
    stamp = (at or dt.datetime.now(dt.UTC)).isoformat()
    n = 0
    with transaction(conn):
        known = {r[0] for r in conn.execute("SELECT card_no FROM members")}
        rows = []
        ledger = []
        for m in members:
            card_no = str(m["card_no"])
            if card_no in known:
                continue
            known.add(card_no)
            points = int(m.get("points") or 0)
            rows.append((card_no, m.get("biz_card_no") or None, str(m.get("name") or ""), str(m.get("phone") or ""),
                         str(m.get("level") or ""), points, stamp))
            ledger.append((card_no, points, points, stamp))
        conn.executemany("INSERT INTO members (card_no, biz_card_no, name, phone, level, points_synced, updated_at)"
                         " VALUES (?,?,?,?,?,?,?)", rows)
        conn.executemany("INSERT INTO points_ledger (card_no, kind, points, balance_after, reason, created_at)"
                         " VALUES (?, 'opening', ?, ?, 'opening balance', ?)", ledger)
        n = len(rows)
    return n


def seed_demo(conn: sqlite3.Connection, resources_dir: Path | str) -> tuple[int, int]:
    """Load the demo catalogue and members (idempotent); returns (items, new members)."""
    base = Path(resources_dir)
    demo = base / "demo" if (base / "demo").is_dir() else base
    items = load_catalogue(conn, _read(demo / "catalogue.json", "items"))
    members = load_members(conn, _read(demo / "members.json", "members"))
    logger.info("demo data: %d catalogue items, %d new members", items, members)
    return items, members
