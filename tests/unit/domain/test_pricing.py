"""The pricing engine: prices, promotions, manual discounts, points, rounding and VAT, with worked examples."""

from __future__ import annotations

from datetime import datetime

import pytest

from pos_app.domain.errors import PricingError
from pos_app.domain.loyalty import LoyaltyRules
from pos_app.domain.pricing import (
    BasketLine,
    ManualDiscount,
    PriceItem,
    price_basket,
    round_cash,
    tax_included,
)
from pos_app.domain.promotions import PriceBook, Promotion, SpecialPrice

AT = datetime(2026, 12, 3, 10, 0)  # a Thursday

MILK = PriceItem("6900000000011", "牛奶", 1200, category="dairy", tax_rate_bp=900,
                 member_prices={"GOLD": 1000, "SILVER": 1100})
YOGURT = PriceItem("6900000000028", "酸奶", 800, category="dairy", tax_rate_bp=900)
SOAP = PriceItem("6900000000035", "香皂", 2500, category="home", tax_rate_bp=1300)
APPLES = PriceItem("2000001", "苹果", 1290, unit="kg", category="fruit", tax_rate_bp=900)
CIGS = PriceItem("6900000000042", "香烟", 3000, category="tobacco", tax_rate_bp=1300, points_excluded=True)


def promo(**fields: object) -> Promotion:
    return Promotion.from_mapping({"name": str(fields["id"]), **fields})


def lines(*specs: tuple[PriceItem, int]) -> list[BasketLine]:
    return [BasketLine(n, item, qty) for n, (item, qty) in enumerate(specs, 1)]


def test_plain_basket_has_no_discounts_and_vat_per_rate() -> None:
    result = price_basket(lines((MILK, 2), (SOAP, 1)), PriceBook(), at=AT)
    assert [ln.net_fen for ln in result.lines] == [2400, 2500]
    assert result.total_fen == 4900 and result.discount_fen == 0
    assert [(t.rate_bp, t.gross_fen, t.tax_fen) for t in result.taxes] == [(1300, 2500, 288), (900, 2400, 198)]
    assert result.tax_fen == 486


def test_member_price_per_level_and_special_price_in_its_window() -> None:
    book = PriceBook(specials=[SpecialPrice.from_mapping(
        {"id": "SP1", "code": MILK.code, "price_fen": 1050, "starts": "2026-12-01T00:00", "ends": "2026-12-08T00:00"})])
    gold = price_basket(lines((MILK, 1)), book, at=AT, member_level="gold")
    silver = price_basket(lines((MILK, 1)), book, at=AT, member_level="SILVER")
    guest = price_basket(lines((MILK, 1)), book, at=AT)
    later = price_basket(lines((MILK, 1)), book, at=datetime(2026, 12, 9))
    assert gold.lines[0].unit_price_fen == 1000 and gold.lines[0].discounts[0].kind == "member_price"
    assert silver.lines[0].unit_price_fen == 1050 and silver.lines[0].discounts[0].ref == "SP1"
    assert guest.total_fen == 1050 and later.total_fen == 1200


def test_a_line_keeps_the_price_it_was_scanned_at() -> None:
    book = PriceBook(specials=[SpecialPrice.from_mapping(
        {"id": "SP1", "code": MILK.code, "price_fen": 900, "starts": "2026-12-01T00:00", "ends": "2026-12-03T10:00"})])
    scanned = BasketLine(1, MILK, 1, price_at=datetime(2026, 12, 3, 9, 59))
    result = price_basket([scanned], book, at=datetime(2026, 12, 3, 10, 5))
    assert result.total_fen == 900


def test_threshold_every_100_in_a_category_after_item_promotions() -> None:
    book = PriceBook([promo(id="MJ", kind="threshold", categories=["dairy"], threshold_fen=10000, amount_fen=2000)])
    result = price_basket(lines((MILK, 10), (YOGURT, 10), (SOAP, 1)), book, at=AT)
    # dairy 12000 + 8000 = 20000 -> 2 x 2000 off, spread 12:8
    assert [ln.discount_fen for ln in result.lines] == [2400, 1600, 0]
    assert result.total_fen == 22500 - 4000
    assert result.discount_summary[0].ref == "MJ" and result.discount_summary[0].amount_fen == 4000


def test_second_item_half_price_discounts_the_cheapest_units() -> None:
    book = PriceBook([promo(id="B1G1", kind="buy_x_get_y", categories=["dairy"], buy_qty=1, get_qty=1, percent=50)])
    result = price_basket(lines((MILK, 1), (YOGURT, 1)), book, at=AT)
    assert [ln.discount_fen for ln in result.lines] == [0, 400]
    three = price_basket(lines((YOGURT, 3)), book, at=AT)
    assert three.total_fen == 2400 - 400


def test_best_item_promotion_per_line_and_not_combinable_alone() -> None:
    book = PriceBook([
        promo(id="P10", kind="percent_off", categories=["dairy"], percent=10),
        promo(id="A3", kind="amount_off", codes=[MILK.code], amount_fen=300),
        promo(id="FIX", kind="fixed_price", codes=[YOGURT.code], price_fen=500, combinable=False),
    ])
    result = price_basket(lines((MILK, 1), (YOGURT, 2)), book, at=AT)
    # stack: milk 300 (A3 beats 10 %), yogurt 160 (10 %): 460; FIX alone: 600 -> FIX wins
    assert result.promotion_ids == ("FIX",)
    assert result.total_fen == 1200 + 1000
    without_fix = price_basket(lines((MILK, 1), (YOGURT, 1)), book, at=AT)
    assert without_fix.promotion_ids == ("A3", "P10") or without_fix.promotion_ids == ("FIX",)


def test_threshold_alone_beats_a_stack_that_falls_below_it() -> None:
    book = PriceBook([
        promo(id="P5", kind="percent_off", codes=[SOAP.code], percent=5),
        promo(id="MJ", kind="threshold", threshold_fen=10000, amount_fen=2000, repeat=False),
    ])
    result = price_basket(lines((SOAP, 4)), book, at=AT)  # 10000: 5 % would leave 9500 < 10000
    assert result.promotion_ids == ("MJ",) and result.total_fen == 8000


def test_member_only_and_time_windows() -> None:
    book = PriceBook([
        promo(id="M", kind="percent_off", codes=[SOAP.code], percent=20, member_levels=["GOLD"]),
        promo(id="HAPPY", kind="amount_off", codes=[SOAP.code], amount_fen=100, weekdays=[4],
              daily_from="09:00", daily_to="11:00"),
    ])
    assert price_basket(lines((SOAP, 1)), book, at=AT, member_level="GOLD").total_fen == 2000
    assert price_basket(lines((SOAP, 1)), book, at=AT, member_level="SILVER").total_fen == 2400
    assert price_basket(lines((SOAP, 1)), book, at=datetime(2026, 12, 3, 12)).total_fen == 2500
    assert price_basket(lines((SOAP, 1)), book, at=datetime(2026, 12, 4, 10)).total_fen == 2500


def test_manual_points_and_rounding_are_their_own_lines() -> None:
    rules = LoyaltyRules()
    basket = [BasketLine(1, MILK, 1, manual=ManualDiscount("DAMAGED", percent=10)), BasketLine(2, SOAP, 1)]
    result = price_basket(basket, PriceBook(), at=AT, member_level="SILVER", rules=rules,
                          sale_discount=ManualDiscount("LOYAL", amount_fen=123), points_redeemed=200,
                          rounding="jiao")
    kinds = [d.kind for d in result.discount_summary]
    assert kinds == ["member_price", "manual", "manual", "points", "rounding"]
    assert sum(ln.net_fen for ln in result.lines) == result.total_fen
    assert result.total_fen % 10 == 0 and result.points_fen == 200
    # milk 1100 (silver) -110 manual = 990; soap 2500; -123 sale; -200 points = 3167 -> 3160
    assert result.total_fen == 3160 and result.rounding_fen == 7
    assert result.points_to_earn == 31


def test_points_excluded_lines_earn_nothing() -> None:
    result = price_basket(lines((CIGS, 1), (SOAP, 1)), PriceBook(), at=AT, member_level="GOLD",
                          rules=LoyaltyRules())
    assert result.points_to_earn == 25 * 150 // 100


def test_weighed_lines_take_percent_and_amount_per_kg_but_not_buy_x_get_y() -> None:
    book = PriceBook([promo(id="A", kind="amount_off", codes=[APPLES.code], amount_fen=290),
                      promo(id="B", kind="buy_x_get_y", categories=["fruit"], buy_qty=1, get_qty=1, percent=100)])
    result = price_basket([BasketLine(1, APPLES, 1500)], book, at=AT)  # 1.5 kg at 12.90 -> 10.00/kg
    assert result.lines[0].gross_fen == 1935 and result.total_fen == 1500


def test_open_price_line_keeps_its_price_and_description() -> None:
    open_item = PriceItem("", "Open price", 0, tax_rate_bp=600)
    result = price_basket([BasketLine(1, open_item, 1, unit_price_fen=1999, description="gift wrap")],
                          PriceBook(), at=AT)
    assert result.lines[0].description == "gift wrap" and result.total_fen == 1999
    assert result.taxes[0].tax_fen == tax_included(1999, 600) == 113


def test_rounding_and_tax_helpers() -> None:
    assert round_cash(1234, "none") == 1234 and round_cash(1234, "jiao") == 1230 and round_cash(1299, "yuan") == 1200
    assert tax_included(11300, 1300) == 1300 and tax_included(0, 900) == 0 and tax_included(-10900, 900) == -900
    with pytest.raises(PricingError, match="cash rounding"):
        round_cash(1, "fen")


@pytest.mark.parametrize(("record", "message"), [
    ({"id": "X", "kind": "percent_off", "percent": 0}, "percent must be from 1 to 100"),
    ({"id": "X", "kind": "bogus"}, "kind must be one of"),
    ({"id": "X", "kind": "amount_off", "amount_fen": 10}, "needs codes or categories"),
    ({"id": "X", "kind": "threshold", "threshold_fen": 100, "amount_fen": 200}, "must not be more than"),
    ({"id": "X", "kind": "percent_off", "percent": 5, "starts": "yesterday"}, "not a date and time"),
    ({"id": "X", "kind": "percent_off", "percent": 5, "colour": "red"}, "unknown field"),
    ({"id": "X", "kind": "percent_off", "percent": 5, "daily_from": "10:00"}, "both daily_from and daily_to"),
])
def test_bad_promotions_are_refused_with_a_clear_message(record: dict[str, object], message: str) -> None:
    with pytest.raises(PricingError, match=message):
        Promotion.from_mapping(record)


def test_price_book_file_round_trip_and_collected_errors() -> None:
    data = {"promotions": [
        {"id": "MJ", "name": "满100减20", "kind": "threshold", "categories": ["dairy"], "threshold_fen": 10000,
         "amount_fen": 2000, "starts": "2026-12-01T00:00", "ends": "2027-01-01T00:00", "priority": 5},
        {"id": "H", "name": "第二件半价", "kind": "buy_x_get_y", "codes": ["1"], "buy_qty": 1, "get_qty": 1,
         "percent": 50, "member_only": True, "combinable": False},
    ], "special_prices": [{"id": "S", "code": "1", "price_fen": 99, "starts": "2026-12-01T00:00",
                           "ends": "2026-12-02T00:00", "member_levels": ["gold"]}]}
    book = PriceBook.from_mapping(data)
    assert PriceBook.from_mapping(book.to_mapping()).to_mapping() == book.to_mapping()
    assert book.specials[0].member_levels == frozenset({"GOLD"})
    with pytest.raises(PricingError, match=r"promotions\[1\].*promotions\[2\]"):
        PriceBook.from_mapping({"promotions": [{"id": "A", "kind": "x"}, {"id": "B", "kind": "y"}]})
    with pytest.raises(PricingError, match="used twice"):
        PriceBook.from_mapping({"promotions": [data["promotions"][0], data["promotions"][0]]})  # type: ignore[index]
