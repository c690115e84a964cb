"""Unit tests for pos_app.domain.loyalty: earn and redeem rules, validation, explanations."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pos_app.domain.errors import LoyaltyError
from pos_app.domain.loyalty import (
    LoyaltyRules,
    check_redeem,
    earn,
    points_to_fen,
    redeem_options,
)
from pos_app.domain.money import MAX_FEN

RULES = LoyaltyRules()


def test_defaults_and_round_trip() -> None:
    assert RULES.multiplier_pct("gold") == 150
    assert RULES.multiplier_pct("DIAMOND") == 100
    again = LoyaltyRules.from_mapping(RULES.to_mapping())
    assert again == RULES
    assert hash(again) == hash(RULES)
    assert RULES != "rules"
    custom = LoyaltyRules.from_mapping({"excluded_categories": ["tobacco"], "level_multiplier_pct": {"vip": 300}})
    assert custom.excluded_categories == frozenset({"tobacco"})
    assert custom.multiplier_pct("VIP") == 300


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"bonus": 1}, "unknown"),
        ({"points_per_yuan": "1"}, "whole number"),
        ({"points_per_yuan": True}, "whole number"),
        ({"points_per_yuan": -1}, "points_per_yuan must be from"),
        ({"redeem_points_per_yuan": 0}, "redeem_points_per_yuan"),
        ({"redeem_cap_pct": 101}, "redeem_cap_pct"),
        ({"redeem_min_balance": -5}, "redeem_min_balance"),
        ({"redeem_step_points": 0}, "redeem_step_points"),
        ({"level_multiplier_pct": [1, 2]}, "map level names"),
        ({"level_multiplier_pct": {"": 100}}, "level names"),
        ({"level_multiplier_pct": {"GOLD": 1.5}}, "GOLD"),
        ({"level_multiplier_pct": {"GOLD": 5000}}, "GOLD"),
        ({"excluded_categories": "tobacco"}, "list of category"),
        ({"excluded_categories": [1]}, "list of category"),
    ],
)
def test_from_mapping_rejects(data: dict[str, object], message: str) -> None:
    with pytest.raises(LoyaltyError, match=message):
        LoyaltyRules.from_mapping(data)


def test_from_mapping_needs_a_mapping() -> None:
    with pytest.raises(LoyaltyError, match="table"):
        LoyaltyRules.from_mapping([("a", 1)])  # type: ignore[arg-type]
    with pytest.raises(LoyaltyError, match="list of category"):
        LoyaltyRules(excluded_categories="abc")  # type: ignore[arg-type]


def test_earn_examples() -> None:
    gold = earn(1234, "GOLD", RULES)
    assert gold.points == 18  # 12.34 × 1.5 = 18.51, rounded down
    assert "GOLD" in gold.explanation and "18 pts" in gold.explanation and "¥12.34" in gold.explanation
    assert gold.multiplier_pct == 150 and gold.eligible_fen == 1234
    assert earn(99, "SILVER", RULES).points == 0
    odd = earn(1000, "bronze", RULES)
    assert odd.points == 10 and "×1" in odd.explanation
    assert "no level" in earn(1000, "", RULES).explanation
    with pytest.raises(LoyaltyError):
        earn(-1, "GOLD", RULES)
    with pytest.raises(LoyaltyError):
        earn(MAX_FEN + 1, "GOLD", RULES)


@settings(derandomize=True, deadline=None)
@given(st.integers(0, MAX_FEN), st.integers(0, MAX_FEN), st.sampled_from(["SILVER", "GOLD", "PLATINUM", "X"]))
def test_earn_is_monotonic_and_never_rounds_up(a: int, b: int, level: str) -> None:
    low, high = sorted((a, b))
    assert earn(low, level, RULES).points <= earn(high, level, RULES).points
    result = earn(high, level, RULES)
    assert result.points * 10_000 <= high * RULES.points_per_yuan * RULES.multiplier_pct(level)
    assert (result.points + 1) * 10_000 > high * RULES.points_per_yuan * RULES.multiplier_pct(level)


def test_points_to_fen() -> None:
    assert points_to_fen(100, RULES) == 100
    assert points_to_fen(150, RULES) == 150
    assert points_to_fen(1, LoyaltyRules(redeem_points_per_yuan=30)) == 3  # 3.33 rounded down
    with pytest.raises(LoyaltyError):
        points_to_fen(-1, RULES)


def test_redeem_options() -> None:
    opt = redeem_options(1234, 10000, RULES)  # cap ¥50 -> 5000 pts, balance 1234 -> 1200
    assert (opt.max_points, opt.max_fen) == (1200, 1200)
    assert "balance" in opt.explanation
    capped = redeem_options(100_000, 1999, RULES)  # cap 999 fen -> 900 pts in steps of 100
    assert (capped.max_points, capped.max_fen) == (900, 900)
    assert "50% cap" in capped.explanation
    none = redeem_options(0, 1000, RULES)
    assert none.max_points == 0 and "no points" in none.explanation
    rules = LoyaltyRules(redeem_min_balance=500)
    low = redeem_options(400, 100_000, rules)
    assert low.max_points == 0 and "below" in low.explanation


def test_check_redeem() -> None:
    assert check_redeem(0, 0, 0, RULES) == 0
    assert check_redeem(500, 1000, 1000, RULES) == 500
    with pytest.raises(LoyaltyError, match="only 100"):
        check_redeem(200, 100, 10000, RULES)
    with pytest.raises(LoyaltyError, match="steps of 100"):
        check_redeem(150, 1000, 10000, RULES)
    with pytest.raises(LoyaltyError, match="cap"):
        check_redeem(600, 1000, 1000, RULES)
    with pytest.raises(LoyaltyError, match="at least 500"):
        check_redeem(100, 400, 10000, LoyaltyRules(redeem_min_balance=500))
    with pytest.raises(LoyaltyError):
        check_redeem(-100, 400, 10000, RULES)
    with pytest.raises(LoyaltyError):
        check_redeem(100, 400, -1, RULES)


@settings(derandomize=True, deadline=None)
@given(
    st.integers(0, 10**7),
    st.integers(0, MAX_FEN // 1000),
    st.integers(1, 1000),
    st.integers(0, 100),
    st.integers(0, 2000),
    st.integers(1, 500),
)
def test_redeem_option_is_always_accepted_and_maximal(
    balance: int, payable: int, rate: int, cap: int, min_balance: int, step: int
) -> None:
    rules = LoyaltyRules(redeem_points_per_yuan=rate, redeem_cap_pct=cap, redeem_min_balance=min_balance,
                         redeem_step_points=step)
    opt = redeem_options(balance, payable, rules)
    assert opt.max_fen == points_to_fen(opt.max_points, rules)
    assert check_redeem(opt.max_points, balance, payable, rules) == opt.max_fen
    assert opt.max_fen <= payable * cap // 100
    more = opt.max_points + step
    if balance >= min_balance and balance > 0:
        with pytest.raises(LoyaltyError):
            check_redeem(more, balance, payable, rules)
