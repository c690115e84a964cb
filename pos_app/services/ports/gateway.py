"""The Alipay gateway port: call outcomes and the trade and card calls (implemented by pos_app.alipay)."""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Mapping
from typing import Any, Protocol, Union

from pos_app.domain.money import parse_gateway_amount

__all__ = ["FailureKind", "GatewaySuccess", "GatewayInProgress", "GatewayBusinessFailure", "GatewayUnknown", "GATEWAY_UNKNOWN_CAUSES", "GatewayResult", "PayResult", "QueryResult", "CancelResult", "RefundResult", "RefundQueryResult", "CardInfo", "TradeGateway", "CardGateway"]


@dataclasses.dataclass(frozen=True, slots=True)
class GatewaySuccess:
    """``code == "10000"``: the call succeeded; ``body`` is the verified ``*_response`` object."""

    code: str
    body: Mapping[str, Any]


@dataclasses.dataclass(frozen=True, slots=True)
class GatewayInProgress:
    """``code == "10003"`` (alipay.trade.pay only): the buyer is still confirming; poll query."""

    body: Mapping[str, Any]


class FailureKind(enum.StrEnum):
    """What a business failure means for the caller (classified in pos_app.alipay.subcodes)."""

    DEFINITE = "definite"            # a definite answer about this request: do not retry it as it is
    TRANSIENT = "transient"          # Alipay is busy or had a system error: the same request may succeed later
    CONFIGURATION = "configuration"  # the terminal's keys, app id, clock or permissions are wrong


@dataclasses.dataclass(frozen=True, slots=True)
class GatewayBusinessFailure:
    """A definite answer other than success (40004 with a sub_code, 40002, 20001, ...).

    ``verified`` is False for an unsigned error body (accepted as the Java SDK does). A cancel
    answer carrying ``retry_flag == "Y"`` is always reported here (even with ACQ.SYSTEM_ERROR)
    so the caller can read ``CancelResult.from_body(body).retry_flag``.
    """

    code: str
    sub_code: str
    sub_msg: str
    body: Mapping[str, Any]
    verified: bool = True
    kind: FailureKind = FailureKind.DEFINITE   # set by the client from the sub-code table
    reason: str = ""                          # a reason code for the cashier's message ("" = none specific)


@dataclasses.dataclass(frozen=True, slots=True)
class GatewayUnknown:
    """The outcome is not known: timeout, connection error, HTTP error, 20000, ACQ.SYSTEM_ERROR,
    or an unverifiable/unparsable body. ``cause`` is one of ``GATEWAY_UNKNOWN_CAUSES``."""

    reason: str
    cause: str = "transport"


GATEWAY_UNKNOWN_CAUSES = (
    "timeout", "connection", "transport", "http_status", "service_unavailable", "system_error",
    "signature", "format", "unexpected_code", "rate_limited", "binding",
)


GatewayResult = Union[GatewaySuccess, GatewayInProgress, GatewayBusinessFailure, GatewayUnknown]  # noqa: UP007


def _s(body: Mapping[str, Any], key: str) -> str:
    value = body.get(key)
    return value if isinstance(value, str) else ""


def _fen(body: Mapping[str, Any], key: str) -> int | None:
    value = body.get(key)
    return parse_gateway_amount(value) if isinstance(value, str) and value != "" else None


@dataclasses.dataclass(frozen=True, slots=True)
class PayResult:
    """The fields of an alipay.trade.pay answer (10000 or 10003); money in fen."""

    trade_no: str
    out_trade_no: str
    total_fen: int
    buyer_logon_id: str
    buyer_user_id: str
    gmt_payment: str

    @classmethod
    def from_body(cls, body: Mapping[str, Any]) -> PayResult:
        return cls(
            trade_no=_s(body, "trade_no"),
            out_trade_no=_s(body, "out_trade_no"),
            total_fen=_fen(body, "total_amount") or 0,
            buyer_logon_id=_s(body, "buyer_logon_id"),
            buyer_user_id=_s(body, "buyer_user_id") or _s(body, "buyer_open_id"),
            gmt_payment=_s(body, "gmt_payment"),
        )


@dataclasses.dataclass(frozen=True, slots=True)
class QueryResult:
    """The fields of an alipay.trade.query answer; ``trade_status`` is one of the four statuses."""

    trade_no: str
    out_trade_no: str
    trade_status: str
    total_fen: int
    buyer_logon_id: str
    buyer_user_id: str
    gmt_payment: str

    @property
    def is_paid(self) -> bool:
        return self.trade_status in ("TRADE_SUCCESS", "TRADE_FINISHED")

    @classmethod
    def from_body(cls, body: Mapping[str, Any]) -> QueryResult:
        return cls(
            trade_no=_s(body, "trade_no"),
            out_trade_no=_s(body, "out_trade_no"),
            trade_status=_s(body, "trade_status"),
            total_fen=_fen(body, "total_amount") or 0,
            buyer_logon_id=_s(body, "buyer_logon_id"),
            buyer_user_id=_s(body, "buyer_user_id") or _s(body, "buyer_open_id"),
            gmt_payment=_s(body, "send_pay_date") or _s(body, "gmt_payment"),
        )


@dataclasses.dataclass(frozen=True, slots=True)
class CancelResult:
    """The fields of an alipay.trade.cancel answer: ``action`` is "close", "refund" or ""."""

    trade_no: str
    out_trade_no: str
    action: str
    retry_flag: str

    @classmethod
    def from_body(cls, body: Mapping[str, Any]) -> CancelResult:
        return cls(
            trade_no=_s(body, "trade_no"),
            out_trade_no=_s(body, "out_trade_no"),
            action=_s(body, "action"),
            retry_flag=_s(body, "retry_flag") or "N",
        )


@dataclasses.dataclass(frozen=True, slots=True)
class RefundResult:
    """alipay.trade.refund: ``fund_change`` "Y" means this call moved money; ``refund_fee_fen`` is cumulative."""

    trade_no: str
    out_trade_no: str
    fund_change: str
    refund_fee_fen: int
    send_back_fee_fen: int | None

    @classmethod
    def from_body(cls, body: Mapping[str, Any]) -> RefundResult:
        return cls(
            trade_no=_s(body, "trade_no"),
            out_trade_no=_s(body, "out_trade_no"),
            fund_change=_s(body, "fund_change"),
            refund_fee_fen=_fen(body, "refund_fee") or 0,
            send_back_fee_fen=_fen(body, "send_back_fee"),
        )


@dataclasses.dataclass(frozen=True, slots=True)
class RefundQueryResult:
    """alipay.trade.fastpay.refund.query: the refund happened iff ``refund_status == "REFUND_SUCCESS"``."""

    out_trade_no: str
    out_request_no: str
    refund_status: str
    refund_amount_fen: int | None
    total_fen: int | None

    @property
    def succeeded(self) -> bool:
        return self.refund_status == "REFUND_SUCCESS"

    @classmethod
    def from_body(cls, body: Mapping[str, Any]) -> RefundQueryResult:
        return cls(
            out_trade_no=_s(body, "out_trade_no"),
            out_request_no=_s(body, "out_request_no"),
            refund_status=_s(body, "refund_status"),
            refund_amount_fen=_fen(body, "refund_amount"),
            total_fen=_fen(body, "total_amount"),
        )


@dataclasses.dataclass(frozen=True, slots=True)
class CardInfo:
    """A MerchantCard as returned by card.query / card.open; points as an int, balance in fen."""

    biz_card_no: str
    external_card_no: str
    point: int
    level: str
    balance_fen: int
    open_date: str = ""
    valid_date: str = ""

    @classmethod
    def from_card_info(cls, card: Mapping[str, Any]) -> CardInfo:
        raw_point = card.get("point")
        point = 0
        if isinstance(raw_point, str | int) and str(raw_point).strip():
            point = parse_gateway_amount(str(raw_point)) // 100
        return cls(
            biz_card_no=_s(card, "biz_card_no"),
            external_card_no=_s(card, "external_card_no"),
            point=point,
            level=_s(card, "level"),
            balance_fen=_fen(card, "balance") or 0,
            open_date=_s(card, "open_date"),
            valid_date=_s(card, "valid_date"),
        )

    @classmethod
    def from_body(cls, body: Mapping[str, Any]) -> CardInfo:
        """From a card.query / card.open answer (reads its ``card_info`` object)."""
        card = body.get("card_info")
        return cls.from_card_info(card if isinstance(card, Mapping) else {})


class TradeGateway(Protocol):
    """The trade calls of the Alipay gateway; every call returns a GatewayResult and never raises
    for a network or gateway problem. Amounts are fen."""

    def pay(
        self,
        out_trade_no: str,
        auth_code: str,
        amount_fen: int,
        subject: str,
        *,
        store_id: str | None,
        terminal_id: str | None,
        operator_id: str | None,
        scene: str = "bar_code",
    ) -> GatewayResult: ...

    def query(self, out_trade_no: str) -> GatewayResult: ...

    def cancel(self, out_trade_no: str) -> GatewayResult: ...

    def refund(self, out_trade_no: str, out_request_no: str, amount_fen: int, reason: str) -> GatewayResult: ...

    def refund_query(self, out_trade_no: str, out_request_no: str) -> GatewayResult: ...


class CardGateway(Protocol):
    """The membership-card calls; bodies are sent exactly as given (the outbox stores them)."""

    def card_query(self, target_card_no: str, target_card_no_type: str) -> GatewayResult: ...

    def card_update(self, body: Mapping[str, Any]) -> GatewayResult: ...

    def consume_sync(self, body: Mapping[str, Any]) -> GatewayResult: ...

    def card_open(self, body: Mapping[str, Any], *, auth_token: str) -> GatewayResult: ...

    def template_create(self, body: Mapping[str, Any]) -> GatewayResult: ...

    def call(self, method: str, biz: Mapping[str, Any]) -> GatewayResult: ...

