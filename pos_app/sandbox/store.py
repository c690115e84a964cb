"""Persistence for the sandbox gateway: a small SQLite key/value file, written through after each change."""

from __future__ import annotations

import json
import logging
import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

__all__ = ["KvStore"]

logger = logging.getLogger(__name__)


class KvStore:
    """``(kind, key) -> JSON value`` rows in ``state.sqlite3``; thread-safe through one lock."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._conn = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute("PRAGMA synchronous=NORMAL")
        self._conn.execute(
            "CREATE TABLE IF NOT EXISTS kv (kind TEXT NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL,"
            " PRIMARY KEY (kind, key))"
        )

    def load(self, kind: str) -> Iterator[tuple[str, Any]]:
        """Every ``(key, value)`` of ``kind``."""
        with self._lock:
            rows = self._conn.execute("SELECT key, value FROM kv WHERE kind = ?", (kind,)).fetchall()
        for key, value in rows:
            yield key, json.loads(value)

    def write(self, puts: list[tuple[str, str, Any]], deletes: list[tuple[str, str]]) -> None:
        """Apply puts and deletes in one transaction."""
        if not puts and not deletes:
            return
        with self._lock:
            self._conn.execute("BEGIN")
            try:
                self._conn.executemany(
                    "INSERT OR REPLACE INTO kv (kind, key, value) VALUES (?, ?, ?)",
                    [(k, key, json.dumps(v, ensure_ascii=False)) for k, key, v in puts],
                )
                self._conn.executemany("DELETE FROM kv WHERE kind = ? AND key = ?", deletes)
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")

    def clear(self, keep_kinds: tuple[str, ...] = ()) -> None:
        """Delete everything except the given kinds."""
        with self._lock:
            marks = ",".join("?" for _ in keep_kinds) or "''"
            self._conn.execute(f"DELETE FROM kv WHERE kind NOT IN ({marks})", keep_kinds)  # noqa: S608

    def close(self) -> None:
        with self._lock:
            self._conn.close()
