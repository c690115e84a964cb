"""Users, PIN hashes and supervisor approvals in SQLite."""

from __future__ import annotations

import datetime as dt
import logging
import sqlite3

from pos_app.services.ports.users import ApprovalRecord, UserRecord

__all__ = ["SqliteUserRepository"]

logger = logging.getLogger(__name__)

_COLS = "id, number, name, role, active, card_code, failed_attempts, locked_until, created_at"


def _time(text: str | None) -> dt.datetime | None:
    return dt.datetime.fromisoformat(text) if text else None


def _user(row: sqlite3.Row | tuple[object, ...]) -> UserRecord:
    created = _time(str(row[8]))
    assert created is not None
    return UserRecord(id=int(str(row[0])), number=str(row[1]), name=str(row[2]), role=str(row[3]),
                      active=bool(row[4]), card_code=None if row[5] is None else str(row[5]),
                      failed_attempts=int(str(row[6])), locked_until=_time(None if row[7] is None else str(row[7])),
                      created_at=created)


def _iso(at: dt.datetime) -> str:
    return at.astimezone(dt.UTC).isoformat()


class SqliteUserRepository:
    """UserRepository on one connection (inside the caller's transaction)."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn

    def add(self, *, number: str, name: str, role: str, pin_hash: str, card_code: str | None,
            created_at: dt.datetime) -> int:
        cur = self._conn.execute(
            "INSERT INTO users (number, name, role, pin_hash, card_code, created_at) VALUES (?, ?, ?, ?, ?, ?)",
            (number, name, role, pin_hash, card_code, _iso(created_at)))
        return int(cur.lastrowid or 0)

    def get(self, user_id: int) -> UserRecord | None:
        row = self._conn.execute(f"SELECT {_COLS} FROM users WHERE id = ?", (user_id,)).fetchone()
        return _user(row) if row else None

    def find(self, number_or_card: str) -> UserRecord | None:
        row = self._conn.execute(f"SELECT {_COLS} FROM users WHERE number = ?", (number_or_card,)).fetchone()
        if row is None:
            row = self._conn.execute(f"SELECT {_COLS} FROM users WHERE card_code = ?",
                                     (number_or_card,)).fetchone()
        return _user(row) if row else None

    def pin_hash(self, user_id: int) -> str:
        row = self._conn.execute("SELECT pin_hash FROM users WHERE id = ?", (user_id,)).fetchone()
        return str(row[0]) if row else ""

    def list(self) -> list[UserRecord]:
        return [_user(r) for r in self._conn.execute(f"SELECT {_COLS} FROM users ORDER BY number")]

    def record_failure(self, user_id: int, failed_attempts: int, locked_until: dt.datetime | None) -> None:
        self._conn.execute("UPDATE users SET failed_attempts = ?, locked_until = ? WHERE id = ?",
                           (failed_attempts, _iso(locked_until) if locked_until else None, user_id))

    def record_success(self, user_id: int) -> None:
        self._conn.execute("UPDATE users SET failed_attempts = 0, locked_until = NULL WHERE id = ?", (user_id,))

    def set_active(self, user_id: int, active: bool) -> None:
        self._conn.execute("UPDATE users SET active = ? WHERE id = ?", (1 if active else 0, user_id))

    def set_pin(self, user_id: int, pin_hash: str) -> None:
        self._conn.execute("UPDATE users SET pin_hash = ?, failed_attempts = 0, locked_until = NULL WHERE id = ?",
                           (pin_hash, user_id))

    def add_approval(self, *, action: str, subject: str, shift_id: int | None, requested_by: int | None,
                     approved_by: int, reason_code: str, note: str, created_at: dt.datetime) -> int:
        cur = self._conn.execute(
            "INSERT INTO approvals (action, subject, shift_id, requested_by, approved_by, reason_code, note,"
            " created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (action, subject, shift_id, requested_by, approved_by, reason_code, note, _iso(created_at)))
        return int(cur.lastrowid or 0)

    def get_approval(self, approval_id: int) -> ApprovalRecord | None:
        row = self._conn.execute(
            "SELECT a.id, a.action, a.subject, a.shift_id, a.requested_by, a.approved_by, u.name, a.reason_code,"
            " a.note, a.created_at FROM approvals a JOIN users u ON u.id = a.approved_by WHERE a.id = ?",
            (approval_id,)).fetchone()
        if row is None:
            return None
        return ApprovalRecord(id=row[0], action=row[1], subject=row[2], shift_id=row[3], requested_by=row[4],
                              approved_by=row[5], approver_name=row[6], reason_code=row[7], note=row[8],
                              created_at=dt.datetime.fromisoformat(row[9]))
