"""pos_app/alipay reads answers into typed results, classifies refusals, and writes the card requests
(the services see only these; tests/test_architecture.py keeps the protocol out of them)."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from pos_app.alipay.answers import parse_cancel, parse_query, parse_refund, parse_refund_query, typed
from pos_app.alipay.card_requests import AlipayCardRequests
from pos_app.alipay.subcodes import business_failure
from pos_app.services.ports.card_events import CardTrade, CardUpdate
from pos_app.services.ports.gateway import (
    FailureKind,
    GatewayInProgress,
    GatewaySuccess,
    PayResult,
    QueryResult,
    Refusal,
    TradeStatus,
)


@pytest.mark.parametrize(("status", "expected"), [
    ("WAIT_BUYER_PAY", TradeStatus.WAITING), ("TRADE_SUCCESS", TradeStatus.PAID),
    ("TRADE_FINISHED", TradeStatus.PAID), ("TRADE_CLOSED", TradeStatus.CLOSED), ("", TradeStatus.UNKNOWN),
    ("TRADE_PENDING", TradeStatus.UNKNOWN),
])
def test_query_status(status: str, expected: TradeStatus) -> None:
    q = parse_query({"out_trade_no": "P1", "trade_status": status, "total_amount": "1.00"})
    assert q.status is expected and q.is_paid == (expected is TradeStatus.PAID) and q.total_fen == 100


def test_cancel_refund_and_refund_query_read_as_outcomes() -> None:
    assert parse_cancel({"action": "refund", "retry_flag": "N"}).refunded
    assert not parse_cancel({"action": "close", "retry_flag": "N"}).refunded
    assert parse_cancel({"retry_flag": "Y"}).retry
    moved = parse_refund({"fund_change": "Y", "refund_fee": "3.00", "send_back_fee": "3.00"})
    assert (moved.money_moved, moved.refund_fee_fen, moved.send_back_fee_fen) == (True, 300, 300)
    assert not parse_refund({"fund_change": "N", "refund_fee": "3.00"}).money_moved
    assert parse_refund_query({"refund_status": "REFUND_SUCCESS", "refund_amount": "3.00"}).succeeded
    assert not parse_refund_query({}).succeeded


def test_typed_fills_the_answer_of_the_method_asked() -> None:
    body = {"code": "10000", "out_trade_no": "P1", "trade_no": "T1", "total_amount": "12.34",
            "trade_status": "TRADE_SUCCESS"}
    paid = typed("alipay.trade.pay", GatewaySuccess("10000", body))
    assert isinstance(paid, GatewaySuccess) and isinstance(paid.answer, PayResult) and paid.answer.total_fen == 1234
    queried = typed("alipay.trade.query", GatewaySuccess("10000", body))
    assert isinstance(queried, GatewaySuccess) and isinstance(queried.answer, QueryResult)
    waiting = typed("alipay.trade.pay", GatewayInProgress(body))
    assert isinstance(waiting, GatewayInProgress) and isinstance(waiting.answer, PayResult)
    assert typed("alipay.marketing.card.update", GatewaySuccess("10000", {})).answer is None   # nothing to read
    bad_points = typed("alipay.marketing.card.query", GatewaySuccess("10000", {"card_info": {"point": "x"}}))
    assert isinstance(bad_points, GatewaySuccess) and bad_points.answer is None   # unreadable: not believed


@pytest.mark.parametrize(("code", "sub_code", "body", "kind", "refusal"), [
    ("40004", "ACQ.TRADE_HAS_SUCCESS", {}, FailureKind.DEFINITE, Refusal.ALREADY_PAID),
    ("40004", "ACQ.TRADE_NOT_EXIST", {}, FailureKind.DEFINITE, Refusal.NO_SUCH_TRADE),
    ("40004", "ACQ.SYSTEM_ERROR", {"retry_flag": "Y"}, FailureKind.TRANSIENT, Refusal.RETRY_LATER),
    ("40004", "ACQ.SYSTEM_ERROR", {}, FailureKind.TRANSIENT, Refusal.OTHER),
    ("20000", "isp.unknow-error", {}, FailureKind.TRANSIENT, Refusal.OTHER),
    ("40004", "ACQ.BUYER_BALANCE_NOT_ENOUGH", {"out_trade_no": "P9"}, FailureKind.DEFINITE, Refusal.OTHER),
    ("40002", "isv.invalid-app-id", {}, FailureKind.CONFIGURATION, Refusal.OTHER),
])
def test_refusals_are_classified(code: str, sub_code: str, body: dict[str, str], kind: FailureKind,
                                 refusal: Refusal) -> None:
    res = business_failure(code, sub_code, "msg", body)
    assert (res.kind, res.refusal, res.about) == (kind, refusal, body.get("out_trade_no", ""))
    assert res.label == sub_code
    if code == "20000":
        assert res.reason == "service_unavailable"   # the sync worker reads it as "the gateway is unreachable"


def test_an_invalid_signature_answer_does_not_echo_the_signed_request() -> None:
    res = business_failure("40002", "isv.invalid-signature", "验签出错 app_id=1&biz_content={...}", {})
    assert res.describe() == "40002 isv.invalid-signature"


AT = dt.datetime(2026, 3, 1, 4, 5, 6, tzinfo=dt.UTC)


def _stored(body: object) -> str:
    return json.dumps(body, ensure_ascii=False, sort_keys=True, separators=(",", ":"))   # as the outbox stores it


def test_card_requests_are_the_first_builds_bodies_byte_for_byte() -> None:
    """The bodies of services/card_sync.py before issue 11 (compared with its output when it moved)."""
    requests = AlipayCardRequests()
    trade = requests.request(CardTrade(
        card_no="8800123412345678", biz_card_no="DEMO0001", level="VIP1", trade_no="2026030122001400001",
        trade_time=AT, is_return=False, trade_name="Demo Shop", trade_amount_fen=3950, act_pay_amount_fen=3450,
        points_after=120, points_redeemed=500, discount_fen=500, shop_code="S001", memo="R0001"))
    assert (trade.kind, trade.method) == ("card.consume_sync", "alipay.marketing.card.consume.sync")
    assert _stored(trade.body) == (
        '{"act_pay_amount":"34.50","card_info":{"external_card_no":"8800123412345678","level":"VIP1",'
        '"point":"120"},"memo":"R0001","shop_code":"S001","swipe_cert_type":"ALIPAY","target_card_no":"DEMO0001",'
        '"target_card_no_type":"BIZ_CARD","trade_amount":"39.50","trade_name":"Demo Shop",'
        '"trade_no":"2026030122001400001","trade_time":"2026-03-01 12:05:06","trade_type":"TRADE",'
        '"use_benefit_list":[{"amount":"5.00","benefit_type":"DISCOUNT","description":"500 points redeemed"}]}')
    update = requests.request(CardUpdate(card_no="8800123412345678", biz_card_no=None, level="VIP1", occur_time=AT,
                                         points_after=120, changed_point=-380))
    assert (update.kind, update.method) == ("card.update", "alipay.marketing.card.update")
    assert _stored(update.body) == (
        '{"card_info":{"external_card_no":"8800123412345678","level":"VIP1","point":"120"},'
        '"merchant_card_msg_info":{"changed_point":"-380"},"occur_time":"2026-03-01 12:05:06",'
        '"target_card_no":"8800123412345678","target_card_no_type":"EXTERNAL_CARD"}')
    ret = requests.request(CardTrade(
        card_no="8800123412345678", biz_card_no=None, level="VIP1", trade_no="T1", trade_time=AT, is_return=True,
        trade_name="refund", trade_amount_fen=100, act_pay_amount_fen=100, points_after=0, points_redeemed=0,
        discount_fen=0, shop_code="", memo=""))
    assert ret.body["trade_type"] == "RETURN" and "use_benefit_list" not in ret.body and "shop_code" not in ret.body
