"""Money as an integer number of fen: parsing, formatting and fair allocation."""

from __future__ import annotations

import re
import unicodedata

from .errors import MoneyError

__all__ = [
    "Fen",
    "MAX_FEN",
    "parse_yuan",
    "parse_gateway_amount",
    "format_gateway",
    "format_ui",
    "allocate",
]

Fen = int
"""An amount of money in fen (1 yuan = 100 fen). Never a float."""

MAX_FEN = 100_000_000 * 100
"""The largest amount Alipay accepts in one trade (100 000 000 yuan)."""

_AMOUNT_RE = re.compile(r"(-)?([0-9]{1,12})(?:\.([0-9]{0,2}))?")
_CURRENCY_MARKS = ("¥", "￥", "CNY", "RMB")


def parse_yuan(text: str, *, allow_negative: bool = False, allow_zero: bool = True) -> Fen:
    """Parse what a person keys or a file holds ("12", "12.5", "¥12.50") into fen.

    Rejects more than two decimals, exponents, NaN/inf, thousands separators and signs
    other than a leading ``-`` (only with ``allow_negative``). Full-width input from a Chinese
    input method ("１２．５０") is folded to ASCII first (NFKC); other scripts' digits are rejected.
    """
    if not isinstance(text, str):
        raise MoneyError(f"amount must be text, not {type(text).__name__}")
    cleaned = unicodedata.normalize("NFKC", text).strip()
    for mark in _CURRENCY_MARKS:
        if cleaned.startswith(mark):
            cleaned = cleaned[len(mark):].strip()
            break
    match = _AMOUNT_RE.fullmatch(cleaned)
    if match is None:
        raise MoneyError(f"not an amount: {text!r} (use digits with at most two decimals, e.g. 12.50)")
    sign, whole, frac = match.groups()
    frac = frac or ""
    fen = int(whole) * 100 + int((frac + "00")[:2])
    if sign:
        if not allow_negative:
            raise MoneyError(f"amount must not be negative: {text!r}")
        fen = -fen
    if fen == 0 and not allow_zero:
        raise MoneyError("amount must be more than zero")
    if abs(fen) > MAX_FEN:
        raise MoneyError(f"amount too large: {text!r}")
    return fen


_GATEWAY_RE = re.compile(r"(-)?([0-9]{1,12})\.([0-9]{2})|(-)?([0-9]{1,12})(?:\.([0-9]))?")


def parse_gateway_amount(text: str) -> Fen:
    """Parse an amount string from the Alipay gateway ("88.88", "0.00", "100") into fen."""
    if not isinstance(text, str):
        raise MoneyError(f"gateway amount must be a string, got {type(text).__name__}")
    match = _GATEWAY_RE.fullmatch(text.strip())
    if match is None:
        raise MoneyError(f"gateway sent a malformed amount: {text!r}")
    if match.group(2) is not None:
        sign, whole, frac = match.group(1), match.group(2), match.group(3)
    else:
        sign, whole, frac = match.group(4), match.group(5), (match.group(6) or "")
    fen = int(whole) * 100 + int((frac + "00")[:2])
    return -fen if sign else fen


def format_gateway(fen: Fen) -> str:
    """Format fen the way the gateway wants it: ``"12.50"`` (always two decimals)."""
    if not isinstance(fen, int) or isinstance(fen, bool):
        raise MoneyError(f"amount must be an integer number of fen, got {type(fen).__name__}")
    sign = "-" if fen < 0 else ""
    whole, frac = divmod(abs(fen), 100)
    return f"{sign}{whole}.{frac:02d}"


def format_ui(fen: Fen, *, symbol: str = "¥") -> str:
    """Format fen for people: ``"¥1,234.50"``; negative amounts as ``"-¥3.00"``."""
    if not isinstance(fen, int) or isinstance(fen, bool):
        raise MoneyError(f"amount must be an integer number of fen, got {type(fen).__name__}")
    sign = "-" if fen < 0 else ""
    whole, frac = divmod(abs(fen), 100)
    return f"{sign}{symbol}{whole:,}.{frac:02d}"


def allocate(total: Fen, weights: list[int]) -> list[Fen]:
    """Split ``total`` fen across ``weights`` in proportion, losing and creating no fen.

    Largest-remainder method; ties go to the earlier line. Weights must be >= 0 and, when
    ``total`` is not zero, at least one must be positive.
    """
    if not weights:
        if total:
            raise MoneyError("cannot allocate an amount over no lines")
        return []
    if min(weights) < 0:
        raise MoneyError("allocation weights must not be negative")
    weight_sum = sum(weights)
    if weight_sum == 0:
        if total:
            raise MoneyError("cannot allocate an amount over lines that are all zero")
        return [0] * len(weights)
    if not total:
        return [0] * len(weights)
    magnitude = -total if total < 0 else total
    shares = [magnitude * w // weight_sum for w in weights]
    left = magnitude - sum(shares)
    if left:
        # the ``left`` largest remainders get one fen more; ties to the earlier line (the sort is stable)
        remainders = [magnitude * w - s * weight_sum for w, s in zip(weights, shares, strict=True)]
        for i in sorted(range(len(weights)), key=remainders.__getitem__, reverse=True)[:left]:
            shares[i] += 1
    return shares if total > 0 else [-s for s in shares]
