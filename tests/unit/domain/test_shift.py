"""Unit tests for pos_app.domain.shift: expected cash, counts and over/short."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pos_app.domain.errors import ShiftError
from pos_app.domain.shift import (
    DENOMINATIONS_FEN,
    CashFigures,
    cash_sales_from_tenders,
    count_total,
    expected_cash,
    over_short,
)


def test_expected_cash_worked_example() -> None:
    # float 500; customers handed 100 + 50 and got 13.50 + 2 back; one 20 refund; 10 in, 5 out, 100 dropped
    sales, change = cash_sales_from_tenders([(10000, 1350), (5000, 200)])
    assert (sales, change) == (13450, 1550)
    fig = CashFigures(opening_float_fen=50000, cash_sales_fen=sales, change_given_fen=change,
                      cash_refunds_fen=2000, pay_ins_fen=1000, pay_outs_fen=500, drops_fen=10000)
    assert fig.cash_tendered_fen == 15000
    assert expected_cash(fig) == 50000 + 15000 - 1550 - 2000 + 1000 - 500 - 10000
    assert expected_cash(CashFigures()) == 0


@settings(derandomize=True, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 10**6), st.integers(0, 10**6)).map(lambda t: (max(t), min(t))),
                max_size=30), st.integers(0, 10**7))
def test_change_is_never_counted_twice(tenders: list[tuple[int, int]], float_fen: int) -> None:
    sales, change = cash_sales_from_tenders(tenders)
    fig = CashFigures(opening_float_fen=float_fen, cash_sales_fen=sales, change_given_fen=change)
    assert expected_cash(fig) == float_fen + sum(t - c for t, c in tenders)


def test_figures_validation() -> None:
    with pytest.raises(ShiftError, match="drops_fen"):
        CashFigures(drops_fen=-1)
    with pytest.raises(ShiftError, match="pay_ins_fen"):
        CashFigures(pay_ins_fen=1.5)  # type: ignore[arg-type]
    with pytest.raises(ShiftError, match="opening_float_fen"):
        CashFigures(opening_float_fen=True)
    with pytest.raises(ShiftError, match="change"):
        cash_sales_from_tenders([(100, 200)])
    with pytest.raises(ShiftError, match="change"):
        cash_sales_from_tenders([(100, -1)])


def test_count_total() -> None:
    assert count_total({10000: 3, 50: 2, 10: 1}) == 30110
    assert count_total({}) == 0
    assert sum(DENOMINATIONS_FEN) == 18660
    with pytest.raises(ShiftError, match="denomination"):
        count_total({200: 1})
    with pytest.raises(ShiftError, match="whole number"):
        count_total({100: -1})
    with pytest.raises(ShiftError, match="whole number"):
        count_total({100: True})


def test_over_short() -> None:
    assert over_short(10000, 10050) == 50
    assert over_short(10000, 9900) == -100
    assert over_short(0, 0) == 0
