"""The durable outbox: rows written in the caller's transaction, drained by the sync worker."""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from collections.abc import Mapping
from typing import Any

__all__ = ["KIND_METHOD", "enqueue"]

KIND_METHOD = {
    "card.consume_sync": "alipay.marketing.card.consume.sync",
    "card.update": "alipay.marketing.card.update",
}


def enqueue(conn: sqlite3.Connection, *, event_id: str, kind: str, card_no: str, body: Mapping[str, Any],
            created_at: dt.datetime, points_after: int | None = None, sale_id: int | None = None,
            refund_id: int | None = None) -> int:
    """Add one pending row inside the caller's transaction. ``body`` is frozen here, byte for byte."""
    if kind not in KIND_METHOD:
        raise ValueError(f"unknown outbox kind {kind!r}")
    body_json = json.dumps(body, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    cur = conn.execute(
        "INSERT INTO outbox (event_id, kind, card_no, method, body_json, points_after, state, attempts,"
        " next_attempt_at, sale_id, refund_id, created_at) VALUES (?, ?, ?, ?, ?, ?, 'pending', 0, 0, ?, ?, ?)",
        (event_id, kind, card_no, KIND_METHOD[kind], body_json, points_after, sale_id, refund_id,
         created_at.astimezone(dt.UTC).isoformat()))
    return int(cur.lastrowid or 0)
