"""SQLite member cache and points ledger (the ledger is the only writer of points)."""

from __future__ import annotations

import logging
import sqlite3

from pos_app.services.ports.members import MemberRecord

__all__ = ["SqliteMembers"]

logger = logging.getLogger(__name__)

_SELECT = ("SELECT m.card_no, m.biz_card_no, m.name, m.phone, m.level, m.points_synced,"
           " COALESCE((SELECT balance_after FROM points_ledger l WHERE l.card_no = m.card_no"
           " ORDER BY l.id DESC LIMIT 1), 0), m.user_id, m.refreshed_at, m.alipay_card FROM members m")


def _member(r: sqlite3.Row) -> MemberRecord:
    (card_no, biz, name, phone, level, synced, balance, user_id, refreshed_at, card) = tuple(r)
    return MemberRecord(card_no, biz, name, phone, level, synced, balance, user_id, refreshed_at, bool(card))


class SqliteMembers:
    """Members and their points ledger on one connection, inside the caller's transaction."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn

    def get(self, card_no: str) -> MemberRecord | None:
        r = self._conn.execute(_SELECT + " WHERE m.card_no = ?", (card_no,)).fetchone()
        return _member(r) if r else None

    def by_biz_card_no(self, biz_card_no: str) -> MemberRecord | None:
        r = self._conn.execute(_SELECT + " WHERE m.biz_card_no = ?", (biz_card_no,)).fetchone()
        return _member(r) if r else None

    def search(self, text: str, limit: int = 20) -> list[MemberRecord]:
        """By card number (exact, then prefix), full phone, or the phone's last four digits (text cut at 100)."""
        text = text.strip()[:100].strip()
        if not text:
            return []
        rows = self._conn.execute(_SELECT + " WHERE m.card_no = ? OR m.biz_card_no = ? OR m.phone = ? LIMIT ?",
                                  (text, text, text, limit)).fetchall()
        if not rows and text.isdigit() and len(text) == 4:
            rows = self._conn.execute(_SELECT + " WHERE m.phone LIKE ? ORDER BY m.card_no LIMIT ?",
                                      ("%" + text, limit)).fetchall()
        if not rows and len(text) >= 4:
            rows = self._conn.execute(_SELECT + " WHERE m.card_no >= ? AND m.card_no < ? ORDER BY m.card_no LIMIT ?",
                                      (text, text + "\uffff", limit)).fetchall()
        return [_member(r) for r in rows]

    def upsert(self, *, card_no: str, biz_card_no: str | None, name: str, phone: str, level: str,
               points_synced: int | None, user_id: str, refreshed_at: str | None, updated_at: str) -> bool:
        """Insert or update a cached member; returns True if it was new. ``None`` keeps the old value."""
        exists = self._conn.execute("SELECT 1 FROM members WHERE card_no = ?", (card_no,)).fetchone()
        if exists:
            self._conn.execute(
                "UPDATE members SET biz_card_no = COALESCE(?, biz_card_no), name = CASE WHEN ? = '' THEN name"
                " ELSE ? END, phone = CASE WHEN ? = '' THEN phone ELSE ? END, level = CASE WHEN ? = '' THEN level"
                " ELSE ? END, points_synced = COALESCE(?, points_synced), user_id = CASE WHEN ? = '' THEN user_id"
                " ELSE ? END, refreshed_at = COALESCE(?, refreshed_at), updated_at = ?,"
                " alipay_card = MAX(alipay_card, ?) WHERE card_no = ?",  # Alipay named its card: it holds one
                (biz_card_no, name, name, phone, phone, level, level, points_synced, user_id, user_id,
                 refreshed_at, updated_at, int(bool(biz_card_no)), card_no))
            return False
        self._conn.execute(
            "INSERT INTO members (card_no, biz_card_no, name, phone, level, points_synced, user_id, refreshed_at,"
            " updated_at) VALUES (?,?,?,?,?,?,?,?,?)",
            (card_no, biz_card_no, name, phone, level, points_synced or 0, user_id, refreshed_at, updated_at))
        return True

    def balance(self, card_no: str) -> int:
        r = self._conn.execute("SELECT balance_after FROM points_ledger WHERE card_no = ? ORDER BY id DESC LIMIT 1",
                               (card_no,)).fetchone()
        return int(r[0]) if r else 0

    def add_ledger(self, card_no: str, *, kind: str, points: int, sale_id: int | None, refund_id: int | None,
                   reason: str, at: str, entry_id: str | None = None) -> int:
        """Append one ledger entry; returns the balance after it. ``entry_id``: the store's key of this entry
        (a redemption held at the store before payment, store mode)."""
        after = self.balance(card_no) + points
        self._conn.execute(
            "INSERT INTO points_ledger (card_no, kind, points, balance_after, sale_id, refund_id, reason, created_at,"
            " entry_id) VALUES (?,?,?,?,?,?,?,?,?)",
            (card_no, kind, points, after, sale_id, refund_id, reason, at, entry_id))
        return after

    def ledger_for_sale(self, sale_id: int) -> list[tuple[str, int]]:
        rows = self._conn.execute("SELECT kind, points FROM points_ledger WHERE sale_id = ? ORDER BY id",
                                  (sale_id,)).fetchall()
        return [(str(r[0]), int(r[1])) for r in rows]
