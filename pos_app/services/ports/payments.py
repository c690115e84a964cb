"""Payment attempts: the write-ahead log of alipay.trade.pay."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any, Protocol

__all__ = ["PaymentAttempt", "PaymentAttemptRepository"]


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


class PaymentAttemptRepository(Protocol):
    """Payment attempts (write-ahead log of alipay.trade.pay)."""

    def add(self, *, out_trade_no: str, shift_id: int, cashier_id: int, amount_fen: int, subject: str,
            auth_code_masked: str, state: str, basket_json: str, at: dt.datetime) -> int: ...

    def get(self, attempt_id: int) -> PaymentAttempt | None: ...

    def update(self, attempt_id: int, *, at: dt.datetime, **fields: Any) -> None: ...

    def in_states(self, states: tuple[str, ...]) -> list[PaymentAttempt]: ...

    def orphans(self) -> list[PaymentAttempt]: ...

    def held(self) -> list[PaymentAttempt]:
        """Paid parts of a split tender held by the sale at the till (resolution 'held', no sale yet)."""
        ...

