"""Crash recovery of a split tender (issue 14): the terminal process is SIGKILLed while the Alipay part of a sale
is being paid, or after it was confirmed and held by the sale (a cash part taken before it); on restart recovery
turns the part into an orphan that a supervisor completes (the rest recorded as cash) or refunds. The customer is
charged at most once, the sale is committed at most once and its tenders add up to its total."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from pos_app.alipay.card_requests import AlipayCardRequests
from pos_app.alipay.client import AlipayClient, load_gateway_config
from pos_app.domain.catalogue import CatalogueItem
from pos_app.runtime import RandomIds, SystemClock
from pos_app.sandbox.server import SandboxServer
from pos_app.services.checkout import CheckoutConfig, CheckoutService, CommittedSale
from pos_app.services.payment import PaymentConfig, PaymentService
from pos_app.storage.db import Database, connect
from pos_app.storage.seed import load_catalogue
from pos_app.storage.uow import SqliteUnitOfWork

ROOT = Path(__file__).resolve().parents[2]
ITEM = "6901234567892"   # 19.00

_CHILD = r"""
import json, sys, threading, time
from pos_app.alipay.card_requests import AlipayCardRequests
from pos_app.alipay.client import AlipayClient, load_gateway_config
from pos_app.runtime import RandomIds, SystemClock
from pos_app.services.checkout import CheckoutConfig, CheckoutService
from pos_app.services.payment import PaymentConfig, PaymentService
from pos_app.services.till import Till, TillSession
from pos_app.storage.db import connect
from pos_app.storage.uow import SqliteUnitOfWork

info, db, auth, mode = json.loads(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
local = threading.local()
def uow():
    if getattr(local, "conn", None) is None:
        local.conn = connect(db)
    return SqliteUnitOfWork(local.conn)
cfg = load_gateway_config(info["gateway_url"], info["app_id"], info["app_private_key"], info["alipay_public_key"],
                          read_timeout_s=60.0)
checkout = CheckoutService(uow, SystemClock(), RandomIds("T1"), CheckoutConfig(terminal_id="T1"),
                           card_requests=AlipayCardRequests())
payments = PaymentService(uow, AlipayClient(cfg, clock=SystemClock()), SystemClock(), RandomIds("T1"),
                          PaymentConfig(), checkout=checkout)
till = Till(checkout, payments)
till.start(TillSession(user_id=1, user_name="A", shift_id=1))
till.add_item(checkout.find_product(sys.argv[5]))
till.take_total()
till.pay_cash_part(300)
print("PAYING", flush=True)
result = till.pay_alipay(auth, subject="Demo Shop", amount_fen=1000)
print("HELD" if result.part is not None else "NOT HELD", flush=True)
time.sleep(120)
"""


def _wait(cond, timeout: float = 20.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return
        time.sleep(0.02)
    pytest.fail("condition not reached in time")


@pytest.mark.parametrize(("when", "decision"), [("held", "complete"), ("paying", "refund")])
def test_kill_during_a_split_tender_then_recover(tmp_path: Path, when: str, decision: str) -> None:
    db = tmp_path / "pos.sqlite3"
    conn = Database(db).open_and_migrate()
    conn.execute("INSERT INTO users (id, number, name, role, pin_hash, created_at) VALUES (1, '001', 'A', 'cashier',"
                 " 'x', '2026-01-01'), (2, '900', 'S', 'supervisor', 'x', '2026-01-01')")
    conn.execute("INSERT INTO shifts (id, terminal_id, number, state, opened_by, opened_at, opening_float_fen)"
                 " VALUES (1, 'T1', 1, 'open', 1, '2026-01-01', 0)")
    load_catalogue(conn, [CatalogueItem(ITEM, "礼盒", "Gift box", 1900)])
    conn.close()
    server = SandboxServer(tmp_path / "sandbox").start()
    try:
        auth = "28763443825664394"
        if when == "paying":
            server.inject_fault("slow", "alipay.trade.pay", delay_s=30.0)  # applied at once, answered much later
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        child = subprocess.Popen([sys.executable, "-c", _CHILD, json.dumps(server.info()), str(db), auth, when, ITEM],
                                 stdout=subprocess.PIPE, text=True, env=env, cwd=ROOT)
        assert child.stdout is not None
        assert child.stdout.readline().strip() == "PAYING"
        if when == "held":
            assert child.stdout.readline().strip() == "HELD"
        else:
            _wait(lambda: len(server.trades()) == 1)          # the gateway has applied the pay
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=10)
        child.stdout.close()

        check = connect(db)
        state, resolution = check.execute("SELECT state, resolution FROM payment_attempts").fetchone()
        assert (state, resolution) == (("paid", "held") if when == "held" else ("sending", ""))
        assert check.execute("SELECT count(*) FROM sales").fetchone()[0] == 0
        cfg = load_gateway_config(server.gateway_url, server.app_id, server.app_private_key_path,
                                  server.alipay_public_key_path, read_timeout_s=2.0)
        with AlipayClient(cfg, clock=SystemClock()) as client:
            checkout = CheckoutService(lambda: SqliteUnitOfWork(check), SystemClock(), RandomIds("T1"),
                                       CheckoutConfig(terminal_id="T1"), card_requests=AlipayCardRequests())
            svc = PaymentService(lambda: SqliteUnitOfWork(check), client, SystemClock(), RandomIds("T1"),
                                 PaymentConfig(query_interval_s=0.01, cancel_interval_s=0.01), sleep=lambda s: None,
                                 checkout=checkout)
            svc.recover()
            orphans = svc.orphans()
            assert [o.amount_fen for o in orphans] == [1000]             # listed, never completed silently
            assert checkout.part_of_split(orphans[0]) == 600            # 19.00 - 3.00 cash - 10.00 Alipay
            result = svc.resolve_orphan(orphans[0].id, decision, 2, by_user_name="S")
            trade = server.trades()[0]
            charged = sum(c["fen"] for c in trade.get("charges", []) if c["kind"] == "charge")
            assert charged == 1000 and len(server.trades()) == 1       # charged once
            if decision == "complete":
                assert isinstance(result, CommittedSale)
                assert [(t.kind, t.amount_fen) for t in result.snapshot.tenders] == [
                    ("cash", 300), ("alipay", 1000), ("cash", 600)]
                rows = check.execute("SELECT s.total_fen, (SELECT sum(amount_fen) FROM tenders t WHERE t.sale_id = s.id)"
                                     " FROM sales s").fetchall()
                assert [tuple(r) for r in rows] == [(1900, 1900)]
                assert int(trade.get("refund_fen", 0)) == 0
            else:
                assert int(trade.get("refund_fen", 0)) == 1000
                assert check.execute("SELECT count(*) FROM sales").fetchone()[0] == 0
            assert svc.orphans() == [] and svc.pending() == []
            with pytest.raises(Exception, match="not waiting"):
                svc.resolve_orphan(orphans[0].id, "complete", 2)
        check.close()
    finally:
        server.stop()
