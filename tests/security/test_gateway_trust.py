"""Responses the terminal must not believe: wrong key, tampered, unsigned, replayed, another trade's data."""

from __future__ import annotations

import threading
import urllib.parse
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest

from pos_app.sandbox import SandboxServer
from pos_app.services.ports.gateway import GatewaySuccess, GatewayUnknown
from tests.reliability.harness.env import CASHIER, GatewayInfo, Services, build_services

BASKET = {"version": 1, "lines": [], "member": None, "points_redeemed": 0, "payable_fen": 0}
_codes = iter(range(10**6))


def new_code(sandbox: SandboxServer, behaviour: str = "success", queries: int = 1) -> str:
    code = f"28{next(_codes):016d}"
    sandbox.script_auth_code(code, behaviour, queries=queries)
    return code


def open_shift(svc: Services) -> int:
    user = svc.users.authenticate(CASHIER[0], CASHIER[1])
    return svc.shifts.open_shift(user, float_fen=10_000).id


def pay(svc: Services, code: str, amount: int = 1234) -> Any:
    assert svc.payment is not None
    shift_id = (svc.shifts.current_shift() or None) and svc.shifts.current_shift().id  # type: ignore[union-attr]
    att = svc.payment.begin(amount, code, "test", shift_id=shift_id or open_shift(svc), cashier_id=1, basket=BASKET)
    return svc.payment.run(att.id, code)


def charged(sandbox: SandboxServer, out_trade_no: str) -> bool:
    t = sandbox.trade(out_trade_no)
    return t is not None and t["status"] in ("TRADE_SUCCESS", "TRADE_FINISHED")


# --- the client alone -----------------------------------------------------------------------------

@pytest.mark.parametrize("fault", ["wrong_key", "tamper_body", "empty_sign", "truncated"])
def test_client_does_not_believe_a_bad_response(services: Services, sandbox: SandboxServer, fault: str) -> None:
    assert services.client is not None
    paid = services.client.pay("PSEC0001", new_code(sandbox), 100, "test")
    assert isinstance(paid, GatewaySuccess)
    sandbox.inject_fault(fault, "alipay.trade.query", count=1)
    res = services.client.query("PSEC0001")
    assert isinstance(res, GatewayUnknown), res
    assert res.cause in ("signature", "format")


@pytest.mark.parametrize("fault", ["wrong_key", "tamper_body", "empty_sign"])
def test_payment_with_untrusted_answer_is_checked_not_believed(services: Services, sandbox: SandboxServer,
                                                              fault: str) -> None:
    """The pay is applied but its answer cannot be trusted: the service queries (properly signed) and the
    customer is charged exactly once, for a sale the terminal knows about."""
    sandbox.inject_fault(fault, "alipay.trade.pay", count=1)
    out = pay(services, new_code(sandbox))
    assert out.state == "paid"
    assert charged(sandbox, out.attempt.out_trade_no)
    assert [t["out_trade_no"] for t in sandbox.trades()] == [out.attempt.out_trade_no]


def test_every_answer_untrusted_never_counts_as_paid(services: Services, sandbox: SandboxServer) -> None:
    sandbox.inject_fault("wrong_key", "*", count=None)
    out = pay(services, new_code(sandbox))
    assert out.state == "unknown", "no verified answer: the outcome is unknown, never paid"
    sandbox.clear_faults()
    assert services.payment is not None
    settled = services.payment.recover()
    assert [o.state for o in settled] in (["cancelled"], ["cancelled_refunded"])
    assert not charged(sandbox, out.attempt.out_trade_no)


# --- replay and another trade's data, through a small recording proxy ------------------------------

class ReplayProxy:
    """Forwards to the sandbox; in replay mode answers a method with the last recorded answer of ANOTHER call."""

    def __init__(self, upstream: str) -> None:
        self.upstream = upstream
        self.recorded: dict[str, bytes] = {}
        self.replay: set[str] = set()
        self.replayed = 0
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
                return None

            def do_POST(self) -> None:  # noqa: N802
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                query = urllib.parse.urlsplit(self.path).query
                method = dict(urllib.parse.parse_qsl(query)).get("method", "")
                if method in proxy.replay and method in proxy.recorded:
                    answer = proxy.recorded[method]
                    proxy.replayed += 1
                else:
                    r = httpx.post(f"{proxy.upstream}?{query}", content=body,
                                   headers={"Content-Type": self.headers.get("Content-Type", "")}, timeout=5)
                    answer = r.content
                    if b'"code":"10000"' in answer:
                        proxy.recorded[method] = answer
                self.send_response(200)
                self.send_header("Content-Type", "application/json;charset=utf-8")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}/gateway.do"

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def proxied(db_file: Any, sandbox: SandboxServer) -> Iterator[tuple[Services, ReplayProxy]]:
    proxy = ReplayProxy(sandbox.gateway_url)
    gw = GatewayInfo.of(sandbox)
    svc = build_services(db_file, GatewayInfo(proxy.url, gw.app_id, gw.app_private_key, gw.alipay_public_key))
    try:
        yield svc, proxy
    finally:
        svc.close()
        proxy.close()


def test_replayed_pay_answer_of_another_trade_is_not_accepted(proxied: tuple[Services, ReplayProxy],
                                                              sandbox: SandboxServer) -> None:
    svc, proxy = proxied
    first = pay(svc, new_code(sandbox), amount=1234)
    assert first.state == "paid"
    proxy.replay.add("alipay.trade.pay")
    # the validly signed "paid" answer of the first trade is replayed for the second payment
    second = pay(svc, new_code(sandbox), amount=1234)
    assert proxy.replayed == 1
    assert second.state != "paid", "a signed answer about another out_trade_no must not confirm this payment"
    assert second.trade_no != first.trade_no
    assert not charged(sandbox, second.attempt.out_trade_no)


def test_replayed_pay_answer_with_another_amount_is_not_accepted(proxied: tuple[Services, ReplayProxy],
                                                                 sandbox: SandboxServer) -> None:
    svc, proxy = proxied
    assert pay(svc, new_code(sandbox), amount=100).state == "paid"
    proxy.replay.add("alipay.trade.pay")
    second = pay(svc, new_code(sandbox), amount=99_900)
    assert second.state != "paid"


def test_query_answered_with_another_trades_data_is_not_accepted(proxied: tuple[Services, ReplayProxy],
                                                                 sandbox: SandboxServer) -> None:
    """The buyer never confirms trade B, but every query of B is answered with paid trade A's data."""
    svc, proxy = proxied
    first = pay(svc, new_code(sandbox), amount=500)
    assert first.state == "paid"
    assert svc.client is not None
    assert isinstance(svc.client.query(first.attempt.out_trade_no), GatewaySuccess)  # records A's query answer
    proxy.replay.add("alipay.trade.query")
    second = pay(svc, new_code(sandbox, "wait_forever"), amount=500)
    assert proxy.replayed >= 1
    assert second.state != "paid", "a query answer about another out_trade_no must not confirm this payment"
    assert not charged(sandbox, second.attempt.out_trade_no)


def test_recovery_ignores_another_trades_data(proxied: tuple[Services, ReplayProxy], sandbox: SandboxServer) -> None:
    svc, proxy = proxied
    first = pay(svc, new_code(sandbox), amount=700)
    assert svc.client is not None and svc.payment is not None
    svc.client.query(first.attempt.out_trade_no)
    proxy.replay.add("alipay.trade.query")
    shift = svc.shifts.current_shift()
    assert shift is not None
    # a crash right after the write-ahead: the attempt is open, the pay was never sent
    att = svc.payment.begin(700, new_code(sandbox), "test", shift_id=shift.id, cashier_id=1, basket=BASKET)
    outcomes = svc.payment.recover()
    assert [o.attempt.id for o in outcomes] == [att.id]
    assert outcomes[0].state != "paid"
