"""Network faults: the scripted day (with kills) while the sandbox injects every fault kind at random and the
gateway goes down for a stretch; the same invariants hold and the cashier is never blocked in a payment longer
than the configured timeouts allow. Seed: POS_RELIABILITY_SEED (printed)."""

from __future__ import annotations

import os
import random
import threading
from collections.abc import Iterator
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


def _random_faults(sandbox: SandboxServer, rng: random.Random) -> None:
    for kind in FAULT_KINDS:
        sandbox.inject_fault(kind, "*", count=None, probability=0.03, seed=rng.randrange(10**6),
                             delay_s=READ_TIMEOUT_S + 0.4)


@pytest.mark.timeout(3600 if FULL else 120)
def test_network_faults(tmp_path: Path, net_sandbox: SandboxServer) -> None:
    seed = seed_from_env()
    kills = 50 if FULL else 3
    sales = 200 if FULL else 30
    print(f"\nnetwork-faults: POS_RELIABILITY_SEED={seed} kills={kills} sales={sales}")
    rng = random.Random(seed)
    run = prepare(tmp_path, net_sandbox)
    _random_faults(net_sandbox, rng)
    stop = threading.Event()

    def gateway_down_stretches() -> None:
        while not stop.wait(rng.uniform(2.0, 4.0)):
            net_sandbox.clear_faults()
            net_sandbox.inject_fault("refuse", "*", count=None)   # the gateway is down ...
            if stop.wait(rng.uniform(0.5, 1.5)):
                break
            net_sandbox.clear_faults()                             # ... and back, with random faults again
            _random_faults(net_sandbox, rng)

    downs = threading.Thread(target=gateway_down_stretches, daemon=True)
    downs.start()
    try:
        run = run_day(run, seed=seed, sales=sales, kills=kills, finish_timeout_s=100)
    finally:
        stop.set()
        downs.join(5)
        net_sandbox.clear_faults()
    drain(run, net_sandbox)
    figures = check_invariants(run, net_sandbox)
    blocked = [float(x) for x in (run.data / "blocked.txt").read_text().split()]
    longest = max(blocked, default=0.0)
    print(f"network-faults: seed={seed} {figures} payments={len(blocked)} longest_blocked_s={longest:.2f} "
          f"bound_s={blocked_bound_s():.2f}")
    assert longest <= blocked_bound_s(), f"the cashier waited {longest:.2f} s for one payment"
