"""Issue 16 §1: a genuinely signed answer of one method, renamed to another method's ``*_response``, is
never believed (not paid, not failed, not cancelled). The forged answers travel through a real loopback
HTTP server between the terminal and the sandbox gateway; they are signed by the sandbox's key, so
the signature check passes and only the binding of the answer to its request can refuse them."""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from pos_app.alipay import card_requests as card_sync
from pos_app.alipay.client import AlipayClient
from pos_app.alipay.envelope import verify_response
from pos_app.alipay.keys import load_public_key_file
from pos_app.sandbox import SandboxServer
from pos_app.services.payment import PaymentConfig
from pos_app.services.ports.gateway import GatewayResult, GatewaySuccess, GatewayUnknown
from tests.reliability.harness.env import CASHIER, MEMBERS, GatewayInfo, Services, build_services, make_client
from tests.security.forging_proxy import ForgingProxy, rename

BASKET = {"version": 1, "lines": [], "member": None, "points_redeemed": 0, "payable_fen": 0}
_codes = itertools.count(500_000)

PAY = "alipay.trade.pay"
QUERY = "alipay.trade.query"
CANCEL = "alipay.trade.cancel"
REFUND = "alipay.trade.refund"
REFUND_QUERY = "alipay.trade.fastpay.refund.query"
CARD_QUERY = "alipay.marketing.card.query"
CARD_UPDATE = "alipay.marketing.card.update"
CONSUME_SYNC = "alipay.marketing.card.consume.sync"
METHODS = (PAY, QUERY, CANCEL, REFUND, REFUND_QUERY, CARD_QUERY, CARD_UPDATE, CONSUME_SYNC)
"""Every method the terminal calls at the counter and from the sync worker."""


def new_code(sandbox: SandboxServer, behaviour: str = "success", queries: int = 1) -> str:
    code = f"28{next(_codes):016d}"
    sandbox.script_auth_code(code, behaviour, queries=queries)
    return code


@pytest.fixture
def proxy(sandbox: SandboxServer) -> Iterator[ForgingProxy]:
    p = ForgingProxy(sandbox.gateway_url)
    try:
        yield p
    finally:
        p.close()


def _via(proxy: ForgingProxy, sandbox: SandboxServer) -> GatewayInfo:
    gw = GatewayInfo.of(sandbox)
    return GatewayInfo(proxy.url, gw.app_id, gw.app_private_key, gw.alipay_public_key)


@pytest.fixture
def client(proxy: ForgingProxy, sandbox: SandboxServer, db_file: Path) -> Iterator[AlipayClient]:
    c = make_client(_via(proxy, sandbox), read_timeout_s=5.0)
    try:
        yield c
    finally:
        c.close()


def _card_bodies(card_no: str, biz: str, trade_no: str) -> tuple[dict[str, Any], dict[str, Any]]:
    now = dt.datetime.now(dt.UTC)
    update = card_sync.card_update_body(card_no=card_no, biz_card_no=biz, level="VIP1", occur_time=now,
                                        points_after=900, changed_point=12)
    consume = card_sync.consume_sync_body(card_no=card_no, biz_card_no=biz, level="VIP1", trade_no=trade_no,
                                          trade_time=now, trade_type="TRADE", trade_name="test",
                                          trade_amount_fen=1234, act_pay_amount_fen=1234, points_after=900,
                                          points_redeemed=0, discount_fen=0, shop_code="S1")
    return update, consume


def test_every_signed_answer_renamed_to_another_method_is_not_believed(
        client: AlipayClient, proxy: ForgingProxy, sandbox: SandboxServer) -> None:
    card_no = MEMBERS[0][0]
    biz = str(sandbox.card(card_no)["biz_card_no"])  # type: ignore[index]
    # genuine answers of every method, about ONE trade and ONE card (the hardest case: same identifiers)
    paid = client.pay("PBIND1", new_code(sandbox), 1234, "test")
    assert isinstance(paid, GatewaySuccess)
    trade_no = str(paid.body["trade_no"])
    assert isinstance(client.query("PBIND1"), GatewaySuccess)
    assert isinstance(client.refund("PBIND1", "RBIND1", 100, "test"), GatewaySuccess)
    assert isinstance(client.refund_query("PBIND1", "RBIND1"), GatewaySuccess)
    assert isinstance(client.card_query(biz, "BIZ_CARD"), GatewaySuccess)
    update, consume = _card_bodies(card_no, biz, trade_no)
    assert isinstance(client.card_update(update), GatewaySuccess)
    assert isinstance(client.consume_sync(consume), GatewaySuccess)
    # a buyer-confirming pay (10003) and the cancel of it, on a second trade of the same amount
    client.pay("PBIND1W", new_code(sandbox, "wait_forever"), 1234, "test")
    assert isinstance(client.cancel("PBIND1W"), GatewaySuccess)
    sources = [*METHODS, f"{PAY}#10003"]
    assert set(sources) <= set(proxy.recorded), sorted(proxy.recorded)

    public_key = load_public_key_file(sandbox.alipay_public_key_path)

    calls: dict[str, Callable[[str], GatewayResult]] = {
        PAY: lambda otn: client.pay(otn, new_code(sandbox), 1234, "test"),
        QUERY: lambda otn: client.query(otn),
        CANCEL: lambda otn: client.cancel(otn),
        REFUND: lambda otn: client.refund(otn, "RBIND1", 100, "test"),
        REFUND_QUERY: lambda otn: client.refund_query(otn, "RBIND1"),
        CARD_QUERY: lambda otn: client.card_query(biz, "BIZ_CARD"),
        CARD_UPDATE: lambda otn: client.card_update(update),
        CONSUME_SYNC: lambda otn: client.consume_sync(consume),
    }
    believed = []
    tried = 0
    for target in METHODS:
        for source in sources:
            if source.split("#")[0] == target:
                continue
            forged = rename(proxy.recorded[source], source.split("#")[0], target)
            # the forged answer is genuinely signed: it passes the signature check as the target's answer
            assert verify_response(forged.decode(), target, public_key).signed
            proxy.forge = {target: (source, False)}
            otn = "PBIND1W" if source in (CANCEL, f"{PAY}#10003") else "PBIND1"
            res = calls[target](otn)
            tried += 1
            if not isinstance(res, GatewayUnknown):
                believed.append(f"{source} as {target}: {type(res).__name__}")
    proxy.forge = {}
    assert believed == [], "signed answers of another method were believed:\n" + "\n".join(believed)
    assert tried == len(METHODS) * len(sources) - len(METHODS) - 1   # pay#10003 is not tried as a pay


def test_card_query_answer_about_another_card_is_not_believed(client: AlipayClient, proxy: ForgingProxy,
                                                              sandbox: SandboxServer) -> None:
    first = str(sandbox.card(MEMBERS[0][0])["biz_card_no"])  # type: ignore[index]
    second = str(sandbox.card(MEMBERS[1][0])["biz_card_no"])  # type: ignore[index]
    assert isinstance(client.card_query(first, "BIZ_CARD"), GatewaySuccess)
    proxy.forge = {CARD_QUERY: (CARD_QUERY, False)}
    res = client.card_query(second, "BIZ_CARD")
    assert isinstance(res, GatewayUnknown) and res.cause == "binding"
    res = client.card_query(MEMBERS[1][0], "EXTERNAL_CARD")
    assert isinstance(res, GatewayUnknown) and res.cause == "binding"


def test_refund_query_answer_of_another_refund_is_not_believed(client: AlipayClient, proxy: ForgingProxy,
                                                               sandbox: SandboxServer) -> None:
    assert isinstance(client.pay("PBIND2", new_code(sandbox), 5000, "test"), GatewaySuccess)
    assert isinstance(client.refund("PBIND2", "R-A", 100, "test"), GatewaySuccess)
    assert isinstance(client.refund_query("PBIND2", "R-A"), GatewaySuccess)
    proxy.forge = {REFUND_QUERY: (REFUND_QUERY, False)}
    res = client.refund_query("PBIND2", "R-B")   # R-B never happened: R-A's success must not confirm it
    assert isinstance(res, GatewayUnknown) and res.cause == "binding"


def test_refund_answer_for_a_smaller_amount_is_not_believed(client: AlipayClient, proxy: ForgingProxy,
                                                            sandbox: SandboxServer) -> None:
    assert isinstance(client.pay("PBIND3", new_code(sandbox), 5000, "test"), GatewaySuccess)
    assert isinstance(client.refund("PBIND3", "R-1", 100, "test"), GatewaySuccess)
    proxy.forge = {REFUND: (REFUND, False)}
    res = client.refund("PBIND3", "R-2", 3000, "test")
    assert isinstance(res, GatewayUnknown) and res.cause == "binding"


def test_failure_of_another_method_does_not_end_a_payment_failed(client: AlipayClient, proxy: ForgingProxy,
                                                                 sandbox: SandboxServer) -> None:
    """A signed ``ACQ.TRADE_NOT_EXIST`` of a query (of any trade) renamed to a pay or cancel answer."""
    client.query("PNOPE")
    assert f"{QUERY}#40004" in proxy.recorded
    for target in (PAY, CANCEL):
        proxy.forge = {target: (f"{QUERY}#40004", False)}
        res = client.pay("PBIND4", new_code(sandbox), 100, "t") if target == PAY else client.cancel("PBIND4")
        assert isinstance(res, GatewayUnknown) and res.cause == "binding", (target, res)


# --- through the payment service: the outcomes the issue describes -------------------------------

@pytest.fixture
def services(db_file: Path, sandbox: SandboxServer, proxy: ForgingProxy) -> Iterator[Services]:
    svc = build_services(db_file, _via(proxy, sandbox), read_timeout_s=5.0,
                         payment_config=PaymentConfig(query_max=3, query_interval_s=0.01, cancel_max=2,
                                                      cancel_interval_s=0.01, store_id="S1", terminal_id="T1"))
    try:
        yield svc
    finally:
        svc.close()


def _begin(svc: Services, code: str, amount: int) -> Any:
    assert svc.payment is not None
    shift = svc.shifts.current_shift()
    if shift is None:
        shift = svc.shifts.open_shift(svc.users.authenticate(CASHIER[0], CASHIER[1]), float_fen=10_000)
    return svc.payment.begin(amount, code, "test", shift_id=shift.id, cashier_id=1, basket=BASKET)


def charged(sandbox: SandboxServer, out_trade_no: str) -> bool:
    t = sandbox.trade(out_trade_no)
    return t is not None and t["status"] in ("TRADE_SUCCESS", "TRADE_FINISHED")


def test_card_update_answer_as_pay_answer_does_not_make_a_sale_paid(services: Services, proxy: ForgingProxy,
                                                                    sandbox: SandboxServer) -> None:
    """The issue's first case: the pay is swallowed and answered with a card.update's signed body."""
    assert services.client is not None and services.payment is not None
    card_no = MEMBERS[0][0]
    biz = str(sandbox.card(card_no)["biz_card_no"])  # type: ignore[index]
    update, _ = _card_bodies(card_no, biz, "x")
    assert isinstance(services.client.card_update(update), GatewaySuccess)
    proxy.forge = {PAY: (CARD_UPDATE, False)}
    code = new_code(sandbox)
    att = _begin(services, code, 1234)
    out = services.payment.run(att.id, code)
    assert out.state != "paid"
    assert not charged(sandbox, att.out_trade_no)
    assert out.state in ("cancelled", "failed", "unknown")


def test_card_update_answer_as_pay_answer_when_the_pay_went_through(services: Services, proxy: ForgingProxy,
                                                                    sandbox: SandboxServer) -> None:
    """The pay reaches Alipay (the customer is charged), the answer is forged: the terminal must find out
    the truth by query, so the customer's money and the sale agree."""
    assert services.client is not None and services.payment is not None
    card_no = MEMBERS[0][0]
    biz = str(sandbox.card(card_no)["biz_card_no"])  # type: ignore[index]
    update, _ = _card_bodies(card_no, biz, "x")
    assert isinstance(services.client.card_update(update), GatewaySuccess)
    proxy.forge = {PAY: (CARD_UPDATE, True)}
    code = new_code(sandbox)
    att = _begin(services, code, 1234)
    out = services.payment.run(att.id, code)
    assert out.state == "paid"
    assert out.trade_no == sandbox.trade(att.out_trade_no)["trade_no"]  # type: ignore[index]


def test_cancel_while_buyer_confirming_answered_with_the_trades_own_query(services: Services, proxy: ForgingProxy,
                                                                          sandbox: SandboxServer) -> None:
    """The buyer is still confirming; the cancel is swallowed and answered with this very trade's signed
    WAIT_BUYER_PAY query answer (same out_trade_no). Then the buyer confirms. The attempt must not end
    ``cancelled`` (final, never recovered): it stays unknown, and recovery finds it paid."""
    assert services.payment is not None
    code = new_code(sandbox, "wait_then_success", queries=4)   # paid at the 4th query
    att = _begin(services, code, 880)
    proxy.forge = {CANCEL: (QUERY, False)}
    out = services.payment.run(att.id, code)                    # 3 polls (WAIT_BUYER_PAY), then cancel
    assert proxy.forged >= 1
    assert out.state not in ("cancelled", "cancelled_refunded", "failed", "paid"), out.state
    proxy.forge = {}
    settled = services.payment.recover()                        # 4th query: the buyer has confirmed
    assert [o.state for o in settled] == ["paid"]
    assert charged(sandbox, att.out_trade_no)
    assert [o.id for o in services.payment.orphans()] == [att.id], "paid with no sale: a supervisor decides"


def test_cancel_while_buyer_confirming_answered_with_a_card_update(services: Services, proxy: ForgingProxy,
                                                                   sandbox: SandboxServer) -> None:
    assert services.client is not None and services.payment is not None
    card_no = MEMBERS[0][0]
    biz = str(sandbox.card(card_no)["biz_card_no"])  # type: ignore[index]
    update, _ = _card_bodies(card_no, biz, "x")
    assert isinstance(services.client.card_update(update), GatewaySuccess)
    code = new_code(sandbox, "wait_then_success", queries=4)
    att = _begin(services, code, 990)
    proxy.forge = {CANCEL: (CARD_UPDATE, False)}
    out = services.payment.run(att.id, code)
    assert out.state not in ("cancelled", "cancelled_refunded", "failed", "paid"), out.state
    proxy.forge = {}
    assert [o.state for o in services.payment.recover()] == ["paid"]


# --- the payment service's own check, for any TradeGateway (second line behind pos_app.alipay) ----

class _Scripted:
    """A TradeGateway answering each call with the given result (bare bodies naming nothing)."""

    def __init__(self, **answers: GatewayResult) -> None:
        self.answers = answers
        self.calls: list[str] = []

    def _answer(self, name: str) -> GatewayResult:
        self.calls.append(name)
        return self.answers.get(name, GatewayUnknown("not scripted", "timeout"))

    def pay(self, *args: Any, **kwargs: Any) -> GatewayResult:
        return self._answer("pay")

    def query(self, *args: Any) -> GatewayResult:
        return self._answer("query")

    def cancel(self, *args: Any) -> GatewayResult:
        return self._answer("cancel")

    def refund(self, *args: Any) -> GatewayResult:
        return self._answer("refund")

    def refund_query(self, *args: Any) -> GatewayResult:
        return self._answer("refund_query")


@pytest.mark.parametrize("body", [
    {"code": "10000", "msg": "Success"},
    {"code": "10000", "msg": "Success", "trade_no": "2088X", "trade_status": "TRADE_SUCCESS"},
    {"code": "10000", "msg": "Success", "total_amount": "12.34", "trade_status": "TRADE_SUCCESS"},
])
def test_payment_service_does_not_believe_an_answer_that_does_not_name_the_attempt(
        db_file: Path, body: dict[str, Any]) -> None:
    from pos_app.runtime import RandomIds, SystemClock
    from pos_app.services.payment import PaymentService
    from tests.reliability.harness.env import uow_factory_for

    uow = uow_factory_for(db_file)
    answer = GatewaySuccess("10000", body)
    gw = _Scripted(pay=answer, query=answer, cancel=answer)
    payments = PaymentService(uow, gw, SystemClock(), RandomIds("S1T1"),
                              PaymentConfig(query_max=2, query_interval_s=0.0, cancel_max=1, cancel_interval_s=0.0))
    plain = build_services(db_file, None)
    shift = plain.shifts.open_shift(plain.users.authenticate(CASHIER[0], CASHIER[1]), float_fen=0)
    att = payments.begin(1234, "281234567890123456", "t", shift_id=shift.id, cashier_id=1, basket=BASKET)
    out = payments.run(att.id, "281234567890123456")
    assert out.state == "unknown", "an answer naming no out_trade_no is neither paid nor cancelled"
    assert gw.calls[:2] == ["pay", "query"] and "cancel" in gw.calls
