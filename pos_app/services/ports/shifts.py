"""Shifts, cashier changes and cash movements."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Mapping
from typing import Protocol

__all__ = ["ShiftRecord", "UnsettledPayment", "ShiftRepository"]


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

    def set_float_left(self, shift_id: int, left_fen: int) -> None: ...

    def set_carried(self, shift_id: int, carried_fen: int) -> None: ...

    def float_left(self, terminal_id: str) -> int | None:
        """What the terminal's last closed shift left in the drawer (None: not said)."""
        ...

    def close(self, shift_id: int, closed_by: int, closed_at: dt.datetime) -> None: ...

