"""The sync worker process is killed with SIGKILL at random points; after every restart it resumes with no
loss and no double effect: each card's points in the sandbox equal the ledger, each trade is synced once,
and each card saw its events in commit order. POS_RELIABILITY_FULL=1 runs 50+ kills (default: 5)."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

from pos_app.alipay import AlipayClient
from pos_app.sandbox import SandboxServer
from tests.integration.sandbox.sandbox_support import client, make_client, sandbox, sandbox_keys  # noqa: F401
from tests.integration.sync.sync_support import (
    Ledger,
    check_sandbox_matches,
    make_trades,
    make_worker,
    wait_for,
)

ROOT = Path(__file__).resolve().parents[2]
FULL = os.environ.get("POS_RELIABILITY_FULL") == "1"
KILLS = 50 if FULL else 5


def _config(tmp_path: Path, server: SandboxServer) -> Path:
    cfg = tmp_path / "pos.toml"
    cfg.write_text(
        f'data_dir = "{tmp_path / "data"}"\n'
        "[gateway]\n"
        f'url = "{server.gateway_url}"\n'
        f'app_id = "{server.app_id}"\n'
        f'app_private_key = "{server.app_private_key_path}"\n'
        f'alipay_public_key = "{server.alipay_public_key_path}"\n'
        "read_timeout_s = 0.3\n"
        "connect_timeout_s = 0.5\n"
        "[sync]\n"
        "max_in_flight = 4\n"
        "backoff_base_s = 0.05\n"
        "backoff_cap_s = 0.3\n"
        "probe_interval_s = 0.1\n", encoding="utf-8")
    return cfg


def test_sigkill_at_random_points_never_loses_or_doubles(tmp_path: Path, sandbox: SandboxServer,  # noqa: F811
                                                         client: AlipayClient) -> None:  # noqa: F811
    seed = int(os.environ.get("POS_RELIABILITY_SEED", "20261125"))
    rng = random.Random(seed)
    cfg = _config(tmp_path, sandbox)
    db_path = tmp_path / "data" / "pos.sqlite3"
    from pos_app.storage.db import Database

    Database(db_path).open_and_migrate().close()
    ledger = Ledger.open(db_path)
    cards = [f"88000000000090{i:02d}" for i in range(24)]
    for c in cards:
        ledger.add_member(sandbox, c, opening=rng.randint(0, 50))
    trades = iter(make_trades(client, 80 + KILLS * 16))

    def commit_some(n: int) -> None:
        for _ in range(n):
            c = rng.choice(cards)
            trade = next(trades, None) if rng.random() < 0.6 else None
            ledger.sale(c, max(-ledger.balance[c], rng.randint(-10, 30)), trade,
                        update=trade is None or rng.random() < 0.8)

    commit_some(120)
    sandbox.inject_fault("slow", "*", count=None, probability=0.04, seed=1, delay_s=0.5)
    sandbox.inject_fault("http500", "*", count=None, probability=0.04, seed=2)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("POS_CONFIG", None)
    mid_drain = 0
    for _ in range(KILLS):
        done_before = ledger.states().get("done", 0)
        proc = subprocess.Popen([sys.executable, "-m", "pos_app", "sync", "run", "--config", str(cfg)],
                                cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_for(lambda: ledger.states().get("done", 0) > done_before or not ledger.pending(), timeout=20,
                 interval=0.005)
        time.sleep(rng.uniform(0.0, 0.4))          # the kill point is random on purpose
        mid_drain += ledger.pending() > 0
        proc.send_signal(signal.SIGKILL)
        assert proc.wait(10) == -signal.SIGKILL
        commit_some(rng.randint(10, 40))
    print(f"\nsync-kill: POS_RELIABILITY_SEED={seed} kills={KILLS} mid_drain={mid_drain} "
          f"rows={sum(ledger.states().values())}")
    assert mid_drain >= KILLS // 2, "most kills should land while the worker was draining"

    sandbox.clear_faults()
    worker = make_worker(db_path, lambda: make_client(sandbox))
    try:
        deadline = time.monotonic() + 30
        while ledger.pending():
            assert time.monotonic() < deadline
            worker.run_once()
    finally:
        worker.close()
    assert set(ledger.states()) == {"done"}
    check_sandbox_matches(sandbox, ledger, cards)
    ledger.close()
