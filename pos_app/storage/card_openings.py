"""Members created by the card-opening endpoint (lane database): one transaction per opening."""

from __future__ import annotations

import datetime as dt
import sqlite3

from pos_app.domain.card_template import OpenedCard
from pos_app.services.ports.clock import BEIJING

from .db import transaction

__all__ = ["SqliteOpeningStore"]

_TS = "%Y-%m-%d %H:%M:%S"


class SqliteOpeningStore:
    def __init__(self, conn: sqlite3.Connection, valid_days: int = 3650) -> None:
        self._conn = conn
        self._valid_days = valid_days

    def _card(self, row: tuple[object, ...] | None) -> OpenedCard | None:
        if row is None:
            return None
        card_no, level, points, created = str(row[0]), str(row[1]), int(str(row[2])), str(row[3])
        opened = dt.datetime.fromisoformat(created).astimezone(BEIJING)
        return OpenedCard(card_no, level, points, opened.strftime(_TS),
                          (opened + dt.timedelta(days=self._valid_days)).strftime(_TS), created=False)

    _SELECT = ("SELECT o.card_no, m.level, coalesce((SELECT balance_after FROM points_ledger l WHERE l.card_no ="
               " o.card_no ORDER BY l.id DESC LIMIT 1), 0), o.created_at FROM card_openings o"
               " JOIN members m ON m.card_no = o.card_no")

    def opened(self, request_id: str) -> OpenedCard | None:
        return self._card(self._conn.execute(self._SELECT + " WHERE o.request_id = ?", (request_id,)).fetchone())

    def by_user(self, user_id: str) -> OpenedCard | None:
        return self._card(self._conn.execute(self._SELECT + " WHERE o.user_id = ? ORDER BY o.created_at LIMIT 1",
                                             (user_id,)).fetchone())

    def create(self, *, request_id: str, mode: str, template_id: str, user_id: str, phone: str, name: str,
               level: str, points: int, prefix: str, length: int, at: dt.datetime, open_date: str,
               valid_date: str) -> OpenedCard:
        stamp = at.astimezone(dt.UTC).isoformat()
        with transaction(self._conn):
            row = self._conn.execute("SELECT value FROM counters WHERE name = 'card_no'").fetchone()
            seq = int(row[0]) if row else 0
            width = length - len(prefix)
            while True:
                seq += 1
                card_no = f"{prefix}{seq:0{width}d}"
                if self._conn.execute("SELECT 1 FROM members WHERE card_no = ?", (card_no,)).fetchone() is None:
                    break
            self._conn.execute("INSERT INTO counters (name, value) VALUES ('card_no', ?)"
                               " ON CONFLICT (name) DO UPDATE SET value = excluded.value", (seq,))
            self._conn.execute("INSERT INTO members (card_no, name, phone, level, points_synced, user_id, updated_at)"
                               " VALUES (?, ?, ?, ?, ?, ?, ?)", (card_no, name or "会员", phone, level, points,
                                                                 user_id, stamp))
            self._conn.execute("INSERT INTO points_ledger (card_no, kind, points, balance_after, reason, created_at)"
                               " VALUES (?, 'opening', ?, ?, 'card opened', ?)", (card_no, points, points, stamp))
            self._conn.execute("INSERT INTO card_openings (request_id, mode, template_id, user_id, card_no,"
                               " created_at) VALUES (?, ?, ?, ?, ?, ?)",
                               (request_id, mode, template_id, user_id, card_no, stamp))
        return OpenedCard(card_no, level, points, open_date, valid_date, created=True)

    def set_biz_card_no(self, card_no: str, biz_card_no: str) -> None:
        with transaction(self._conn):
            self._conn.execute("UPDATE members SET biz_card_no = ?, alipay_card = 1 WHERE card_no = ?",
                               (biz_card_no, card_no))
            self._conn.execute("UPDATE card_openings SET biz_card_no = ? WHERE card_no = ?", (biz_card_no, card_no))
