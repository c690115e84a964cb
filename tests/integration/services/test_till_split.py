"""Split tender at the till (issue 14): Alipay + cash on one sale with the write-ahead rules intact — the sale
commits only when the tenders cover it, a confirmed Alipay part is held (never an orphan) while the sale is at
the till, giving the sale up refunds it (supervised), a stop between the part and the commit is recovered, points
are earned once, refunds by Alipay stay within what Alipay took. Real SQLite, the sandbox over HTTP."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from checkout_env import BREAD, COLA, MEMBER

from pos_app.alipay.card_requests import AlipayCardRequests
from pos_app.alipay.client import AlipayClient
from pos_app.domain.codes import classify
from pos_app.domain.sale import SaleState
from pos_app.runtime import FixedClock, RandomIds
from pos_app.sandbox.server import SandboxServer
from pos_app.services.checkout import CheckoutService
from pos_app.services.errors import CheckoutError, RefundError
from pos_app.services.members import MemberService
from pos_app.services.payment import PaymentService
from pos_app.services.refunds import RefundService
from pos_app.services.till import PartsPaid, ScanMode, Till, TillSession
from pos_app.storage.db import connect
from pos_app.storage.uow import SqliteUnitOfWork

WHO = TillSession(user_id=1, user_name="Alice", shift_id=1)
SUPERVISOR = 2


def _till(checkout: CheckoutService, payments: PaymentService | None) -> Till:
    till = Till(checkout, payments)
    till.start(WHO)
    return till


def _rows(db: Path, sql: str, *args: object) -> list[tuple[object, ...]]:
    conn = connect(db)
    try:
        return [tuple(r) for r in conn.execute(sql, args).fetchall()]
    finally:
        conn.close()


def _basket(till: Till, checkout: CheckoutService, uow: Callable[[], SqliteUnitOfWork] | None = None) -> int:
    till.scan_product(classify(COLA))
    till.scan_product(classify(COLA))
    till.scan_product(classify(BREAD))          # 2 × 3.50 + 12.00 = 19.00
    if uow is not None:
        member = MemberService(uow, None, checkout._clock).get(MEMBER)  # noqa: SLF001 - the test's clock
        assert member is not None
        till.attach_member(member)
    return till.take_total().payable_fen


def test_half_alipay_half_cash(checkout: CheckoutService, payments: PaymentService, sandbox: SandboxServer,
                               uow: Callable[[], SqliteUnitOfWork], db: Path) -> None:
    till = _till(checkout, payments)
    assert _basket(till, checkout, uow) == 1900
    result = till.pay_alipay("280000000000001001", subject="Demo", amount_fen=1000)
    assert result.paid and result.committed is None and result.part is not None
    assert result.part.amount_fen == 1000 and result.part.reference
    snap = till.snapshot()
    assert snap.mode is ScanMode.AWAITING_PAYMENT and snap.remaining_fen == 900 and len(snap.parts) == 1
    # the part is held by the sale: not an orphan, nothing committed yet
    assert payments.orphans() == []
    assert _rows(db, "SELECT state, sale_id, resolution, amount_fen FROM payment_attempts") == [
        ("paid", None, "held", 1000)]
    assert _rows(db, "SELECT count(*) FROM sales") == [(0,)]
    # the sale cannot be dropped or changed while a part is paid
    assert till.cancel_payment().mode is ScanMode.AWAITING_PAYMENT
    assert till.new_sale().parts == snap.parts
    with pytest.raises(CheckoutError):
        till.scan_product(classify(COLA))
    with pytest.raises(CheckoutError, match="more than 0 and less"):
        till.pay_cash_part(900)                                   # a part leaves something to pay
    with pytest.raises(CheckoutError, match="short"):
        till.pay_cash(500)                                        # short: refused, the part stays, still waiting
    assert till.snapshot().remaining_fen == 900 and till.snapshot().mode is ScanMode.AWAITING_PAYMENT
    committed = till.pay_cash(1000)
    assert [(t.kind, t.amount_fen, t.tendered_fen, t.change_fen) for t in committed.snapshot.tenders] == [
        ("alipay", 1000, 1000, 0), ("cash", 900, 1000, 100)]
    assert committed.change_fen == 100 and committed.trade_no == result.part.reference
    assert committed.points_earned == 28                          # once, on the whole 19.00 (GOLD x1.5)
    sale_id = committed.sale_id
    assert _rows(db, "SELECT kind, amount_fen, tendered_fen, change_fen, attempt_id IS NOT NULL FROM tenders"
                 " WHERE sale_id = ? ORDER BY id", sale_id) == [("alipay", 1000, 1000, 0, 1), ("cash", 900, 1000, 100, 0)]
    assert _rows(db, "SELECT state, sale_id, resolution FROM payment_attempts") == [("paid", sale_id, "")]
    assert _rows(db, "SELECT kind, points FROM points_ledger WHERE sale_id = ?", sale_id) == [("earn", 28)]
    assert _rows(db, "SELECT count(*) FROM outbox WHERE sale_id = ? AND kind = 'card.consume_sync'", sale_id) == [(1,)]
    trade = sandbox.trade(_rows(db, "SELECT out_trade_no FROM payment_attempts")[0][0])  # type: ignore[arg-type]
    assert trade is not None and int(trade["total_fen"]) == 1000
    assert till.snapshot().sale.lines == () and till.snapshot().mode is ScanMode.PRODUCT
    # a refund by Alipay stays within what Alipay took; the rest goes back in cash
    refunds = RefundService(uow, payments._gateway, checkout._clock, RandomIds("T1"), card_requests=AlipayCardRequests())  # noqa: SLF001
    with pytest.raises(RefundError, match="Alipay"):
        refunds.refund(sale_id, None, 1500, method="alipay", reason="test", cashier_id=1, approved_by=2, shift_id=1)
    assert refunds.refund(sale_id, None, 1000, method="alipay", reason="test", cashier_id=1, approved_by=2,
                          shift_id=1).state == "done"
    assert refunds.refund(sale_id, None, 900, method="cash", reason="test", cashier_id=1, approved_by=2,
                          shift_id=1).sale_state == "refunded"


def test_cash_part_then_alipay_rest(checkout: CheckoutService, payments: PaymentService, db: Path) -> None:
    till = _till(checkout, payments)
    _basket(till, checkout)
    assert till.pay_cash_part(500).remaining_fen == 1400
    result = till.pay_alipay("280000000000001002", subject="Demo")
    assert result.committed is not None
    assert [(t.kind, t.amount_fen) for t in result.committed.snapshot.tenders] == [("cash", 500), ("alipay", 1400)]
    assert _rows(db, "SELECT amount_fen, sale_id FROM payment_attempts") == [(1400, result.committed.sale_id)]
    assert _rows(db, "SELECT sum(amount_fen) FROM tenders") == [(1900,)]


def test_a_declined_rest_keeps_the_parts(checkout: CheckoutService, payments: PaymentService,
                                         sandbox: SandboxServer, db: Path) -> None:
    till = _till(checkout, payments)
    _basket(till, checkout)
    till.pay_alipay("280000000000001003", subject="Demo", amount_fen=1000)
    sandbox.script_auth_code("280000000000001004", "balance_not_enough")
    result = till.pay_alipay("280000000000001004", subject="Demo")
    assert not result.paid
    assert till.snapshot().remaining_fen == 900 and _rows(db, "SELECT count(*) FROM sales") == [(0,)]
    assert till.pay_cash(900).snapshot.totals.payable_fen == 1900


def test_giving_the_sale_up_refunds_the_alipay_part(checkout: CheckoutService, payments: PaymentService,
                                                    sandbox: SandboxServer, db: Path) -> None:
    till = _till(checkout, payments)
    _basket(till, checkout)
    till.pay_cash_part(300)
    till.pay_alipay("280000000000001005", subject="Demo", amount_fen=1000)
    with pytest.raises(PartsPaid):
        till.load_sale(checkout.new_sale())
    gave = till.give_back_parts(SUPERVISOR, approver_name="Sam")
    assert (gave.alipay_refunded_fen, gave.cash_fen, gave.left) == (1000, 300, ())
    assert gave.snapshot.sale.state is SaleState.OPEN and gave.snapshot.mode is ScanMode.PRODUCT
    out_trade_no, resolution = _rows(db, "SELECT out_trade_no, resolution FROM payment_attempts")[0]
    assert resolution == "refunded"
    trade = sandbox.trade(str(out_trade_no))
    assert trade is not None and int(trade.get("refund_fen", 0)) == 1000
    actions = [r[0] for r in _rows(db, "SELECT action FROM audit_log ORDER BY id")]
    assert "payment.part_refunded" in actions and "sale.parts_given_back" in actions
    assert payments.orphans() == []
    # the basket is the customer's again: paid in cash after all
    till.take_total()
    assert till.pay_cash(1900).snapshot.tenders[0].amount_fen == 1900


def test_a_stop_after_the_alipay_part_is_recovered(checkout: CheckoutService, payments: PaymentService,
                                                   uow: Callable[[], SqliteUnitOfWork], client: AlipayClient,
                                                   clock: FixedClock, db: Path) -> None:
    till = _till(checkout, payments)
    _basket(till, checkout)
    till.pay_cash_part(400)
    till.pay_alipay("280000000000001006", subject="Demo", amount_fen=1000)
    del till   # the terminal stops here: the sale with its parts is gone, the paid part is written ahead
    again = PaymentService(uow, client, clock, RandomIds("T1"), payments._config, sleep=lambda s: None,  # noqa: SLF001
                           checkout=checkout)
    assert again.orphans() == []            # held until start-up recovery releases it
    again.recover()
    orphans = again.orphans()
    assert [o.amount_fen for o in orphans] == [1000]
    assert checkout.part_of_split(orphans[0]) == 500     # 19.00 - 4.00 cash - 10.00 Alipay
    committed = again.resolve_orphan(orphans[0].id, "complete", SUPERVISOR, by_user_name="Sam")
    assert not isinstance(committed, type(orphans[0]))
    tenders = committed.snapshot.tenders  # type: ignore[union-attr]
    assert [(t.kind, t.amount_fen) for t in tenders] == [("cash", 400), ("alipay", 1000), ("cash", 500)]
    assert _rows(db, "SELECT sum(amount_fen) FROM tenders") == [(1900,)]
    assert again.orphans() == []
    with pytest.raises(Exception, match="not waiting"):
        again.resolve_orphan(orphans[0].id, "refund", SUPERVISOR)


def test_a_held_part_keeps_the_shift_open(checkout: CheckoutService, payments: PaymentService,
                                          uow: Callable[[], SqliteUnitOfWork], clock: FixedClock) -> None:
    from pos_app.services.shifts import ShiftService, UnresolvedPayments
    from pos_app.services.users import User

    till = _till(checkout, payments)
    _basket(till, checkout)
    till.pay_alipay("280000000000001007", subject="Demo", amount_fen=1000)
    shifts = ShiftService(uow, clock, terminal_id="T1")
    assert [p.amount_fen for p in shifts.begin_close().blocking_payments] == [1000]
    with pytest.raises(UnresolvedPayments):
        shifts.close_shift({}, User(id=1, number="001", name="Alice", role="cashier"))
    till.pay_cash(900)
    assert shifts.begin_close().blocking_payments == ()
