"""Pruning of rows whose work is finished. The audit log is never pruned (it keeps what happened)."""

from __future__ import annotations

import datetime as dt
import logging
import sqlite3

from .db import transaction

__all__ = ["prune_outbox"]

logger = logging.getLogger(__name__)


def prune_outbox(conn: sqlite3.Connection, *, older_than: dt.datetime, batch: int = 500) -> int:
    """Delete outbox rows sent ('done') or set aside by a supervisor ('discarded') before ``older_than``.

    Pending and dead rows are kept whatever their age (they still need the worker or a person). Deletes
    in short transactions of ``batch`` rows so a cashier's commit never waits long; returns the count.
    """
    cutoff = older_than.astimezone(dt.UTC).isoformat()
    total = 0
    while True:
        with transaction(conn):
            cur = conn.execute(
                "DELETE FROM outbox WHERE id IN (SELECT id FROM outbox WHERE state IN ('done', 'discarded')"
                " AND COALESCE(done_at, created_at) < ? LIMIT ?)", (cutoff, batch))
            n = cur.rowcount
        total += n
        if n < batch:
            break
    if total:
        logger.info("outbox: %d finished rows older than %s pruned", total, cutoff)
    return total
