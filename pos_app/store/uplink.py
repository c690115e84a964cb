"""The lane's uplink: pushes journal rows to the store server in lane_seq order, idempotently.

One thread, its own connection, a client-side deadline per round trip; on any failure the connection is
discarded and the push retried after a back-off with jitter (capped), immediately after any success.
The pull (reference data, store balances) runs in the same loop between pushes, on its own connection.
"""

from __future__ import annotations

import concurrent.futures as cf
import datetime as dt
import logging
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import psycopg

from .connect import deadline, open_connection, still_open
from .errors import StoreRefused, StoreUnavailable
from .ports import LaneJournalPort

__all__ = ["Uplink", "UplinkConfig", "PUSH_BATCH", "FailureLog"]

logger = logging.getLogger(__name__)
PUSH_BATCH = 1000
STATUS_EVERY_S = 0.5   # while backing off, the status (events waiting) is read again this often
_INGEST = b"SELECT pos.ingest_batch(%s, %s, %s::jsonb, %s)"


class FailureLog:
    """A run of failed round trips in the log: the first failure (or a different error) at INFO, the retries that
    fail the same way at DEBUG, and the recovery at INFO with how many attempts failed and for how long.

    While the store is down the uplink retries every 2-4 s and the pull every second: logged at INFO that was about
    80 lines a minute per lane in the terminal's pos.log, which every process of the terminal shares and writes
    under a lock on the log folder (pos_app/logs.py) that the till's "sale committed" line takes as well."""

    def __init__(self, what: str, log: logging.Logger = logger) -> None:
        self._what = what
        self._log = log
        self.failed = 0
        self._last = ""
        self._since = 0.0

    def failure(self, exc: Exception, retry_in_s: float | None = None) -> None:
        text = str(exc)
        if not self.failed:
            self._since = time.monotonic()
        self.failed += 1
        level = logging.INFO if self.failed == 1 or text != self._last else logging.DEBUG
        self._last = text
        if retry_in_s is None:
            self._log.log(level, "%s failed: %s", self._what, text)
        else:
            self._log.log(level, "store unreachable (%s); retry in %.1f s", text, retry_in_s)

    def success(self) -> None:
        if self.failed:
            self._log.info("%s: store reachable again after %d failed attempt(s) in %.0f s", self._what, self.failed,
                           time.monotonic() - self._since)
        self.failed = 0
        self._last = ""


@dataclass(frozen=True)
class UplinkConfig:
    conninfo: str
    deadline_s: float = 10.0
    heartbeat_s: float = 30.0
    poll_s: float = 0.1
    backoff_base_s: float = 0.5
    # a store that is back is used within seconds (issue 13: an outage's backlog drained ≤ 5 s after it heals);
    # one connection attempt per lane every 2-4 s is nothing for PostgreSQL (the walk found 60 s: lanes stayed
    # "offline" for most of a minute after the server was back)
    backoff_cap_s: float = 4.0


class Uplink:
    """``step()`` does one round of work and returns True when it did something (for tests and the loop)."""

    def __init__(self, journal: LaneJournalPort, config: UplinkConfig,
                 clock: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC)) -> None:
        self._journal = journal
        self._cfg = config
        self._clock = clock
        self._conn: psycopg.Connection[Any] | None = None
        self._hello_done = False
        self._last_heartbeat = 0.0
        self.failures = 0
        self.deadline_kills = 0
        self.pushed_batches = 0
        self._pool: cf.ThreadPoolExecutor | None = None

    # -- one connection at a time; dropped on any failure --------------------------------------
    def _connection(self) -> psycopg.Connection[Any]:
        if not still_open(self._conn):
            self._discard()
            self._conn = open_connection(self._cfg.conninfo)
            self._hello_done = False
        return self._conn

    def drop(self) -> None:
        """Close the connection and the helper thread (from the uplink's own thread)."""
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None
        self._discard()

    def _discard(self) -> None:
        """Close the connection after a failure (any thread: the helper runs pushes too)."""
        if self._conn is not None:
            try:
                self._conn.close()
            except psycopg.Error:
                logger.debug("closing a broken store connection failed", exc_info=True)
            self._conn = None
        self._hello_done = False

    def _call(self, query: bytes, params: tuple[Any, ...], what: str) -> dict[str, Any]:
        conn = self._connection()
        try:
            with deadline(conn, self._cfg.deadline_s, what):
                row = conn.execute(query, params).fetchone()
        except StoreUnavailable as exc:
            if "deadline" in str(exc):
                self.deadline_kills += 1
            self._discard()
            raise
        assert row is not None
        result: dict[str, Any] = row[0]
        return result

    def _hello(self) -> None:
        st = self._journal.state()
        answer = self._call(b"SELECT pos.heartbeat(%s, %s, %s, %s, %s)",
                            (st.lane_epoch, st.epoch_base_seq, st.max_seq, st.backlog, self._clock()), "heartbeat")
        acked = int(answer.get("acked_seq", 0))
        differs = bool(answer.get("acked_event")) and self._journal.event_at(acked) != answer["acked_event"]
        if answer.get("restored") or differs:
            # The server holds events of our epoch that this database does not: it was restored from an older
            # copy (and may have traded since). New epoch after what this copy knows was acknowledged; the rows
            # after it are sent again (the ones the server has are absorbed by their event_id).
            logger.warning("store server holds more of epoch %s than this lane (server seq %s, lane %s): "
                           "restored from an older database? starting a new epoch; the supervisor sees it",
                           st.lane_epoch, acked, st.max_seq)
            base = min(st.acked_seq, st.max_seq)
            epoch = self._journal.new_epoch(base)
            answer = self._call(b"SELECT pos.heartbeat(%s, %s, %s, %s, %s)",
                                (epoch, base, st.max_seq, st.backlog, self._clock()), "heartbeat")
        self._journal.hello(str(answer["lane_id"]), int(answer["acked_seq"]))
        if answer.get("receipt_max"):     # a new epoch: never print a receipt number the store already holds
            self._journal.raise_receipts(str(answer["receipt_max"]))
        self._hello_done = True
        self._last_heartbeat = time.monotonic()

    def push(self) -> int:
        """Push everything waiting; returns the number of rows the server newly acknowledged."""
        st = self._journal.state()
        # A lane marked offline (by the pull, which asks every second, or by a failed push) is marked online
        # again only after a round trip: "nothing to push" alone says nothing about the store.
        if not self._hello_done or st.offline_since or \
                time.monotonic() - self._last_heartbeat > self._cfg.heartbeat_s:
            self._hello()
            st = self._journal.state()
        moved = 0
        batch = self._journal.pending_json(st.acked_seq, PUSH_BATCH)
        while True:
            first, count, rows = batch
            if not count:
                self._journal.set_online(self._clock())
                return moved
            params = (st.lane_epoch, first, rows, self._clock())
            ahead: tuple[int, int, str] | None = None
            if count == PUSH_BATCH:
                # a backlog: the next batch is read from SQLite while the server ingests this one
                pending = self._helper().submit(self._call, _INGEST, params, "push")
                ahead = self._journal.pending_json(first + count - 1, PUSH_BATCH)
                answer = pending.result()
            else:
                answer = self._call(_INGEST, params, "push")
            self.pushed_batches += 1
            if "resend_from" in answer:
                self._journal.hello(st.lane_id, int(answer["resend_from"]) - 1)
            elif "error" in answer:
                logger.warning("store server refused the push: %s; saying hello again", answer["error"])
                self._hello()
            else:
                acked = int(answer["acked_seq"])
                if acked <= st.acked_seq:
                    raise StoreRefused(f"store server did not advance past seq {st.acked_seq} (answer {answer})")
                moved += acked - st.acked_seq
                self._journal.set_acked(acked, self._clock())
                if ahead is not None and acked == first + count - 1:
                    st = self._journal.state()
                    batch = ahead
                    continue
            st = self._journal.state()
            batch = self._journal.pending_json(st.acked_seq, PUSH_BATCH)

    def _helper(self) -> cf.ThreadPoolExecutor:
        if self._pool is None:
            self._pool = cf.ThreadPoolExecutor(1, thread_name_prefix="store-push")
        return self._pool

    # -- the loop --------------------------------------------------------------------------------
    def run(self, stop: threading.Event, extra: Callable[[], None] | None = None,
            on_round: Callable[[], None] | None = None) -> None:
        """Until ``stop``: push, then ``extra``; back off on failure, poll when idle; ``on_round`` after each."""
        delay = 0.0
        failures = FailureLog("store push")
        while not stop.is_set():
            try:
                self.push()
                if extra is not None:
                    extra()
                self.failures = 0
                failures.success()
                delay = self._cfg.poll_s
            except (StoreUnavailable, StoreRefused) as exc:
                self.failures += 1
                self._journal.set_offline(self._clock(), str(exc))
                base = min(self._cfg.backoff_cap_s, self._cfg.backoff_base_s * (2 ** min(self.failures - 1, 8)))
                delay = base * (0.5 + random.random() / 2)  # noqa: S311 - jitter, not security
                failures.failure(exc, delay)
            if on_round is not None:
                on_round()
            self._wait(stop, delay, on_round)
        self.drop()

    @staticmethod
    def _wait(stop: threading.Event, delay: float, on_round: Callable[[], None] | None) -> None:
        """Wait ``delay``; during a back-off of seconds, ``on_round`` still runs every STATUS_EVERY_S, so the
        status bar's "N events waiting" counts the sales made meanwhile (it read the journal at the last retry)."""
        end = time.monotonic() + delay
        while not stop.wait(max(0.0, min(end - time.monotonic(), STATUS_EVERY_S))):
            if time.monotonic() >= end:
                return
            if on_round is not None:
                on_round()
