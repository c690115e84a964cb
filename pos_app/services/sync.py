"""The sync worker: drains the outbox to the Alipay card API, in order per card, retried, never twice in effect."""

from __future__ import annotations

import collections
import concurrent.futures as cf
import dataclasses
import datetime as dt
import json
import logging
import random
import threading
from collections.abc import Callable
from typing import Any

from pos_app.domain.codes import mask_code
from pos_app.services.ports.clock import Clock
from pos_app.services.ports.gateway import (
    CardGateway,
    FailureKind,
    GatewayInProgress,
    GatewayResult,
    GatewaySuccess,
    GatewayUnknown,
)
from pos_app.services.ports.outbox import OutboxOutcome, OutboxQueue, OutboxRow, SyncApprover

__all__ = [
    "SyncConfig",
    "SyncError",
    "SyncBusy",
    "SyncDecisionError",
    "Verdict",
    "SyncStatus",
    "SyncPassResult",
    "SyncWorker",
    "backoff",
    "classify",
    "retry_dead",
    "discard_dead",
    "mask_card",
    "as_sync_approver",
]

logger = logging.getLogger(__name__)


class SyncError(Exception):
    """Base of the sync worker's errors."""


class SyncBusy(SyncError):
    """Another sync worker (thread or process) already drains this database."""


class SyncDecisionError(SyncError):
    """A supervisor decision that cannot be applied (row not dead, no reason given); ``str()`` is for the user."""


@dataclasses.dataclass(frozen=True)
class SyncConfig:
    """Worker tuning; defaults as in the issue (settings.sync supplies the first four)."""

    max_in_flight: int = 16         # tests/bench/bench_sync.py: a day's backlog at 150-200 ms per call in < 7 min
    backoff_base_s: float = 2.0
    backoff_cap_s: float = 300.0
    probe_interval_s: float = 15.0
    idle_poll_s: float = 5.0        # look for rows committed by another process at least this often
    batch: int = 256                # due rows fetched per query
    record_interval_s: float = 0.05  # outcomes are recorded at least this often (one short transaction)

    def __post_init__(self) -> None:
        if not 1 <= self.max_in_flight <= 64:
            raise ValueError("max_in_flight must be between 1 and 64")
        if self.backoff_base_s <= 0 or self.backoff_cap_s < self.backoff_base_s:
            raise ValueError("backoff_base_s must be > 0 and backoff_cap_s >= backoff_base_s")
        if self.probe_interval_s <= 0 or self.idle_poll_s <= 0 or self.batch < 1:
            raise ValueError("probe_interval_s, idle_poll_s and batch must be positive")


def backoff(attempts: int, rng: random.Random, *, base_s: float = 2.0, cap_s: float = 300.0) -> float:
    """Seconds to wait after the ``attempts``-th failure: exponential with full jitter, capped.

    ``uniform(0, min(cap, base * 2**(attempts-1)))`` (AWS "full jitter").
    """
    exponent = min(max(attempts, 1) - 1, 60)
    return rng.uniform(0.0, min(cap_s, base_s * (2.0 ** exponent)))


@dataclasses.dataclass(frozen=True, slots=True)
class Verdict:
    """How the worker treats one answer: ``kind`` is "ok", "transient" or "permanent".

    ``network`` marks a transient failure that says the gateway cannot be reached (the worker
    then stops sending and probes every probe_interval_s until a call succeeds). ``rate_limited``
    marks Alipay asking us to slow down (the worker halves how many calls it has in flight and
    pauses, then climbs back one at a time).
    """

    kind: str
    reason: str = ""
    network: bool = False
    rate_limited: bool = False


_NETWORK_CAUSES = frozenset({"timeout", "connection", "transport", "http_status", "service_unavailable"})


def classify(result: GatewayResult) -> Verdict:
    """Transient (retry with back-off) or permanent (dead letter) or ok, for a card call's answer.

    Transient: no or unknown answer (timeout, connection, HTTP 5xx, unverifiable or truncated body), Alipay
    unavailable or a system error, rate limits, an unsigned error body (not believed), and configuration
    errors (keys, app id, timestamp, permissions). Permanent: any other definite business failure (an
    invalid parameter, an unknown card, ...), which a resend of the same body cannot fix. The failure's
    kind and reason come from the sub-code table of pos_app/alipay/subcodes.py.
    """
    if isinstance(result, GatewaySuccess):
        return Verdict("ok")
    if isinstance(result, GatewayUnknown) and result.cause == "rate_limited":
        return Verdict("transient", f"rate limited by Alipay: {result.reason}", rate_limited=True)
    if isinstance(result, GatewayUnknown):
        return Verdict("transient", f"no definite answer ({result.cause}): {result.reason}",
                       network=result.cause in _NETWORK_CAUSES)
    if isinstance(result, GatewayInProgress):
        return Verdict("transient", "a card call answered \"the buyer is still confirming\"")
    what = result.describe()
    if result.reason == "rate_limited":   # slow down
        return Verdict("transient", f"rate limited by Alipay: {what}", rate_limited=True)
    if result.kind is FailureKind.TRANSIENT:
        return Verdict("transient", what, network=result.reason == "service_unavailable")
    if not result.verified:
        return Verdict("transient", f"unsigned error answer, not believed: {what}")
    if result.kind is FailureKind.CONFIGURATION:
        return Verdict("transient", f"configuration problem: {what}")
    return Verdict("permanent", what)


mask_card = mask_code  # the one masking function (pos_app.domain.codes)


@dataclasses.dataclass(frozen=True, slots=True)
class SyncStatus:
    """What the status bar shows: pending rows, oldest pending age, dead letters, offline since."""

    pending: int
    oldest_pending_age_s: float | None
    dead: int
    offline_since: dt.datetime | None
    last_error: str

    @property
    def up_to_date(self) -> bool:
        return self.pending == 0 and self.dead == 0


@dataclasses.dataclass(frozen=True, slots=True)
class SyncPassResult:
    """What one pass did."""

    sent: int = 0
    done: int = 0
    retried: int = 0
    dead: int = 0
    coalesced: int = 0
    probed: bool = False
    offline: bool = False
    elapsed_s: float = 0.0


@dataclasses.dataclass
class _Counters:
    sent: int = 0
    done: int = 0
    retried: int = 0
    dead: int = 0
    coalesced: int = 0
    probed: bool = False


def _parse_iso(text: str) -> dt.datetime | None:
    try:
        value = dt.datetime.fromisoformat(text)
    except ValueError:
        return None
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


def as_sync_approver(who: object) -> SyncApprover:
    """A SyncApprover from an approval record (``approved_by``/``approver_name``), a user (``id``/``name``)
    or a SyncApprover."""
    if isinstance(who, SyncApprover):
        return who
    user_id = getattr(who, "approved_by", None)
    name = getattr(who, "approver_name", None)
    if user_id is None:
        user_id = getattr(who, "user_id", None) or getattr(who, "id", None)
    if name is None:
        name = getattr(who, "name", "")
    return SyncApprover(user_id=int(user_id) if isinstance(user_id, int) else None, name=str(name or ""))


def retry_dead(store: OutboxQueue, row_id: int, approver: SyncApprover, clock: Clock) -> None:
    """Supervisor decision: send a dead-letter row again, unchanged (edit-and-retry is not allowed); audited."""
    if not store.retry_dead(row_id, approver=approver, at=clock.now()):
        raise SyncDecisionError(f"outbox row #{row_id} is not in the dead letters")
    logger.info("outbox #%d: dead letter retried (approved by user %s)", row_id, approver.user_id)


def discard_dead(store: OutboxQueue, row_id: int, approver: SyncApprover, reason: str, clock: Clock) -> None:
    """Supervisor decision: give up a dead-letter row with a reason; the card's later rows then flow; audited."""
    reason = reason.strip()
    if not reason:
        raise SyncDecisionError("a reason is required to discard a dead letter")
    if not store.discard_dead(row_id, approver=approver, reason=reason, at=clock.now()):
        raise SyncDecisionError(f"outbox row #{row_id} is not in the dead letters")
    logger.info("outbox #%d: dead letter discarded (approved by user %s)", row_id, approver.user_id)


class SyncWorker:
    """Drains the outbox: per card in commit order, different cards in parallel (≤ max_in_flight).

    Sends happen on a small thread pool (one CardGateway per pool thread, so one keep-alive
    connection each) outside any transaction; outcomes are recorded by the dispatching thread in
    short transactions on its own store (connection). ``run_once()`` does one pass on the calling
    thread; ``start()`` runs passes on a background thread until ``stop()``. Use one or the other.
    """

    def __init__(self, store_factory: Callable[[], OutboxQueue], gateway_factory: Callable[[], CardGateway],
                 clock: Clock, config: SyncConfig | None = None, *, rng: random.Random | None = None) -> None:
        self._store_factory = store_factory
        self._gateway_factory = gateway_factory
        self._clock = clock
        self._config = config or SyncConfig()
        self._rng = rng or random.Random()
        self._local = threading.local()
        self._gateways: list[CardGateway] = []
        self._gw_lock = threading.Lock()
        self._pool: cf.ThreadPoolExecutor | None = None
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._state_lock = threading.Lock()
        self._offline_since: dt.datetime | None = None
        self._next_probe_mono = 0.0
        self._last_error = ""
        # rate limits: how many calls may be in flight now (halved on a rate-limit answer, +1 after as many
        # successes as the current cap), and no new call before _paused_until (monotonic)
        self._cap = self._config.max_in_flight
        self._ok_since_cut = 0
        self._throttles = 0
        self._paused_until = 0.0
        self.rate_limited = 0
        self.lowest_cap = self._config.max_in_flight

    @property
    def config(self) -> SyncConfig:
        return self._config

    # --- public API --------------------------------------------------------------------------

    def run_once(self) -> SyncPassResult:
        """One pass on the calling thread: send everything due now (following each card's chain).

        Raises SyncBusy if another worker holds this database.
        """
        store = self._store_factory()
        try:
            if not store.try_lock():
                raise SyncBusy("another sync worker is running for this database")
            return self._pass(store)
        finally:
            store.close()

    def start(self) -> None:
        """Run passes on a background thread until stop(); wakes on nudge(), when rows fall due, when
        a probe is due, and every idle_poll_s."""
        if self._thread is not None and self._thread.is_alive():
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, name="sync-worker", daemon=True)
        self._thread.start()

    def stop(self, timeout: float | None = None) -> bool:
        """Ask the thread to finish (in-flight requests complete) and wait; True if it has stopped."""
        self._stop.set()
        self._wake.set()
        stopped = True
        if self._thread is not None:
            self._thread.join(timeout)
            stopped = not self._thread.is_alive()
        if stopped:
            self.close()
        return stopped

    def close(self) -> None:
        """Shut the send pool down and close every gateway client."""
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None
        with self._gw_lock:
            gateways, self._gateways = self._gateways, []
        for gw in gateways:
            closer = getattr(gw, "close", None)
            if callable(closer):
                try:
                    closer()
                except Exception:  # noqa: BLE001 - closing must not fail the shutdown
                    logger.debug("closing a gateway client failed", exc_info=True)

    def nudge(self) -> None:
        """Wake the worker now (after a commit, or when the network is known to be back)."""
        with self._state_lock:
            self._next_probe_mono = 0.0
        self._wake.set()

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def status(self) -> SyncStatus:
        """Live figures (reads the database on a short-lived connection of the calling thread)."""
        store = self._store_factory()
        try:
            stats = store.stats()
        finally:
            store.close()
        age: float | None = None
        if stats.oldest_pending_created_at:
            created = _parse_iso(stats.oldest_pending_created_at)
            if created is not None:
                age = max(0.0, (self._clock.now() - created).total_seconds())
        with self._state_lock:
            offline, last_error = self._offline_since, self._last_error
        return SyncStatus(pending=stats.pending, oldest_pending_age_s=age, dead=stats.dead,
                          offline_since=offline, last_error=last_error)

    def rows(self, states: tuple[str, ...] = ("pending", "dead"), limit: int = 500) -> list[OutboxRow]:
        """Rows for the supervisor screen (short-lived connection of the calling thread)."""
        store = self._store_factory()
        try:
            return store.rows(states, limit)
        finally:
            store.close()

    def retry_dead(self, row_id: int, approver: SyncApprover) -> None:
        """Supervisor: resend a dead-letter row unchanged; audited. Raises SyncDecisionError."""
        store = self._store_factory()
        try:
            retry_dead(store, row_id, approver, self._clock)
        finally:
            store.close()
        self.nudge()

    def discard_dead(self, row_id: int, approver: SyncApprover, reason: str) -> None:
        """Supervisor: discard a dead-letter row with a reason; audited. Raises SyncDecisionError."""
        store = self._store_factory()
        try:
            discard_dead(store, row_id, approver, reason, self._clock)
        finally:
            store.close()
        self.nudge()

    # --- the thread --------------------------------------------------------------------------

    def _loop(self) -> None:
        store: OutboxQueue | None = None
        try:
            while not self._stop.is_set():
                self._wake.clear()
                try:
                    if store is None:
                        store = self._store_factory()
                        if not store.try_lock():
                            store.close()
                            store = None
                            self._set_error("another sync worker is running for this database")
                            self._wake.wait(self._config.idle_poll_s)
                            continue
                    self._pass(store)
                    timeout = self._idle_wait(store)
                except Exception as exc:  # noqa: BLE001 - the worker must outlive any one failure
                    logger.exception("sync pass failed")
                    self._set_error(f"sync pass failed: {type(exc).__name__}: {exc}")
                    if store is not None:
                        try:
                            store.close()
                        except Exception:  # noqa: BLE001
                            logger.debug("closing the sync store failed", exc_info=True)
                        store = None
                    timeout = self._config.backoff_base_s
                if self._stop.is_set():
                    break
                self._wake.wait(timeout)
        finally:
            if store is not None:
                store.close()

    def _idle_wait(self, store: OutboxQueue) -> float:
        cfg = self._config
        with self._state_lock:
            offline = self._offline_since is not None
            next_probe = self._next_probe_mono
        if offline:
            return min(cfg.idle_poll_s, max(0.0, next_probe - self._clock.monotonic()))
        pause = self._pause_left()
        if pause > 0:
            return min(cfg.idle_poll_s, pause)
        now = self._clock.now().timestamp()
        due = store.next_due_at(now)
        if due is None:
            return cfg.idle_poll_s
        return min(cfg.idle_poll_s, max(0.01, due - now))

    # --- one pass ----------------------------------------------------------------------------

    def _pool_get(self) -> cf.ThreadPoolExecutor:
        if self._pool is None:
            self._pool = cf.ThreadPoolExecutor(max_workers=self._config.max_in_flight,
                                               thread_name_prefix="sync-send")
        return self._pool

    def _send(self, row: OutboxRow) -> GatewayResult:
        """Runs on a pool thread: its own gateway client (keep-alive), the stored body, nothing else."""
        gw: CardGateway | None = getattr(self._local, "gateway", None)
        try:
            if gw is None:
                gw = self._gateway_factory()
                self._local.gateway = gw
                with self._gw_lock:
                    self._gateways.append(gw)
            biz: dict[str, Any] = json.loads(row.body_json)
            return gw.call(row.method, biz)
        except Exception as exc:  # noqa: BLE001 - a client bug must not lose the row
            logger.exception("outbox #%d: the gateway client raised", row.id)
            return GatewayUnknown(f"client error: {type(exc).__name__}", "unexpected_code")

    def _set_error(self, text: str) -> None:
        with self._state_lock:
            self._last_error = text

    @property
    def send_cap(self) -> int:
        """How many calls may be in flight now (max_in_flight unless Alipay asked us to slow down)."""
        with self._state_lock:
            return self._cap

    def _slow_down(self, reason: str) -> None:
        """A rate-limit answer: halve the in-flight cap and pause new calls (doubling while they repeat).

        Answers to calls already in flight when the pause began count once: a burst is one slow-down."""
        cfg = self._config
        with self._state_lock:
            self.rate_limited += 1
            if self._clock.monotonic() < self._paused_until:
                return
            self._throttles += 1
            self._cap = max(1, self._cap // 2)
            self.lowest_cap = min(self.lowest_cap, self._cap)
            self._ok_since_cut = 0
            pause = min(cfg.backoff_cap_s, cfg.backoff_base_s * 2.0 ** min(self._throttles - 1, 30))
            pause *= self._rng.uniform(0.5, 1.0)
            self._paused_until = max(self._paused_until, self._clock.monotonic() + pause)
            cap = self._cap
        logger.warning("sync: rate limited by Alipay (%s); %d call(s) in flight from now, none for %.1f s",
                       reason, cap, pause)

    def _speed_up(self) -> None:
        with self._state_lock:
            self._throttles = 0
            if self._cap < self._config.max_in_flight:
                self._ok_since_cut += 1
                if self._ok_since_cut >= self._cap:
                    self._cap += 1
                    self._ok_since_cut = 0

    def _pause_left(self) -> float:
        with self._state_lock:
            return max(0.0, self._paused_until - self._clock.monotonic())

    def _went_offline(self) -> None:
        with self._state_lock:
            if self._offline_since is None:
                self._offline_since = self._clock.now()
                logger.warning("sync: the gateway cannot be reached; probing every %.0f s",
                               self._config.probe_interval_s)
            self._next_probe_mono = self._clock.monotonic() + self._config.probe_interval_s

    def _outcome(self, row: OutboxRow, result: GatewayResult, res: _Counters) -> tuple[OutboxOutcome, Verdict]:
        verdict = classify(result)
        attempts = row.attempts + 1
        if verdict.kind == "ok":
            res.done += 1
            return OutboxOutcome(row.id, row.card_no, "done", attempts, points_after=row.points_after), verdict
        if verdict.kind == "permanent":
            res.dead += 1
            logger.warning("outbox #%d (%s, card %s) to the dead letters: %s", row.id, row.kind,
                           mask_card(row.card_no), verdict.reason)
            return OutboxOutcome(row.id, row.card_no, "dead", attempts, error=verdict.reason), verdict
        res.retried += 1
        cfg = self._config
        delay = backoff(attempts, self._rng, base_s=cfg.backoff_base_s, cap_s=cfg.backoff_cap_s)
        next_at = self._clock.now().timestamp() + delay
        logger.info("outbox #%d (%s, card %s) attempt %d failed, retry in %.1f s: %s", row.id, row.kind,
                    mask_card(row.card_no), attempts, delay, verdict.reason)
        return OutboxOutcome(row.id, row.card_no, "retry", attempts, next_attempt_at=next_at,
                             error=verdict.reason), verdict

    def _pass(self, store: OutboxQueue) -> SyncPassResult:
        """Send everything due, each card's rows one after another, ≤ max_in_flight at once.

        Outcomes are recorded in batches (one short transaction per ``record_interval_s`` at most,
        or sooner when nothing else is in flight), so the cashier's commits rarely meet our write lock.
        A card stays "busy" until its outcome is recorded: its next row is sent only after that.
        """
        cfg = self._config
        t0 = self._clock.monotonic()
        res = _Counters()
        ready: collections.deque[OutboxRow] = collections.deque()
        busy: set[str] = set()
        inflight: dict[cf.Future[GatewayResult], OutboxRow] = {}
        unrecorded: list[tuple[OutboxOutcome, Verdict]] = []
        batch_started = 0.0
        exhausted = False
        recovered = False

        with self._state_lock:
            offline_at_start = self._offline_since is not None
            probe_due = self._clock.monotonic() >= self._next_probe_mono
        if offline_at_start:
            if not probe_due:
                return SyncPassResult(offline=True, elapsed_s=0.0)
            probe = store.due_heads(self._clock.now().timestamp(), 1, ignore_schedule=True)
            if not probe:                    # nothing to send: nothing to be offline about
                with self._state_lock:
                    self._offline_since = None
            else:
                ready.append(probe[0])
                busy.add(probe[0].card_no)
                res.probed = True
            exhausted = True                 # no refill until the probe has come back
        probe_sent = False
        pool = self._pool_get()

        while True:
            with self._state_lock:
                offline = self._offline_since is not None
            cap = 1 if offline else min(cfg.max_in_flight, self.send_cap)
            while not self._stop.is_set() and len(inflight) < cap:
                if offline and (probe_sent or not res.probed):
                    break
                if self._pause_left() > 0:   # Alipay asked us to slow down: nothing new until the pause ends
                    break
                if not ready and not exhausted:
                    heads = store.due_heads(self._clock.now().timestamp(), cfg.batch, frozenset(busy))
                    exhausted = len(heads) < cfg.batch
                    for h in heads:
                        ready.append(h)
                        busy.add(h.card_no)
                if not ready:
                    break
                row = ready.popleft()
                if row.kind == "card.update":
                    row, n = store.coalesce_updates(row, self._clock.now())
                    res.coalesced += n
                inflight[pool.submit(self._send, row)] = row
                res.sent += 1
                probe_sent = probe_sent or offline
            if not inflight and not unrecorded:
                break
            if inflight:
                timeout = None
                if unrecorded:
                    timeout = max(0.0, batch_started + cfg.record_interval_s - self._clock.monotonic())
                done, _ = cf.wait(list(inflight), timeout=timeout, return_when=cf.FIRST_COMPLETED)
                for fut in done:
                    row = inflight.pop(fut)
                    outcome, verdict = self._outcome(row, fut.result(), res)
                    if not unrecorded:
                        batch_started = self._clock.monotonic()
                    unrecorded.append((outcome, verdict))
                    if verdict.kind == "ok":
                        self._speed_up()
                        with self._state_lock:
                            if self._offline_since is not None:
                                self._offline_since = None
                                recovered = True
                    else:
                        self._set_error(verdict.reason)
                        if verdict.rate_limited:
                            self._slow_down(verdict.reason)
                        if verdict.network:
                            self._went_offline()
            flush = unrecorded and (not inflight or self._stop.is_set() or len(unrecorded) >= cfg.batch
                                    or self._clock.monotonic() - batch_started >= cfg.record_interval_s
                                    or (not ready and exhausted and len(inflight) < cap))
            if not flush:
                continue
            store.record([o for o, _ in unrecorded], self._clock.now())
            if recovered:
                recovered = False
                exhausted = False            # backed-off rows are due again: fetch them
                res.probed = res.probed or offline_at_start
                now = self._clock.now().timestamp()
                ids = store.backed_off(now)
                store.make_due(ids, now)
                logger.info("sync: the gateway answers again; %d backed-off rows are due now", len(ids))
            now = self._clock.now().timestamp()
            for outcome, _ in unrecorded:
                nxt = store.next_head(outcome.card_no) if outcome.action == "done" and not self._stop.is_set() \
                    else None
                if nxt is not None and nxt.next_attempt_at <= now:
                    ready.append(nxt)
                else:
                    busy.discard(outcome.card_no)
            if all(v.kind == "ok" for _, v in unrecorded) and not ready and not inflight:
                self._set_error("")
            unrecorded = []
        with self._state_lock:
            offline_end = self._offline_since is not None
        return SyncPassResult(sent=res.sent, done=res.done, retried=res.retried, dead=res.dead,
                              coalesced=res.coalesced, probed=res.probed, offline=offline_end,
                              elapsed_s=self._clock.monotonic() - t0)
