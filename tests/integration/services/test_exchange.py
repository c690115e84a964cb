"""Exchanges at the till (issue 14): an item of an earlier sale comes back and another is sold, in one
transaction; the difference is paid (cash, Alipay) or given back (cash, or to Alipay through the refund path when
the earlier sale was paid by Alipay); points are adjusted once; the drawer and the refunds reconcile. Real SQLite,
the sandbox over HTTP."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from checkout_env import BREAD, COLA, MEMBER

from pos_app.alipay.card_requests import AlipayCardRequests
from pos_app.alipay.client import AlipayClient
from pos_app.domain.codes import classify
from pos_app.runtime import FixedClock, RandomIds
from pos_app.sandbox.server import SandboxServer
from pos_app.services.checkout import CheckoutService, CommittedSale
from pos_app.services.errors import CheckoutError, RefundError
from pos_app.services.exchange import ExchangeService
from pos_app.services.members import MemberService
from pos_app.services.payment import PaymentService
from pos_app.services.refunds import RefundService
from pos_app.services.till import Till, TillSession
from pos_app.storage.db import connect
from pos_app.storage.uow import SqliteUnitOfWork

WHO = TillSession(user_id=1, user_name="Alice", shift_id=1)
SUPERVISOR = 2


@pytest.fixture
def till(checkout: CheckoutService, payments: PaymentService, uow: Callable[[], SqliteUnitOfWork],
         client: AlipayClient, clock: FixedClock) -> Till:
    refunds = RefundService(uow, client, clock, RandomIds("T1"), store_id="S1", card_requests=AlipayCardRequests())
    checkout.exchange_writer = ExchangeService(uow, refunds, clock, RandomIds("T1"))
    t = Till(checkout, payments)
    t.start(WHO)
    return t


def _rows(db: Path, sql: str, *args: object) -> list[tuple[object, ...]]:
    conn = connect(db)
    try:
        return [tuple(r) for r in conn.execute(sql, args).fetchall()]
    finally:
        conn.close()


def _member(till: Till, checkout: CheckoutService, uow: Callable[[], SqliteUnitOfWork]) -> None:
    member = MemberService(uow, None, checkout._clock).get(MEMBER)  # noqa: SLF001 - the test's clock
    assert member is not None
    till.attach_member(member)


def _line_no(committed: CommittedSale, code: str) -> int:
    return next(ln.line_no for ln in committed.snapshot.lines if ln.code == code)


def test_cash_sale_exchanged_for_dearer_goods(till: Till, db: Path) -> None:
    till.scan_product(classify(COLA))
    till.scan_product(classify(COLA))
    till.scan_product(classify(BREAD))
    till.take_total()
    first = till.pay_cash(2000)                                   # 19.00 in cash
    with pytest.raises(RefundError, match="supervisor"):
        till.plan_exchange(first.receipt_no, {_line_no(first, COLA): 1}, approved_by=None)
    with pytest.raises(RefundError, match="1 to 2"):
        till.plan_exchange(first.receipt_no, {_line_no(first, COLA): 3}, approved_by=SUPERVISOR)
    plan = till.plan_exchange(first.receipt_no, {_line_no(first, COLA): 1}, approved_by=SUPERVISOR)
    assert plan.credit_fen == 350 and plan.back_method == "cash" and plan.names == ("可乐",)
    till.begin_exchange(plan)
    till.scan_product(classify(BREAD))                            # the new goods: 12.00
    snap = till.take_total()
    assert snap.remaining_fen == 850 and [p.amount_fen for p in snap.parts] == [350] and not snap.paid_parts
    assert till.cancel_payment().parts == ()                       # the credit is no payment: back to the basket
    till.take_total()
    new = till.pay_cash(1000)
    assert [(t.kind, t.amount_fen, t.change_fen, t.reference) for t in new.snapshot.tenders] == [
        ("cash", 350, 0, f"exchange:{first.receipt_no}"), ("cash", 850, 150, "")]
    assert new.exchange is not None and new.exchange.difference_fen == 850
    assert _rows(db, "SELECT method, amount_fen, state FROM refunds") == [("cash", 350, "done")]
    assert _rows(db, "SELECT state, refunded_fen FROM sales WHERE id = ?", first.sale_id) == [("partly_refunded", 350)]
    assert _rows(db, "SELECT refunded_qty FROM sale_lines WHERE sale_id = ? AND code = ?", first.sale_id, COLA) == [(1,)]
    assert _rows(db, "SELECT original_sale_id, new_sale_id, returned_fen, new_fen, difference_fen FROM exchanges") == [
        (first.sale_id, new.sale_id, 350, 1200, 850)]
    # the drawer: 19.00 + 12.00 taken, 3.50 of it the returned cola's credit (refunded in cash, taken back)
    taken = _rows(db, "SELECT sum(tendered_fen - change_fen) FROM tenders WHERE kind = 'cash'")[0][0]
    refunded = _rows(db, "SELECT sum(amount_fen) FROM refunds WHERE method = 'cash' AND state = 'done'")[0][0]
    assert taken - refunded == 1900 + 850                          # type: ignore[operator]
    # the same cola cannot come back twice
    with pytest.raises(RefundError, match="1 to 1"):
        till.plan_exchange(first.receipt_no, {_line_no(first, COLA): 2}, approved_by=SUPERVISOR)


def test_alipay_sale_exchanged_for_cheaper_goods_gives_the_difference_back_to_alipay(
        till: Till, checkout: CheckoutService, uow: Callable[[], SqliteUnitOfWork], sandbox: SandboxServer,
        db: Path) -> None:
    _member(till, checkout, uow)
    till.scan_product(classify(BREAD))
    till.scan_product(classify(COLA))
    till.take_total()
    first = till.pay_alipay("280000000000002001", subject="Demo").committed   # 15.50 by Alipay
    assert first is not None and first.points_earned == 23                  # GOLD: 15.50 × 1.5
    plan = till.plan_exchange(first.receipt_no, {_line_no(first, BREAD): 1}, approved_by=SUPERVISOR)
    assert plan.credit_fen == 1200 and plan.back_method == "alipay" and plan.card_no == MEMBER
    till.begin_exchange(plan)
    _member(till, checkout, uow)
    till.scan_product(classify(COLA))
    snap = till.take_total()
    assert snap.exchange_covers and snap.exchange_back_fen == 850
    with pytest.raises(CheckoutError):
        till.pay_cash(0)                                            # nothing to pay: settle the exchange
    new = till.settle_exchange()
    assert [(t.kind, t.amount_fen, t.reference) for t in new.snapshot.tenders] == [
        ("cash", 350, f"exchange:{first.receipt_no}")]
    done = new.exchange
    assert done.difference_fen == -850 and done.back_state == "pending" and done.points_reversed == 18
    outcome = till.send_exchange_back(new)
    assert outcome is not None and outcome.state == "done"
    assert _rows(db, "SELECT method, amount_fen, state, points_reversed FROM refunds ORDER BY id") == [
        ("cash", 350, "done", 18), ("alipay", 850, "done", 0)]
    trade = sandbox.trade(_rows(db, "SELECT out_trade_no FROM payment_attempts")[0][0])  # type: ignore[arg-type]
    assert trade is not None and int(trade["refund_fen"]) == 850
    # points: earned once on each sale, the returned bread's reversed once
    assert _rows(db, "SELECT kind, points FROM points_ledger WHERE kind != 'opening' ORDER BY id") == [
        ("earn", 23), ("earn", 5), ("reverse_earn", -18)]
    # and Alipay cannot be asked for more than it kept: 15.50 - 8.50
    refunds = RefundService(uow, None, checkout._clock, RandomIds("T1"), card_requests=AlipayCardRequests())  # noqa: SLF001
    with pytest.raises(RefundError):
        refunds.refund(first.sale_id, None, 800, method="alipay", reason="t", cashier_id=1, approved_by=2, shift_id=1)


def test_an_exchange_paid_by_alipay_is_recovered_after_a_stop(
        till: Till, checkout: CheckoutService, payments: PaymentService, db: Path) -> None:
    till.scan_product(classify(COLA))
    till.take_total()
    first = till.pay_cash(350)
    till.begin_exchange(till.plan_exchange(first.receipt_no, {1: 1}, approved_by=SUPERVISOR))
    till.scan_product(classify(BREAD))
    till.take_total()                                             # 12.00 - 3.50 credit = 8.50 by Alipay
    # the terminal stops after Alipay confirmed the 8.50 and before the commit
    sale = till._sale  # noqa: SLF001 - the sale the stopped till held
    att = payments.begin(850, "280000000000002002", "Demo", shift_id=1, cashier_id=1, basket=checkout.basket_of(sale))
    assert payments.run(att.id, "280000000000002002").paid
    committed = payments.resolve_orphan(att.id, "complete", SUPERVISOR, by_user_name="Sam")
    assert isinstance(committed, CommittedSale) and committed.exchange is not None
    assert [(t.kind, t.amount_fen) for t in committed.snapshot.tenders] == [("cash", 350), ("alipay", 850)]
    assert _rows(db, "SELECT returned_fen, new_fen FROM exchanges") == [(350, 1200)]
    assert _rows(db, "SELECT state FROM sales WHERE id = ?", first.sale_id) == [("refunded",)]


def test_even_exchange_from_a_split_sale(till: Till, db: Path) -> None:
    till.scan_product(classify(BREAD))
    till.scan_product(classify(BREAD))
    till.take_total()
    till.pay_alipay("280000000000002003", subject="Demo", amount_fen=500)   # 24.00: 5.00 Alipay, 19.00 cash
    first = till.pay_cash(1900)
    plan = till.plan_exchange(first.receipt_no, {1: 1}, approved_by=SUPERVISOR)
    assert plan.credit_fen == 1200 and plan.back_method == "cash"          # Alipay kept only 5.00
    till.begin_exchange(plan)
    till.scan_product(classify(BREAD))                                      # the same price: nothing to pay
    snap = till.take_total()
    assert snap.exchange_covers and snap.exchange_back_fen == 0
    new = till.settle_exchange()
    assert new.exchange.difference_fen == 0 and new.exchange.back_refund_id is None
    with pytest.raises(CheckoutError, match="not paid by Alipay"):
        till.begin_exchange(till.plan_exchange(first.receipt_no, {1: 1}, approved_by=SUPERVISOR))
        till.scan_product(classify(COLA))
        till.take_total()
        till.settle_exchange("alipay")
    till.cancel_exchange()
    assert till.snapshot().exchange is None
    assert _rows(db, "SELECT method, amount_fen FROM refunds") == [("cash", 1200)]
