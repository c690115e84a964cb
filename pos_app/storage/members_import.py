"""Apply a validated members file to the terminal's SQLite file in one transaction.

New members get their opening points as one ``opening`` ledger entry each (audited), and, when they
hold the Alipay card, one ``card.update`` outbox row with the absolute points, sent by the existing
sync worker. A member already on this terminal keeps its ledger (re-importing adds no points);
only its name, phone, level and Alipay card number are updated.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import sqlite3
import uuid
from collections.abc import Sequence

from pos_app.domain.member_rows import MemberRow
from pos_app.services.ports.card_events import CardRequests, CardUpdate

from .audit import append_audit
from .db import transaction
from .outbox import enqueue

__all__ = ["MembersSummary", "apply_members", "read_members"]


@dataclasses.dataclass(frozen=True)
class MembersSummary:
    added: int
    changed: int
    unchanged: int
    points_entries: int
    card_updates: int

    def line(self) -> str:
        return (f"added {self.added}, changed {self.changed}, unchanged {self.unchanged}; "
                f"{self.points_entries} opening points entries, {self.card_updates} Alipay card updates queued")


def read_members(conn: sqlite3.Connection) -> list[MemberRow]:
    """Every cached member with its current ledger balance (as the export writes them)."""
    rows = conn.execute(
        "SELECT m.card_no, m.phone, m.name, m.level, COALESCE((SELECT balance_after FROM points_ledger l"
        " WHERE l.card_no = m.card_no ORDER BY l.id DESC LIMIT 1), 0), COALESCE(m.biz_card_no, '')"
        " FROM members m ORDER BY m.card_no").fetchall()
    return [MemberRow(card_no=r[0], phone=r[1], name=r[2], level=r[3], opening_points=r[4], biz_card_no=r[5],
                      has_card=bool(r[5])) for r in rows]




def apply_members(conn: sqlite3.Connection, members: Sequence[MemberRow], *, by_user: str, source: str,
                  at: dt.datetime, card_requests: CardRequests, dry_run: bool = False) -> MembersSummary:
    """Write ``members`` (validated) in one transaction; ``dry_run`` rolls back after counting."""

    class _DryRun(Exception):
        pass

    result = MembersSummary(0, 0, 0, 0, 0)
    try:
        with transaction(conn):
            result = _apply(conn, members, by_user=by_user, source=source, at=at, card_requests=card_requests)
            if dry_run:
                raise _DryRun
    except _DryRun:
        pass
    return result


def _apply(conn: sqlite3.Connection, members: Sequence[MemberRow], *, by_user: str, source: str,
           at: dt.datetime, card_requests: CardRequests) -> MembersSummary:
    stamp = at.astimezone(dt.UTC).isoformat()
    existing = {r[0]: tuple(r[1:]) for r in conn.execute(
        "SELECT card_no, name, phone, level, COALESCE(biz_card_no, '') FROM members")}
    with_ledger = {r[0] for r in conn.execute("SELECT DISTINCT card_no FROM points_ledger")}
    new_rows, updates, ledger = [], [], []
    added = changed = unchanged = 0
    for m in members:
        old = existing.get(m.card_no)
        if old is None:
            added += 1
            new_rows.append((m.card_no, m.biz_card_no or None, m.name, m.phone, m.level, stamp, int(m.has_card)))
        elif old != (m.name, m.phone, m.level, m.biz_card_no or old[3]):
            changed += 1
            updates.append((m.name, m.phone, m.level, m.biz_card_no or None, stamp, m.card_no))
        else:
            unchanged += 1
        if m.card_no not in with_ledger:
            ledger.append(m)
    conn.executemany("INSERT INTO members (card_no, biz_card_no, name, phone, level, points_synced, updated_at,"
                     " alipay_card) VALUES (?,?,?,?,?,0,?,?)", new_rows)
    # a file can say a member now holds the Alipay card; it cannot take back a card Alipay issued
    conn.executemany("UPDATE members SET alipay_card = 1 WHERE card_no = ? AND alipay_card = 0",
                     [(m.card_no,) for m in members if m.has_card and m.card_no in existing])
    conn.executemany("UPDATE members SET name=?, phone=?, level=?, biz_card_no=COALESCE(?, biz_card_no),"
                     " updated_at=? WHERE card_no=?", updates)
    reason = f"opening balance (import {source})"
    conn.executemany(
        "INSERT INTO points_ledger (card_no, kind, points, balance_after, reason, created_at)"
        " VALUES (?, 'opening', ?, ?, ?, ?)", [(m.card_no, m.opening_points, m.opening_points, reason, stamp)
                                              for m in ledger])
    cards = 0
    for m in ledger:
        append_audit(conn, at=at, user_id=None, user_name=by_user, action="member.opening_points",
                     subject=m.card_no[-4:], detail={"points": m.opening_points, "source": source,
                                                     "card_update": m.has_card})
        if m.has_card:
            req = card_requests.request(CardUpdate(
                card_no=m.card_no, biz_card_no=m.biz_card_no or None, level=m.level, occur_time=at,
                points_after=m.opening_points, changed_point=m.opening_points))
            enqueue(conn, event_id=f"EM{uuid.uuid4().hex}", kind=req.kind, card_no=m.card_no, method=req.method,
                    body=req.body, created_at=at, points_after=m.opening_points)
            cards += 1
    append_audit(conn, at=at, user_id=None, user_name=by_user, action="members.import", subject=source,
                 detail={"added": added, "changed": changed, "unchanged": unchanged, "points_entries": len(ledger),
                         "card_updates": cards})
    return MembersSummary(added, changed, unchanged, len(ledger), cards)
