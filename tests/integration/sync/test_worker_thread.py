"""The worker thread drains while the cashier commits at full speed on its own connection."""

from __future__ import annotations

import random
import threading
import time
from pathlib import Path

from pos_app.alipay import AlipayClient
from pos_app.sandbox import SandboxServer
from pos_app.services.sync import SyncBusy
from tests.integration.sandbox.sandbox_support import make_client
from tests.integration.sync.sync_support import (
    Ledger,
    check_sandbox_matches,
    make_trades,
    make_worker,
    wait_for,
)


def test_worker_thread_drains_while_cashier_commits(db_path: Path, sandbox: SandboxServer,
                                                    client: AlipayClient) -> None:
    ledger = Ledger.open(db_path)
    cards = [f"88000000000008{i:02d}" for i in range(30)]
    for c in cards:
        ledger.add_member(sandbox, c)
    trades = make_trades(client, 60)
    worker = make_worker(db_path, lambda: make_client(sandbox), max_in_flight=4)
    sandbox.inject_fault("http500", "*", count=None, probability=0.1, seed=3)
    worker.start()
    commit_s: list[float] = []
    try:
        rng = random.Random(11)
        for i in range(150):
            c = rng.choice(cards)
            t0 = time.perf_counter()
            ledger.sale(c, rng.randint(0, 30), trades[i] if i < len(trades) else None)
            commit_s.append(time.perf_counter() - t0)
            worker.nudge()
        sandbox.clear_faults()
        worker.nudge()
        wait_for(lambda: ledger.pending() == 0, timeout=30)
        status = worker.status()
        assert status.pending == 0 and status.dead == 0 and status.oldest_pending_age_s is None
        assert worker.running
    finally:
        assert worker.stop(10)
    assert not worker.running
    check_sandbox_matches(sandbox, ledger, cards)
    ledger.close()


def test_one_worker_per_database(db_path: Path, sandbox: SandboxServer) -> None:
    a = make_worker(db_path, lambda: make_client(sandbox))
    b = make_worker(db_path, lambda: make_client(sandbox))
    a.start()
    try:
        wait_for(lambda: not _runs(b))
    finally:
        assert a.stop(5)
    assert _runs(b)
    b.close()


def _runs(worker) -> bool:  # type: ignore[no-untyped-def]
    try:
        worker.run_once()
    except SyncBusy:
        return False
    return True


def test_stop_is_prompt_when_idle(db_path: Path, sandbox: SandboxServer) -> None:
    worker = make_worker(db_path, lambda: make_client(sandbox), idle_poll_s=30)
    worker.start()
    wait_for(lambda: worker.running)
    t0 = time.monotonic()
    assert worker.stop(5)
    assert time.monotonic() - t0 < 2
    assert threading.active_count() >= 1
