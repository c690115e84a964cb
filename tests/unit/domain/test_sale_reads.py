"""A sale read again without a change gives the same snapshot; after any change, the new figures (issue 18:
a scan reads the sale several times, so the reads reuse what the last one computed)."""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta, timezone

from pos_app.domain.catalogue import CatalogueItem
from pos_app.domain.held import basket_from_json, basket_to_json
from pos_app.domain.loyalty import LoyaltyRules
from pos_app.domain.pricing import ManualDiscount
from pos_app.domain.promotions import PriceBook, Promotion
from pos_app.domain.sale import MemberRef, Sale, SalePricing

RULES = LoyaltyRules()
MILK = CatalogueItem("6900000000011", "牛奶", "Milk", 1200, category="dairy", member_price_fen=1100)
SOAP = CatalogueItem("6900000000035", "香皂", "Soap", 2500, category="home")
GOLD = MemberRef("8800000000000001", "王*", "GOLD", 10_000)
BOOK = PriceBook([Promotion.from_mapping({"id": "MJ", "name": "满100减20", "kind": "threshold",
                                          "categories": ["dairy"], "threshold_fen": 10000, "amount_fen": 2000})])


NOW = datetime(2026, 12, 3, 10, 0, tzinfo=timezone(timedelta(hours=8)))


def _sale() -> Sale:
    # a fixed store time: each line keeps its scan time to the second, and two sales built a moment apart
    # must not differ by a second that ticked over between them (seen failing under load)
    return Sale(RULES, SalePricing(book=BOOK, now=lambda: NOW))


def test_reading_twice_without_a_change_gives_the_same_snapshot() -> None:
    sale = _sale()
    sale.add_item(MILK, 3)
    sale.add_item(SOAP)
    first = sale.snapshot()
    assert sale.snapshot() is first
    assert sale.totals() is first.totals


STEPS = [
    lambda s: s.add_item(MILK, 2),
    lambda s: s.add_item(MILK, 6),                  # 8 milk: under the 100-yuan threshold
    lambda s: s.add_item(MILK),                     # 9 milk: the promotion takes 20 yuan off
    lambda s: s.attach_member(GOLD),                # member price, points to earn
    lambda s: s.add_item(SOAP),
    lambda s: s.void_line(2, "customer changed mind"),
    lambda s: s.discount_line(1, ManualDiscount("damaged", percent=10)),
    lambda s: s.redeem_points(100),
    lambda s: s.discount_sale(ManualDiscount("loyal", amount_fen=50)),
    lambda s: s.set_quantity(1, 12),
    lambda s: s.detach_member(),
    lambda s: s.begin_payment(),
    lambda s: s.cancel_payment(),
    lambda s: s.begin_payment(),
    lambda s: s.mark_paid(s.pay_cash(20_000)),
]


def test_every_change_shows_in_the_next_snapshot() -> None:
    """After each step, the sale read after every step shows what a sale read only once shows."""
    sale = _sale()
    seen = []
    for k, step in enumerate(STEPS):
        step(sale)
        fresh = _sale()
        for replay in STEPS[:k + 1]:
            replay(fresh)
        assert sale.snapshot() == fresh.snapshot(), f"after step {k}"
        assert sale.totals() == fresh.totals(), f"after step {k}"
        seen.append(sale.snapshot().totals.payable_fen)
    assert len(set(seen)) > 5                       # the steps moved the total (the test compares something)
    assert sale.snapshot().tenders and sale.snapshot().state.value == "paid"


def test_an_unchanged_line_keeps_its_object_when_another_is_scanned() -> None:
    sale = _sale()
    sale.add_item(SOAP)
    soap = sale.snapshot().lines[0]
    sale.add_item(MILK)
    assert sale.snapshot().lines[0] is soap     # its share did not move: not rebuilt
    sale.add_item(MILK, 9)                      # the threshold promotion is reached: milk's line changes
    assert sale.snapshot().lines[1].discount_fen == 2000


def test_the_basket_json_is_the_lines_without_their_discounts() -> None:
    sale = _sale()
    sale.add_item(MILK, 10)
    sale.add_item(SOAP)
    sale.discount_line(2, ManualDiscount("damaged", amount_fen=100))
    snap = sale.snapshot()
    body = basket_to_json(snap)
    assert body["lines"] == [dataclasses.asdict(dataclasses.replace(line, discounts=(), discount_fen=0, tax_fen=0))
                             for line in snap.lines]
    again = basket_from_json(body, RULES, SalePricing(book=BOOK)).snapshot()
    assert again.totals == snap.totals and again.lines == snap.lines


def test_a_line_as_a_dict_is_what_asdict_gives() -> None:
    sale = _sale()
    sale.add_item(MILK, 10)
    sale.add_item(SOAP)
    sale.attach_member(GOLD)
    sale.discount_line(2, ManualDiscount("damaged", percent=5, approved_by=7))
    sale.add_open_line("gift wrap", 300)
    sale.void_line(3, "not wanted", approved_by=2)
    lines = sale.snapshot().lines
    assert any(line.discounts for line in lines) and any(line.manual for line in lines)
    assert [line.to_dict() for line in lines] == [dataclasses.asdict(line) for line in lines]
