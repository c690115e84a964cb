"""A priced sale through the real checkout and storage: promotions, manual discount, cash rounding and VAT
are stored per line, printed on the receipt, and reported per rate, category, promotion and reason."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from checkout_env import BREAD, COLA, RULES

from pos_app.alipay.card_requests import AlipayCardRequests
from pos_app.domain.pricing import ManualDiscount
from pos_app.domain.promotions import PriceBook, Promotion
from pos_app.domain.sale import SalePricing
from pos_app.runtime import FixedClock, RandomIds
from pos_app.services.checkout import CheckoutConfig, CheckoutService
from pos_app.services.receipts import StoreInfo, build_receipt, receipt_text
from pos_app.services.reports import ReportService, render_text
from pos_app.storage.uow import SqliteUnitOfWork

BOOK = PriceBook([Promotion.from_mapping({"id": "MJ20", "name": "满20减3", "kind": "threshold",
                                          "categories": ["bakery"], "threshold_fen": 2000, "amount_fen": 300})])


def test_priced_cash_sale_is_stored_printed_and_reported(uow: Callable[[], SqliteUnitOfWork],
                                                          clock: FixedClock) -> None:
    pricing = SalePricing(book=BOOK, now=lambda: dt.datetime(2026, 12, 3, 10, 0), cash_rounding="jiao")
    checkout = CheckoutService(uow, clock, RandomIds("T1"),
                               CheckoutConfig(store_id="S1", terminal_id="T1", terminal_no=1, loyalty=RULES,
                                              pricing=pricing), card_requests=AlipayCardRequests())
    sale = checkout.new_sale()
    sale.add_item(checkout.find_product(BREAD), 2)  # type: ignore[arg-type]   2400, 9 % not set: 13 %
    sale.add_item(checkout.find_product(COLA), 3)  # type: ignore[arg-type]    1050
    sale.discount_line(2, ManualDiscount("DAMAGED", amount_fen=105))
    committed = checkout.commit_cash(sale, 5000, shift_id=1, cashier_id=1, cashier_name="Alice")
    snap = committed.snapshot
    # bread 2400 - 300 (满20减3) = 2100; cola 1050 - 105 = 945; 3045 -> cash 3040 (抹零 5 fen)
    assert snap.totals.payable_fen == 3040 and snap.totals.rounding_fen == 5 and committed.change_fen == 1960
    assert sum(line.paid_fen for line in snap.lines) == 3040
    with uow() as u:
        rows = u.conn.execute("SELECT kind, ref, sum(amount_fen) FROM sale_line_discounts GROUP BY kind, ref"
                              " ORDER BY kind, ref").fetchall()
        taxes = u.conn.execute("SELECT sum(tax_fen), sum(amount_fen - discount_fen) FROM sale_lines").fetchone()
    assert [tuple(r) for r in rows] == [("manual", "DAMAGED", 105), ("promotion", "MJ20", 300), ("rounding", "jiao", 5)]
    assert tuple(taxes) == (snap.totals.tax_fen, 3040) and snap.totals.tax_fen == 350  # 3040 x 13/113
    text = receipt_text(build_receipt(committed, StoreInfo("Demo Shop", "S1", "T1"), "zh"))
    assert "促销 满20减3" in text and "折扣 DAMAGED" in text and "抹零" in text
    assert "增值税 13%" in text and "¥3.50" in text
    fig = ReportService(uow, clock, terminal_id="T1").x_report().figures
    assert fig["tax"] == [{"rate_bp": 1300, "sales_fen": 3040, "tax_fen": 350, "net_ex_tax_fen": 2690}]
    assert {c["category"]: c["sales_fen"] for c in fig["categories"]} == {"bakery": 2100 - 3, "drinks": 945 - 2}
    assert [(d["kind"], d["ref"], d["amount_fen"]) for d in fig["discounts"]] == [
        ("manual", "DAMAGED", 105), ("promotion", "MJ20", 300), ("rounding", "jiao", 5)]
    report = render_text(fig)
    assert "VAT 13% tax" in report and "Promotion MJ20 满20减3 (1 sales)" in report


def test_refunding_a_discounted_sale_returns_exactly_what_was_paid(uow: Callable[[], SqliteUnitOfWork],
                                                                   clock: FixedClock) -> None:
    from pos_app.services.refunds import RefundService

    pricing = SalePricing(book=BOOK, now=lambda: dt.datetime(2026, 12, 3, 10, 0), cash_rounding="jiao")
    checkout = CheckoutService(uow, clock, RandomIds("T1"),
                               CheckoutConfig(store_id="S1", terminal_id="T1", terminal_no=1, loyalty=RULES,
                                              pricing=pricing), card_requests=AlipayCardRequests())
    sale = checkout.new_sale()
    sale.add_item(checkout.find_product(BREAD), 2)  # type: ignore[arg-type]
    sale.add_item(checkout.find_product(COLA), 3)  # type: ignore[arg-type]
    sale.discount_sale(ManualDiscount("LOYAL", amount_fen=77))
    committed = checkout.commit_cash(sale, 5000, shift_id=1, cashier_id=1, cashier_name="Alice")
    paid = committed.snapshot.totals.payable_fen
    refunds = RefundService(uow, None, clock, RandomIds("T1"), card_requests=AlipayCardRequests())
    bread = refunds.refund(committed.sale_id, [(1, 1)], None, method="cash", reason="broken", cashier_id=1,
                           approved_by=2, shift_id=1)
    rest = refunds.refund(committed.sale_id, [(1, 1), (2, 3)], None, method="cash", reason="broken",
                          cashier_id=1, approved_by=2, shift_id=1)
    assert bread.amount_fen + rest.amount_fen == paid and rest.sale_state == "refunded"
    assert bread.amount_fen == committed.snapshot.lines[0].paid_fen // 2
