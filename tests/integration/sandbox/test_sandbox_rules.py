"""The sandbox gateway's own rules: intake checks, idempotency, refunds, cancel, cards, persistence."""

from __future__ import annotations

import datetime as dt
import json
import urllib.parse

import httpx
import pytest

from pos_app.alipay.envelope import build_request, verify_response
from pos_app.alipay.keys import load_private_key_file, load_public_key_file
from pos_app.sandbox.state import AUTH_CODE_RE
from pos_app.services.ports.clock import BEIJING
from pos_app.services.ports.gateway import (
    CardInfo,
    GatewayBusinessFailure,
    GatewayInProgress,
    GatewaySuccess,
    PayResult,
    QueryResult,
    RefundResult,
)
from tests.integration.sandbox.sandbox_support import answer, make_client, restart

CODE = "286648048691290423"
OTHER = "286648048691290424"


def _pay(client, out="T1", code=CODE, fen=1000, subject="商品"):
    return client.pay(out, code, fen, subject, store_id=None, terminal_id=None, operator_id=None)


def _raw(sandbox, method, biz, *, get=False, mutate=None, sign_type="RSA2"):
    key = load_private_key_file(sandbox.app_private_key_path)
    req = build_request(method, biz, app_id=sandbox.app_id, private_key=key, now=sandbox.now(), sign_type=sign_type)
    params = req.params
    if mutate:
        mutate(params)
    if get:
        r = httpx.get(sandbox.gateway_url + "?" + urllib.parse.urlencode(params), trust_env=False)
    else:
        r = httpx.post(sandbox.gateway_url, params={k: v for k, v in params.items() if k in req.query},
                       data={k: v for k, v in params.items() if k not in req.query}, trust_env=False)
    assert r.status_code == 200
    return verify_response(r.text, method, load_public_key_file(sandbox.alipay_public_key_path), sign_type).data


# --- intake ---------------------------------------------------------------------------------


def test_get_and_post_both_verified(sandbox) -> None:
    assert _raw(sandbox, "alipay.trade.query", {"out_trade_no": "x"}, get=True)["sub_code"] == "ACQ.TRADE_NOT_EXIST"
    assert _raw(sandbox, "alipay.trade.query", {"out_trade_no": "x"})["sub_code"] == "ACQ.TRADE_NOT_EXIST"
    tampered = _raw(sandbox, "alipay.trade.query", {"out_trade_no": "x"}, get=True,
                    mutate=lambda p: p.update(biz_content='{"out_trade_no":"y"}'))
    assert tampered["sub_code"] == "isv.invalid-signature"
    assert "网关生成的验签字符串为" in tampered["sub_msg"] and "&amp;" in tampered["sub_msg"]


def test_legacy_rsa_sign_type(sandbox) -> None:
    assert _raw(sandbox, "alipay.trade.query", {"out_trade_no": "x"}, sign_type="RSA")["sub_code"] == "ACQ.TRADE_NOT_EXIST"


def test_biz_content_signed_as_sent_not_reserialized(sandbox) -> None:
    def spaced(p):
        p["biz_content"] = '{ "out_trade_no" : "x" }'
    # the signature was over the compact form; a re-spaced body must fail
    assert _raw(sandbox, "alipay.trade.query", {"out_trade_no": "x"}, mutate=spaced)["sub_code"] == "isv.invalid-signature"


@pytest.mark.parametrize(("drop", "sub_code"), [("method", "isv.missing-method"), ("sign", "isv.missing-signature"),
                                                ("sign_type", "isv.missing-signature-type"),
                                                ("app_id", "isv.missing-app-id"), ("timestamp", "isv.missing-timestamp"),
                                                ("version", "isv.missing-version")])
def test_missing_common_params(sandbox, drop, sub_code) -> None:
    method = "alipay.trade.query"
    key = load_private_key_file(sandbox.app_private_key_path)
    params = build_request(method, {"out_trade_no": "x"}, app_id=sandbox.app_id, private_key=key,
                           now=sandbox.now()).params
    del params[drop]
    text = httpx.post(sandbox.gateway_url, data=params, trust_env=False).text
    node = "error_response" if drop == "method" else "alipay_trade_query_response"
    data = json.loads(text)[node]
    assert data["code"] == "40001" and data["sub_code"] == sub_code


def test_unknown_app_method_and_timestamp_skew(sandbox) -> None:
    assert _raw(sandbox, "alipay.trade.query", {}, mutate=lambda p: p.update(app_id="1"))["sub_code"] == "isv.invalid-app-id"
    assert _raw(sandbox, "alipay.trade.query", {}, mutate=lambda p: p.update(timestamp="2020/01/01"))["sub_code"] == \
        "isv.invalid-timestamp"
    c = make_client(sandbox)
    try:
        sandbox.set_clock(advance_s=0)
        skewed = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=30)
        c._clock = type("C", (), {"now": staticmethod(lambda: skewed), "monotonic": staticmethod(lambda: 0.0)})()
        res = c.query("x")
        assert isinstance(res, GatewayBusinessFailure) and res.sub_code == "isv.invalid-timestamp"
    finally:
        c.close()


# --- trades ---------------------------------------------------------------------------------


def test_pay_idempotency_outcomes(client, sandbox) -> None:
    assert isinstance(_pay(client), GatewaySuccess)
    again = _pay(client)
    assert isinstance(again, GatewayBusinessFailure) and again.sub_code == "ACQ.TRADE_HAS_SUCCESS"
    assert _pay(client, fen=1001).sub_code == "ACQ.CONTEXT_INCONSISTENT"
    assert _pay(client, code=OTHER).sub_code == "ACQ.TRADE_BUYER_NOT_MATCH"
    assert len(sandbox.trade("T1")["charges"]) == 1
    sandbox.script_auth_code("287777777777777777", "wait_forever")
    assert isinstance(_pay(client, "T2", "287777777777777777"), GatewayInProgress)
    assert isinstance(_pay(client, "T2", "287777777777777777"), GatewayInProgress)
    assert isinstance(client.cancel("T2"), GatewaySuccess)
    assert _pay(client, "T2", "287777777777777777").sub_code == "ACQ.TRADE_HAS_CLOSE"


def test_cancel_before_pay_arrives_closes_ahead(client, sandbox) -> None:
    res = client.cancel("LATE1")
    assert isinstance(res, GatewaySuccess) and "action" not in res.body
    assert _pay(client, "LATE1").sub_code == "ACQ.TRADE_HAS_CLOSE"
    assert client.query("LATE1").sub_code == "ACQ.TRADE_NOT_EXIST"


def test_refunds_cumulative_and_idempotent(client, sandbox) -> None:
    _pay(client, fen=1000)
    r1 = answer(client.refund("T1", "R1", 300, "a"), RefundResult)
    assert (r1.money_moved, r1.refund_fee_fen) == (True, 300)
    r1b = answer(client.refund("T1", "R1", 300, "a"), RefundResult)
    assert (r1b.money_moved, r1b.refund_fee_fen) == (False, 300)
    assert client.refund("T1", "R1", 400, "a").sub_code == "ACQ.DISCORDANT_REPEAT_REQUEST"
    assert client.refund("T1", "R2", 701, "b").sub_code == "ACQ.REFUND_AMT_NOT_EQUAL_TOTAL"
    r2 = answer(client.refund("T1", "R2", 700, "b"), RefundResult)
    assert r2.refund_fee_fen == 1000
    assert client.query("T1").body["trade_status"] == "TRADE_CLOSED"
    assert client.refund("T1", "R3", 1, "c").sub_code == "ACQ.REFUND_AMT_NOT_EQUAL_TOTAL"
    assert client.refund("NOPE", "R1", 1, "c").sub_code == "ACQ.TRADE_NOT_EXIST"
    rq = client.refund_query("T1", "R9")
    assert isinstance(rq, GatewaySuccess) and "refund_status" not in rq.body
    assert sum(c["fen"] for c in sandbox.trade("T1")["charges"]) == 0


def test_refund_unpaid_trade_refused(client, sandbox) -> None:
    sandbox.script_auth_code("288888888888888888", "wait_forever")
    _pay(client, "U1", "288888888888888888")
    assert client.refund("U1", "R1", 100, "x").sub_code == "ACQ.TRADE_STATUS_ERROR"


def test_wait_then_success_by_time_and_timeout_close(client, sandbox) -> None:
    sandbox.script_auth_code("289999999999999999", "wait_then_success", after_s=60)
    assert isinstance(_pay(client, "D1", "289999999999999999"), GatewayInProgress)
    assert client.query("D1").body["trade_status"] == "WAIT_BUYER_PAY"
    sandbox.set_clock(advance_s=61)
    assert client.query("D1").body["trade_status"] == "TRADE_SUCCESS"
    sandbox.script_auth_code("281212121212121212", "wait_forever")
    assert isinstance(_pay(client, "D2", "281212121212121212"), GatewayInProgress)
    sandbox.set_clock(advance_s=3 * 3600 + 1)
    assert client.query("D2").body["trade_status"] == "TRADE_CLOSED"


def test_refund_deadline_finishes_trade(client, sandbox) -> None:
    sandbox.configure(refund_deadline_s=60)
    _pay(client)
    sandbox.set_clock(advance_s=61)
    assert client.query("T1").body["trade_status"] == "TRADE_FINISHED"
    assert client.refund("T1", "R1", 100, "x").sub_code == "ACQ.TRADE_HAS_FINISHED"


def test_auth_code_pattern() -> None:
    for good in ("25" + "0" * 14, "30" + "1" * 22, "286648048691290423"):
        assert AUTH_CODE_RE.match(good)
    for bad in ("24" + "0" * 14, "31" + "0" * 14, "25" + "0" * 13, "25" + "0" * 23, "DM" + "A" * 22):
        assert not AUTH_CODE_RE.match(bad)


# --- cards ----------------------------------------------------------------------------------


def _card(sandbox):
    return sandbox.issue_card(external_card_no="M100", name="李四", level="VIP1", points=50)


def test_dynamic_code_ttl(client, sandbox) -> None:
    card = _card(sandbox)
    minted = sandbox.mint_member_code(card["biz_card_no"])
    code = minted["code"]
    assert code.startswith("DM") and len(code) == 24 and not AUTH_CODE_RE.match(code)
    assert answer(client.card_query(code, "D_QR_CODE"), CardInfo).external_card_no == "M100"
    sandbox.set_clock(advance_s=121)
    res = client.card_query(code, "D_QR_CODE")
    assert isinstance(res, GatewayBusinessFailure) and res.code == "40004" and res.sub_code == "CARD_CODE_EXPIRED"
    assert client.card_query("DMUNKNOWN", "D_BAR_CODE").sub_code == "CARD_CODE_INVALID"


def test_consume_sync_ordering_and_idempotency(client, sandbox) -> None:
    card = _card(sandbox)
    t1 = answer(_pay(client, "S1"), PayResult).trade_no
    t2 = answer(_pay(client, "S2", OTHER), PayResult).trade_no

    def sync(trade_no, when, point):
        return client.consume_sync({"target_card_no": card["biz_card_no"], "target_card_no_type": "BIZ_CARD",
                                    "trade_no": trade_no, "trade_time": when, "trade_type": "TRADE",
                                    "card_info": {"point": str(point)}})

    assert isinstance(sync(t2, "2024-01-01 12:10:00", 70), GatewaySuccess)
    assert isinstance(sync(t1, "2024-01-01 12:00:00", 60), GatewaySuccess)  # older: recorded, not applied
    assert isinstance(sync(t2, "2024-01-01 12:10:00", 70), GatewaySuccess)  # repeat: no second entry
    after = sandbox.card(card["biz_card_no"])
    assert after["point"] == "70"
    assert after["synced_trades"] == [t2, t1]
    syncs = [h for h in after["history"] if h["kind"] == "consume_sync"]
    assert [(h["trade_no"], h["applied"]) for h in syncs] == [(t2, True), (t1, False)]
    assert sync("2024000000000000000000000000", "2024-01-02 00:00:00", 1).sub_code == "TRADE_NOT_EXIST"
    # A RETURN for a refund of t2 carries t2's trade_no with a later time: a new event, applied once.
    ret = {"target_card_no": card["biz_card_no"], "target_card_no_type": "BIZ_CARD", "trade_no": t2,
           "trade_time": "2024-01-01 13:00:00", "trade_type": "RETURN", "card_info": {"point": "50"}}
    assert isinstance(client.consume_sync(ret), GatewaySuccess)
    assert isinstance(client.consume_sync(ret), GatewaySuccess)
    after = sandbox.card(card["biz_card_no"])
    assert after["point"] == "50"
    assert [h["trade_type"] for h in after["history"] if h["kind"] == "consume_sync"] == ["TRADE", "TRADE", "RETURN"]


def test_card_update_absolute(client, sandbox) -> None:
    card = _card(sandbox)
    body = {"target_card_no": card["biz_card_no"], "target_card_no_type": "BIZ_CARD",
            "occur_time": "2024-01-01 12:00:00", "card_info": {"point": "88", "level": "VIP2"}}
    assert isinstance(client.card_update(body), GatewaySuccess)
    assert isinstance(client.card_update(body), GatewaySuccess)  # resending the same body is the same state
    info = answer(client.card_query(card["biz_card_no"], "BIZ_CARD"), CardInfo)
    assert (info.point, info.level) == (88, "VIP2")
    bad = client.card_update({**body, "occur_time": "yesterday"})
    assert isinstance(bad, GatewayBusinessFailure)


def test_state_survives_restart(client, sandbox) -> None:
    _pay(client)
    client.refund("T1", "R1", 100, "x")
    card = _card(sandbox)
    sandbox.script_auth_code("281313131313131313", "balance_not_enough")
    code = sandbox.mint_member_code(card["biz_card_no"])["code"]
    port = sandbox.port
    client.close()
    server = restart(sandbox)
    assert server.port == port
    c2 = make_client(server)
    try:
        assert answer(c2.query("T1"), QueryResult).is_paid
        assert not answer(c2.refund("T1", "R1", 100, "x"), RefundResult).money_moved
        assert answer(c2.card_query(code, "D_BAR_CODE"), CardInfo).external_card_no == "M100"
        assert _pay(c2, "T9", "281313131313131313").sub_code == "ACQ.BUYER_BALANCE_NOT_ENOUGH"
        assert isinstance(_pay(c2, "T10", OTHER), GatewaySuccess)
        nos = [t["trade_no"] for t in server.trades()]
        assert len(set(nos)) == len(nos) == 2
    finally:
        c2.close()
        server.stop()


def test_seed_demo_members(tmp_path, sandbox_keys) -> None:
    import shutil

    from pos_app.sandbox import SandboxServer

    members = tmp_path / "members.json"
    members.write_text(json.dumps([{"card_no": "8800001", "name": "王五", "phone": "13900000001", "level": "GOLD",
                                    "points": 1200}]), "utf-8")
    shutil.copytree(sandbox_keys, tmp_path / "d" / "keys")
    s = SandboxServer(tmp_path / "d", seed_demo=True, members_path=members)
    try:
        card = s.card("8800001")
        assert card is not None and card["point"] == "1200" and card["level"] == "GOLD"
        s.seed_demo()
        assert len(s.cards()) == 1
    finally:
        s.stop()
    missing = SandboxServer(tmp_path / "d", members_path=tmp_path / "absent.json")
    try:
        assert missing.seed_demo() == 0
    finally:
        missing.stop()


def test_beijing_clock_setting(sandbox) -> None:
    now = sandbox.set_clock(dt.datetime(2024, 1, 1, 12, 0, 0))
    assert now.tzinfo is not None and now.astimezone(BEIJING).hour == 12
