"""AlipayClient against the sandbox over real HTTP: every call, every fault kind, typed results."""

from __future__ import annotations

import time

import pytest

from pos_app.alipay import AlipayClient
from pos_app.services.ports.gateway import (
    CancelResult,
    CardInfo,
    GatewayBusinessFailure,
    GatewayInProgress,
    GatewaySuccess,
    GatewayUnknown,
    PayResult,
    QueryResult,
    RefundQueryResult,
    RefundResult,
    Refusal,
)
from tests.integration.sandbox.sandbox_support import answer, make_client

CODE = "286648048691290423"


def _pay(client: AlipayClient, out: str = "T1", code: str = CODE, fen: int = 8888):
    return client.pay(out, code, fen, "测试/商品", store_id="S001", terminal_id="T01", operator_id="op1")


def test_pay_instant_success(client, sandbox) -> None:
    res = _pay(client)
    assert isinstance(res, GatewaySuccess) and res.code == "10000"
    pay = answer(res, PayResult)
    assert pay.total_fen == 8888 and pay.out_trade_no == "T1" and len(pay.trade_no) == 28
    assert pay.buyer_user_id.startswith("2088") and len(pay.buyer_user_id) == 16 and pay.gmt_payment
    trade = sandbox.trade("T1")
    assert trade["status"] == "TRADE_SUCCESS" and trade["subject"] == "测试/商品"
    assert [c["kind"] for c in trade["charges"]] == ["charge"]


def test_every_trade_call(client, sandbox) -> None:
    assert isinstance(_pay(client), GatewaySuccess)
    q = client.query("T1")
    assert isinstance(q, GatewaySuccess) and answer(q, QueryResult).is_paid
    r = client.refund("T1", "R1", 1000, "退货")
    assert isinstance(r, GatewaySuccess)
    rr = answer(r, RefundResult)
    assert rr.money_moved and rr.refund_fee_fen == 1000 and rr.send_back_fee_fen == 1000
    rq = client.refund_query("T1", "R1")
    assert isinstance(rq, GatewaySuccess)
    assert answer(rq, RefundQueryResult).succeeded and answer(rq, RefundQueryResult).refund_amount_fen == 1000
    c = client.cancel("T1")
    assert isinstance(c, GatewaySuccess)
    assert answer(c, CancelResult).refunded
    assert client.query("T1").body["trade_status"] == "TRADE_CLOSED"
    assert sum(ch["fen"] for ch in sandbox.trade("T1")["charges"]) == 0


def test_wait_then_success_and_wait_forever(client, sandbox) -> None:
    sandbox.script_auth_code("281111111111111111", "wait_then_success", queries=2)
    res = _pay(client, "W1", "281111111111111111")
    assert isinstance(res, GatewayInProgress)
    assert answer(res, PayResult).trade_no
    assert res.body["receipt_amount"] == "0.00"
    assert client.query("W1").body["trade_status"] == "WAIT_BUYER_PAY"
    assert client.query("W1").body["trade_status"] == "TRADE_SUCCESS"
    sandbox.script_auth_code("282222222222222222", "wait_forever")
    assert isinstance(_pay(client, "W2", "282222222222222222"), GatewayInProgress)
    for _ in range(3):
        assert client.query("W2").body["trade_status"] == "WAIT_BUYER_PAY"
    c = client.cancel("W2")
    assert isinstance(c, GatewaySuccess) and not answer(c, CancelResult).refunded
    assert sandbox.trade("W2")["charges"] == []


@pytest.mark.parametrize(("behaviour", "sub_code"), [("balance_not_enough", "ACQ.BUYER_BALANCE_NOT_ENOUGH"),
                                                     ("invalid", "ACQ.PAYMENT_AUTH_CODE_INVALID"),
                                                     ("refuse", "ACQ.PAYMENT_REQUEST_HAS_RISK")])
def test_scripted_refusals(client, sandbox, behaviour, sub_code) -> None:
    sandbox.script_auth_code("283333333333333333", behaviour)
    res = _pay(client, "F1", "283333333333333333")
    assert isinstance(res, GatewayBusinessFailure) and res.code == "40004" and res.sub_code == sub_code
    assert res.verified


def test_invalid_auth_code_pattern(client) -> None:
    for code in ("123456789012345678", "DMABCDEFGHIJKLMNOPQRSTUV", "2512345"):
        res = _pay(client, "P" + code[:5], code)
        assert isinstance(res, GatewayBusinessFailure) and res.sub_code == "ACQ.PAYMENT_AUTH_CODE_INVALID"


def test_card_calls(client, sandbox) -> None:
    png = b"\x89PNG\r\n\x1a\n" + b"\x00" * 16
    up = client.call("alipay.offline.material.image.upload", None, extra={"image_type": "png", "image_name": "l"},
                     files={"image_content": ("l.png", png, "image/png")})
    assert isinstance(up, GatewaySuccess)
    t = client.template_create({"request_id": "tpl-1", "card_type": "OUT_MEMBER_CARD", "biz_no_prefix": "PX",
                                "biz_no_suffix_len": 12, "write_off_type": "dbarcode",
                                "template_style_info": {"card_show_name": "PX", "logo_id": up.body["image_id"],
                                                        "background_id": up.body["image_id"],
                                                        "bg_color": "rgb(0,0,0)"},
                                "field_rule_list": [{"field_name": "Point", "rule_name": "ASSIGN_FROM_REQUEST",
                                                     "rule_value": "Point"}]})
    assert isinstance(t, GatewaySuccess)
    tid = t.body["template_id"]
    assert client.template_create({"request_id": "tpl-1"}).body["template_id"] == tid
    o = client.card_open({"out_serial_no": "open-1", "card_template_id": tid,
                          "card_user_info": {"user_uni_id": "2088000000000001", "user_uni_id_type": "UID"},
                          "card_ext_info": {"external_card_no": "M0001", "level": "VIP1", "point": "10",
                                            "balance": "0.00"},
                          "member_ext_info": {"name": "张三", "cell": "13800000000"}}, auth_token="tok")
    assert isinstance(o, GatewaySuccess)
    info = answer(o, CardInfo)
    assert info.external_card_no == "M0001" and info.point == 10 and info.biz_card_no.startswith("PX")
    q = client.card_query(info.biz_card_no, "BIZ_CARD")
    assert isinstance(q, GatewaySuccess) and answer(q, CardInfo).level == "VIP1"
    u = client.card_update({"target_card_no": info.biz_card_no, "target_card_no_type": "BIZ_CARD",
                            "occur_time": "2024-01-01 12:00:00",
                            "card_info": {"point": "120", "balance": "5.00", "level": "VIP2"}})
    assert isinstance(u, GatewaySuccess)
    after = answer(client.card_query("M0001", "EXTERNAL_CARD"), CardInfo)
    assert (after.point, after.balance_fen, after.level) == (120, 500, "VIP2")
    pay = answer(_pay(client, "C1"), PayResult)
    s = client.consume_sync({"target_card_no": info.biz_card_no, "target_card_no_type": "BIZ_CARD",
                             "trade_no": pay.trade_no, "trade_time": "2024-01-01 12:05:00", "trade_type": "TRADE",
                             "trade_amount": "88.88", "act_pay_amount": "88.88",
                             "card_info": {"point": "208"}})
    assert isinstance(s, GatewaySuccess) and s.body["external_card_no"] == "M0001"
    assert answer(client.card_query(info.biz_card_no, "BIZ_CARD"), CardInfo).point == 208
    code = sandbox.mint_member_code(info.biz_card_no)["code"]
    dq = client.card_query(code, "D_BAR_CODE")
    assert isinstance(dq, GatewaySuccess) and answer(dq, CardInfo).external_card_no == "M0001"
    g = client.call("alipay.marketing.card.query", {"target_card_no": "nope", "target_card_no_type": "BIZ_CARD"})
    assert isinstance(g, GatewayBusinessFailure) and g.sub_code == "CARD_NOT_EXIST"


def test_card_open_needs_auth_token(client, sandbox) -> None:
    res = client.call("alipay.marketing.card.open", {"out_serial_no": "x", "card_template_id": "y"})
    assert isinstance(res, GatewayBusinessFailure) and res.code == "40001"


# --- faults ---------------------------------------------------------------------------------


def test_fault_refuse_is_unknown_and_not_applied(client, sandbox) -> None:
    sandbox.inject_fault("refuse", "alipay.trade.pay")
    res = _pay(client)
    assert isinstance(res, GatewayUnknown) and res.cause == "connection"
    assert sandbox.trade("T1") is None
    assert isinstance(_pay(client), GatewaySuccess)  # the next request goes through (count=1)


def test_fault_slow_applied_then_timeout(sandbox) -> None:
    client = make_client(sandbox, read_timeout_s=0.3)
    try:
        sandbox.inject_fault("slow", "alipay.trade.pay", delay_s=1.5)
        res = _pay(client)
        assert isinstance(res, GatewayUnknown) and res.cause == "timeout"
        assert sandbox.trade("T1")["status"] == "TRADE_SUCCESS"  # applied before the slow answer
        q = client.query("T1")
        assert isinstance(q, GatewaySuccess) and answer(q, QueryResult).is_paid
        again = _pay(client)
        assert isinstance(again, GatewayBusinessFailure) and again.sub_code == "ACQ.TRADE_HAS_SUCCESS"
    finally:
        client.close()


@pytest.mark.parametrize(("kind", "cause"), [("http500", "http_status"), ("unavailable", "service_unavailable"),
                                             ("system_error", "system_error"), ("throttle", "rate_limited"),
                                             ("truncated", "format"), ("wrong_key", "signature"),
                                             ("tamper_body", "signature"), ("empty_sign", "signature")])
def test_fault_kinds_map_to_unknown(client, sandbox, kind, cause) -> None:
    sandbox.inject_fault(kind, "alipay.trade.pay")
    res = _pay(client)
    assert isinstance(res, GatewayUnknown), res
    assert res.cause == cause
    applied = kind in ("truncated", "wrong_key", "tamper_body", "empty_sign")
    assert (sandbox.trade("T1") is not None) == applied


def test_fault_applied_20000_still_unknown(client, sandbox) -> None:
    sandbox.inject_fault("unavailable", "alipay.trade.pay", apply=True)
    res = _pay(client)
    assert isinstance(res, GatewayUnknown) and "isp.unknow-error" in res.reason
    assert sandbox.trade("T1")["status"] == "TRADE_SUCCESS"


def test_fault_whitespace_still_verifies(client, sandbox) -> None:
    sandbox.inject_fault("whitespace", "alipay.trade.pay")
    assert isinstance(_pay(client), GatewaySuccess)


def test_fault_legacy_unsigned_error_response(client, sandbox) -> None:
    sandbox.inject_fault("error_response", "alipay.trade.query")
    res = client.query("T1")
    assert isinstance(res, GatewayUnknown) and res.cause == "system_error"  # unsigned ACQ.SYSTEM_ERROR


def test_fault_cancel_retry_flag(client, sandbox) -> None:
    sandbox.script_auth_code("284444444444444444", "wait_forever")
    assert isinstance(_pay(client, "K1", "284444444444444444"), GatewayInProgress)
    sandbox.inject_fault("cancel_retry", "alipay.trade.cancel", count=2)
    for _ in range(2):
        res = client.cancel("K1")
        assert isinstance(res, GatewayBusinessFailure) and res.body["retry_flag"] == "Y"
        assert res.refusal is Refusal.RETRY_LATER
    ok = client.cancel("K1")
    assert isinstance(ok, GatewaySuccess) and not answer(ok, CancelResult).refunded


def test_probabilistic_faults_are_seeded(sandbox) -> None:
    outcomes = []
    for _ in range(2):
        sandbox.clear_faults()
        sandbox.inject_fault("system_error", "alipay.trade.query", count=None, probability=0.5, seed=7)
        c = make_client(sandbox)
        try:
            outcomes.append([isinstance(c.query("nope"), GatewayUnknown) for _ in range(12)])
        finally:
            c.close()
    assert outcomes[0] == outcomes[1] and 0 < sum(outcomes[0]) < 12


def test_connection_refused_when_down(sandbox) -> None:
    c = make_client(sandbox)
    try:
        sandbox.stop()
        res = c.query("T1")
        assert isinstance(res, GatewayUnknown) and res.cause in ("connection", "timeout")
    finally:
        c.close()


def test_keep_alive_one_connection(client, sandbox) -> None:
    t0 = time.monotonic()
    for _ in range(20):
        assert isinstance(client.query("missing"), GatewayBusinessFailure)
    assert time.monotonic() - t0 < 5


def test_no_signature_or_payment_code_in_logs(client, sandbox, caplog) -> None:
    import logging

    caplog.set_level(logging.DEBUG)
    _pay(client)
    client.query("T1")
    text = "\n".join(r.getMessage() for r in caplog.records)
    assert "sign=" not in text and CODE not in text
    assert "?<redacted>" in text or "HTTP Request" not in text


def test_gbk_charset_round_trip(sandbox) -> None:
    import dataclasses

    base = make_client(sandbox)
    client = AlipayClient(dataclasses.replace(base.config, charset="gbk"), clock=base._clock)
    base.close()
    try:
        res = client.pay("GBK1", CODE, 100, "中文商品/测试", store_id=None, terminal_id=None, operator_id=None)
        assert isinstance(res, GatewaySuccess)
        q = client.query("GBK1")
        assert isinstance(q, GatewaySuccess) and q.body["subject"] == "中文商品/测试"
        assert sandbox.trade("GBK1")["subject"] == "中文商品/测试"
    finally:
        client.close()
