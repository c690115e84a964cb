"""Asynchronous trade notifications: V1 signature, retries until "success", stable notify_id, duplicates."""

from __future__ import annotations

import dataclasses
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from pos_app.alipay.keys import generate_private_key
from pos_app.services.ports.gateway import GatewaySuccess
from tests.integration.sandbox.sandbox_support import make_client


class _Receiver(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, answers: list[str]) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.answers = answers
        self.received: list[dict[str, str]] = []


class _Handler(BaseHTTPRequestHandler):
    server: _Receiver

    def log_message(self, *args) -> None:
        pass

    def do_POST(self) -> None:  # noqa: N802
        body = self.rfile.read(int(self.headers["Content-Length"])).decode("utf-8")
        self.server.received.append(dict(urllib.parse.parse_qsl(body, keep_blank_values=True)))
        answer = self.server.answers.pop(0) if self.server.answers else "success"
        data = answer.encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


def _wait(cond, timeout=10.0) -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.02)


def test_notification_retried_until_success(sandbox) -> None:
    rx = _Receiver(["fail", "SUCCESS"])
    t = threading.Thread(target=rx.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    t.start()
    base = make_client(sandbox)
    client = type(base)(dataclasses.replace(base.config, notify_url=f"http://127.0.0.1:{rx.server_address[1]}/n"),
                        clock=base._clock)
    base.close()
    try:
        res = client.pay("N1", "286648048691290423", 10, "商品", store_id=None, terminal_id=None, operator_id=None)
        assert isinstance(res, GatewaySuccess)
        _wait(lambda: any(e["delivered"] for e in sandbox.notification_log()))
        ids = {p["notify_id"] for p in rx.received}
        assert len(ids) == 1
        first = rx.received[0]
        assert first["trade_status"] == "TRADE_SUCCESS" and first["out_trade_no"] == "N1"
        assert first["fund_bill_list"] == '[{"amount":"0.10","fundChannel":"ALIPAYACCOUNT"}]'
        assert client.verify_notification(first)
        assert not client.verify_notification({**first, "total_amount": "9.99"})
        log = sandbox.notification_log()
        assert [e["delivered"] for e in log[:3]] == [False, False, True]
        time.sleep(0.3)  # the next retry would have come after 1 s: nothing may arrive after "success"
        assert len(rx.received) == 3
        assert client.refund("N1", "R1", 10, "x").body["fund_change"] == "Y"
        _wait(lambda: any(p["trade_status"] == "TRADE_CLOSED" for p in rx.received))
        assert sandbox.redeliver_notification(next(iter(ids)))
        _wait(lambda: sum(p["notify_id"] in ids for p in rx.received) == 4)
    finally:
        client.close()
        rx.shutdown()
        rx.server_close()


def test_notification_signed_with_other_key_is_rejected(sandbox) -> None:
    from pos_app.sandbox.notify import build_notification

    trade = {"trade_no": "1", "out_trade_no": "X", "buyer_user_id": "2088", "buyer_logon_id": "a", "status":
             "TRADE_SUCCESS", "total_fen": 100, "subject": "s", "gmt_create": "2024-01-01 00:00:00",
             "gmt_payment": "2024-01-01 00:00:01", "refund_fen": 0}
    forged = build_notification(trade, app_id=sandbox.app_id, notify_id="1", now_text="2024-01-01 00:00:02",
                                key=generate_private_key())
    client = make_client(sandbox)
    try:
        assert not client.verify_notification(forged)
    finally:
        client.close()
