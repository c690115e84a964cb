"""Crash recovery: the terminal process is SIGKILLed after alipay.trade.pay was sent; on restart recover()
settles the attempt and the customer is charged at most once."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from pos_app.alipay.client import AlipayClient, load_gateway_config
from pos_app.runtime import RandomIds, SystemClock
from pos_app.sandbox.server import SandboxServer
from pos_app.services.payment import PaymentConfig, PaymentService
from pos_app.storage.db import Database, connect
from pos_app.storage.uow import SqliteUnitOfWork

ROOT = Path(__file__).resolve().parents[2]

_CHILD = r"""
import json, sys
from pos_app.alipay.client import AlipayClient, load_gateway_config
from pos_app.runtime import RandomIds, SystemClock
from pos_app.services.payment import PaymentConfig, PaymentService
from pos_app.storage.db import connect
from pos_app.storage.uow import SqliteUnitOfWork

info, db, auth = json.loads(sys.argv[1]), sys.argv[2], sys.argv[3]
cfg = load_gateway_config(info["gateway_url"], info["app_id"], info["app_private_key"], info["alipay_public_key"],
                          read_timeout_s=60.0)
conn = connect(db)
svc = PaymentService(lambda: SqliteUnitOfWork(conn), AlipayClient(cfg, clock=SystemClock()), SystemClock(),
                     RandomIds("T1"), PaymentConfig())
att = svc.begin(1234, auth, "Demo Shop", shift_id=1, cashier_id=1, basket={"lines": []})
print(att.out_trade_no, flush=True)
svc.run(att.id, auth)
print("FINISHED", flush=True)
"""


def _wait(cond, timeout: float = 20.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return
        time.sleep(0.02)
    pytest.fail("condition not reached in time")


@pytest.mark.parametrize("paid", [True, False])
def test_kill_after_pay_sent_then_recover(tmp_path: Path, paid: bool) -> None:
    db = tmp_path / "pos.sqlite3"
    conn = Database(db).open_and_migrate()
    conn.execute("INSERT INTO users (id, number, name, role, pin_hash, created_at) VALUES (1, '001', 'A', 'cashier',"
                 " 'x', '2026-01-01')")
    conn.execute("INSERT INTO shifts (id, terminal_id, number, state, opened_by, opened_at, opening_float_fen)"
                 " VALUES (1, 'T1', 1, 'open', 1, '2026-01-01', 0)")
    conn.close()
    server = SandboxServer(tmp_path / "sandbox").start()
    try:
        auth = "28763443825664394" if paid else "28763443825664395"
        if not paid:
            server.script_auth_code(auth, "wait_forever")
        server.inject_fault("slow", "alipay.trade.pay", delay_s=30.0)  # applied at once, answered much later
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        child = subprocess.Popen([sys.executable, "-c", _CHILD, json.dumps(server.info()), str(db), auth],
                                 stdout=subprocess.PIPE, text=True, env=env, cwd=ROOT)
        assert child.stdout is not None
        out_trade_no = child.stdout.readline().strip()
        assert out_trade_no
        _wait(lambda: server.trade(out_trade_no) is not None)  # the gateway has applied the pay
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=10)
        child.stdout.close()

        check = connect(db)
        assert check.execute("SELECT state FROM payment_attempts").fetchone()[0] == "sending"
        cfg = load_gateway_config(server.gateway_url, server.app_id, server.app_private_key_path,
                                  server.alipay_public_key_path, read_timeout_s=2.0)
        with AlipayClient(cfg, clock=SystemClock()) as client:
            svc = PaymentService(lambda: SqliteUnitOfWork(check), client, SystemClock(), RandomIds("T1"),
                                 PaymentConfig(query_interval_s=0.01, cancel_interval_s=0.01), sleep=lambda s: None)
            outcomes = svc.recover()
            assert len(outcomes) == 1
            trade = server.trade(out_trade_no)
            assert trade is not None
            if paid:
                assert outcomes[0].state == "paid"
                assert [a.out_trade_no for a in svc.orphans()] == [out_trade_no]  # listed, not completed silently
                assert trade["status"] == "TRADE_SUCCESS"
            else:
                assert outcomes[0].state == "cancelled"
                assert trade["status"] == "TRADE_CLOSED"
            charged = sum(c["fen"] for c in trade.get("charges", []))
            assert charged in (0, 1234)  # at most once
            assert len([t for t in server.trades() if t["out_trade_no"] == out_trade_no]) == 1
            assert svc.pending() == []
        check.close()
    finally:
        server.stop()
