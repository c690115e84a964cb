"""How verified answers map to typed results (no network)."""

from __future__ import annotations

import pytest

from pos_app.alipay.answers import parse_card, parse_pay
from pos_app.alipay.client import AlipayClient, mask
from pos_app.services.ports.gateway import (
    GatewayBusinessFailure,
    GatewayInProgress,
    GatewaySuccess,
    GatewayUnknown,
)

C = AlipayClient._classify


@pytest.mark.parametrize(("method", "body", "kind"), [
    ("alipay.trade.pay", {"code": "10000"}, GatewaySuccess),
    ("alipay.trade.pay", {"code": "10003"}, GatewayInProgress),
    ("alipay.trade.query", {"code": "10003"}, GatewayUnknown),
    ("alipay.trade.pay", {"code": "20000", "sub_code": "isp.unknow-error"}, GatewayUnknown),
    ("alipay.trade.pay", {"code": "40004", "sub_code": "ACQ.SYSTEM_ERROR"}, GatewayUnknown),
    ("alipay.trade.cancel", {"code": "40004", "sub_code": "AQC.SYSTEM_ERROR"}, GatewayUnknown),
    ("alipay.trade.cancel", {"code": "40004", "sub_code": "ACQ.SYSTEM_ERROR", "retry_flag": "Y"},
     GatewayBusinessFailure),
    ("alipay.trade.pay", {"code": "40004", "sub_code": "ACQ.TRADE_HAS_SUCCESS"}, GatewayBusinessFailure),
    ("alipay.trade.pay", {"code": "40002", "sub_code": "isv.invalid-signature"}, GatewayBusinessFailure),
    ("alipay.trade.pay", {"msg": "no code"}, GatewayUnknown),
])
def test_classification(method, body, kind) -> None:
    assert isinstance(C(method, body, True), kind)


def test_unsigned_failure_is_marked() -> None:
    res = C("alipay.trade.pay", {"code": "40004", "sub_code": "ACQ.PAYMENT_AUTH_CODE_INVALID"}, False)
    assert isinstance(res, GatewayBusinessFailure) and not res.verified


def test_payloads_in_fen() -> None:
    pay = parse_pay({"trade_no": "1", "total_amount": "88.88", "buyer_user_id": "2088"})
    assert pay.total_fen == 8888
    card = parse_card({"card_info": {"biz_card_no": "B", "point": "88.00", "balance": "1.5"}})
    assert (card.point, card.balance_fen) == (88, 150)
    assert parse_card({}).point == 0


def test_mask() -> None:
    assert mask("286648048691290423") == "**************0423"
    assert mask("123") == "***"
