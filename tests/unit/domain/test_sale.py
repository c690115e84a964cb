"""Unit tests for pos_app.domain.sale: basket, member and points, payment states, refunds."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pos_app.domain.catalogue import CatalogueItem
from pos_app.domain.errors import SaleRuleError, SaleStateError
from pos_app.domain.loyalty import LoyaltyRules
from pos_app.domain.money import MAX_FEN
from pos_app.domain.sale import (
    MemberRef,
    RefundAllocation,
    Sale,
    SaleLine,
    SaleState,
    Tender,
    refund_allocation,
)

RULES = LoyaltyRules(excluded_categories=frozenset({"tobacco"}))
COLA = CatalogueItem("6901234567892", "可口可乐", "Coca-Cola", 300, category="drinks")
BREAD = CatalogueItem("6909876543217", "面包", "Bread", 850, category="bakery")
SMOKES = CatalogueItem("6901028075015", "香烟", "Cigarettes", 2500, category="tobacco")
GIFT = CatalogueItem("6900000000017", "礼品卡", "Gift card", 10000, points_excluded=True)
APPLES = CatalogueItem("2300107000003", "苹果", "Apples", 1299, unit="kg", category="fruit")
GOLD = MemberRef("8800123456789012", "张*", "GOLD", 5000, biz_card_no="BIZ0001234")


def test_add_item_merges_same_code() -> None:
    sale = Sale(RULES)
    first = sale.add_item(COLA)
    again = sale.add_item(COLA, 2)
    assert first.line_no == again.line_no == 1
    assert again.quantity == 3 and again.amount_fen == 900
    other_price = sale.add_item(COLA, unit_price_fen=250)
    assert other_price.line_no == 2
    weighed = sale.add_item(APPLES, 500)
    weighed2 = sale.add_item(APPLES, 500)
    assert weighed.line_no != weighed2.line_no and weighed.amount_fen == 650
    totals = sale.totals()
    assert totals.gross_fen == 900 + 250 + 650 + 650
    assert totals.item_count == 3 + 1 + 1 + 1
    assert totals.line_count == 4
    assert totals.points_to_earn == 0 and "no member" in totals.earn_explanation
    assert sale.rules is RULES


def test_basket_rules() -> None:
    sale = Sale(RULES)
    with pytest.raises(SaleRuleError, match="quantity"):
        sale.add_item(COLA, 0)
    with pytest.raises(SaleRuleError, match="quantity"):
        sale.add_item(COLA, 10_000)
    with pytest.raises(SaleRuleError, match="grams"):
        sale.add_item(APPLES, 100_000)
    with pytest.raises(SaleRuleError, match="price"):
        sale.add_item(COLA, unit_price_fen=-1)
    with pytest.raises(SaleRuleError, match="name"):
        sale.add_open_line(" ", 100)
    with pytest.raises(SaleRuleError, match="above zero"):
        sale.add_open_line("Misc", 0)
    with pytest.raises(SaleRuleError, match="too large"):
        sale.add_open_line("Misc", MAX_FEN, 2)
    big = CatalogueItem("X", "大", "Big", MAX_FEN)
    sale.add_item(big)
    with pytest.raises(SaleRuleError, match="basket total"):
        sale.add_item(COLA)
    with pytest.raises(SaleRuleError, match="too large"):
        sale.set_quantity(1, 2)
    with pytest.raises(SaleRuleError, match="no line 9"):
        sale.set_quantity(9, 1)


def test_weighed_line_amount_overflow_is_a_rule_error() -> None:
    sale = Sale(RULES)
    heavy = CatalogueItem("Y", "重", "Heavy", MAX_FEN, unit="kg")
    with pytest.raises(SaleRuleError, match="too large"):
        sale.add_item(heavy, 99_999)


def test_open_line_set_quantity_and_void() -> None:
    sale = Sale(RULES)
    line = sale.add_open_line("  Flowers ", 1500, points_excluded=True)
    assert line.open_price and line.name == "Flowers" and line.code == ""
    assert sale.set_quantity(line.line_no, 2).amount_fen == 3000
    sale.add_item(COLA)
    with pytest.raises(SaleRuleError, match="reason"):
        sale.void_line(1, "  ")
    voided = sale.void_line(1, " wrong item ")
    assert voided.voided and voided.void_reason == "wrong item"
    with pytest.raises(SaleRuleError, match="voided"):
        sale.void_line(1, "again")
    with pytest.raises(SaleRuleError, match="voided"):
        sale.set_quantity(1, 1)
    snap = sale.snapshot()
    assert len(snap.lines) == 2 and len(snap.active_lines) == 1
    assert snap.totals.gross_fen == 300
    assert snap.lines[0].paid_fen == 0
    # scanning the same item after its line was voided starts a new line
    assert sale.add_item(COLA).line_no == 2
    sale.void_line(2, "x")
    assert sale.add_item(COLA).line_no == 3


def test_member_points_and_discount_allocation() -> None:
    sale = Sale(RULES)
    sale.add_item(COLA, 3)  # 900
    sale.add_item(SMOKES)  # 2500, excluded by category
    sale.add_item(GIFT)  # 10000, excluded by flag
    with pytest.raises(SaleRuleError, match="no member"):
        sale.redeem_points(100)
    with pytest.raises(SaleRuleError, match="no member"):
        sale.redeem_option()
    sale.attach_member(GOLD)
    assert sale.member == GOLD
    assert sale.redeem_option().max_points == 5000
    assert sale.redeem_points(1000) == 1000
    totals = sale.totals()
    assert totals.gross_fen == 13400
    assert totals.discount_fen == 1000 and totals.payable_fen == 12400
    snap = sale.snapshot()
    shares = [line.discount_fen for line in snap.lines]
    assert sum(shares) == 1000 and all(s > 0 for s in shares)
    eligible = snap.lines[0].amount_fen - snap.lines[0].discount_fen
    assert totals.eligible_fen == eligible
    assert totals.points_to_earn == eligible * 150 // 10000
    sale.clear_redemption()
    assert sale.totals().discount_fen == 0
    sale.redeem_points(500)
    sale.detach_member()
    assert sale.totals().points_redeemed == 0 and sale.member is None


def test_redemption_is_cut_when_the_basket_shrinks() -> None:
    sale = Sale(RULES)
    sale.add_item(BREAD, 4)  # 3400 -> cap 1700
    sale.attach_member(GOLD)
    sale.redeem_points(1700)
    sale.set_quantity(1, 2)  # 1700 -> cap 850 -> 800 pts
    assert sale.totals().points_redeemed == 800
    sale.add_item(COLA)  # still fits
    assert sale.totals().points_redeemed == 800


def test_changing_member_drops_redemption_same_member_keeps_it() -> None:
    sale = Sale(RULES)
    sale.add_item(BREAD, 4)
    sale.attach_member(GOLD)
    sale.redeem_points(1000)
    sale.attach_member(MemberRef(GOLD.card_no, "张*", "GOLD", 1200))
    assert sale.totals().points_redeemed == 1000
    sale.attach_member(MemberRef(GOLD.card_no, "张*", "GOLD", 300))  # balance fell: cut
    assert sale.totals().points_redeemed == 300 - 300 % 100
    sale.attach_member(MemberRef("8800999999999999", "李*", "SILVER", 9000))
    assert sale.totals().points_redeemed == 0


def test_member_repr_masks_card_numbers() -> None:
    text = repr(GOLD)
    assert GOLD.card_no not in text and "9012" in text
    assert GOLD.biz_card_no not in text


def test_cash_payment_flow() -> None:
    sale = Sale(RULES)
    with pytest.raises(SaleRuleError, match="empty"):
        sale.begin_payment()
    sale.add_item(COLA)
    sale.mark_total_shown()
    assert sale.snapshot().total_shown
    sale.add_item(BREAD)
    assert not sale.snapshot().total_shown
    with pytest.raises(SaleStateError, match="open"):
        sale.pay_cash(2000)
    totals = sale.begin_payment()
    assert totals.payable_fen == 1150
    assert sale.state is SaleState.AWAITING_PAYMENT
    sale.mark_total_shown()
    with pytest.raises(SaleStateError, match="awaiting payment"):
        sale.add_item(COLA)
    with pytest.raises(SaleRuleError, match="short"):
        sale.pay_cash(1000)
    with pytest.raises(SaleRuleError, match="whole fen"):
        sale.pay_cash(-1)
    tender = sale.pay_cash(2000)
    assert (tender.kind, tender.amount_fen, tender.tendered_fen, tender.change_fen) == ("cash", 1150, 2000, 850)
    with pytest.raises(SaleRuleError, match="does not match"):
        sale.mark_paid(Tender("cash", 100, 100, 0))
    snap = sale.mark_paid(tender)
    assert snap.state is SaleState.PAID and snap.tenders == (tender,)
    for action in (sale.cancel_payment, sale.void_sale, sale.begin_payment, sale.mark_total_shown,
                   sale.detach_member, sale.clear_redemption):
        with pytest.raises(SaleStateError):
            action()
    with pytest.raises(SaleStateError):
        sale.attach_member(GOLD)
    with pytest.raises(SaleStateError):
        sale.redeem_points(100)
    with pytest.raises(SaleStateError):
        sale.void_line(1, "late")
    with pytest.raises(SaleStateError):
        sale.set_quantity(1, 1)
    with pytest.raises(SaleStateError):
        sale.add_open_line("x", 1)
    with pytest.raises(SaleStateError):
        sale.pay_alipay("T1")
    with pytest.raises(SaleStateError):
        sale.mark_paid(tender)
    sale.mark_refunded(fully=False)
    assert sale.state is SaleState.PARTLY_REFUNDED
    sale.mark_refunded(fully=True)
    assert sale.state is SaleState.REFUNDED
    with pytest.raises(SaleStateError):
        sale.mark_refunded(fully=True)


def test_alipay_flow_cancel_and_void() -> None:
    sale = Sale(RULES)
    sale.add_item(COLA)
    sale.begin_payment()
    sale.cancel_payment()
    assert sale.state is SaleState.OPEN
    sale.begin_payment()
    with pytest.raises(SaleRuleError, match="trade number"):
        sale.pay_alipay(" ")
    tender = sale.pay_alipay(" 2024010122001 ")
    assert tender == Tender("alipay", 300, 300, 0, "2024010122001")
    sale.void_sale()
    assert sale.state is SaleState.VOIDED
    with pytest.raises(SaleStateError, match="voided"):
        sale.begin_payment()


def test_nothing_to_pay_unless_points_paid_it_all() -> None:
    free = CatalogueItem("6900000000024", "袋子", "Bag", 0)
    sale = Sale(RULES)
    sale.add_item(free)
    with pytest.raises(SaleRuleError, match="nothing to pay"):
        sale.begin_payment()
    rules = LoyaltyRules(redeem_cap_pct=100)
    sale = Sale(rules)
    sale.add_item(CatalogueItem("6900000000031", "糖", "Candy", 500))
    sale.attach_member(GOLD)
    sale.redeem_points(500)
    assert sale.begin_payment().payable_fen == 0
    with pytest.raises(SaleRuleError, match="cash 0"):
        sale.pay_alipay("T")
    tender = sale.pay_cash(0)
    assert tender == Tender("cash", 0, 0, 0)
    assert sale.mark_paid(tender).totals.points_to_earn == 0


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("card", 1, 1, 0), "unknown tender"),
        (("cash", -1, 0, 0), "amount_fen"),
        (("cash", 1, 1.0, 0), "tendered_fen"),
        (("cash", 1, 5, 1), "tendered minus change"),
    ],
)
def test_tender_validation(args: tuple[object, ...], message: str) -> None:
    with pytest.raises(SaleRuleError, match=message):
        Tender(*args)  # type: ignore[arg-type]


def test_from_snapshot_round_trip() -> None:
    sale = Sale(RULES)
    sale.add_item(COLA, 2)
    sale.add_item(BREAD)
    sale.attach_member(GOLD)
    sale.redeem_points(500)
    sale.void_line(2, "changed mind")
    sale.begin_payment()
    sale.mark_paid(sale.pay_cash(1000))
    snap = sale.snapshot()
    again = Sale.from_snapshot(snap, RULES)
    assert again.snapshot() == snap
    assert again.state is SaleState.PAID
    again.mark_refunded(fully=True)


@settings(derandomize=True, deadline=None)
@given(
    st.lists(st.tuples(st.integers(1, 50_000), st.integers(1, 20), st.booleans()), min_size=1, max_size=12),
    st.integers(0, 200),
)
def test_totals_never_lose_a_fen(lines: list[tuple[int, int, bool]], redeem_hundreds: int) -> None:
    sale = Sale(LoyaltyRules(redeem_cap_pct=100))
    for i, (price, qty, excluded) in enumerate(lines):
        sale.add_item(CatalogueItem(f"C{i}", f"商品{i}", f"Item {i}", price, points_excluded=excluded), qty)
    sale.attach_member(MemberRef("8800000000000001", "王*", "PLATINUM", 10**6))
    sale.redeem_points(sale.redeem_option().max_points if redeem_hundreds > 100 else 0)
    snap = sale.snapshot()
    totals = snap.totals
    assert sum(line.discount_fen for line in snap.lines) == totals.discount_fen
    assert sum(line.paid_fen for line in snap.lines) == totals.payable_fen
    assert totals.gross_fen - totals.discount_fen == totals.payable_fen
    assert all(0 <= line.discount_fen <= line.amount_fen for line in snap.lines)
    assert totals.points_to_earn <= totals.payable_fen * 2 // 100


# --- refunds -------------------------------------------------------------------------------


def _paid_sale() -> tuple[list[SaleLine], int, int]:
    sale = Sale(RULES)
    sale.add_item(COLA, 3)  # 900
    sale.add_item(BREAD, 2)  # 1700
    sale.add_item(SMOKES)  # 2500 excluded
    sale.add_open_line("Misc", 1, 1)
    sale.void_line(4, "mistake")
    sale.attach_member(GOLD)
    sale.redeem_points(1000)
    sale.begin_payment()
    snap = sale.mark_paid(sale.pay_cash(5000))
    return list(snap.lines), snap.totals.points_to_earn, snap.totals.points_redeemed


def test_full_refund_by_goods_in_steps_is_exact() -> None:
    lines, earned, redeemed = _paid_sale()
    steps = [{1: 1}, {1: 1, 2: 1}, {1: 1}, {2: 1, 3: 1}]
    done: list[RefundAllocation] = []
    for step in steps:
        done.append(refund_allocation(lines, points_earned=earned, points_redeemed=redeemed, quantities=step,
                                      previous=done))
    assert sum(r.refund_fen for r in done) == sum(line.paid_fen for line in lines)
    assert sum(r.points_to_reverse for r in done) == earned
    assert sum(r.points_to_restore for r in done) == redeemed
    # the first refund of one cola takes back points rounded up
    assert done[0].points_to_reverse >= 1
    excluded_only = refund_allocation(lines, points_earned=earned, points_redeemed=redeemed,
                                      quantities={3: 1})
    assert excluded_only.points_to_reverse == 0 and excluded_only.points_to_restore > 0


def test_refund_errors() -> None:
    lines, earned, redeemed = _paid_sale()
    kwargs = {"points_earned": earned, "points_redeemed": redeemed}
    with pytest.raises(SaleRuleError, match="not both"):
        refund_allocation(lines, **kwargs)
    with pytest.raises(SaleRuleError, match="not both"):
        refund_allocation(lines, quantities={1: 1}, amount_fen=1, **kwargs)
    with pytest.raises(SaleRuleError, match="at least one"):
        refund_allocation(lines, quantities={}, **kwargs)
    with pytest.raises(SaleRuleError, match="not a paid line"):
        refund_allocation(lines, quantities={4: 1}, **kwargs)
    with pytest.raises(SaleRuleError, match="1 to 3"):
        refund_allocation(lines, quantities={1: 4}, **kwargs)
    with pytest.raises(SaleRuleError, match="1 to 3"):
        refund_allocation(lines, quantities={1: 0}, **kwargs)
    first = refund_allocation(lines, quantities={1: 2}, **kwargs)
    with pytest.raises(SaleRuleError, match="1 to 1"):
        refund_allocation(lines, quantities={1: 2}, previous=[first], **kwargs)
    total = sum(line.paid_fen for line in lines)
    with pytest.raises(SaleRuleError, match="amount must be"):
        refund_allocation(lines, amount_fen=total + 1, **kwargs)
    almost_all = refund_allocation(lines, amount_fen=total - 1, **kwargs)
    with pytest.raises(SaleRuleError, match="more than is left"):
        refund_allocation(lines, quantities={2: 1}, previous=[almost_all], **kwargs)


def test_refund_by_amount() -> None:
    lines, earned, redeemed = _paid_sale()
    total = sum(line.paid_fen for line in lines)
    half = refund_allocation(lines, points_earned=earned, points_redeemed=redeemed, amount_fen=total // 2)
    rest = refund_allocation(lines, points_earned=earned, points_redeemed=redeemed,
                             amount_fen=total - total // 2, previous=[half])
    assert half.refund_fen + rest.refund_fen == total
    assert half.points_to_reverse + rest.points_to_reverse == earned
    assert half.points_to_restore + rest.points_to_restore <= redeemed
    assert half.lines == ()


def test_refund_without_points_or_discount() -> None:
    line = SaleLine(1, "C", "可乐", 2, "each", 300, 600, False, True, False, "", 0)
    result = refund_allocation([line], points_earned=0, points_redeemed=0, quantities={1: 1})
    assert (result.refund_fen, result.points_to_reverse, result.points_to_restore) == (300, 0, 0)


@settings(derandomize=True, deadline=None)
@given(
    st.lists(st.tuples(st.integers(1, 5000), st.integers(1, 6), st.booleans()), min_size=1, max_size=6),
    st.integers(0, 3000),
    st.randoms(use_true_random=False),
)
def test_refunds_in_any_order_add_up(lines_spec: list[tuple[int, int, bool]], redeem: int, rnd) -> None:  # type: ignore[no-untyped-def]
    sale = Sale(LoyaltyRules(redeem_cap_pct=100, redeem_step_points=1))
    for i, (price, qty, excluded) in enumerate(lines_spec):
        sale.add_item(CatalogueItem(f"C{i}", f"商品{i}", f"Item {i}", price, points_excluded=excluded), qty)
    sale.attach_member(MemberRef("8800000000000001", "王*", "GOLD", 10**6))
    sale.redeem_points(min(redeem, sale.redeem_option().max_points))
    snap = sale.snapshot()
    units = [(line.line_no, 1) for line in snap.lines for _ in range(line.quantity)]
    rnd.shuffle(units)
    done: list[RefundAllocation] = []
    for line_no, qty in units:
        done.append(refund_allocation(snap.lines, points_earned=snap.totals.points_to_earn,
                                      points_redeemed=snap.totals.points_redeemed,
                                      quantities={line_no: qty}, previous=done))
    assert sum(r.refund_fen for r in done) == snap.totals.payable_fen
    assert sum(r.points_to_reverse for r in done) == snap.totals.points_to_earn
    assert sum(r.points_to_restore for r in done) == snap.totals.points_redeemed
    assert all(r.refund_fen >= 0 and r.points_to_reverse >= 0 and r.points_to_restore >= 0 for r in done)
