"""Add users from a validated users file in one transaction (audited; PIN hashes never logged)."""

from __future__ import annotations

import datetime as dt
import sqlite3
from collections.abc import Sequence
from typing import Protocol

from .audit import append_audit
from .db import transaction

__all__ = ["apply_users", "UsersRefused"]


class _UserRow(Protocol):
    @property
    def number(self) -> str: ...

    @property
    def name(self) -> str: ...

    @property
    def role(self) -> str: ...

    @property
    def card_code(self) -> str: ...

    @property
    def pin_hash(self) -> str: ...


class UsersRefused(Exception):
    """A row cannot be added (its card code belongs to another user); nothing was written."""


def apply_users(conn: sqlite3.Connection, rows: Sequence[_UserRow], *, by_user: str, source: str,
                at: dt.datetime) -> tuple[int, int, list[str]]:
    """(added, already present, numbers added without a PIN). Users already present are left as they are."""
    added = skipped = 0
    no_pin: list[str] = []
    with transaction(conn):
        known = {r[0] for r in conn.execute("SELECT number FROM users")}
        cards = {r[0] for r in conn.execute("SELECT card_code FROM users WHERE card_code IS NOT NULL")}
        for u in rows:
            if u.number in known:
                skipped += 1
                continue
            if u.card_code and u.card_code in cards:
                raise UsersRefused(f"user {u.number}: card code already belongs to another user")
            conn.execute("INSERT INTO users (number, name, role, pin_hash, card_code, created_at)"
                         " VALUES (?,?,?,?,?,?)", (u.number, u.name, u.role, u.pin_hash, u.card_code or None,
                                                   at.isoformat()))
            append_audit(conn, at=at, user_id=None, user_name=by_user, action="user.add", subject=u.number,
                         detail={"name": u.name, "role": u.role, "source": source, "pin_set": bool(u.pin_hash)})
            added += 1
            if not u.pin_hash:
                no_pin.append(u.number)
    return added, skipped, no_pin
