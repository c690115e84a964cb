"""The durable outbox: rows written in the caller's transaction, drained by the sync worker."""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import logging
import os
import re
import sqlite3
from collections.abc import Mapping
from pathlib import Path
from typing import IO, Any

from pos_app.domain.codes import mask_code
from pos_app.services.ports.card_events import OUTBOX_KINDS
from pos_app.services.ports.outbox import OutboxOutcome, OutboxRow, OutboxStats, SyncApprover

from .audit import append_audit
from .db import connect, transaction

__all__ = [
    "enqueue",
    "outbox_stats",
    "row_from_sql",
    "mask_card",
    "OutboxRepository",
    "SqliteOutboxQueue",
]

logger = logging.getLogger(__name__)


_COLUMNS = ("id, event_id, kind, card_no, method, body_json, points_after, state, attempts, next_attempt_at,"
            " last_error, created_at, done_at, sale_id, refund_id")
_COALESCE_SCAN = 200          # how far ahead one card's run of card.update rows is looked for
_CHUNK = 200                  # rows per short write transaction when many rows change at once


def enqueue(conn: sqlite3.Connection, *, event_id: str, kind: str, card_no: str, method: str,
            body: Mapping[str, Any], created_at: dt.datetime, points_after: int | None = None,
            sale_id: int | None = None, refund_id: int | None = None) -> int:
    """Add one pending row inside the caller's transaction. ``method`` and ``body`` (an OutboxRequest's, made
    by pos_app.alipay.card_requests) are frozen here, byte for byte, and sent as they are.

    A card row for a member who holds no Alipay card (``members.alipay_card = 0``: imported from another
    system without one) is not added: Alipay would refuse it (CARD_NOT_EXIST) and it would sit among the
    failed rows for good. The points stay in the ledger; the first card row after the member gets the card
    carries the whole balance (``card.update`` sends the balance, not a delta). Returns 0 then.
    """
    if kind not in OUTBOX_KINDS:
        raise ValueError(f"unknown outbox kind {kind!r}")
    if not method:
        raise ValueError("an outbox row needs the method it is sent with")
    if kind.startswith("card.") and _no_alipay_card(conn, card_no):
        logger.info("member %s holds no Alipay card: %s kept on the terminal only (points in the ledger)",
                    mask_code(card_no), kind)
        return 0
    body_json = json.dumps(body, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    cur = conn.execute(
        "INSERT INTO outbox (event_id, kind, card_no, method, body_json, points_after, state, attempts,"
        " next_attempt_at, sale_id, refund_id, created_at) VALUES (?, ?, ?, ?, ?, ?, 'pending', 0, 0, ?, ?, ?)",
        (event_id, kind, card_no, method, body_json, points_after, sale_id, refund_id,
         created_at.astimezone(dt.UTC).isoformat()))
    return int(cur.lastrowid or 0)


def _no_alipay_card(conn: sqlite3.Connection, card_no: str) -> bool:
    row = conn.execute("SELECT alipay_card FROM members WHERE card_no = ?", (card_no,)).fetchone()
    return row is not None and int(row[0]) == 0


def outbox_stats(conn: sqlite3.Connection) -> dict[str, Any]:
    """Queue figures for the status bar and the X/Z reports (read-only, no transaction needed).

    Keys: ``pending`` (int), ``oldest_pending_created_at`` (ISO text or None), ``dead`` (int),
    ``discarded`` (int).
    """
    counts = {state: n for state, n in conn.execute(
        "SELECT state, count(*) FROM outbox WHERE state IN ('pending', 'dead', 'discarded') GROUP BY state")}
    oldest = conn.execute("SELECT min(created_at) FROM outbox WHERE state = 'pending'").fetchone()[0]
    return {"pending": int(counts.get("pending", 0)), "oldest_pending_created_at": oldest,
            "dead": int(counts.get("dead", 0)), "discarded": int(counts.get("discarded", 0))}


def row_from_sql(r: sqlite3.Row | tuple[Any, ...]) -> OutboxRow:
    """An OutboxRow from a row selected with the module's column list."""
    return OutboxRow(id=int(r[0]), event_id=str(r[1]), kind=str(r[2]), card_no=str(r[3]), method=str(r[4]),
                     body_json=str(r[5]), points_after=None if r[6] is None else int(r[6]), state=str(r[7]),
                     attempts=int(r[8]), next_attempt_at=float(r[9]), last_error=str(r[10]),
                     created_at=str(r[11]), done_at=r[12], sale_id=r[13], refund_id=r[14])


mask_card = mask_code  # the one masking function (pos_app.domain.codes): card numbers never whole in logs


_LONG_DIGITS = re.compile(r"\d{8,}")


def _clean_error(text: str) -> str:
    """Keep stored errors short and free of whole card or trade numbers."""
    return _LONG_DIGITS.sub(lambda m: mask_card(m.group(0)), text)[:300]


def _iso(at: dt.datetime) -> str:
    return at.astimezone(dt.UTC).isoformat()


class OutboxRepository:
    """The outbox inside a unit of work (the caller's transaction)."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    def enqueue(self, *, event_id: str, kind: str, card_no: str, method: str, body: Mapping[str, Any],
                created_at: dt.datetime, points_after: int | None = None, sale_id: int | None = None,
                refund_id: int | None = None) -> int:
        return enqueue(self.conn, event_id=event_id, kind=kind, card_no=card_no, method=method, body=body,
                       created_at=created_at, points_after=points_after, sale_id=sale_id, refund_id=refund_id)

    def stats(self) -> dict[str, Any]:
        return outbox_stats(self.conn)


class _WorkerLock:
    """An advisory lock file beside the database: one sync worker per terminal database.

    The kernel drops it when the process dies (even by SIGKILL), so a restart never waits.
    """

    def __init__(self, path: Path) -> None:
        self._path = path
        self._fh: IO[bytes] | None = None

    def acquire(self) -> bool:
        if self._fh is not None:
            return True
        fh = open(self._path, "a+b")  # noqa: SIM115 - held open for the lock's lifetime
        try:
            try:
                import fcntl

                fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            except ImportError:  # pragma: no cover - Windows
                import msvcrt

                fh.seek(0)
                msvcrt.locking(fh.fileno(), msvcrt.LK_NBLCK, 1)  # type: ignore[attr-defined,unused-ignore]
        except OSError:
            fh.close()
            return False
        with contextlib.suppress(OSError):
            fh.truncate(0)
            fh.write(str(os.getpid()).encode())
            fh.flush()
        self._fh = fh
        return True

    def release(self) -> None:
        if self._fh is not None:
            self._fh.close()
            self._fh = None


class SqliteOutboxQueue:
    """The OutboxQueue port on one SQLite connection owned by one thread (the worker's, never the GUI's)."""

    def __init__(self, conn: sqlite3.Connection, *, lock_path: Path | None = None) -> None:
        self.conn = conn
        self._lock = _WorkerLock(lock_path) if lock_path is not None else None

    @classmethod
    def open(cls, db_path: Path | str) -> SqliteOutboxQueue:
        """A store on a new connection to ``db_path`` (call from the thread that will use it)."""
        path = Path(db_path)
        return cls(connect(path), lock_path=path.with_name(path.name + ".sync.lock"))

    # --- locking ---------------------------------------------------------------------------

    def try_lock(self) -> bool:
        """Become the worker. The worker's own commits then skip the fsync (synchronous=NORMAL): each of
        its writes can be re-derived (a "done" mark lost in a power cut means one more idempotent resend),
        WAL + NORMAL stays corruption-safe, and the write lock is held far shorter, so the cashier's
        FULL commits rarely wait. Supervisor decisions (audited) use stores that never lock: FULL."""
        if self._lock is not None and not self._lock.acquire():
            return False
        self.conn.execute("PRAGMA synchronous = NORMAL")
        return True

    def close(self) -> None:
        if self._lock is not None:
            self._lock.release()
        self.conn.close()

    # --- reading ---------------------------------------------------------------------------

    def due_heads(self, now: float, limit: int, skip_cards: frozenset[str] = frozenset(), *,
                  ignore_schedule: bool = False) -> list[OutboxRow]:
        cols = ", ".join("o." + c.strip() for c in _COLUMNS.split(","))
        where = "" if ignore_schedule else "AND o.next_attempt_at <= ?"
        order = "o.next_attempt_at, o.id" if ignore_schedule else "o.id"
        sql = (f"SELECT {cols} FROM (SELECT min(id) AS id FROM outbox WHERE state = 'pending' GROUP BY card_no) h"
               f" JOIN outbox o ON o.id = h.id WHERE o.card_no NOT IN"
               f" (SELECT card_no FROM outbox WHERE state = 'dead') {where} ORDER BY {order} LIMIT ?")
        params: tuple[Any, ...] = (limit + len(skip_cards),) if ignore_schedule else (now, limit + len(skip_cards))
        out: list[OutboxRow] = []
        for r in self.conn.execute(sql, params):
            if r[3] in skip_cards:
                continue
            out.append(row_from_sql(r))
            if len(out) >= limit:
                break
        return out

    def next_head(self, card_no: str) -> OutboxRow | None:
        r = self.conn.execute(
            f"SELECT {_COLUMNS} FROM outbox WHERE state = 'pending' AND card_no = ? ORDER BY id LIMIT 1",
            (card_no,)).fetchone()
        if r is None:
            return None
        if self.conn.execute("SELECT 1 FROM outbox WHERE state = 'dead' AND card_no = ? LIMIT 1",
                             (card_no,)).fetchone():
            return None
        return row_from_sql(r)

    def next_due_at(self, now: float) -> float | None:
        value = self.conn.execute(
            "SELECT min(next_attempt_at) FROM outbox WHERE state = 'pending' AND next_attempt_at > ?",
            (now,)).fetchone()[0]
        return None if value is None else float(value)

    def backed_off(self, now: float) -> list[int]:
        return [int(r[0]) for r in self.conn.execute(
            "SELECT id FROM outbox WHERE state = 'pending' AND next_attempt_at > ?", (now,))]

    def stats(self) -> OutboxStats:
        s = outbox_stats(self.conn)
        return OutboxStats(pending=s["pending"], oldest_pending_created_at=s["oldest_pending_created_at"],
                           dead=s["dead"], discarded=s["discarded"])

    def rows(self, states: tuple[str, ...], limit: int = 500) -> list[OutboxRow]:
        marks = ",".join("?" for _ in states)
        return [row_from_sql(r) for r in self.conn.execute(
            f"SELECT {_COLUMNS} FROM outbox WHERE state IN ({marks}) ORDER BY id LIMIT ?",  # noqa: S608
            (*states, limit))]

    def get(self, row_id: int) -> OutboxRow | None:
        r = self.conn.execute(f"SELECT {_COLUMNS} FROM outbox WHERE id = ?", (row_id,)).fetchone()
        return None if r is None else row_from_sql(r)

    # --- writing (each one short transaction) ----------------------------------------------

    def coalesce_updates(self, head: OutboxRow, at: dt.datetime) -> tuple[OutboxRow, int]:
        if head.kind != "card.update":
            return head, 0
        run: list[int] = []
        newest: sqlite3.Row | None = None
        for r in self.conn.execute(
                f"SELECT {_COLUMNS} FROM outbox WHERE state = 'pending' AND card_no = ? AND id > ?"
                " ORDER BY id LIMIT ?", (head.card_no, head.id, _COALESCE_SCAN)):
            if r[2] != "card.update":
                break
            run.append(int(r[0]))
            newest = r
        if newest is None:
            return head, 0
        older = [head.id, *run[:-1]]
        target = int(newest[0])
        marks = ",".join("?" for _ in older)
        try:
            with transaction(self.conn):
                cur = self.conn.execute(
                    f"UPDATE outbox SET state = 'done', done_at = ?, last_error = ? WHERE id IN ({marks})"  # noqa: S608
                    " AND state = 'pending'", (_iso(at), f"coalesced into #{target}", *older))
                if cur.rowcount != len(older):   # changed meanwhile (cannot happen with one worker)
                    raise _Retry()
        except _Retry:
            return head, 0
        logger.debug("card %s: %d card.update rows coalesced into #%d", mask_card(head.card_no), len(older), target)
        return row_from_sql(newest), len(older)

    def record(self, outcomes: list[OutboxOutcome], at: dt.datetime) -> None:
        if not outcomes:
            return
        at_text = _iso(at)
        with transaction(self.conn):
            for o in outcomes:
                if o.action == "done":
                    self.conn.execute(
                        "UPDATE outbox SET state = 'done', done_at = ?, attempts = ?, last_error = ''"
                        " WHERE id = ? AND state = 'pending'", (at_text, o.attempts, o.row_id))
                    if o.points_after is not None:
                        self.conn.execute(
                            "UPDATE members SET points_synced = ? WHERE card_no = ? AND NOT EXISTS"
                            " (SELECT 1 FROM outbox WHERE card_no = ? AND state = 'done'"
                            " AND points_after IS NOT NULL AND id > ? AND last_error NOT LIKE 'coalesced%')",
                            (o.points_after, o.card_no, o.card_no, o.row_id))
                elif o.action == "retry":
                    self.conn.execute(
                        "UPDATE outbox SET attempts = ?, next_attempt_at = ?, last_error = ?"
                        " WHERE id = ? AND state = 'pending'",
                        (o.attempts, o.next_attempt_at, _clean_error(o.error), o.row_id))
                elif o.action == "dead":
                    self.conn.execute(
                        "UPDATE outbox SET state = 'dead', attempts = ?, last_error = ?"
                        " WHERE id = ? AND state = 'pending'", (o.attempts, _clean_error(o.error), o.row_id))
                else:
                    raise ValueError(f"unknown outcome action {o.action!r}")

    def make_due(self, row_ids: list[int], now: float) -> None:
        for start in range(0, len(row_ids), _CHUNK):
            chunk = row_ids[start:start + _CHUNK]
            marks = ",".join("?" for _ in chunk)
            with transaction(self.conn):
                self.conn.execute(
                    f"UPDATE outbox SET next_attempt_at = ? WHERE id IN ({marks})"  # noqa: S608
                    " AND state = 'pending' AND next_attempt_at > ?", (now, *chunk, now))

    def retry_dead(self, row_id: int, *, approver: SyncApprover, at: dt.datetime) -> bool:
        with transaction(self.conn):
            row = self.get(row_id)
            if row is None or row.state != "dead":
                return False
            self.conn.execute("UPDATE outbox SET state = 'pending', next_attempt_at = 0 WHERE id = ?", (row_id,))
            append_audit(self.conn, at=at, user_id=approver.user_id, user_name=approver.name,
                         action="sync.dead_letter.retry", subject=f"outbox #{row_id}",
                         detail={"kind": row.kind, "card": mask_card(row.card_no), "event_id": row.event_id,
                                 "attempts": row.attempts, "last_error": row.last_error})
        return True

    def discard_dead(self, row_id: int, *, approver: SyncApprover, reason: str, at: dt.datetime) -> bool:
        with transaction(self.conn):
            row = self.get(row_id)
            if row is None or row.state != "dead":
                return False
            self.conn.execute("UPDATE outbox SET state = 'discarded', done_at = ?, last_error = ? WHERE id = ?",
                              (_iso(at), _clean_error(f"discarded: {reason} (was: {row.last_error})"), row_id))
            append_audit(self.conn, at=at, user_id=approver.user_id, user_name=approver.name,
                         action="sync.dead_letter.discard", subject=f"outbox #{row_id}",
                         detail={"kind": row.kind, "card": mask_card(row.card_no), "event_id": row.event_id,
                                 "reason": reason, "attempts": row.attempts, "last_error": row.last_error})
        return True


class _Retry(Exception):
    """Internal: a concurrent change; the caller sends the head row unchanged."""
"""The old name ("store" means the shop); kept for branches written against it."""
