"""Shift cash math: the cash the drawer should hold, counting it by denomination, over/short."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, fields

from .errors import ShiftError
from .money import MAX_FEN

__all__ = [
    "DENOMINATIONS_FEN",
    "CashFigures",
    "expected_cash",
    "cash_sales_from_tenders",
    "count_total",
    "over_short",
]

logger = logging.getLogger(__name__)

DENOMINATIONS_FEN = (10000, 5000, 2000, 1000, 500, 100, 50, 10)
"""Chinese notes and coins a cashier counts: 100, 50, 20, 10, 5, 1 yuan, 5 and 1 jiao."""

_MAX_PIECES = 1_000_000


@dataclass(frozen=True)
class CashFigures:
    """A shift's cash movements, all in fen and all >= 0.

    ``cash_sales_fen`` is the cash the sales *kept*: the sum of the cash tenders' ``amount_fen``,
    i.e. notes tendered minus change given (see :func:`cash_sales_from_tenders`). ``change_given_fen``
    is shown on the report for information only; it is already inside ``cash_sales_fen`` and is
    **not** subtracted again. ``cash_refunds_fen`` is cash paid back to customers, ``pay_ins_fen`` /
    ``pay_outs_fen`` are petty-cash movements, ``drops_fen`` is cash taken to the safe mid-shift.
    """

    opening_float_fen: int = 0
    cash_sales_fen: int = 0
    change_given_fen: int = 0
    cash_refunds_fen: int = 0
    pay_ins_fen: int = 0
    pay_outs_fen: int = 0
    drops_fen: int = 0

    def __post_init__(self) -> None:
        for item in fields(self):
            value = getattr(self, item.name)
            if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_FEN:
                raise ShiftError(f"{item.name} must be whole fen from 0 to {MAX_FEN}")

    @property
    def cash_tendered_fen(self) -> int:
        """Notes and coins customers handed over ("cash taken"): cash sales plus the change given back."""
        return self.cash_sales_fen + self.change_given_fen


def expected_cash(fig: CashFigures) -> int:
    """The cash the drawer should hold.

    = opening float + cash taken (tendered) − change given − cash refunds + pay-ins − pay-outs − drops
    = opening float + ``cash_sales_fen`` − cash refunds + pay-ins − pay-outs − drops. May be negative
    (which itself is worth a look).
    """
    return (fig.opening_float_fen + fig.cash_tendered_fen - fig.change_given_fen - fig.cash_refunds_fen
            + fig.pay_ins_fen - fig.pay_outs_fen - fig.drops_fen)


def cash_sales_from_tenders(tenders: Iterable[tuple[int, int]]) -> tuple[int, int]:
    """``(cash_sales_fen, change_given_fen)`` from ``(tendered_fen, change_fen)`` pairs of cash tenders."""
    sales = change = 0
    for tendered, given in tenders:
        if given < 0 or given > tendered:
            raise ShiftError("change must be between zero and the cash tendered")
        sales += tendered - given
        change += given
    return sales, change


def count_total(counts: Mapping[int, int]) -> int:
    """Total of a drawer count ``{denomination_fen: pieces}``; :class:`ShiftError` on an unknown
    denomination or a negative or non-integer number of pieces.
    """
    total = 0
    for denomination, pieces in counts.items():
        if denomination not in DENOMINATIONS_FEN:
            raise ShiftError(f"{denomination} fen is not a denomination this drawer takes")
        if isinstance(pieces, bool) or not isinstance(pieces, int) or not 0 <= pieces <= _MAX_PIECES:
            raise ShiftError(f"count of {denomination} fen pieces must be a whole number from 0 to {_MAX_PIECES}")
        total += denomination * pieces
    return total


def over_short(expected: int, counted: int) -> int:
    """Counted minus expected: positive is over, negative is short (works for any tender)."""
    return counted - expected
