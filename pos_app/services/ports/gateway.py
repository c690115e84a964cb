"""The Alipay gateway port: call outcomes and the trade and card calls (implemented by pos_app.alipay)."""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Mapping
from typing import Any, Protocol, Union

__all__ = ["FailureKind", "Refusal", "GatewaySuccess", "GatewayInProgress", "GatewayBusinessFailure", "GatewayUnknown",
           "GATEWAY_UNKNOWN_CAUSES", "GatewayResult", "TradeStatus", "PayResult", "QueryResult", "CancelResult",
           "RefundResult", "RefundQueryResult", "CardInfo", "Answer", "CardLookup", "TradeGateway", "CardGateway"]


@dataclasses.dataclass(frozen=True, slots=True)
class GatewaySuccess:
    """The call succeeded; ``answer`` is its typed content. ``body`` is the verified raw answer, read only
    by pos_app.alipay and diagnostics (tests/test_architecture.py keeps services and storage off it)."""

    code: str
    body: Mapping[str, Any]
    answer: Answer | None = None   # the typed answer (None: the gateway gave none the terminal can use)


@dataclasses.dataclass(frozen=True, slots=True)
class GatewayInProgress:
    """``code == "10003"`` (alipay.trade.pay only): the buyer is still confirming; poll query."""

    body: Mapping[str, Any]
    answer: PayResult | None = None


class Refusal(enum.StrEnum):
    """What a definite refusal says about the request (classified in pos_app.alipay.subcodes)."""

    OTHER = "other"                  # refused; ``reason`` says why when it matters to the cashier
    ALREADY_PAID = "already_paid"    # this trade was paid before: believe it only after a query
    NO_SUCH_TRADE = "no_such_trade"  # Alipay has no record of this trade
    RETRY_LATER = "retry_later"      # a cancel Alipay asks to send again


class FailureKind(enum.StrEnum):
    """What a business failure means for the caller (classified in pos_app.alipay.subcodes)."""

    DEFINITE = "definite"            # a definite answer about this request: do not retry it as it is
    TRANSIENT = "transient"          # Alipay is busy or had a system error: the same request may succeed later
    CONFIGURATION = "configuration"  # the terminal's keys, app id, clock or permissions are wrong


@dataclasses.dataclass(frozen=True, slots=True)
class GatewayBusinessFailure:
    """A definite answer other than success, classified by pos_app.alipay.subcodes.

    ``verified`` is False for an unsigned error body (accepted as the Java SDK does). ``kind`` says
    what to do, ``refusal`` what it says about the request (a cancel Alipay asks to retry is always
    reported here), ``reason`` the cashier's message code. ``code``/``sub_code``/``sub_msg`` are the
    gateway's own words, kept for logs and audit only; ``about`` is the trade the answer names ("" if none).
    """

    code: str
    sub_code: str
    sub_msg: str
    body: Mapping[str, Any]
    verified: bool = True
    kind: FailureKind = FailureKind.DEFINITE   # set by the client from the sub-code table
    reason: str = ""                          # a reason code for the cashier's message ("" = none specific)
    refusal: Refusal = Refusal.OTHER
    about: str = ""
    detail: str = ""                          # the log line ("" = code, sub_code and sub_msg)

    @property
    def label(self) -> str:
        """The gateway's code for a message or the audit: the sub-code, else the code."""
        return self.sub_code or f"code {self.code}"

    def describe(self) -> str:
        """One line for the log and the supervisor screen."""
        return self.detail or f"{self.code} {self.sub_code}: {self.sub_msg}".strip()


@dataclasses.dataclass(frozen=True, slots=True)
class GatewayUnknown:
    """The outcome is not known: timeout, connection error, HTTP error, Alipay unavailable or a system
    error, or an unverifiable/unparsable body. ``cause`` is one of ``GATEWAY_UNKNOWN_CAUSES``."""

    reason: str
    cause: str = "transport"


GATEWAY_UNKNOWN_CAUSES = (
    "timeout", "connection", "transport", "http_status", "service_unavailable", "system_error",
    "signature", "format", "unexpected_code", "rate_limited", "binding",
)


GatewayResult = Union[GatewaySuccess, GatewayInProgress, GatewayBusinessFailure, GatewayUnknown]  # noqa: UP007


class TradeStatus(enum.StrEnum):
    """Where a trade stands, as a query answers it."""

    WAITING = "waiting"   # the buyer has not confirmed yet
    PAID = "paid"         # paid (also when it can no longer be refunded)
    CLOSED = "closed"     # closed unpaid, or fully refunded
    UNKNOWN = "unknown"   # the answer named no status this terminal knows


@dataclasses.dataclass(frozen=True, slots=True)
class PayResult:
    """A pay answer (paid, or waiting for the buyer); money in fen."""

    trade_no: str
    out_trade_no: str
    total_fen: int
    buyer_logon_id: str
    buyer_user_id: str
    gmt_payment: str


@dataclasses.dataclass(frozen=True, slots=True)
class QueryResult:
    """A trade query answer."""

    trade_no: str
    out_trade_no: str
    status: TradeStatus
    total_fen: int
    buyer_logon_id: str
    buyer_user_id: str
    gmt_payment: str

    @property
    def is_paid(self) -> bool:
        return self.status is TradeStatus.PAID

    @property
    def is_closed(self) -> bool:
        return self.status is TradeStatus.CLOSED


@dataclasses.dataclass(frozen=True, slots=True)
class CancelResult:
    """A cancel answer: ``refunded`` when the trade had been paid and the money went back to the buyer."""

    trade_no: str
    out_trade_no: str
    refunded: bool
    retry: bool


@dataclasses.dataclass(frozen=True, slots=True)
class RefundResult:
    """A refund answer: ``money_moved`` when this call moved money; ``refund_fee_fen`` is cumulative."""

    trade_no: str
    out_trade_no: str
    money_moved: bool
    refund_fee_fen: int
    send_back_fee_fen: int | None


@dataclasses.dataclass(frozen=True, slots=True)
class RefundQueryResult:
    """A refund query answer: ``succeeded`` when that refund happened."""

    out_trade_no: str
    out_request_no: str
    succeeded: bool
    refund_amount_fen: int | None
    total_fen: int | None


@dataclasses.dataclass(frozen=True, slots=True)
class CardInfo:
    """A member card as Alipay holds it; points as an int, balance in fen."""

    biz_card_no: str
    external_card_no: str
    point: int
    level: str
    balance_fen: int
    open_date: str = ""
    valid_date: str = ""


Answer = Union[PayResult, QueryResult, CancelResult, RefundResult, RefundQueryResult, CardInfo]  # noqa: UP007
"""The typed content of a successful answer (filled in by pos_app.alipay from the verified body)."""


class CardLookup(enum.StrEnum):
    """How a card is looked up: by Alipay's card number, the shop's, or a member code shown in Alipay."""

    ALIPAY_CARD = "alipay_card"
    SHOP_CARD = "shop_card"
    DYNAMIC_QR = "dynamic_qr"
    DYNAMIC_BAR = "dynamic_bar"


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

    def card_query(self, target_card_no: str, target_card_no_type: CardLookup) -> GatewayResult: ...

    def card_update(self, body: Mapping[str, Any]) -> GatewayResult: ...

    def consume_sync(self, body: Mapping[str, Any]) -> GatewayResult: ...

    def card_open(self, body: Mapping[str, Any], *, auth_token: str) -> GatewayResult: ...

    def template_create(self, body: Mapping[str, Any]) -> GatewayResult: ...

    def call(self, method: str, biz: Mapping[str, Any]) -> GatewayResult: ...

