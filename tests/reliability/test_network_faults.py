"""Network faults: the scripted day (with kills) while the sandbox injects every fault kind at random and the
gateway goes down for a stretch; the same invariants hold and the cashier is never blocked in a payment longer
than the configured timeouts allow. Seed: POS_RELIABILITY_SEED (printed)."""

from __future__ import annotations

import os
import random
import threading
from collections.abc import Iterable, Iterator
from pathlib import Path

import pytest

from pos_app.sandbox import SandboxServer
from tests.reliability.harness.day import READ_TIMEOUT_S, payment_config
from tests.reliability.harness.invariants import check_invariants, drain, prepare, run_day, seed_from_env

FULL = os.environ.get("POS_RELIABILITY_FULL", "") == "1"
FAULT_KINDS = ("refuse", "slow", "http500", "unavailable", "system_error", "throttle", "truncated", "wrong_key")
CONNECT_TIMEOUT_S = 0.5


def blocked_bound_s() -> float:
    """pay + query_max polls + one check + cancel_max(+1) cancels, each at most a connect + read timeout,
    plus the poll and cancel intervals, plus 1 s of slack for process scheduling."""
    p = payment_config()
    calls = 1 + p.query_max + 1 + p.cancel_max + 1
    return calls * (READ_TIMEOUT_S + CONNECT_TIMEOUT_S) + p.query_max * p.query_interval_s \
        + p.cancel_max * p.cancel_interval_s + 1.0


@pytest.fixture
def net_sandbox(tmp_path: Path) -> Iterator[SandboxServer]:
    server = SandboxServer(tmp_path / "sandbox").start()
    try:
        yield server
    finally:
        server.stop()


RATE = 0.04  # per kind, per request (first match wins, so the kinds further down fire a little less)


def _random_faults(sandbox: SandboxServer, rng: random.Random, guaranteed: Iterable[str] = ()) -> None:
    """Each kind in ``guaranteed`` fires on one of the next requests for sure (count=1, first in line),
    then every kind fires at random at ``RATE`` in a shuffled order."""
    for kind in guaranteed:
        sandbox.inject_fault(kind, "*", count=1, delay_s=READ_TIMEOUT_S + 0.4)
    kinds = list(FAULT_KINDS)
    rng.shuffle(kinds)
    for kind in kinds:
        sandbox.inject_fault(kind, "*", count=None, probability=RATE, seed=rng.randrange(10**6),
                             delay_s=READ_TIMEOUT_S + 0.4)


@pytest.mark.timeout(3600 if FULL else 120)
def test_network_faults(tmp_path: Path, net_sandbox: SandboxServer) -> None:
    seed = seed_from_env()
    kills = 50 if FULL else 3
    sales = 600 if FULL else 80
    print(f"\nnetwork-faults: POS_RELIABILITY_SEED={seed} kills={kills} sales={sales}")
    rng = random.Random(seed)
    run = prepare(tmp_path, net_sandbox)
    stop = threading.Event()
    outage_refusals = 0
    outages = 0

    def not_fired_yet() -> list[str]:
        counts = net_sandbox.fault_counts()
        random_refusals = counts.get("refuse", 0) - outage_refusals
        return [k for k in FAULT_KINDS if (random_refusals if k == "refuse" else counts.get(k, 0)) == 0]

    _random_faults(net_sandbox, rng, guaranteed=FAULT_KINDS)

    def gateway_down_stretches() -> None:
        nonlocal outage_refusals, outages
        while not stop.wait(rng.uniform(2.0, 4.0)):
            missing = not_fired_yet()
            net_sandbox.clear_faults()
            before = net_sandbox.fault_counts().get("refuse", 0)
            net_sandbox.inject_fault("refuse", "*", count=None)   # the gateway is down ...
            outages += 1
            down = stop.wait(rng.uniform(0.5, 1.5))
            net_sandbox.clear_faults()                             # ... and back, with random faults again
            outage_refusals += net_sandbox.fault_counts().get("refuse", 0) - before
            if down:
                break
            _random_faults(net_sandbox, rng, guaranteed=missing)  # a kind not seen yet is forced again

    downs = threading.Thread(target=gateway_down_stretches, daemon=True)
    downs.start()
    try:
        run = run_day(run, seed=seed, sales=sales, kills=kills, finish_timeout_s=100)
    finally:
        stop.set()
        downs.join(5)
        net_sandbox.clear_faults()
    counts = net_sandbox.fault_counts()
    fired = {k: counts.get(k, 0) - (outage_refusals if k == "refuse" else 0) for k in FAULT_KINDS}
    print(f"network-faults: fired={fired} outages={outages} outage_refusals={outage_refusals}")
    drain(run, net_sandbox)
    figures = check_invariants(run, net_sandbox)
    blocked = [float(x) for x in (run.data / "blocked.txt").read_text().split()]
    longest = max(blocked, default=0.0)
    blocked.sort()
    p95 = blocked[int(0.95 * (len(blocked) - 1))] if blocked else 0.0
    print(f"network-faults: seed={seed} {figures} payments={len(blocked)} longest_blocked_s={longest:.2f} "
          f"p95_blocked_s={p95:.2f} bound_s={blocked_bound_s():.2f}")
    assert longest <= blocked_bound_s(), f"the cashier waited {longest:.2f} s for one payment"
    assert all(n > 0 for n in fired.values()), f"fault kinds that never fired: {fired}"
