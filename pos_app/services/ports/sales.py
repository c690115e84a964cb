"""Sales, their lines, tenders and refunds as stored."""

from __future__ import annotations

import dataclasses
from typing import Any, Protocol

__all__ = ["SaleRecord", "SaleLineRecord", "TenderRecord", "RefundRecord", "SalesRepository"]


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


class SalesRepository(Protocol):
    """Sales, lines, tenders, refunds and the counters table."""

    def next_counter(self, name: str) -> int: ...

    def add_sale(self, *, receipt_no: str, shift_id: int, terminal_id: str, cashier_id: int, card_no: str | None,
                 gross_fen: int, discount_fen: int, total_fen: int, points_redeemed: int, points_earned: int,
                 earn_explanation: str, started_at: str, committed_at: str) -> int: ...

    def add_lines(self, sale_id: int, lines: list[dict[str, Any]]) -> None: ...

    def forget_open_basket(self, terminal_id: str, basket_lines: list[dict[str, Any]]) -> bool:
        """Inside a sale's commit: drop the till's kept open basket when it is this sale (same lines)."""
        ...

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

    def add_exchange(self, *, original_sale_id: int, new_sale_id: int, credit_refund_id: int,
                     back_refund_id: int | None, returned_fen: int, new_fen: int, difference_fen: int,
                     back_method: str, approved_by: int | None, lines_json: str, created_at: str) -> int: ...

