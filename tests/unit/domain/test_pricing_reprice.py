"""Re-pricing reuses each line's unit price worked out with the same price book: the result is what a first
pricing gives, and whatever the price depends on (the item's price, the quantity, the member level, the scan
time, the price book) is never answered from an earlier pricing."""

from __future__ import annotations

from dataclasses import fields, replace
from datetime import datetime

from pos_app.domain.pricing import (
    BasketLine,
    DiscountLine,
    ManualDiscount,
    PricedLine,
    PriceItem,
    price_basket,
)
from pos_app.domain.promotions import PriceBook, SpecialPrice

AT = datetime(2026, 12, 3, 10, 0)
MILK = PriceItem("6900000000011", "牛奶", 1200, category="dairy", tax_rate_bp=900, member_prices={"GOLD": 1000})


def _book(price_fen: int) -> PriceBook:
    return PriceBook(specials=[SpecialPrice.from_mapping({
        "id": "S1", "code": MILK.code, "price_fen": price_fen, "starts": "2026-12-03T09:00",
        "ends": "2026-12-03T12:00"})])


def _unit(line: BasketLine, book: PriceBook, level: str | None = None, at: datetime = AT) -> tuple[int, int]:
    priced = price_basket([line], book, at=at, member_level=level).lines[0]
    return priced.unit_price_fen, priced.net_fen


def test_repricing_with_the_same_book_follows_every_input() -> None:
    book = _book(900)
    line = BasketLine(1, MILK, 2)
    assert _unit(line, book) == (900, 1800)
    assert _unit(line, book) == (900, 1800)  # the same again
    assert _unit(replace(line, quantity=3), book) == (900, 2700)
    assert _unit(line, book, at=datetime(2026, 12, 3, 13, 0)) == (1200, 2400)  # the special has ended
    assert _unit(replace(line, price_at=datetime(2026, 12, 3, 11, 0)), book,
                 at=datetime(2026, 12, 3, 13, 0)) == (900, 1800)  # scanned while it ran
    cheaper_item = replace(MILK, price_fen=800)
    assert _unit(BasketLine(1, cheaper_item, 2), book) == (800, 1600)
    gold = replace(MILK, member_prices={"GOLD": 850})
    assert _unit(BasketLine(1, gold, 2), book, level="gold") == (850, 1700)
    assert _unit(line, book, level="GOLD") == (900, 1800)


def test_a_new_price_book_is_not_answered_from_the_old_one() -> None:
    line = BasketLine(1, MILK, 2)
    assert _unit(line, _book(900)) == (900, 1800)
    assert _unit(line, _book(700)) == (700, 1400)
    assert _unit(line, PriceBook()) == (1200, 2400)


def test_priced_lines_carry_exactly_their_fields() -> None:
    """The engine builds result lines without the dataclass constructor: they must still be whole ones."""
    line = price_basket([BasketLine(1, MILK, 2)], _book(900), at=AT, member_level="GOLD",
                        sale_discount=ManualDiscount("LOYAL", amount_fen=100)).lines[0]
    assert set(vars(line)) == {f.name for f in fields(PricedLine)}
    assert line == PricedLine(**{f.name: getattr(line, f.name) for f in fields(PricedLine)})
    assert line.discounts == (DiscountLine("special_price", "S1", "special price S1", 600),
                              DiscountLine("manual", "LOYAL", "sale discount", 100))
    assert all(type(d) is DiscountLine for d in line.discounts)
    assert line.discounts[1].amount_fen == 100
