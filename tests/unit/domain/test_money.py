"""Unit tests for pos_app.domain.money: parsing, formatting and allocation without losing a fen."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pos_app.domain.errors import MoneyError
from pos_app.domain.money import (
    MAX_FEN,
    allocate,
    format_gateway,
    format_ui,
    parse_gateway_amount,
    parse_yuan,
)


@pytest.mark.parametrize(
    ("text", "fen"),
    [
        ("12", 1200),
        ("12.5", 1250),
        ("12.50", 1250),
        ("¥12.50", 1250),
        ("￥ 0.01", 1),
        ("CNY3", 300),
        ("RMB 3.", 300),
        (" 7.05 ", 705),
        ("0", 0),
        ("100000000", MAX_FEN),
        ("１２．５０", 1250),  # full-width input method
        ("￥５", 500),
    ],
)
def test_parse_yuan(text: str, fen: int) -> None:
    assert parse_yuan(text) == fen


@pytest.mark.parametrize(
    "text",
    ["12.345", "1e3", "NaN", "inf", "1,000", "", "abc", "+5", "12.5.0", "100000000.01", "٣", "1٣", "12\n.5"],
)
def test_parse_yuan_rejects(text: str) -> None:
    with pytest.raises(MoneyError):
        parse_yuan(text)


def test_parse_yuan_sign_and_zero_rules() -> None:
    with pytest.raises(MoneyError, match="negative"):
        parse_yuan("-1")
    assert parse_yuan("-1.20", allow_negative=True) == -120
    with pytest.raises(MoneyError, match="more than zero"):
        parse_yuan("0.00", allow_zero=False)
    with pytest.raises(MoneyError, match="text"):
        parse_yuan(12)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("text", "fen"),
    [("88.88", 8888), ("0.00", 0), ("100", 10000), ("1.5", 150), ("-3.20", -320), ("-4", -400)],
)
def test_parse_gateway_amount(text: str, fen: int) -> None:
    assert parse_gateway_amount(text) == fen


@pytest.mark.parametrize("text", ["1.234", "", "1e2", "abc", "1,00", "٣.00", "１.00"])
def test_parse_gateway_amount_rejects(text: str) -> None:
    with pytest.raises(MoneyError):
        parse_gateway_amount(text)
    with pytest.raises(MoneyError):
        parse_gateway_amount(1.5)  # type: ignore[arg-type]


def test_formatting() -> None:
    assert format_gateway(1250) == "12.50"
    assert format_gateway(5) == "0.05"
    assert format_gateway(-320) == "-3.20"
    assert format_ui(123450) == "¥1,234.50"
    assert format_ui(-300) == "-¥3.00"
    assert format_ui(1, symbol="") == "0.01"
    for bad in (1.5, True, "1"):
        with pytest.raises(MoneyError):
            format_gateway(bad)  # type: ignore[arg-type]
        with pytest.raises(MoneyError):
            format_ui(bad)  # type: ignore[arg-type]


@settings(derandomize=True, deadline=None)
@given(st.integers(min_value=-MAX_FEN, max_value=MAX_FEN))
def test_gateway_round_trip(fen: int) -> None:
    assert parse_gateway_amount(format_gateway(fen)) == fen
    assert parse_yuan(format_gateway(fen), allow_negative=True) == fen


@settings(derandomize=True, deadline=None)
@given(st.integers(min_value=0, max_value=MAX_FEN))
def test_ui_round_trip_without_separators(fen: int) -> None:
    assert parse_yuan(format_ui(fen).replace(",", "")) == fen


def test_allocate_examples() -> None:
    assert allocate(100, [1, 1, 1]) == [34, 33, 33]
    assert allocate(-100, [1, 1, 1]) == [-34, -33, -33]
    assert allocate(10, [0, 5, 5]) == [0, 5, 5]
    assert allocate(0, []) == []
    assert allocate(0, [0, 0]) == [0, 0]
    assert allocate(1, [1, 1]) == [1, 0]  # ties go to the earlier line


def test_allocate_errors() -> None:
    with pytest.raises(MoneyError):
        allocate(1, [])
    with pytest.raises(MoneyError):
        allocate(1, [0, 0])
    with pytest.raises(MoneyError):
        allocate(1, [1, -1])


@settings(derandomize=True, deadline=None)
@given(
    st.integers(min_value=-MAX_FEN, max_value=MAX_FEN),
    st.lists(st.integers(min_value=0, max_value=10**9), min_size=1, max_size=40).filter(lambda w: sum(w) > 0),
)
def test_allocate_loses_and_creates_no_fen(total: int, weights: list[int]) -> None:
    shares = allocate(total, weights)
    assert len(shares) == len(weights)
    assert sum(shares) == total
    weight_sum = sum(weights)
    for share, weight in zip(shares, weights, strict=True):
        exact = total * weight / weight_sum
        assert abs(share - exact) < 1 + 1e-6 * abs(total)
        if weight == 0:
            assert share == 0
        assert (share >= 0) if total >= 0 else (share <= 0)
