"""Crash anywhere: SIGKILL the scripted day at seeded random moments, restart, and check every invariant.

Default run: 8 kills. ``POS_RELIABILITY_FULL=1``: 200 kills (and a longer day). The seed is printed;
replay with ``POS_RELIABILITY_SEED=<seed>``. The sandbox lives in this process, so it survives the kills.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from pos_app.sandbox import SandboxServer
from tests.reliability.harness.invariants import check_invariants, drain, prepare, run_day, seed_from_env

FULL = os.environ.get("POS_RELIABILITY_FULL", "") == "1"
KILLS = int(os.environ.get("POS_RELIABILITY_KILLS", "200" if FULL else "8"))
SALES = 20 * KILLS


@pytest.fixture
def day_sandbox(tmp_path: Path) -> Iterator[SandboxServer]:
    server = SandboxServer(tmp_path / "sandbox").start()
    try:
        yield server
    finally:
        server.stop()


@pytest.mark.timeout(3600 if FULL else 120)
def test_crash_anywhere(tmp_path: Path, day_sandbox: SandboxServer) -> None:
    seed = seed_from_env()
    print(f"\ncrash-anywhere: POS_RELIABILITY_SEED={seed} kills={KILLS} sales={SALES}")
    run = prepare(tmp_path, day_sandbox)
    # the last run trades what the kills left of the day: allow 0.1 s a sale (it needs ~0.03 on a busy VM)
    run = run_day(run, seed=seed, sales=SALES, kills=KILLS, min_delay_s=0.3, max_delay_s=1.0,
                  finish_timeout_s=max(120.0, 0.1 * SALES))
    drain(run, day_sandbox)
    figures = check_invariants(run, day_sandbox)
    print(f"crash-anywhere: seed={seed} {figures}")
    assert run.kills == KILLS
    assert figures["sales"] >= SALES
