"""Append-only, hash-chained audit log (SHA-256 over a canonical encoding of each entry)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import hmac
import json
import sqlite3
from collections.abc import Mapping
from typing import Any

from .integrity import audit_key_for, mark_dirty

__all__ = ["GENESIS", "AuditBreak", "SqliteAuditLog", "append_audit", "audit_entries", "entry_hash", "verify_chain"]

GENESIS = "0" * 64
_FORBIDDEN_KEYS = ("pin", "auth_code", "private_key", "passphrase", "sign", "password")


def _canonical(value: Mapping[str, Any]) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def entry_hash(prev_hash: str, at: str, user_id: int | None, user_name: str, action: str, subject: str,
               detail: str, *, key: bytes | None = None) -> str:
    """The hash of one entry over the canonical JSON of its fields and the previous hash: with the terminal's
    audit key ``k1:`` + HMAC-SHA256 (cannot be recomputed without the secret), else the legacy SHA-256."""
    payload = _canonical({"prev": prev_hash, "at": at, "user_id": user_id, "user_name": user_name,
                          "action": action, "subject": subject, "detail": detail}).encode("utf-8")
    if key is not None:
        return "k1:" + hmac.new(key, payload, hashlib.sha256).hexdigest()
    return hashlib.sha256(payload).hexdigest()


def append_audit(conn: sqlite3.Connection, *, at: dt.datetime, user_id: int | None, user_name: str,
                 action: str, subject: str = "", detail: Mapping[str, Any] | None = None) -> int:
    """Append one entry inside the caller's transaction; returns its id.

    ``detail`` must not carry secrets: keys named like PINs, payment codes or keys are refused.
    """
    detail = dict(detail or {})
    for key in detail:
        if any(bad == key.lower() or key.lower().endswith("_" + bad) for bad in _FORBIDDEN_KEYS):
            raise ValueError(f"audit detail must not contain secrets ({key!r})")
    row = conn.execute("SELECT hash FROM audit_log ORDER BY id DESC LIMIT 1").fetchone()
    prev = row[0] if row else GENESIS
    at_text = at.astimezone(dt.UTC).isoformat()
    detail_text = _canonical(detail)
    digest = entry_hash(prev, at_text, user_id, user_name, action, subject, detail_text, key=audit_key_for(conn))
    mark_dirty(conn)
    cur = conn.execute(
        "INSERT INTO audit_log (at, user_id, user_name, action, subject, detail, prev_hash, hash)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (at_text, user_id, user_name, action, subject, detail_text, prev, digest))
    return int(cur.lastrowid or 0)


@dataclasses.dataclass(frozen=True)
class AuditBreak:
    """The first entry whose hash or link does not verify."""

    entry_id: int
    reason: str


def verify_chain(conn: sqlite3.Connection, key: bytes | None = None) -> tuple[int, AuditBreak | None]:
    """Walk the whole chain; returns (entries checked, first break or None). Keyed entries need ``key``
    (by default the key registered for, or named by, this database)."""
    from .integrity import check

    rep = check(conn, key if key is not None else audit_key_for(conn), None, full=True)
    if rep.first_bad is None:
        return rep.entries_checked, None
    return rep.entries_checked, AuditBreak(rep.first_bad, rep.problems[0])


class SqliteAuditLog:
    """The AuditPort on one connection: appends inside the caller's transaction."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn

    def append(self, *, at: dt.datetime, user_id: int | None, user_name: str, action: str, subject: str = "",
               detail: Mapping[str, Any] | None = None) -> int:
        return append_audit(self._conn, at=at, user_id=user_id, user_name=user_name, action=action,
                            subject=subject, detail=detail)

    def head(self) -> tuple[int, str] | None:
        """The newest entry's id and hash (printed on Z reports; compared with the anchor file)."""
        from .integrity import audit_head

        return audit_head(self._conn)


def audit_entries(conn: sqlite3.Connection, *, limit: int = 50) -> list[dict[str, Any]]:
    """The newest entries (newest first) as plain dicts, for display."""
    return [dict(zip(("id", "at", "user_name", "action", "subject", "detail"), row, strict=True))
            for row in conn.execute("SELECT id, at, user_name, action, subject, detail FROM audit_log"
                                    " ORDER BY id DESC LIMIT ?", (limit,))]
