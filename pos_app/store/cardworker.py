"""The store's one card worker: card calls built from the authoritative balance, per card in order.

Exactly one runs per store (a session advisory lock; a second process is refused). It claims the oldest
pending row of each card (``FOR UPDATE SKIP LOCKED``), builds the request from the *current* member_points
row and stores it in the row before sending (write-ahead: a retry re-sends the stored body unchanged),
sends outside any transaction (cards in parallel, one card's rows one after another) and records the outcome.
"""

from __future__ import annotations

import concurrent.futures as cf
import datetime as dt
import logging
import random
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

from .errors import StoreRefused

__all__ = ["CardWorker", "CardCalls", "Outcome", "WORKER_LOCK"]

logger = logging.getLogger(__name__)
WORKER_LOCK = "pos.card_worker"


@dataclass(frozen=True)
class Outcome:
    kind: str            # ok | retry | permanent
    reason: str = ""


@dataclass(frozen=True)
class CardCalls:
    """How requests are built and sent (the Alipay client and body builders, wired by the caller)."""
    build_update: Callable[[Mapping[str, Any], int, int, dt.datetime], dict[str, Any]]
    """(member row {member_id, biz_card_no, level}, points_after, changed_point, occur_time) -> body"""
    send: Callable[[str, Mapping[str, Any]], Outcome]
    """(kind 'update'|'consume_sync', body) -> outcome; called from worker threads"""
    close: Callable[[], None] = lambda: None


def _mask(card: str) -> str:
    return f"...{card[-4:]}" if len(card) > 4 else "..."


class CardWorker:
    def __init__(self, conninfo: str, calls: CardCalls, *, max_in_flight: int = 16, batch: int = 200,
                 backoff_base_s: float = 2.0, backoff_cap_s: float = 300.0,
                 clock: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC)) -> None:
        self._conninfo = conninfo
        self._calls = calls
        self._max = max_in_flight
        self._batch = batch
        self._base, self._cap = backoff_base_s, backoff_cap_s
        self._clock = clock
        self._lock_conn: psycopg.Connection[Any] | None = None
        self._conn: psycopg.Connection[Any] | None = None
        self._pool = cf.ThreadPoolExecutor(max_in_flight, thread_name_prefix="card-call")
        self.sent = 0

    def acquire(self) -> None:
        """Take the store-wide worker lock or raise StoreRefused (another card worker runs)."""
        self._lock_conn = psycopg.connect(self._conninfo, autocommit=True)
        got = self._lock_conn.execute("SELECT pg_try_advisory_lock(hashtext(%s))", (WORKER_LOCK,)).fetchone()
        if not got or not got[0]:
            self._lock_conn.close()
            self._lock_conn = None
            raise StoreRefused("another card worker is running for this store (only one may)")
        self._conn = psycopg.connect(self._conninfo, autocommit=True)

    def close(self) -> None:
        self._pool.shutdown(wait=True)
        self._calls.close()
        for c in (self._conn, self._lock_conn):
            if c is not None:
                c.close()
        self._conn = self._lock_conn = None

    def _claim(self, limit: int | None = None, busy: list[str] | None = None) -> list[dict[str, Any]]:
        """The oldest due pending row of up to ``limit`` cards (not those in ``busy``: their head is in flight),
        each with its stored request."""
        conn = self._conn
        assert conn is not None, "acquire() first"
        now = self._clock()
        with conn.transaction(), conn.cursor(row_factory=dict_row) as cur:
            heads = cur.execute(b"""
                SELECT o.id, o.member_id, o.kind, o.request, o.lane_body, o.attempts
                  FROM pos.card_outbox o
                 WHERE o.state = 'pending' AND o.next_attempt_at <= %s AND o.member_id <> ALL(%s)
                   AND o.id = (SELECT min(id) FROM pos.card_outbox h
                                WHERE h.member_id = o.member_id AND h.state = 'pending')
                 ORDER BY o.id LIMIT %s FOR UPDATE SKIP LOCKED""",
                                (now, busy or [], limit or self._batch)).fetchall()
            fresh = [h for h in heads if h["request"] is None]    # the others are retries: sent again unchanged
            members = {m["member_id"]: m for m in cur.execute(b"""
                SELECT p.member_id, coalesce(p.balance, 0) AS balance, m.biz_card_no, coalesce(m.level, '') AS level,
                       (SELECT points_after FROM pos.card_outbox d WHERE d.member_id = p.member_id
                          AND d.state = 'done' AND d.points_after IS NOT NULL ORDER BY d.id DESC LIMIT 1) AS last
                  FROM pos.member_points p LEFT JOIN pos.member m ON m.member_id = p.member_id
                 WHERE p.member_id = ANY(%s)""", ([h["member_id"] for h in fresh],))} if fresh else {}
            for h in fresh:
                m = members.get(h["member_id"])
                # an overdraft (offline redemptions applied below zero) is the supervisor's exception: the card
                # cannot show a negative number (Alipay refuses it: 40004 point 格式错误), so it shows 0
                balance = max(int(m["balance"]), 0) if m else 0
                member = m or {"member_id": h["member_id"], "biz_card_no": None, "level": ""}
                if h["kind"] == "update":
                    last = int(m["last"]) if m and m["last"] is not None else 0
                    request = self._calls.build_update(member, balance, balance - last, now)
                else:
                    request = dict(h["lane_body"] or {})
                    info = dict(request.get("card_info") or {})
                    info["point"] = str(balance)            # the store's balance, not the lane's view
                    request["card_info"] = info
                h["request"], h["points_after"] = request, balance
            if fresh:   # written before the first send: a retry re-sends it unchanged
                cur.execute(b"UPDATE pos.card_outbox o SET request = v.request, points_after = v.points_after "
                            b"FROM unnest(%s::bigint[], %s::jsonb[], %s::bigint[]) AS v(id, request, points_after) "
                            b"WHERE o.id = v.id",
                            ([h["id"] for h in fresh], [Jsonb(h["request"]) for h in fresh],
                             [h["points_after"] for h in fresh]))
        return list(heads)

    def _record_done(self, rows: list[dict[str, Any]]) -> None:
        """Many successful calls in one statement (one commit, not one per call)."""
        conn = self._conn
        assert conn is not None
        if rows:
            conn.execute(b"UPDATE pos.card_outbox o SET state = 'done', attempts = o.attempts + 1, done_at = now(), "
                         b"last_error = '' WHERE o.id = ANY(%s)", ([r["id"] for r in rows],))

    def _record(self, row: dict[str, Any], outcome: Outcome) -> None:
        conn = self._conn
        assert conn is not None
        attempts = int(row["attempts"]) + 1
        if outcome.kind == "ok":
            self._record_done([row])
        elif outcome.kind == "permanent":
            logger.warning("card call #%d (%s, card %s) to the dead letters: %s", row["id"], row["kind"],
                           _mask(row["member_id"]), outcome.reason)
            conn.execute(b"UPDATE pos.card_outbox SET state = 'dead', attempts = %s, last_error = %s WHERE id = %s",
                         (attempts, outcome.reason[:300], row["id"]))
        else:
            delay = min(self._cap, self._base * 2 ** min(attempts - 1, 10)) * (0.5 + random.random() / 2)  # noqa: S311
            conn.execute(b"UPDATE pos.card_outbox SET attempts = %s, last_error = %s, "
                         b"next_attempt_at = now() + make_interval(secs => %s) WHERE id = %s",
                         (attempts, outcome.reason[:300], delay, row["id"]))

    def _send(self, row: dict[str, Any]) -> Outcome:
        try:
            return self._calls.send(row["kind"], row["request"])
        except Exception as exc:  # a broken call must not kill the worker; it is retried
            logger.exception("card call #%d failed", row["id"])
            return Outcome("retry", f"{type(exc).__name__}: {exc}")

    def step(self) -> int:
        """Claim the heads and keep ``max_in_flight`` calls going until no card has a due row: a finished call
        frees its card for its next row at once (one card's rows one after another, cards in parallel); outcomes
        are recorded in batches. Returns the rows handled."""
        if self._conn is None:
            raise psycopg.OperationalError("not connected to the store server")
        inflight: dict[cf.Future[Outcome], dict[str, Any]] = {}
        handled = 0
        refill = True
        until = time.monotonic() + 2.0      # then return (the caller checks whether to stop) and come back
        while True:
            if refill and len(inflight) < self._max and time.monotonic() < until:
                busy = [h["member_id"] for h in inflight.values()]
                for h in self._claim(max(self._max * 2 - len(inflight), 1), busy):
                    inflight[self._pool.submit(self._send, h)] = h
                refill = False
            if not inflight:
                break
            done, _ = cf.wait(inflight, return_when=cf.FIRST_COMPLETED)
            # gather whatever else finished meanwhile: one UPDATE for all the successes
            done |= {f for f in inflight if f.done()}
            ok: list[dict[str, Any]] = []
            for fut in done:
                row = inflight.pop(fut)
                outcome = fut.result()
                if outcome.kind == "ok":
                    ok.append(row)
                else:
                    self._record(row, outcome)
            self._record_done(ok)
            handled += len(done)
            refill = len(inflight) <= self._max // 2 or not inflight
        self.sent += handled
        return handled

    def run(self, stop: threading.Event, idle_s: float = 0.2) -> None:
        while not stop.is_set():
            try:
                if self.step() == 0:
                    stop.wait(idle_s)
            except psycopg.OperationalError as exc:
                logger.warning("card worker lost the store server: %s; reconnecting", exc)
                stop.wait(2.0)
                try:
                    self._reconnect()
                except StoreRefused as refused:   # another worker took over while we were cut off
                    logger.error("card worker stops: %s", refused)
                    return

    def _reconnect(self) -> None:
        """New connections, and the store-wide lock again (it went with the old session): without it, stop."""
        for c in (self._conn, self._lock_conn):
            if c is not None:
                try:
                    c.close()
                except psycopg.Error:
                    logger.debug("close failed", exc_info=True)
        self._conn = self._lock_conn = None
        try:
            self.acquire()
        except psycopg.OperationalError as exc:
            logger.warning("card worker cannot reconnect yet: %s", exc)
