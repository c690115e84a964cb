"""The sale priced by the engine: member prices, promotions, manual discounts, open-price overrides, VAT,
cash rounding, and a stored sale keeping the discounts it was paid with."""

from __future__ import annotations

from datetime import datetime

import pytest

from pos_app.domain.catalogue import CatalogueItem
from pos_app.domain.errors import SaleRuleError
from pos_app.domain.loyalty import LoyaltyRules
from pos_app.domain.pricing import ManualDiscount
from pos_app.domain.promotions import PriceBook, Promotion, SpecialPrice
from pos_app.domain.sale import MemberRef, Sale, SalePricing, SaleState

RULES = LoyaltyRules()
MILK = CatalogueItem("6900000000011", "牛奶", "Milk", 1200, category="dairy", tax_rate_bp=900, member_price_fen=1100)
SOAP = CatalogueItem("6900000000035", "香皂", "Soap", 2500, category="home")
GOLD = MemberRef("8800000000000001", "王*", "GOLD", 10_000)


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 12, 3, 10, 0)

    def __call__(self) -> datetime:
        return self.now


def _pricing(clock: Clock, **kw: object) -> SalePricing:
    book = PriceBook([Promotion.from_mapping({"id": "MJ", "name": "满100减20", "kind": "threshold",
                                              "categories": ["dairy"], "threshold_fen": 10000, "amount_fen": 2000,
                                              "ends": "2026-12-03T12:00"})],
                     [SpecialPrice.from_mapping({"id": "SP", "code": SOAP.code, "price_fen": 2000,
                                                 "starts": "2026-12-03T09:00", "ends": "2026-12-03T11:00"})])
    return SalePricing(book=book, level_prices={MILK.code: {"GOLD": 1000}}, now=clock, **kw)  # type: ignore[arg-type]


def test_member_level_price_threshold_and_vat_on_the_snapshot() -> None:
    clock = Clock()
    sale = Sale(RULES, _pricing(clock))
    sale.add_item(MILK, 10)
    sale.attach_member(GOLD)
    snap = sale.snapshot()
    milk = snap.lines[0]
    assert [d.kind for d in milk.discounts] == ["member_price", "promotion"]
    assert milk.amount_fen == 12000 and milk.paid_fen == 10000 - 2000
    assert snap.totals.payable_fen == 8000 and snap.totals.tax_fen == 661  # 8000 x 9/109
    assert snap.priced is not None and snap.priced.promotion_ids == ("MJ",)
    assert snap.totals.points_to_earn == 8000 // 100 * 150 // 100


def test_special_price_kept_from_the_scan_and_total_fixed_when_payment_starts() -> None:
    clock = Clock()
    sale = Sale(RULES, _pricing(clock))
    sale.add_item(SOAP)  # scanned at 10:00 in the special's window
    clock.now = datetime(2026, 12, 3, 11, 30)
    assert sale.totals().payable_fen == 2000
    sale.add_item(MILK, 9)
    sale.add_item(MILK, 1)  # dairy 12000 -> 满减 while it runs
    totals = sale.begin_payment()
    clock.now = datetime(2026, 12, 3, 12, 30)  # the promotion ended while the customer looks for the phone
    assert sale.totals().payable_fen == totals.payable_fen == 2000 + 12000 - 2000
    sale.cancel_payment()
    assert sale.totals().payable_fen == 2000 + 12000


def test_manual_discounts_and_open_price_override() -> None:
    sale = Sale(RULES, SalePricing())
    sale.add_item(SOAP, 2)
    line = sale.add_open_line("gift wrap", 500)
    sale.discount_line(1, ManualDiscount("DAMAGED", percent=10))
    sale.override_price(line.line_no, 800, "gift wrap large")
    sale.discount_sale(ManualDiscount("LOYAL", amount_fen=580))
    snap = sale.snapshot()
    assert snap.lines[1].name == "gift wrap large" and snap.lines[1].amount_fen == 800
    assert snap.totals.payable_fen == 5000 - 500 + 800 - 580
    assert {d.ref for ln in snap.lines for d in ln.discounts} == {"DAMAGED", "LOYAL"}
    with pytest.raises(SaleRuleError, match="only an open-price line"):
        sale.override_price(1, 100)


def test_cash_rounding_only_for_cash() -> None:
    sale = Sale(RULES, SalePricing(cash_rounding="yuan"))
    sale.add_item(CatalogueItem("X", "x", "x", 1299))
    sale.begin_payment()
    assert sale.pay_alipay("T1").amount_fen == 1299
    tender = sale.pay_cash(2000)
    assert tender.amount_fen == 1200 and tender.change_fen == 800
    snap = sale.mark_paid(tender)
    assert snap.totals.rounding_fen == 99 and snap.lines[0].discounts[-1].kind == "rounding"


def test_a_stored_sale_keeps_its_discounts_and_an_open_one_is_priced_again() -> None:
    clock = Clock()
    sale = Sale(RULES, _pricing(clock))
    sale.add_item(MILK, 10)
    sale.begin_payment()
    snap = sale.snapshot()
    plain = Sale.from_snapshot(snap, RULES)  # no promotions known: still the stored discount
    assert plain.totals().payable_fen == snap.totals.payable_fen == 10000
    assert plain.state is SaleState.AWAITING_PAYMENT
    sale.cancel_payment()
    parked = sale.snapshot()
    clock.now = datetime(2026, 12, 3, 13, 0)
    recalled = Sale.from_snapshot(parked, RULES, _pricing(clock))
    assert recalled.totals().payable_fen == 12000  # the 满减 ended before the recall
