"""Properties of the pricing engine over random catalogues, promotions and baskets (hypothesis)."""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from pos_app.domain.loyalty import LoyaltyRules, earn
from pos_app.domain.pricing import (
    BasketLine,
    ManualDiscount,
    PricedBasket,
    PriceItem,
    price_basket,
    tax_included,
)
from pos_app.domain.promotions import PriceBook, Promotion, SpecialPrice

AT = datetime(2026, 12, 3, 10, 0)
CATEGORIES = ["dairy", "home", "fruit", "snacks"]
LEVELS = ["SILVER", "GOLD", "PLATINUM"]


@st.composite
def items(draw: st.DrawFn) -> list[PriceItem]:
    count = draw(st.integers(1, 8))
    out = []
    for n in range(count):
        price = draw(st.integers(0, 50_000))
        member = draw(st.dictionaries(st.sampled_from(LEVELS), st.integers(0, 50_000), max_size=2))
        out.append(PriceItem(f"C{n}", f"item {n}", price, unit=draw(st.sampled_from(["each", "each", "kg"])),
                             category=draw(st.sampled_from(CATEGORIES)),
                             tax_rate_bp=draw(st.sampled_from([1300, 900, 600, 300, 100, 0])), member_prices=member,
                             points_excluded=draw(st.booleans())))
    return out


@st.composite
def promotions(draw: st.DrawFn, codes: list[str]) -> list[Promotion]:
    out = []
    for n in range(draw(st.integers(0, 6))):
        kind = draw(st.sampled_from(["percent_off", "amount_off", "fixed_price", "buy_x_get_y", "threshold"]))
        rec: dict[str, Any] = {"id": f"P{n}", "kind": kind, "priority": draw(st.integers(-2, 2)),
                               "combinable": draw(st.booleans()), "member_only": draw(st.booleans())}
        scope = draw(st.sampled_from(["codes", "categories", "all"]))
        if scope == "codes":
            rec["codes"] = draw(st.lists(st.sampled_from(codes), min_size=1, max_size=3))
        elif scope == "categories" or kind in ("amount_off", "fixed_price", "buy_x_get_y"):
            rec["categories"] = draw(st.lists(st.sampled_from(CATEGORIES), min_size=1, max_size=2))
        if kind == "percent_off":
            rec["percent"] = draw(st.integers(1, 100))
        elif kind == "amount_off":
            rec["amount_fen"] = draw(st.integers(1, 5_000))
        elif kind == "fixed_price":
            rec["price_fen"] = draw(st.integers(0, 20_000))
        elif kind == "buy_x_get_y":
            rec.update(buy_qty=draw(st.integers(1, 3)), get_qty=draw(st.integers(1, 2)),
                       percent=draw(st.integers(1, 100)))
        else:
            threshold = draw(st.integers(1, 30_000))
            rec.update(threshold_fen=threshold, amount_fen=draw(st.integers(1, threshold)),
                       repeat=draw(st.booleans()), max_discount_fen=draw(st.sampled_from([0, 0, 5_000])))
        if draw(st.booleans()):
            rec["starts"] = (AT - timedelta(days=draw(st.integers(-1, 3)))).isoformat()
        out.append(Promotion.from_mapping(rec))
    return out


@st.composite
def scenarios(draw: st.DrawFn) -> dict[str, Any]:
    catalogue = draw(items())
    codes = [i.code for i in catalogue]
    promos = draw(promotions(codes))
    specials = [SpecialPrice.from_mapping({"id": f"S{n}", "code": draw(st.sampled_from(codes)),
                                           "price_fen": draw(st.integers(0, 30_000)),
                                           "starts": "2026-12-01T00:00", "ends": "2026-12-10T00:00"})
                for n in range(draw(st.integers(0, 2)))]
    basket = []
    for n in range(1, draw(st.integers(1, 10)) + 1):
        item = draw(st.sampled_from(catalogue))
        qty = draw(st.integers(1, 3000)) if item.unit == "kg" else draw(st.integers(1, 12))
        manual = draw(st.one_of(st.none(), st.builds(ManualDiscount, st.just("R1"), st.integers(1, 100)),
                                st.builds(ManualDiscount, st.just("R2"), st.just(0), st.integers(1, 3000))))
        basket.append(BasketLine(n, item, qty, manual=manual))
    return {"book": PriceBook(promos, specials), "lines": basket,
            "level": draw(st.one_of(st.none(), st.sampled_from(LEVELS))), "rounding": draw(
                st.sampled_from(["none", "jiao", "yuan"])), "points": draw(st.sampled_from([0, 0, 100, 500])),
            "sale": draw(st.one_of(st.none(), st.builds(ManualDiscount, st.just("S"), st.integers(1, 30))))}


def _price(s: dict[str, Any], **overrides: Any) -> PricedBasket:
    kwargs: dict[str, Any] = {"at": AT, "member_level": s["level"], "rules": LoyaltyRules(),
                              "sale_discount": s["sale"], "points_redeemed": s["points"], "rounding": s["rounding"]}
    kwargs.update(overrides)
    return price_basket(s["lines"], kwargs.pop("book", s["book"]), **kwargs)


@settings(max_examples=60, deadline=None)
@given(scenarios())
def test_line_nets_sum_to_the_total_discounts_explain_every_fen_and_tax_per_rate_adds_up(s: dict[str, Any]) -> None:
    result = _price(s)
    assert sum(ln.net_fen for ln in result.lines) == result.total_fen
    assert result.gross_fen - result.discount_fen == result.total_fen
    for ln in result.lines:
        assert ln.net_fen >= 0
        assert ln.gross_fen - sum(d.amount_fen for d in ln.discounts) == ln.net_fen
        assert all(d.amount_fen > 0 for d in ln.discounts)
    assert sum(d.amount_fen for d in result.discount_summary) == result.discount_fen
    # tax per rate sums to the tax and follows the nets
    assert sum(t.tax_fen for t in result.taxes) == result.tax_fen
    for tax in result.taxes:
        rate_lines = [ln for ln in result.lines if ln.tax_rate_bp == tax.rate_bp]
        assert tax.gross_fen == sum(ln.net_fen for ln in rate_lines)
        assert tax.tax_fen == tax_included(tax.gross_fen, tax.rate_bp)
        assert sum(ln.tax_fen for ln in rate_lines) == tax.tax_fen
    assert sum(t.gross_fen for t in result.taxes) == result.total_fen


@settings(max_examples=60, deadline=None)
@given(scenarios())
def test_chosen_combination_never_worse_than_any_single_promotion(s: dict[str, Any]) -> None:
    # manual line discounts come after promotions and are a percent of what is left: compare promotions only
    s = {**s, "lines": [replace(ln, manual=None) for ln in s["lines"]]}
    plain = {"sale_discount": None, "points_redeemed": 0, "rounding": "none"}
    chosen = _price(s, **plain)
    for promo in s["book"].promotions:
        alone = _price(s, book=PriceBook([promo], s["book"].specials), **plain)
        assert chosen.total_fen <= alone.total_fen, promo
    assert chosen.total_fen <= _price(s, book=PriceBook([], s["book"].specials), **plain).total_fen


@settings(max_examples=30, deadline=None)
@given(scenarios(), st.randoms(use_true_random=False))
def test_points_follow_the_net_paid_and_order_does_not_matter(s: dict[str, Any], rnd: random.Random) -> None:
    result = _price(s)
    if s["level"] is None:
        assert result.points_to_earn == 0
    else:
        eligible = sum(ln.net_fen for ln in result.lines if not ln.points_excluded)
        assert result.points_to_earn == earn(eligible, s["level"], LoyaltyRules()).points
    shuffled = list(s["lines"])
    rnd.shuffle(shuffled)
    promos = list(s["book"].promotions)
    rnd.shuffle(promos)
    again = _price({**s, "lines": shuffled}, book=PriceBook(promos, s["book"].specials))
    assert again == result
