"""Alipay's rate-limit answers slow the worker down (fewer calls in flight, a pause); every row still lands once."""

from __future__ import annotations

import time
from pathlib import Path

from pos_app.alipay import AlipayClient
from pos_app.alipay.subcodes import RATE_LIMIT_SUB_CODES, business_failure
from pos_app.runtime import FixedClock
from pos_app.sandbox import SandboxServer
from pos_app.services.ports.gateway import GatewayUnknown
from pos_app.services.sync import SyncConfig, classify
from tests.integration.sandbox.sandbox_support import make_client
from tests.integration.sync.sync_support import Ledger, check_sandbox_matches, make_trades, make_worker


def _card_calls(sandbox: SandboxServer) -> int:
    return sum(1 for e in sandbox.request_log() if e["method"].startswith("alipay.marketing.card."))


def test_rate_limit_codes_are_transient_and_not_offline() -> None:
    for sub in ("isv.service-busy", "aop.ACCESS_LIMITED"):
        assert sub in RATE_LIMIT_SUB_CODES
        v = classify(business_failure("20000" if sub.startswith("isv") else "40004", sub, "busy", {}))
        assert (v.kind, v.rate_limited, v.network) == ("transient", True, False)
    v = classify(GatewayUnknown("20000 isv.service-busy: busy", "rate_limited"))   # the client's throttle answer
    assert (v.kind, v.rate_limited, v.network) == ("transient", True, False)
    assert SyncConfig().max_in_flight == 16


def test_throttled_worker_pauses_then_sends_again(db_path: Path, sandbox: SandboxServer, client: AlipayClient) -> None:
    ledger = Ledger.open(db_path)
    for i in range(3):
        ledger.add_member(sandbox, f"88000000000007{i:02d}")
        ledger.sale(f"88000000000007{i:02d}", 5, None)            # one card.update each
    clock = FixedClock()
    worker = make_worker(db_path, lambda: make_client(sandbox), clock=clock, max_in_flight=1,
                         backoff_base_s=2.0, backoff_cap_s=4.0)
    sandbox.inject_fault("throttle", "*", count=1)             # 20000 isv.service-busy, once
    before = _card_calls(sandbox)
    try:
        first = worker.run_once()
        assert (first.sent, first.retried, first.done) == (1, 1, 0) and not first.offline
        assert worker.rate_limited == 1
        again = worker.run_once()                               # still inside the pause: nothing goes out
        assert again.sent == 0 and _card_calls(sandbox) == before + 1
        assert "rate limited" in worker.status().last_error
        clock.advance(4.0)                                      # the pause (and the row's retry delay) is over
        last = worker.run_once()
        assert last.done == 3 and ledger.states() == {"done": 3}
    finally:
        worker.close()
    ledger.close()


def test_rate_limits_halve_the_calls_in_flight_and_every_row_lands_once(
        db_path: Path, sandbox: SandboxServer, client: AlipayClient) -> None:
    ledger = Ledger.open(db_path)
    cards = [f"88000000000008{i:02d}" for i in range(12)]
    trades = iter(make_trades(client, 12))
    for c in cards:
        ledger.add_member(sandbox, c)
        ledger.sale(c, 7, next(trades))
    sandbox.inject_fault("throttle", "*", count=3)
    worker = make_worker(db_path, lambda: make_client(sandbox), max_in_flight=8, backoff_base_s=0.05,
                         backoff_cap_s=0.2)
    deadline = time.monotonic() + 20
    try:
        while ledger.pending():
            assert time.monotonic() < deadline, ledger.states()
            worker.run_once()
            time.sleep(0.01)
    finally:
        worker.close()
    assert ledger.states() == {"done": 24}
    assert worker.rate_limited == 3
    assert worker.lowest_cap <= 4                               # halved at least once from 8
    check_sandbox_matches(sandbox, ledger, cards)               # each row took effect once
    ledger.close()
