"""What the store's administrator keeps on the store server: users (a cashier logs in at any lane), the store's
settings, and members imported from a file (with their opening points in the ledger). Lanes pull all three."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg.types.json import Jsonb

from pos_app.domain.member_rows import MemberRow

from .errors import StoreRefused

__all__ = ["put_user", "set_user_active", "list_users", "put_setting", "delete_setting", "list_settings",
           "import_members", "StoreMembersSummary", "OPENING_NS"]

ROLES = ("cashier", "supervisor", "admin")
# opening points of an imported member: one ledger entry per member, whatever the number of imports
OPENING_NS = uuid.UUID("5f0c2a53-7d5e-4c1e-9a43-3f1f5b1d0e11")


def put_user(conn: psycopg.Connection[Any], *, number: str, name: str, role: str, verifier: str,
             card_code: str | None, by: str) -> bool:
    """Add a user or replace its name, role, PIN verifier and card; True if it was new."""
    if role not in ROLES:
        raise StoreRefused(f"role must be one of {', '.join(ROLES)}, not {role!r}")
    if not verifier.startswith("kscrypt$"):
        raise StoreRefused("the PIN verifier must be keyed with the store's PIN key")
    with conn.transaction():
        if card_code and conn.execute("SELECT 1 FROM pos.store_user WHERE card_code = %s AND number <> %s",
                                      (card_code, number)).fetchone():
            raise StoreRefused(f"card code {card_code[:2]}... belongs to another user")
        new = conn.execute("SELECT 1 FROM pos.store_user WHERE number = %s", (number,)).fetchone() is None
        conn.execute("INSERT INTO pos.store_user (number, name, role, pin_verifier, card_code, updated_by) "
                     "VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT (number) DO UPDATE SET name = excluded.name, "
                     "role = excluded.role, pin_verifier = excluded.pin_verifier, card_code = excluded.card_code, "
                     "updated_by = excluded.updated_by, active = true, deleted = false",
                     (number, name, role, verifier, card_code, by))
    return new


def set_user_active(conn: psycopg.Connection[Any], number: str, active: bool, *, by: str) -> None:
    cur = conn.execute("UPDATE pos.store_user SET active = %s, updated_by = %s WHERE number = %s AND NOT deleted",
                       (active, by, number))
    if cur.rowcount != 1:
        raise StoreRefused(f"no store user {number!r}")


def list_users(conn: psycopg.Connection[Any]) -> list[tuple[str, str, str, bool]]:
    return [(r[0], r[1], r[2], bool(r[3])) for r in conn.execute(
        "SELECT number, name, role, active AND NOT deleted FROM pos.store_user ORDER BY number")]


def put_setting(conn: psycopg.Connection[Any], key: str, value: Any) -> None:
    conn.execute("INSERT INTO pos.store_setting (key, value) VALUES (%s, %s) ON CONFLICT (key) DO UPDATE SET "
                 "value = excluded.value, deleted = false", (key, Jsonb(value)))


def delete_setting(conn: psycopg.Connection[Any], key: str) -> None:
    conn.execute("DELETE FROM pos.store_setting WHERE key = %s", (key,))   # a tombstone (trigger)


def list_settings(conn: psycopg.Connection[Any]) -> dict[str, Any]:
    return {r[0]: r[1] for r in conn.execute("SELECT key, value FROM pos.store_setting WHERE NOT deleted ORDER BY key")}


@dataclass(frozen=True)
class StoreMembersSummary:
    added: int
    changed: int
    unchanged: int
    opening_entries: int
    card_updates: int

    def line(self) -> str:
        return (f"store server: added {self.added}, changed {self.changed}, unchanged {self.unchanged}; "
                f"{self.opening_entries} opening points entries, {self.card_updates} Alipay card updates queued")


def import_members(conn: psycopg.Connection[Any], members: Sequence[MemberRow], *, dry_run: bool = False
                   ) -> StoreMembersSummary:
    """Validated members into pos.member in one transaction. A member new to the store ledger gets its opening
    points as one adjust entry (a key made from the card number: a re-import adds nothing); the store's card worker
    sends card.update for those who hold the Alipay card. Existing members keep their points."""

    class _DryRun(Exception):
        pass

    summary = StoreMembersSummary(0, 0, 0, 0, 0)
    try:
        with conn.transaction():
            cards = [m.card_no for m in members]
            old: Mapping[str, tuple[Any, ...]] = {r[0]: tuple(r[1:]) for r in conn.execute(
                "SELECT member_id, name, phone, level, coalesce(biz_card_no, ''), deleted FROM pos.member "
                "WHERE member_id = ANY(%s) FOR UPDATE", (cards,))}
            in_ledger = {r[0] for r in conn.execute(
                "SELECT member_id FROM pos.member_points WHERE member_id = ANY(%s)", (cards,))}
            added = changed = unchanged = 0
            writes = []
            for m in members:
                before = old.get(m.card_no)
                if before is None:
                    added += 1
                elif before != (m.name, m.phone, m.level, m.biz_card_no or before[3], False):
                    changed += 1
                else:
                    unchanged += 1
                    continue
                writes.append((m.card_no, m.biz_card_no or None, m.name, m.phone, m.level))
            opening = [m for m in members if m.card_no not in in_ledger]
            with conn.cursor() as cur:
                cur.executemany(
                    b"INSERT INTO pos.member (member_id, biz_card_no, name, phone, level) VALUES (%s, %s, %s, %s, %s) "
                    b"ON CONFLICT (member_id) DO UPDATE SET biz_card_no = coalesce(excluded.biz_card_no, "
                    b"pos.member.biz_card_no), name = excluded.name, phone = excluded.phone, level = excluded.level, "
                    b"deleted = false", writes)
                cur.executemany(b"SELECT pos.adjust_points(%s, %s, %s)",
                                [(m.card_no, m.opening_points, uuid.uuid5(OPENING_NS, m.card_no)) for m in opening])
            no_card = [m.card_no for m in opening if not m.has_card]
            if no_card:   # no Alipay card to update for them
                conn.execute("DELETE FROM pos.card_outbox WHERE member_id = ANY(%s) AND kind = 'update' "
                             "AND state = 'pending' AND request IS NULL", (no_card,))
            summary = StoreMembersSummary(added, changed, unchanged, len(opening), len(opening) - len(no_card))
            if dry_run:
                raise _DryRun
    except _DryRun:
        pass
    return summary
