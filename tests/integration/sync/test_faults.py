"""Transient faults are retried with the same body and take effect once; a long outage backs off and
recovers promptly; permanent failures go to the dead letters and wait for the supervisor (audited)."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from pos_app.alipay import AlipayClient
from pos_app.runtime import FixedClock
from pos_app.sandbox import SandboxServer
from pos_app.services.ports.outbox import SyncApprover
from pos_app.services.sync import SyncDecisionError
from pos_app.storage.audit import verify_chain
from tests.integration.sandbox.sandbox_support import make_client
from tests.integration.sync.sync_support import (
    Ledger,
    card_events,
    check_sandbox_matches,
    make_trades,
    make_worker,
)

CONSUME = "alipay.marketing.card.consume.sync"


def _drain(worker, ledger: Ledger, timeout: float = 20.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while ledger.pending():
        assert time.monotonic() < deadline, f"not drained: {ledger.states()}"
        worker.run_once()
        time.sleep(0.01)


@pytest.mark.parametrize("kind", ["refuse", "http500", "unavailable", "system_error", "throttle", "truncated",
                                  "wrong_key", "slow", "error_response", "tamper_body", "empty_sign"])
def test_transient_fault_is_retried_with_the_same_body_and_applies_once(
        kind: str, db_path: Path, sandbox: SandboxServer, client: AlipayClient) -> None:
    ledger = Ledger.open(db_path)
    card = "8800000000000401"
    ledger.add_member(sandbox, card, opening=3)
    trade = make_trades(client, 1)[0]
    ids = ledger.sale(card, 12, trade)
    sandbox.inject_fault(kind, CONSUME, count=1, delay_s=0.6)
    worker = make_worker(db_path, lambda: make_client(sandbox, read_timeout_s=0.3))
    try:
        _drain(worker, ledger)
    finally:
        worker.close()
    assert ledger.states() == {"done": 2}
    attempts = ledger.conn.execute("SELECT attempts FROM outbox WHERE id = ?", (ids[0],)).fetchone()[0]
    assert attempts == 2
    sent = [e["params"]["biz_content"] for e in sandbox.request_log() if e["method"] == CONSUME]
    assert len(sent) == 2 and sent[0] == sent[1]          # the retry resent the stored body
    stored = json.loads(ledger.conn.execute("SELECT body_json FROM outbox WHERE id = ?", (ids[0],)).fetchone()[0])
    assert json.loads(sent[0]) == stored
    assert [h["kind"] for h in card_events(sandbox, card)] == ["consume_sync", "update"]   # one effect
    check_sandbox_matches(sandbox, ledger, [card])
    ledger.close()


def test_long_outage_backs_off_probes_and_recovers_promptly(db_path: Path, sandbox: SandboxServer,
                                                            client: AlipayClient) -> None:
    ledger = Ledger.open(db_path)
    cards = [f"88000000000005{i:02d}" for i in range(6)]
    trades = iter(make_trades(client, 12))
    for c in cards:
        ledger.add_member(sandbox, c)
        ledger.sale(c, 10, next(trades))
        ledger.sale(c, 4, next(trades))
    clock = FixedClock()
    worker = make_worker(db_path, lambda: make_client(sandbox), clock=clock, backoff_base_s=2.0,
                         backoff_cap_s=300.0, probe_interval_s=15.0)
    sandbox.inject_fault("refuse", "*", count=None)
    try:
        first = worker.run_once()
        assert first.retried >= 1 and first.done == 0 and first.offline
        status = worker.status()
        assert status.offline_since == clock.now() and status.pending == 24
        assert "connection" in status.last_error
        # half an hour offline: the worker only probes, once per probe interval
        sends_before = len(sandbox.request_log())
        probes = 0
        for _ in range(1800 * 2 // 15):
            clock.advance(7.5)
            r = worker.run_once()
            probes += r.probed
            assert r.sent <= 1 and r.done == 0
        assert probes == 1800 // 15
        assert len(sandbox.request_log()) - sends_before == probes
        worst = ledger.conn.execute("SELECT max(next_attempt_at) FROM outbox WHERE state='pending'").fetchone()[0]
        assert worst <= clock.now().timestamp() + 300          # capped back-off
        assert worker.status().pending == 24
        # the network comes back: the next probe succeeds and everything goes at once,
        # without waiting out anyone's back-off
        sandbox.clear_faults()
        clock.advance(15)
        r = worker.run_once()
        assert r.probed and not r.offline and r.done == 24 and ledger.pending() == 0
        assert worker.status().offline_since is None
    finally:
        worker.close()
    check_sandbox_matches(sandbox, ledger, cards)
    ledger.close()


def test_nudge_makes_the_next_probe_immediate(db_path: Path, sandbox: SandboxServer, client: AlipayClient) -> None:
    ledger = Ledger.open(db_path)
    ledger.add_member(sandbox, "8800000000000601")
    ledger.sale("8800000000000601", 1, None)
    clock = FixedClock()
    worker = make_worker(db_path, lambda: make_client(sandbox), clock=clock, probe_interval_s=15.0)
    sandbox.inject_fault("http500", "*", count=1)
    try:
        assert worker.run_once().offline
        assert worker.run_once().sent == 0              # probe not due yet
        worker.nudge()                                   # e.g. the OS says the network is up
        r = worker.run_once()
        assert r.probed and r.done == 1
    finally:
        worker.close()
    ledger.close()


def test_permanent_failure_dead_letter_retry_and_discard_are_audited(
        db_path: Path, sandbox: SandboxServer, client: AlipayClient) -> None:
    ledger = Ledger.open(db_path)
    trades = make_trades(client, 2)
    ok_card, missing, bad_trade = "8800000000000701", "8800000000000702", "8800000000000703"
    ledger.add_member(sandbox, ok_card)
    ledger.add_member(None, missing)                  # not on Alipay yet: CARD_NOT_EXIST
    ledger.add_member(sandbox, bad_trade)
    m1 = ledger.sale(missing, 10, trades[0])
    ledger.sale(missing, 5, None)
    b1 = ledger.sale(bad_trade, 8, "2026112522009999999999999999")   # no such trade: TRADE_NOT_EXIST
    ledger.sale(bad_trade, 2, None)
    ledger.sale(ok_card, 7, trades[1])
    worker = make_worker(db_path, lambda: make_client(sandbox))
    sup = SyncApprover(user_id=None, name="主管 Supervisor")
    try:
        r = worker.run_once()
        assert r.dead == 2 and r.done == 2
        status = worker.status()
        assert status.dead == 2 and status.pending == 4          # the rows behind each dead row wait
        dead = {row.card_no: row for row in worker.rows(("dead",))}
        assert "CARD_NOT_EXIST" in dead[missing].last_error and dead[missing].id == m1[0]
        assert "TRADE_NOT_EXIST" in dead[bad_trade].last_error and dead[bad_trade].id == b1[0]
        assert worker.run_once().sent == 0                       # blocked until the supervisor decides

        with pytest.raises(SyncDecisionError):
            worker.discard_dead(b1[0], sup, "  ")                # a reason is required
        with pytest.raises(SyncDecisionError):
            worker.retry_dead(m1[1], sup)                        # not a dead letter
        # the member's card is opened on Alipay; the supervisor retries the same row, unchanged
        sandbox.issue_card(external_card_no=missing, level="VIP1")
        worker.retry_dead(m1[0], sup)
        worker.discard_dead(b1[0], sup, "trade voided at the till")
        r = worker.run_once()
        assert r.dead == 0 and ledger.pending() == 0
    finally:
        worker.close()
    check_sandbox_matches(sandbox, ledger, [ok_card, missing])
    assert sandbox.card(bad_trade)["point"] == "10" and sandbox.card(bad_trade)["synced_trades"] == []
    assert ledger.states() == {"done": 7, "discarded": 1}
    audit = ledger.conn.execute("SELECT action, subject, user_name, detail FROM audit_log ORDER BY id").fetchall()
    assert [(a[0], a[1]) for a in audit] == [("sync.dead_letter.retry", f"outbox #{m1[0]}"),
                                             ("sync.dead_letter.discard", f"outbox #{b1[0]}")]
    assert audit[1][2] == "主管 Supervisor" and "trade voided at the till" in audit[1][3]
    assert missing not in audit[0][3] and missing[-4:] in audit[0][3]     # card masked
    assert verify_chain(ledger.conn)[1] is None
    ledger.close()
