"""Regression tests for the findings of the reliability runs and the fuzzers (docs/reliability.md, "Findings")."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from pos_app.sandbox import SandboxServer
from pos_app.services.errors import CheckoutError
from tests.reliability.harness.env import (
    CASHIER,
    ITEMS,
    MEMBERS,
    SUPERVISOR,
    GatewayInfo,
    build_services,
    init_db,
    issue_cards,
)


def test_f2_refund_after_the_points_were_spent_never_makes_the_balance_negative(tmp_path: Path) -> None:
    """Finding F2 (network-fault day, seed 20261125, 2026-11-25): a refund reversed the points a sale had
    earned although the member had redeemed them since; the balance went to -36, the card.update carried a
    negative point (refused by Alipay: a dead letter that blocks the card) and redeem_option raised."""
    db = tmp_path / "pos.sqlite3"
    init_db(db)
    svc = build_services(db, None)
    cashier = svc.users.authenticate(CASHIER[0], CASHIER[1])
    shift = svc.shifts.open_shift(cashier, float_fen=0)
    card_no, opening = MEMBERS[0]
    rice = next(i for i in ITEMS if i.name_en == "Rice")
    tobacco = next(i for i in ITEMS if i.points_excluded)   # earns nothing, so a redemption really spends

    def sale(qty: int, redeem_all: bool) -> str:
        s = svc.checkout.new_sale()
        s.add_item(tobacco if redeem_all else rice, qty)
        view = svc.members.get(card_no, s.totals().payable_fen)
        assert view is not None
        s.attach_member(view.ref())
        if redeem_all:
            s.redeem_points(int(s.redeem_option().max_points))
        done = svc.checkout.commit_cash(s, s.totals().payable_fen, shift_id=shift.id, cashier_id=cashier.id,
                                        cashier_name=cashier.name)
        return str(done.receipt_no)

    def balance() -> int:
        with svc.uow() as uow:
            return int(uow.conn.execute("SELECT coalesce(sum(points), 0) FROM points_ledger WHERE card_no = ?",
                                        (card_no,)).fetchone()[0])

    first = sale(3, redeem_all=False)                  # earns points
    with svc.uow() as uow:
        first_id, earned = uow.conn.execute("SELECT id, points_earned FROM sales WHERE receipt_no = ?",
                                            (first,)).fetchone()
        sup = int(uow.conn.execute("SELECT id FROM users WHERE number = ?", (SUPERVISOR[0],)).fetchone()[0])
    assert earned > 0
    sale(20, redeem_all=True)                          # spend them (redemption steps of 100 points)
    left = balance()
    assert 0 <= left < earned, (left, earned)
    out = svc.refunds.refund(int(first_id), None, 5990 * 3, method="cash", reason="return",
                             cashier_id=cashier.id, approved_by=sup, shift_id=shift.id, cashier_name=cashier.name)
    assert out.state == "done"
    assert balance() == 0, "the reversal takes what is left, never more"
    assert out.points_reversed == left
    with svc.uow() as uow:
        stored = uow.conn.execute("SELECT points_reversed FROM refunds WHERE sale_id = ?", (first_id,)).fetchone()[0]
        sent = [int(r[0]) for r in uow.conn.execute("SELECT points_after FROM outbox WHERE card_no = ?", (card_no,))]
    assert stored == left, "the refund row says what was really reversed (Z report)"
    assert sent and min(sent) >= 0, f"a negative balance would go to Alipay: {sent}"
    view = svc.members.get(card_no, 1000)
    assert view is not None and view.points_balance == 0
    svc.close()
    assert opening > 0


def test_f3_orphan_whose_points_were_spent_is_refunded_not_completed(tmp_path: Path) -> None:
    """Finding F3 (network-fault day, seed 20261125, 2026-11-25): a paid Alipay sale redeeming 700 points was
    killed before its commit; while the payment was unknown the member spent the points in other sales; the
    orphan was then completed and took the card to -589 points (card.update refused: a dead letter)."""
    sandbox = SandboxServer(tmp_path / "sandbox").start()
    try:
        db = tmp_path / "pos.sqlite3"
        init_db(db, issue_cards(sandbox))
        svc = build_services(db, GatewayInfo.of(sandbox))
        assert svc.payment is not None
        cashier = svc.users.authenticate(CASHIER[0], CASHIER[1])
        shift = svc.shifts.open_shift(cashier, float_fen=0)
        with svc.uow() as uow:
            sup = int(uow.conn.execute("SELECT id FROM users WHERE number = ?", (SUPERVISOR[0],)).fetchone()[0])
        card_no, opening = MEMBERS[2]
        tobacco = next(i for i in ITEMS if i.points_excluded)

        def basket() -> Any:
            s = svc.checkout.new_sale()
            s.add_item(tobacco, 20)
            view = svc.members.get(card_no, s.totals().payable_fen)
            assert view is not None
            s.attach_member(view.ref())
            s.redeem_points(int(s.redeem_option().max_points))
            return s

        paid = basket()
        paid.begin_payment()
        code = "28" + "7" * 16
        sandbox.script_auth_code(code, "success")
        att = svc.payment.begin(paid.totals().payable_fen, code, "orphan", shift_id=shift.id, cashier_id=cashier.id,
                                basket=svc.checkout.basket_of(paid))
        assert svc.payment.run(att.id, code).paid       # ... and the terminal dies before commit_alipay
        spend = basket()                                 # the same points, spent again in a cash sale
        svc.checkout.commit_cash(spend, spend.totals().payable_fen, shift_id=shift.id, cashier_id=cashier.id,
                                 cashier_name=cashier.name)
        [orphan] = svc.payment.orphans()
        with pytest.raises(CheckoutError, match="points were spent"):
            svc.payment.resolve_orphan(orphan.id, "complete", sup, by_user_name="sup")
        svc.payment.resolve_orphan(orphan.id, "refund", sup, by_user_name="sup")
        assert svc.payment.orphans() == []
        with svc.uow() as uow:
            balance = uow.conn.execute("SELECT coalesce(sum(points), 0) FROM points_ledger WHERE card_no = ?",
                                       (card_no,)).fetchone()[0]
        assert 0 <= balance < 100 <= opening
        trade = sandbox.trade(orphan.out_trade_no)
        assert trade is not None and trade["refund_fen"] == trade["total_fen"], "the customer got the money back"
        svc.close()
    finally:
        sandbox.stop()


def test_o1_o2_money_settling_after_its_shift_closed_counts_in_the_open_shift(tmp_path: Path) -> None:
    """Findings O1/O2 (network-fault day, seed 19): a refund confirmed, or an escalated payment completed, after
    its shift was closed landed in that closed shift, whose Z was already printed: the money was then in no open
    shift's figures. It now settles into the terminal's open shift (and stays put when none is open)."""
    from pos_app.storage.db import connect
    from pos_app.storage.sales import SqliteSales

    db = tmp_path / "pos.sqlite3"
    init_db(db)
    svc = build_services(db, None)
    cashier = svc.users.authenticate(CASHIER[0], CASHIER[1])
    first = svc.shifts.open_shift(cashier, float_fen=0)
    conn = connect(db)
    repo = SqliteSales(conn)
    assert repo.settling_shift(first.id) == first.id            # open: the money stays in its own shift
    conn.execute("UPDATE shifts SET state = 'closed', closed_at = opened_at WHERE id = ?", (first.id,))
    assert repo.settling_shift(first.id) == first.id            # closed, and nothing open: nowhere else to go
    second = svc.shifts.open_shift(cashier, float_fen=0)
    assert repo.settling_shift(first.id) == second.id           # closed, another open: the open one
    assert repo.settling_shift(second.id) == second.id
    conn.close()
