"""Sync worker against the sandbox over real HTTP: drain, per-card order under parallelism, coalescing."""

from __future__ import annotations

import json
import random
from pathlib import Path

from pos_app.alipay import AlipayClient
from pos_app.sandbox import SandboxServer
from pos_app.storage.outbox import outbox_stats
from tests.integration.sandbox.sandbox_support import make_client
from tests.integration.sync.sync_support import (
    Ledger,
    card_events,
    check_sandbox_matches,
    make_trades,
    make_worker,
)


def test_normal_drain_updates_cards_and_points_synced(db_path: Path, sandbox: SandboxServer,
                                                      client: AlipayClient) -> None:
    ledger = Ledger.open(db_path)
    trades = make_trades(client, 3)
    ledger.add_member(sandbox, "8800000000000001", opening=10)
    ledger.add_member(sandbox, "8800000000000002")
    ledger.sale("8800000000000001", 25, trades[0])
    ledger.sale("8800000000000002", 7, trades[1])
    ledger.sale("8800000000000001", -5, trades[2])
    worker = make_worker(db_path, lambda: make_client(sandbox))
    try:
        result = worker.run_once()
    finally:
        worker.close()
    assert result.sent == 6 and result.done == 6 and result.dead == 0
    assert ledger.states() == {"done": 6}
    assert outbox_stats(ledger.conn) == {"pending": 0, "oldest_pending_created_at": None, "dead": 0,
                                         "discarded": 0}
    check_sandbox_matches(sandbox, ledger, ["8800000000000001", "8800000000000002"])
    assert sandbox.card("8800000000000001")["point"] == "30"
    assert worker.status().pending == 0
    ledger.close()


def test_per_card_order_under_parallelism(db_path: Path, sandbox: SandboxServer, client: AlipayClient) -> None:
    ledger = Ledger.open(db_path)
    rng = random.Random(7)
    cards = [f"88000000000001{i:02d}" for i in range(24)]
    for c in cards:
        ledger.add_member(sandbox, c)
    trades = iter(make_trades(client, 40))
    # interleave: many cards, several rows each; some sales without a trade (update only)
    for _ in range(90):
        c = rng.choice(cards)
        trade = next(trades, None) if rng.random() < 0.45 else None
        ledger.sale(c, max(-ledger.balance[c], rng.randint(-3, 20)), trade)
    worker = make_worker(db_path, lambda: make_client(sandbox), max_in_flight=8)
    try:
        result = worker.run_once()
    finally:
        worker.close()
    assert ledger.pending() == 0 and result.dead == 0
    check_sandbox_matches(sandbox, ledger, cards)
    ledger.close()


def test_consecutive_card_updates_coalesce_into_newest(db_path: Path, sandbox: SandboxServer,
                                                       client: AlipayClient) -> None:
    ledger = Ledger.open(db_path)
    card = "8800000000000301"
    ledger.add_member(sandbox, card)
    trade = make_trades(client, 1)[0]
    u1 = ledger.sale(card, 5, None)            # update
    u2 = ledger.sale(card, 6, None)            # update
    c3 = ledger.sale(card, 1, trade, update=False)   # consume.sync: never dropped, breaks the run
    u4 = ledger.sale(card, 2, None)
    u5 = ledger.sale(card, 3, None)
    u6 = ledger.sale(card, 4, None)
    worker = make_worker(db_path, lambda: make_client(sandbox))
    try:
        result = worker.run_once()
    finally:
        worker.close()
    assert result.coalesced == 3 and result.sent == 3
    rows = {r[0]: (r[1], r[2]) for r in ledger.conn.execute("SELECT id, state, last_error FROM outbox")}
    assert rows[u1[0]] == ("done", f"coalesced into #{u2[0]}")
    assert rows[u4[0]] == ("done", f"coalesced into #{u6[0]}")
    assert rows[u5[0]] == ("done", f"coalesced into #{u6[0]}")
    assert rows[c3[0]] == ("done", "")
    kinds = [(h["kind"], h["point"]) for h in card_events(sandbox, card)]
    assert kinds == [("update", "11"), ("consume_sync", "12"), ("update", "21")]
    assert sandbox.card(card)["point"] == "21"
    synced = ledger.conn.execute("SELECT points_synced FROM members WHERE card_no = ?", (card,)).fetchone()[0]
    assert synced == 21
    body = json.loads(ledger.conn.execute("SELECT body_json FROM outbox WHERE id = ?", (u6[0],)).fetchone()[0])
    assert body["card_info"]["point"] == "21"
    ledger.close()
