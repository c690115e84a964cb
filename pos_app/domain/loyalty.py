"""Loyalty points rules: earning on what is paid, redeeming points as a discount; each result says why.

Rounding, named once:

* earning: ``floor(eligible_fen × points_per_yuan × level_pct / 10 000)``: one round-down at the
  end, so a member never gets points for a fraction of a yuan;
* redeeming: ``points_to_fen(p) = floor(p × 100 / redeem_points_per_yuan)``: a point never pays
  more than it is worth; the options offered are whole multiples of ``redeem_step_points``.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from .errors import LoyaltyError
from .money import MAX_FEN, format_ui

__all__ = [
    "DEFAULT_LEVEL_MULTIPLIERS",
    "LoyaltyRules",
    "EarnResult",
    "RedeemOption",
    "earn",
    "redeem_options",
    "points_to_fen",
    "check_redeem",
]

logger = logging.getLogger(__name__)

DEFAULT_LEVEL_MULTIPLIERS: Mapping[str, int] = MappingProxyType({"SILVER": 100, "GOLD": 150, "PLATINUM": 200})
_MAX_PCT = 1_000
_MAX_POINTS = 10**12


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


@dataclass(frozen=True)
class LoyaltyRules:
    """The shop's points programme.

    Attributes:
        points_per_yuan: points for each yuan actually paid on eligible goods (before the level multiplier).
        level_multiplier_pct: earn multiplier per member level, in percent (100 = ×1); an unknown
            level earns at 100 %.
        excluded_categories: catalogue categories that never earn points (like ``points_excluded``).
        redeem_points_per_yuan: how many points make one yuan of discount.
        redeem_cap_pct: most of the basket (gross, in percent) that points may pay for.
        redeem_min_balance: a member needs at least this many points before redeeming any.
        redeem_step_points: points are redeemed in multiples of this.
    """

    points_per_yuan: int = 1
    level_multiplier_pct: Mapping[str, int] = field(default_factory=lambda: dict(DEFAULT_LEVEL_MULTIPLIERS))
    excluded_categories: frozenset[str] = frozenset()
    redeem_points_per_yuan: int = 100
    redeem_cap_pct: int = 50
    redeem_min_balance: int = 0
    redeem_step_points: int = 100

    def __post_init__(self) -> None:
        for name in ("points_per_yuan", "redeem_points_per_yuan", "redeem_cap_pct", "redeem_min_balance",
                     "redeem_step_points"):
            if not _is_int(getattr(self, name)):
                raise LoyaltyError(f"loyalty rule {name} must be a whole number")
        _check_range("points_per_yuan", self.points_per_yuan, 0, 1000)
        _check_range("redeem_points_per_yuan", self.redeem_points_per_yuan, 1, 1_000_000)
        _check_range("redeem_cap_pct", self.redeem_cap_pct, 0, 100)
        _check_range("redeem_min_balance", self.redeem_min_balance, 0, _MAX_POINTS)
        _check_range("redeem_step_points", self.redeem_step_points, 1, 1_000_000)
        if not isinstance(self.level_multiplier_pct, Mapping):
            raise LoyaltyError("loyalty rule level_multiplier_pct must map level names to percentages")
        levels: dict[str, int] = {}
        for level, pct in self.level_multiplier_pct.items():
            if not isinstance(level, str) or not level:
                raise LoyaltyError("loyalty level names must be non-empty text")
            if not _is_int(pct) or not 0 <= pct <= _MAX_PCT:
                raise LoyaltyError(f"loyalty level {level}: multiplier must be a whole percentage 0-{_MAX_PCT}")
            levels[level.upper()] = pct
        object.__setattr__(self, "level_multiplier_pct", MappingProxyType(levels))
        if isinstance(self.excluded_categories, str) or not all(
            isinstance(c, str) for c in self.excluded_categories
        ):
            raise LoyaltyError("loyalty rule excluded_categories must be a list of category names")
        object.__setattr__(self, "excluded_categories", frozenset(self.excluded_categories))

    def __hash__(self) -> int:
        return hash((self.points_per_yuan, tuple(sorted(self.level_multiplier_pct.items())),
                     self.excluded_categories, self.redeem_points_per_yuan, self.redeem_cap_pct,
                     self.redeem_min_balance, self.redeem_step_points))

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, LoyaltyRules):
            return NotImplemented
        return self.to_mapping() == other.to_mapping()

    def multiplier_pct(self, level: str) -> int:
        """The earn multiplier (percent) for ``level``; 100 for a level the rules do not name."""
        return self.level_multiplier_pct.get(level.upper(), 100)

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> LoyaltyRules:
        """Build from settings or JSON; :class:`LoyaltyError` with one clear message on a bad value."""
        if not isinstance(data, Mapping):
            raise LoyaltyError("loyalty rules must be a table of settings")
        known = {"points_per_yuan", "level_multiplier_pct", "excluded_categories", "redeem_points_per_yuan",
                 "redeem_cap_pct", "redeem_min_balance", "redeem_step_points"}
        unknown = sorted(set(data) - known)
        if unknown:
            raise LoyaltyError(f"unknown loyalty rule(s): {', '.join(map(str, unknown))}")
        kwargs = dict(data)
        if "excluded_categories" in kwargs:
            cats = kwargs["excluded_categories"]
            if not isinstance(cats, (list, tuple, set, frozenset)):
                raise LoyaltyError("loyalty rule excluded_categories must be a list of category names")
            kwargs["excluded_categories"] = frozenset(cats)
        return cls(**kwargs)

    def to_mapping(self) -> dict[str, Any]:
        """A JSON-ready mapping that :meth:`from_mapping` reads back."""
        return {
            "points_per_yuan": self.points_per_yuan,
            "level_multiplier_pct": dict(self.level_multiplier_pct),
            "excluded_categories": sorted(self.excluded_categories),
            "redeem_points_per_yuan": self.redeem_points_per_yuan,
            "redeem_cap_pct": self.redeem_cap_pct,
            "redeem_min_balance": self.redeem_min_balance,
            "redeem_step_points": self.redeem_step_points,
        }


def _check_range(name: str, value: int, low: int, high: int) -> None:
    if not low <= value <= high:
        raise LoyaltyError(f"loyalty rule {name} must be from {low} to {high}, got {value}")


@dataclass(frozen=True)
class EarnResult:
    """Points earned and why (the explanation goes on the receipt)."""

    points: int
    explanation: str
    eligible_fen: int = 0
    multiplier_pct: int = 100


@dataclass(frozen=True)
class RedeemOption:
    """The most a member can redeem now, and why (limits named)."""

    max_points: int
    max_fen: int
    explanation: str


def _check_fen(name: str, fen: int) -> None:
    if not _is_int(fen) or not 0 <= fen <= MAX_FEN:
        raise LoyaltyError(f"{name} must be whole fen from 0 to {MAX_FEN}")


def _check_points(name: str, points: int) -> None:
    if not _is_int(points) or not 0 <= points <= _MAX_POINTS:
        raise LoyaltyError(f"{name} must be a whole number of points from 0 to {_MAX_POINTS}")


def earn(eligible_paid_fen: int, level: str, rules: LoyaltyRules) -> EarnResult:
    """Points for ``eligible_paid_fen`` paid (discount and excluded goods already taken off).

    ``floor(eligible × points_per_yuan × level% / 10000)``.
    """
    _check_fen("eligible amount", eligible_paid_fen)
    pct = rules.multiplier_pct(level)
    points = eligible_paid_fen * rules.points_per_yuan * pct // 10_000
    level_name = level.upper() if level.upper() in rules.level_multiplier_pct else f"{level or 'no level'}, ×1"
    explanation = (
        f"{format_ui(eligible_paid_fen)} eligible × {rules.points_per_yuan} pt/¥ × {pct}% ({level_name})"
        f" = {points} pts (rounded down)"
    )
    return EarnResult(points, explanation, eligible_paid_fen, pct)


def points_to_fen(points: int, rules: LoyaltyRules) -> int:
    """The discount ``points`` are worth, rounded down to the fen."""
    _check_points("points", points)
    return points * 100 // rules.redeem_points_per_yuan


def _cap_fen(payable_fen: int, rules: LoyaltyRules) -> int:
    return payable_fen * rules.redeem_cap_pct // 100


def redeem_options(balance: int, payable_fen: int, rules: LoyaltyRules) -> RedeemOption:
    """The most points a member with ``balance`` may redeem on a basket of ``payable_fen`` (before points).

    Limited by: the minimum balance, the balance, the cap (``redeem_cap_pct`` of the basket), and the step.
    """
    _check_points("balance", balance)
    _check_fen("basket amount", payable_fen)
    if balance < rules.redeem_min_balance or balance == 0:
        return RedeemOption(0, 0, f"balance {balance} pts is below the {rules.redeem_min_balance} pts "
                                  "needed to redeem" if balance else "no points to redeem")
    cap_fen = _cap_fen(payable_fen, rules)
    # the largest p with floor(p*100/rate) <= cap_fen
    cap_points = ((cap_fen + 1) * rules.redeem_points_per_yuan - 1) // 100
    limit = min(balance, cap_points)
    max_points = limit - limit % rules.redeem_step_points
    max_fen = points_to_fen(max_points, rules)
    reason = "balance" if balance <= cap_points else f"{rules.redeem_cap_pct}% cap of {format_ui(payable_fen)}"
    explanation = (
        f"up to {max_points} pts = {format_ui(max_fen)} ({rules.redeem_points_per_yuan} pts = ¥1, "
        f"steps of {rules.redeem_step_points}, limited by {reason})"
    )
    return RedeemOption(max_points, max_fen, explanation)


def check_redeem(points: int, balance: int, payable_fen: int, rules: LoyaltyRules) -> int:
    """The discount in fen for redeeming ``points``, or :class:`LoyaltyError` saying which rule forbids it."""
    _check_points("points to redeem", points)
    _check_points("balance", balance)
    _check_fen("basket amount", payable_fen)
    if points == 0:
        return 0
    if balance < rules.redeem_min_balance:
        raise LoyaltyError(f"the member needs at least {rules.redeem_min_balance} pts to redeem (has {balance})")
    if points > balance:
        raise LoyaltyError(f"the member has only {balance} pts")
    if points % rules.redeem_step_points:
        raise LoyaltyError(f"points are redeemed in steps of {rules.redeem_step_points}")
    fen = points_to_fen(points, rules)
    cap = _cap_fen(payable_fen, rules)
    if fen > cap:
        raise LoyaltyError(
            f"{points} pts = {format_ui(fen)} is more than the {rules.redeem_cap_pct}% cap ({format_ui(cap)})"
        )
    return fen
