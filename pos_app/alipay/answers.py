"""Alipay's answers read into the terminal's typed results: the one place a response body is parsed.

The client (client.py) verifies the signature, binds the answer to the request (binding.py), then
:func:`typed` fills ``GatewaySuccess.answer`` / ``GatewayInProgress.answer`` from the verified body. The
services read those typed results and the classification of failures (subcodes.py), never a body.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from typing import Any

from pos_app.domain.errors import MoneyError
from pos_app.domain.money import parse_gateway_amount
from pos_app.services.ports.gateway import (
    Answer,
    CancelResult,
    CardInfo,
    GatewayInProgress,
    GatewayResult,
    GatewaySuccess,
    PayResult,
    QueryResult,
    RefundQueryResult,
    RefundResult,
    TradeStatus,
)

__all__ = ["parse_pay", "parse_query", "parse_cancel", "parse_refund", "parse_refund_query", "parse_card",
           "parse_card_info", "PARSERS", "TRADE_STATUS", "typed"]

TRADE_STATUS: Mapping[str, TradeStatus] = {
    "WAIT_BUYER_PAY": TradeStatus.WAITING,
    "TRADE_SUCCESS": TradeStatus.PAID,
    "TRADE_FINISHED": TradeStatus.PAID,     # paid, past the refund period
    "TRADE_CLOSED": TradeStatus.CLOSED,     # closed unpaid, or refunded in full
}


def _s(body: Mapping[str, Any], key: str) -> str:
    value = body.get(key)
    return value if isinstance(value, str) else ""


def _fen(body: Mapping[str, Any], key: str) -> int | None:
    value = body.get(key)
    if not isinstance(value, str) or value == "":
        return None
    try:
        return parse_gateway_amount(value)
    except MoneyError:
        return None


def parse_pay(body: Mapping[str, Any]) -> PayResult:
    """alipay.trade.pay (10000 or 10003)."""
    return PayResult(
        trade_no=_s(body, "trade_no"),
        out_trade_no=_s(body, "out_trade_no"),
        total_fen=_fen(body, "total_amount") or 0,
        buyer_logon_id=_s(body, "buyer_logon_id"),
        buyer_user_id=_s(body, "buyer_user_id") or _s(body, "buyer_open_id"),
        gmt_payment=_s(body, "gmt_payment"),
    )


def parse_query(body: Mapping[str, Any]) -> QueryResult:
    """alipay.trade.query."""
    return QueryResult(
        trade_no=_s(body, "trade_no"),
        out_trade_no=_s(body, "out_trade_no"),
        status=TRADE_STATUS.get(_s(body, "trade_status"), TradeStatus.UNKNOWN),
        total_fen=_fen(body, "total_amount") or 0,
        buyer_logon_id=_s(body, "buyer_logon_id"),
        buyer_user_id=_s(body, "buyer_user_id") or _s(body, "buyer_open_id"),
        gmt_payment=_s(body, "send_pay_date") or _s(body, "gmt_payment"),
    )


def parse_cancel(body: Mapping[str, Any]) -> CancelResult:
    """alipay.trade.cancel: ``action`` "refund" means the paid money went back to the buyer."""
    return CancelResult(
        trade_no=_s(body, "trade_no"),
        out_trade_no=_s(body, "out_trade_no"),
        refunded=_s(body, "action") == "refund",
        retry=_s(body, "retry_flag") == "Y",
    )


def parse_refund(body: Mapping[str, Any]) -> RefundResult:
    """alipay.trade.refund: ``fund_change`` "Y" means this call moved money."""
    return RefundResult(
        trade_no=_s(body, "trade_no"),
        out_trade_no=_s(body, "out_trade_no"),
        money_moved=_s(body, "fund_change") == "Y",
        refund_fee_fen=_fen(body, "refund_fee") or 0,
        send_back_fee_fen=_fen(body, "send_back_fee"),
    )


def parse_refund_query(body: Mapping[str, Any]) -> RefundQueryResult:
    """alipay.trade.fastpay.refund.query: the refund happened iff ``refund_status == "REFUND_SUCCESS"``."""
    return RefundQueryResult(
        out_trade_no=_s(body, "out_trade_no"),
        out_request_no=_s(body, "out_request_no"),
        succeeded=_s(body, "refund_status") == "REFUND_SUCCESS",
        refund_amount_fen=_fen(body, "refund_amount"),
        total_fen=_fen(body, "total_amount"),
    )


def parse_card_info(card: Mapping[str, Any]) -> CardInfo:
    """A MerchantCard object (``card_info`` of card.query / card.open)."""
    raw_point = card.get("point")
    point = 0
    if isinstance(raw_point, str | int) and str(raw_point).strip():
        point = parse_gateway_amount(str(raw_point)) // 100
    return CardInfo(
        biz_card_no=_s(card, "biz_card_no"),
        external_card_no=_s(card, "external_card_no"),
        point=point,
        level=_s(card, "level"),
        balance_fen=_fen(card, "balance") or 0,
        open_date=_s(card, "open_date"),
        valid_date=_s(card, "valid_date"),
    )


def parse_card(body: Mapping[str, Any]) -> CardInfo:
    """A card.query / card.open answer (reads its ``card_info`` object)."""
    card = body.get("card_info")
    return parse_card_info(card if isinstance(card, Mapping) else {})


PARSERS: Mapping[str, Callable[[Mapping[str, Any]], Answer]] = {
    "alipay.trade.pay": parse_pay,
    "alipay.trade.query": parse_query,
    "alipay.trade.cancel": parse_cancel,
    "alipay.trade.refund": parse_refund,
    "alipay.trade.fastpay.refund.query": parse_refund_query,
    "alipay.marketing.card.query": parse_card,
    "alipay.marketing.card.open": parse_card,
}
"""Per method: how its successful answer is read (card.update / consume.sync answers carry nothing to read)."""


def typed(method: str, result: GatewayResult) -> GatewayResult:
    """``result`` with its typed ``answer`` filled in from the verified (and bound) body."""
    parse = PARSERS.get(method)
    if parse is None:
        return result
    try:
        if isinstance(result, GatewaySuccess):
            return dataclasses.replace(result, answer=parse(result.body))
        if isinstance(result, GatewayInProgress) and parse is parse_pay:
            return dataclasses.replace(result, answer=parse_pay(result.body))
    except MoneyError:  # a point count that is no number: binding let it through, nothing to believe
        return result
    return result
