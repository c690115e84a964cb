"""Ports: the Protocols the services need from the outside world (storage, gateway, clock, ids).

Adapters (pos_app.storage, pos_app.alipay) implement these; tests may use hand-written fakes.
Each section below is owned by one part of the system; keep additions inside your section.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Mapping
from typing import Any, Protocol, Union

from pos_app.domain.money import parse_gateway_amount

__all__ = [
    "Clock",
    "IdSource",
    "BEIJING",
    # gateway
    "GatewaySuccess",
    "GatewayInProgress",
    "GatewayBusinessFailure",
    "GatewayUnknown",
    "GATEWAY_UNKNOWN_CAUSES",
    "GatewayResult",
    "PayResult",
    "QueryResult",
    "CancelResult",
    "RefundResult",
    "RefundQueryResult",
    "CardInfo",
    "TradeGateway",
    "CardGateway",
    # checkout storage
    "PaymentAttempt",
    "MemberRecord",
    "SaleRecord",
    "SaleLineRecord",
    "TenderRecord",
    "RefundRecord",
    "PaymentAttemptRepository",
    "SalesRepository",
    "MemberRepository",
    "CatalogueRepository",
    "JournalPort",
    "CheckoutUnitOfWork",
    # shifts
    "UserRecord",
    "ApprovalRecord",
    "ShiftRecord",
    "UnsettledPayment",
    "ZReportRecord",
    "UserRepository",
    "ShiftRepository",
    "ReportRepository",
    "AuditPort",
    "ShiftsUnitOfWork",
    # sync
    "OutboxRow",
    "OutboxOutcome",
    "OutboxStats",
    "SyncApprover",
    "SyncStore",
]

BEIJING = dt.timezone(dt.timedelta(hours=8), "GMT+8")


# --- time and ids ------------------------------------------------------------------------


class Clock(Protocol):
    """Wall and monotonic time; nothing in domain/ or services/ calls time.time() directly."""

    def now(self) -> dt.datetime:
        """The current time as an aware datetime (UTC)."""

    def monotonic(self) -> float:
        """Seconds from an arbitrary start, never going backwards."""


class IdSource(Protocol):
    """Unique identifiers (out_trade_no, out_request_no, event ids)."""

    def new_id(self, prefix: str = "") -> str:
        """A new identifier: letters, digits and underscore, at most 64 characters."""


# --- gateway (owned by the Alipay client; see pos_app/alipay) ----------------------------


@dataclasses.dataclass(frozen=True, slots=True)
class GatewaySuccess:
    """``code == "10000"``: the call succeeded; ``body`` is the verified ``*_response`` object."""

    code: str
    body: Mapping[str, Any]


@dataclasses.dataclass(frozen=True, slots=True)
class GatewayInProgress:
    """``code == "10003"`` (alipay.trade.pay only): the buyer is still confirming; poll query."""

    body: Mapping[str, Any]


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


@dataclasses.dataclass(frozen=True, slots=True)
class GatewayUnknown:
    """The outcome is not known: timeout, connection error, HTTP error, 20000, ACQ.SYSTEM_ERROR,
    or an unverifiable/unparsable body. ``cause`` is one of ``GATEWAY_UNKNOWN_CAUSES``."""

    reason: str
    cause: str = "transport"


GATEWAY_UNKNOWN_CAUSES = (
    "timeout", "connection", "transport", "http_status", "service_unavailable", "system_error",
    "signature", "format", "unexpected_code", "binding",
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


# --- storage (owned by pos_app/storage) --------------------------------------------------


# --- checkout storage (owned by the checkout core: services/payment, checkout, members, refunds) ---


@dataclasses.dataclass(frozen=True, slots=True)
class PaymentAttempt:
    """One Alipay barcode payment attempt (one ``out_trade_no``), as stored write-ahead."""

    id: int
    out_trade_no: str
    shift_id: int
    cashier_id: int
    amount_fen: int
    subject: str
    auth_code_masked: str
    state: str
    trade_no: str = ""
    buyer_logon_id: str = ""
    buyer_user_id: str = ""
    gmt_payment: str = ""
    polls: int = 0
    cancel_tries: int = 0
    fail_code: str = ""
    fail_sub_code: str = ""
    fail_message: str = ""
    basket_json: str = "{}"
    sale_id: int | None = None
    resolution: str = ""
    resolved_by: int | None = None
    created_at: str = ""
    updated_at: str = ""


@dataclasses.dataclass(frozen=True, slots=True)
class MemberRecord:
    """A cached member (``card_no`` = external card number); ``points_balance`` is the ledger balance."""

    card_no: str
    biz_card_no: str | None
    name: str
    phone: str
    level: str
    points_synced: int
    points_balance: int
    user_id: str = ""
    refreshed_at: str | None = None


@dataclasses.dataclass(frozen=True, slots=True)
class SaleRecord:
    """One committed sale row."""

    id: int
    receipt_no: str
    shift_id: int
    terminal_id: str
    cashier_id: int
    card_no: str | None
    state: str
    gross_fen: int
    discount_fen: int
    total_fen: int
    points_redeemed: int
    points_earned: int
    earn_explanation: str
    refunded_fen: int
    started_at: str
    committed_at: str
    receipt_hash: str


@dataclasses.dataclass(frozen=True, slots=True)
class SaleLineRecord:
    """One stored sale line (quantity is pieces, or grams for ``unit == "kg"``)."""

    id: int
    sale_id: int
    line_no: int
    code: str
    name: str
    quantity: int
    unit: str
    unit_price_fen: int
    amount_fen: int
    discount_fen: int
    open_price: bool
    points_excluded: bool
    voided: bool
    void_reason: str
    refunded_qty: int


@dataclasses.dataclass(frozen=True, slots=True)
class TenderRecord:
    """One stored tender of a sale."""

    id: int
    sale_id: int
    kind: str
    amount_fen: int
    tendered_fen: int
    change_fen: int
    attempt_id: int | None
    trade_no: str


@dataclasses.dataclass(frozen=True, slots=True)
class RefundRecord:
    """One refund (write-ahead: ``pending`` before the gateway is called)."""

    id: int
    sale_id: int
    shift_id: int
    out_request_no: str
    method: str
    amount_fen: int
    state: str
    reason: str
    lines_json: str
    points_reversed: int
    points_restored: int
    cashier_id: int
    approved_by: int | None
    fail_message: str
    created_at: str
    completed_at: str | None


class PaymentAttemptRepository(Protocol):
    """Payment attempts (write-ahead log of alipay.trade.pay)."""

    def add(self, *, out_trade_no: str, shift_id: int, cashier_id: int, amount_fen: int, subject: str,
            auth_code_masked: str, state: str, basket_json: str, at: dt.datetime) -> int: ...

    def get(self, attempt_id: int) -> PaymentAttempt | None: ...

    def update(self, attempt_id: int, *, at: dt.datetime, **fields: Any) -> None: ...

    def in_states(self, states: tuple[str, ...]) -> list[PaymentAttempt]: ...

    def orphans(self) -> list[PaymentAttempt]: ...


class SalesRepository(Protocol):
    """Sales, lines, tenders, refunds and the counters table."""

    def next_counter(self, name: str) -> int: ...

    def add_sale(self, *, receipt_no: str, shift_id: int, terminal_id: str, cashier_id: int, card_no: str | None,
                 gross_fen: int, discount_fen: int, total_fen: int, points_redeemed: int, points_earned: int,
                 earn_explanation: str, started_at: str, committed_at: str) -> int: ...

    def add_lines(self, sale_id: int, lines: list[dict[str, Any]]) -> None: ...

    def add_tender(self, sale_id: int, *, kind: str, amount_fen: int, tendered_fen: int, change_fen: int,
                   attempt_id: int | None, trade_no: str) -> int: ...

    def set_receipt_hash(self, sale_id: int, receipt_hash: str) -> None: ...

    def get(self, sale_id: int) -> SaleRecord | None: ...

    def by_receipt(self, receipt_no: str) -> SaleRecord | None: ...

    def by_trade_no(self, trade_no: str) -> SaleRecord | None: ...

    def lines(self, sale_id: int) -> list[SaleLineRecord]: ...

    def tenders(self, sale_id: int) -> list[TenderRecord]: ...

    def add_refund(self, *, sale_id: int, shift_id: int, out_request_no: str, method: str, amount_fen: int,
                   reason: str, lines_json: str, cashier_id: int, approved_by: int | None,
                   created_at: str) -> int: ...

    def settling_shift(self, shift_id: int) -> int: ...

    def update_refund(self, refund_id: int, **fields: Any) -> None: ...

    def get_refund(self, refund_id: int) -> RefundRecord | None: ...

    def refunds(self, sale_id: int) -> list[RefundRecord]: ...

    def add_refunded_qty(self, line_id: int, qty: int) -> None: ...

    def set_refunded(self, sale_id: int, refunded_fen: int, state: str) -> None: ...


class MemberRepository(Protocol):
    """The member cache and the points ledger (the only writer of points)."""

    def get(self, card_no: str) -> MemberRecord | None: ...

    def by_biz_card_no(self, biz_card_no: str) -> MemberRecord | None: ...

    def search(self, text: str, limit: int = 20) -> list[MemberRecord]: ...

    def upsert(self, *, card_no: str, biz_card_no: str | None, name: str, phone: str, level: str,
               points_synced: int | None, user_id: str, refreshed_at: str | None, updated_at: str) -> bool: ...

    def add_ledger(self, card_no: str, *, kind: str, points: int, sale_id: int | None, refund_id: int | None,
                   reason: str, at: str) -> int: ...

    def balance(self, card_no: str) -> int: ...

    def ledger_for_sale(self, sale_id: int) -> list[tuple[str, int]]: ...


class CatalogueRepository(Protocol):
    """Read access to the catalogue (items are domain CatalogueItem objects)."""

    def get(self, code: str) -> Any: ...

    def search(self, text: str, limit: int = 50) -> list[Any]: ...


class JournalPort(Protocol):
    """The audit log and the outbox, written inside the caller's unit of work."""

    def audit(self, *, at: dt.datetime, user_id: int | None, user_name: str, action: str, subject: str = "",
              detail: Mapping[str, Any] | None = None) -> int: ...

    def enqueue(self, *, event_id: str, kind: str, card_no: str, body: Mapping[str, Any], created_at: dt.datetime,
                points_after: int | None = None, sale_id: int | None = None,
                refund_id: int | None = None) -> int: ...


class CheckoutUnitOfWork(Protocol):
    """One transaction exposing the checkout repositories; commits on a clean exit, rolls back otherwise."""

    @property
    def payments(self) -> PaymentAttemptRepository: ...

    @property
    def sales(self) -> SalesRepository: ...

    @property
    def members(self) -> MemberRepository: ...

    @property
    def catalogue(self) -> CatalogueRepository: ...

    @property
    def journal(self) -> JournalPort: ...

    def __enter__(self) -> CheckoutUnitOfWork: ...

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None: ...


# --- shifts (owned by shifts, users and reports: services/users, shifts, reports, approvals) ---


@dataclasses.dataclass(frozen=True, slots=True)
class UserRecord:
    """A user as stored (the PIN hash never leaves the users repository except for verification)."""

    id: int
    number: str
    name: str
    role: str                      # cashier | supervisor | admin
    active: bool
    card_code: str | None
    failed_attempts: int
    locked_until: dt.datetime | None
    created_at: dt.datetime


@dataclasses.dataclass(frozen=True, slots=True)
class ApprovalRecord:
    """One supervisor approval: who approved what, for whom, why and when."""

    id: int
    action: str
    subject: str
    shift_id: int | None
    requested_by: int | None
    approved_by: int
    approver_name: str
    reason_code: str
    note: str
    created_at: dt.datetime


@dataclasses.dataclass(frozen=True, slots=True)
class ShiftRecord:
    """A shift of one terminal."""

    id: int
    terminal_id: str
    number: int
    state: str                     # open | closed
    opened_by: int
    opened_at: dt.datetime
    opening_float_fen: int
    opening_count: Mapping[int, int]
    closed_by: int | None
    closed_at: dt.datetime | None


@dataclasses.dataclass(frozen=True, slots=True)
class UnsettledPayment:
    """An Alipay payment attempt whose outcome is not final (or paid without a completed sale)."""

    id: int
    out_trade_no: str
    state: str
    amount_fen: int
    cashier: str
    created_at: str


@dataclasses.dataclass(frozen=True, slots=True)
class ZReportRecord:
    """A stored Z report: figures and text exactly as printed, with the hash over both."""

    id: int
    terminal_id: str
    number: int
    shift_id: int
    created_at: dt.datetime
    figures_json: str
    text: str
    hash: str


class UserRepository(Protocol):
    """Users and their PIN hashes."""

    def add(self, *, number: str, name: str, role: str, pin_hash: str, card_code: str | None,
            created_at: dt.datetime) -> int: ...

    def get(self, user_id: int) -> UserRecord | None: ...

    def find(self, number_or_card: str) -> UserRecord | None: ...

    def pin_hash(self, user_id: int) -> str: ...

    def list(self) -> list[UserRecord]: ...

    def record_failure(self, user_id: int, failed_attempts: int, locked_until: dt.datetime | None) -> None: ...

    def record_success(self, user_id: int) -> None: ...

    def set_active(self, user_id: int, active: bool) -> None: ...

    def set_pin(self, user_id: int, pin_hash: str) -> None: ...

    def add_approval(self, *, action: str, subject: str, shift_id: int | None, requested_by: int | None,
                     approved_by: int, reason_code: str, note: str, created_at: dt.datetime) -> int: ...

    def get_approval(self, approval_id: int) -> ApprovalRecord | None: ...


class ShiftRepository(Protocol):
    """Shifts, cashier changes and cash movements."""

    def open(self, *, terminal_id: str, opened_by: int, opened_at: dt.datetime, opening_float_fen: int,
             opening_count: Mapping[int, int]) -> ShiftRecord: ...

    def current(self, terminal_id: str) -> ShiftRecord | None: ...

    def get(self, shift_id: int) -> ShiftRecord | None: ...

    def by_number(self, terminal_id: str, number: int) -> ShiftRecord | None: ...

    def latest(self, terminal_id: str) -> ShiftRecord | None: ...

    def current_cashier(self, shift_id: int) -> int | None: ...

    def change_cashier(self, shift_id: int, user_id: int, at: dt.datetime) -> None: ...

    def add_movement(self, *, shift_id: int, kind: str, amount_fen: int, reason: str, user_id: int,
                     approved_by: int | None, created_at: dt.datetime) -> int: ...

    def unsettled_payments(self, shift_id: int) -> list[UnsettledPayment]: ...

    def close(self, shift_id: int, closed_by: int, closed_at: dt.datetime) -> None: ...


class ReportRepository(Protocol):
    """Report figures computed with SQL aggregates, and stored Z reports."""

    def figures(self, shift_id: int, *, now: dt.datetime) -> dict[str, Any]: ...

    def expected_cash(self, shift_id: int) -> int: ...

    def sync_stats(self, *, now: dt.datetime) -> dict[str, Any]: ...

    def add_z_report(self, *, terminal_id: str, shift_id: int, created_at: dt.datetime, figures_json: str,
                     text: str, hash: str, number: int) -> ZReportRecord: ...

    def next_z_number(self, terminal_id: str) -> int: ...

    def z_report(self, terminal_id: str, *, shift_id: int | None = None,
                 number: int | None = None) -> ZReportRecord | None: ...

    def z_reports(self, terminal_id: str, limit: int = 100) -> list[ZReportRecord]: ...


class AuditPort(Protocol):
    """Appends to the hash-chained audit log inside the current transaction."""

    def append(self, *, at: dt.datetime, user_id: int | None, user_name: str, action: str, subject: str = "",
               detail: Mapping[str, Any] | None = None) -> int: ...

    def head(self) -> tuple[int, str] | None:
        """The newest entry's id and hash (printed on the Z report)."""


class ShiftsUnitOfWork(Protocol):
    """One transaction with the repositories the shift, user and report services need."""

    @property
    def users(self) -> UserRepository: ...

    @property
    def shifts(self) -> ShiftRepository: ...

    @property
    def reports(self) -> ReportRepository: ...

    @property
    def audit(self) -> AuditPort: ...

    def __enter__(self) -> ShiftsUnitOfWork: ...

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None: ...


# --- sync (owned by the sync worker: services/sync, storage/outbox) ----------------------


@dataclasses.dataclass(frozen=True, slots=True)
class OutboxRow:
    """One outbox row as stored; ``body_json`` is the request body fixed at commit time."""

    id: int
    event_id: str
    kind: str                      # card.consume_sync | card.update
    card_no: str                   # external card number (the ordering key)
    method: str
    body_json: str
    points_after: int | None
    state: str                     # pending | done | dead | discarded
    attempts: int
    next_attempt_at: float         # epoch seconds
    last_error: str
    created_at: str
    done_at: str | None = None
    sale_id: int | None = None
    refund_id: int | None = None


@dataclasses.dataclass(frozen=True, slots=True)
class OutboxOutcome:
    """What the worker learned from one send: ``action`` is "done", "retry" or "dead"."""

    row_id: int
    card_no: str
    action: str
    attempts: int
    next_attempt_at: float = 0.0
    error: str = ""
    points_after: int | None = None


@dataclasses.dataclass(frozen=True, slots=True)
class OutboxStats:
    """Queue figures for the status bar and the X/Z reports."""

    pending: int
    oldest_pending_created_at: str | None
    dead: int
    discarded: int = 0


@dataclasses.dataclass(frozen=True, slots=True)
class SyncApprover:
    """The supervisor who approved a dead-letter decision (after a PIN check done by the caller)."""

    user_id: int | None
    name: str


class SyncStore(Protocol):
    """The worker's view of the outbox, on a connection of its own (never the GUI's).

    Every write is one short transaction; nothing here is called while a request is in flight.
    """

    def try_lock(self) -> bool:
        """Become the only sync worker of this database (False if another process is one)."""

    def due_heads(self, now: float, limit: int, skip_cards: frozenset[str] = frozenset(), *,
                  ignore_schedule: bool = False) -> list[OutboxRow]:
        """The oldest pending row of each card that is not blocked by a dead row, due at ``now``."""

    def next_head(self, card_no: str) -> OutboxRow | None:
        """The oldest pending row of one card, or None (no pending row, or blocked by a dead row)."""

    def next_due_at(self, now: float) -> float | None:
        """The earliest ``next_attempt_at`` after ``now`` among pending rows (None: nothing waiting)."""

    def coalesce_updates(self, head: OutboxRow, at: dt.datetime) -> tuple[OutboxRow, int]:
        """Fold the run of consecutive pending card.update rows starting at ``head`` into the newest.

        Returns (the row to send, how many older rows were marked done as coalesced).
        """

    def record(self, outcomes: list[OutboxOutcome], at: dt.datetime) -> None:
        """Apply send outcomes in one short transaction (done: also members.points_synced)."""

    def backed_off(self, now: float) -> list[int]:
        """Ids of pending rows waiting for a later ``next_attempt_at``."""

    def make_due(self, row_ids: list[int], now: float) -> None:
        """Make these pending rows due now (the network is back)."""

    def stats(self) -> OutboxStats: ...

    def rows(self, states: tuple[str, ...], limit: int = 500) -> list[OutboxRow]:
        """Rows in the given states, oldest first (for the supervisor screen)."""

    def get(self, row_id: int) -> OutboxRow | None: ...

    def retry_dead(self, row_id: int, *, approver: SyncApprover, at: dt.datetime) -> bool:
        """dead -> pending (due now), audited; False if the row is not dead."""

    def discard_dead(self, row_id: int, *, approver: SyncApprover, reason: str, at: dt.datetime) -> bool:
        """dead -> discarded with the reason, audited; False if the row is not dead."""

    def close(self) -> None: ...
