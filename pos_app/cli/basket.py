"""`pos-app basket price FILE.json [--promotions FILE]`: price a basket without selling, as one JSON object.

The basket file::

    {"lines": [{"code": "6901234567892", "quantity": 2},
               {"price_fen": 1999, "description": "gift wrap", "tax_rate_bp": 600}],
     "member_card": "1234...",           # or "member_level": "GOLD"; optional
     "at": "2026-12-03T10:00",           # store time; default now
     "points": 0, "rounding": "none",    # points to redeem, cash rounding (none | jiao | yuan)
     "sale_discount": {"reason": "LOYAL", "percent": 5}}

Items come from the terminal's catalogue; promotions and special prices from ``--promotions FILE`` (the
supervisor's import file) when given, else from the terminal's database.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pos_app.bootstrap import ServiceUnavailable, SqlitePriceItems, load_price_book, open_database
from pos_app.cli.core import settings_or_exit
from pos_app.cli.users import add_config_args
from pos_app.domain.errors import DomainError, PricingError
from pos_app.domain.loyalty import LoyaltyRules
from pos_app.domain.pricing import BasketLine, ManualDiscount, PriceItem, price_basket
from pos_app.domain.promotions import PriceBook
from pos_app.services.ports.clock import BEIJING

__all__ = ["register"]

_BASKET_KEYS = {"lines", "member_card", "member_level", "at", "points", "rounding", "sale_discount"}
_LINE_KEYS = {"code", "quantity", "price_fen", "description", "tax_rate_bp", "discount"}


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    basket = sub.add_parser("basket", help="price a basket without selling (check promotions)")
    bsub = basket.add_subparsers(dest="basket_command", metavar="ACTION", required=True)
    p = bsub.add_parser("price", help="print the priced basket as JSON: discounts with promotion ids, VAT per "
                                      "rate, totals, points to earn")
    add_config_args(p)
    p.add_argument("file", metavar="FILE.json", help="the basket: lines of code + quantity, optional member and time")
    p.add_argument("--promotions", metavar="FILE", help="price with this promotions file instead of the terminal's")
    p.set_defaults(func=_cmd_price)


def _fail(message: str) -> int:
    print(f"basket: {message}", file=sys.stderr)
    return 2


def _read_json(path: str, what: str) -> Any:
    try:
        return json.loads(Path(path).read_text(encoding="utf-8-sig"))
    except OSError as exc:
        raise PricingError(f"cannot read the {what} {path}: {exc.strerror}") from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise PricingError(f"the {what} {path} is not JSON: {exc}") from None


def _discount(data: object, what: str) -> ManualDiscount:
    if not isinstance(data, Mapping) or set(data) - {"reason", "percent", "amount_fen"}:
        raise PricingError(f"{what} must be {{\"reason\": ..., \"percent\" or \"amount_fen\": ...}}")
    return ManualDiscount(data.get("reason", ""), data.get("percent", 0), data.get("amount_fen", 0))


def _lines(data: Mapping[str, Any], items: SqlitePriceItems) -> list[BasketLine]:
    raw_lines = data.get("lines")
    if not isinstance(raw_lines, list) or not raw_lines:
        raise PricingError("the basket needs \"lines\": a list of {\"code\", \"quantity\"}")
    out: list[BasketLine] = []
    for n, raw in enumerate(raw_lines, 1):
        if not isinstance(raw, Mapping):
            raise PricingError(f"line {n} must be an object")
        unknown = sorted(set(raw) - _LINE_KEYS)
        if unknown:
            raise PricingError(f"line {n}: unknown field(s) {', '.join(unknown)}")
        quantity = raw.get("quantity", 1)
        manual = _discount(raw["discount"], f"line {n} discount") if "discount" in raw else None
        if "code" in raw:
            code = raw["code"]
            item = items.get(code) if isinstance(code, str) else None
            if item is None:
                raise PricingError(f"line {n}: no active item with code {code!r} in the catalogue")
            out.append(BasketLine(n, item, quantity, unit_price_fen=raw.get("price_fen"), manual=manual))
        else:
            description = raw.get("description", "")
            if not isinstance(description, str) or not description.strip():
                raise PricingError(f"line {n}: an open-price line needs a description (or give a code)")
            if "price_fen" not in raw:
                raise PricingError(f"line {n}: an open-price line needs price_fen")
            item = PriceItem("", description.strip(), 0, tax_rate_bp=raw.get("tax_rate_bp", 1300))
            out.append(BasketLine(n, item, quantity, unit_price_fen=raw["price_fen"],
                                  description=description.strip(), manual=manual))
    return out


def _at(data: Mapping[str, Any]) -> dt.datetime:
    if "at" not in data:
        return dt.datetime.now(dt.UTC).astimezone(BEIJING).replace(tzinfo=None, second=0, microsecond=0)
    try:
        at = dt.datetime.fromisoformat(str(data["at"]))
    except ValueError:
        raise PricingError(f"\"at\" is not a date and time: {data['at']!r} (use 2026-12-03T10:00)") from None
    return at.astimezone(BEIJING).replace(tzinfo=None) if at.tzinfo is not None else at


def _cmd_price(args: argparse.Namespace) -> int:
    settings = settings_or_exit(args)
    try:
        data = _read_json(args.file, "basket file")
        if not isinstance(data, Mapping):
            raise PricingError("the basket file must be a JSON object with \"lines\"")
        unknown = sorted(set(data) - _BASKET_KEYS)
        if unknown:
            raise PricingError(f"unknown basket field(s): {', '.join(unknown)}")
        book = PriceBook.from_mapping(_read_json(args.promotions, "promotions file")) if args.promotions else None
        rules = LoyaltyRules.from_mapping(settings.loyalty)
        conn = open_database(settings)
        try:
            items = SqlitePriceItems(conn)
            lines = _lines(data, items)
            level = data.get("member_level")
            if "member_card" in data:
                level = items.member_level(str(data["member_card"]))
                if level is None:
                    raise PricingError(f"no member with card {data['member_card']!r} on this terminal")
            if level is not None and not isinstance(level, str):
                raise PricingError("member_level must be text")
            if book is None:
                book = load_price_book(conn)
        finally:
            conn.close()
        sale = _discount(data["sale_discount"], "sale_discount") if "sale_discount" in data else None
        result = price_basket(lines, book, at=_at(data), member_level=level, rules=rules, sale_discount=sale,
                              points_redeemed=data.get("points", 0), rounding=data.get("rounding", "none"))
    except DomainError as exc:
        return _fail(str(exc))
    except ServiceUnavailable as exc:
        print(f"database: {exc}", file=sys.stderr)
        return 3
    out = result.to_mapping()
    out["member_level"] = level
    json.dump(out, sys.stdout, ensure_ascii=False, indent=1)
    sys.stdout.write("\n")
    return 0
