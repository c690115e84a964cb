"""Sale commits: cash with change, a member paid by Alipay earning points, redemption, and all-or-nothing."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from checkout_env import BREAD, COLA, MEMBER, MEMBER_NO_BIZ, TOBACCO

from pos_app.alipay.card_requests import AlipayCardRequests
from pos_app.domain.codes import classify, is_receipt_code
from pos_app.sandbox.server import SandboxServer
from pos_app.services.checkout import CheckoutService
from pos_app.services.errors import CheckoutError, UnknownProduct
from pos_app.services.members import MemberService
from pos_app.services.payment import PaymentService
from pos_app.storage.db import connect
from pos_app.storage.uow import SqliteUnitOfWork


def _counts(db: Path) -> dict[str, int]:
    conn = connect(db)
    out = {t: conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
           for t in ("sales", "sale_lines", "tenders", "points_ledger", "outbox", "audit_log")}
    conn.close()
    return out


def _member(uow: Callable[[], SqliteUnitOfWork], checkout: CheckoutService, card: str = MEMBER) -> Any:
    view = MemberService(uow, None, checkout._clock).get(card)
    assert view is not None
    return view.ref()


def test_cash_sale_with_change(checkout: CheckoutService, db: Path) -> None:
    sale = checkout.new_sale()
    checkout.add_scan(sale, classify(COLA))
    checkout.add_scan(sale, classify(COLA))
    committed = checkout.commit_cash(sale, 10000, shift_id=1, cashier_id=1, cashier_name="Alice")
    assert committed.change_fen == 10000 - committed.snapshot.totals.payable_fen
    assert is_receipt_code(committed.receipt_no)
    assert committed.points_balance is None and committed.trade_no == ""
    conn = connect(db)
    row = conn.execute("SELECT state, total_fen, receipt_hash FROM sales WHERE id = ?", (committed.sale_id,)).fetchone()
    assert row[0] == "paid" and row[1] == committed.snapshot.totals.payable_fen and len(row[2]) == 64
    tender = conn.execute("SELECT kind, tendered_fen, change_fen FROM tenders").fetchone()
    assert tuple(tender) == ("cash", 10000, committed.change_fen)
    assert conn.execute("SELECT count(*) FROM outbox").fetchone()[0] == 0
    assert conn.execute("SELECT action FROM audit_log").fetchone()[0] == "sale.committed"
    conn.close()


def test_weighed_and_unknown_products(checkout: CheckoutService) -> None:
    sale = checkout.new_sale()
    from pos_app.domain.codes import gtin_check_digit

    body = "230000101234"  # apples, 1234 g
    line = checkout.add_scan(sale, classify(body + str(gtin_check_digit(body))))
    assert line.quantity == 1234 and line.amount_fen == 1234  # 10.00/kg
    with pytest.raises(UnknownProduct, match="not in the catalogue"):
        checkout.add_scan(sale, classify("4006381333931"))
    assert checkout.find_product(BREAD) is not None
    assert [i.code for i in checkout.search_catalogue("Bre")] == [BREAD]
    assert [i.code for i in checkout.search_catalogue("690")] == [COLA]
    # a 50 000-character search (a stuck key, a pasted file) is cut, not a storage error
    assert checkout.search_catalogue("x" * 50_000) == []
    assert [i.code for i in checkout.search_catalogue("Bre" + " " * 200)] == [BREAD]
    assert [i.code for i in checkout.search_catalogue("%" * 30_000)] == []


def test_member_alipay_sale_earns_points(checkout: CheckoutService, payments: PaymentService,
                                        uow: Callable[[], SqliteUnitOfWork], sandbox: SandboxServer, db: Path) -> None:
    sale = checkout.new_sale()
    checkout.add_scan(sale, classify(BREAD))      # 12.00
    checkout.add_scan(sale, classify(TOBACCO))    # 25.00, earns nothing
    sale.attach_member(_member(uow, checkout))
    totals = sale.begin_payment()
    att = payments.begin(totals.payable_fen, "28000000000000999", "Demo Shop", shift_id=1, cashier_id=1,
                         basket=checkout.basket_of(sale))
    out = payments.run(att.id, "28000000000000999")
    assert out.paid
    committed = checkout.commit_alipay(sale, out.attempt, shift_id=1, cashier_id=1, cashier_name="Alice")
    assert committed.points_earned == 18  # 12.00 × 1 × 150 % (GOLD)
    assert committed.points_balance == 1018 and committed.trade_no == out.trade_no
    conn = connect(db)
    assert conn.execute("SELECT sale_id FROM payment_attempts WHERE id = ?", (att.id,)).fetchone()[0] \
        == committed.sale_id
    ledger = conn.execute("SELECT kind, points, balance_after FROM points_ledger WHERE sale_id = ?",
                          (committed.sale_id,)).fetchall()
    assert [tuple(r) for r in ledger] == [("earn", 18, 1018)]
    rows = conn.execute("SELECT kind, body_json, points_after FROM outbox ORDER BY id").fetchall()
    assert [r[0] for r in rows] == ["card.consume_sync", "card.update"]
    consume = json.loads(rows[0][1])
    biz = sandbox.card(MEMBER)
    assert consume["trade_no"] == out.trade_no and consume["trade_type"] == "TRADE"
    assert consume["card_info"]["point"] == "1018" and consume["act_pay_amount"] == "37.00"
    assert consume["target_card_no_type"] in ("BIZ_CARD", "EXTERNAL_CARD")
    assert len(consume["trade_time"]) == 19
    update = json.loads(rows[1][1])
    assert update["card_info"]["point"] == "1018" and update["merchant_card_msg_info"]["changed_point"] == "18"
    assert "occur_time" in update and rows[1][2] == 1018
    audit = conn.execute("SELECT action, subject FROM audit_log WHERE action = 'sale.committed'").fetchone()
    assert audit[1] == committed.receipt_no
    conn.close()
    # the same attempt cannot make a second sale
    sale2 = checkout.new_sale()
    checkout.add_scan(sale2, classify(BREAD))
    checkout.add_scan(sale2, classify(TOBACCO))
    with pytest.raises(CheckoutError):
        checkout.commit_alipay(sale2, out.attempt, shift_id=1, cashier_id=1, cashier_name="Alice")
    assert biz is not None


def test_redemption(checkout: CheckoutService, uow: Callable[[], SqliteUnitOfWork], db: Path) -> None:
    sale = checkout.new_sale()
    for _ in range(4):
        checkout.add_scan(sale, classify(BREAD))  # 48.00
    sale.attach_member(_member(uow, checkout))
    assert sale.redeem_points(1000) == 1000  # 10.00
    committed = checkout.commit_cash(sale, 5000, shift_id=1, cashier_id=1, cashier_name="Alice")
    t = committed.snapshot.totals
    assert t.payable_fen == 3800 and committed.change_fen == 1200
    assert committed.points_earned == 57  # 38.00 × 150 %
    assert committed.points_balance == 1000 - 1000 + 57
    conn = connect(db)
    ledger = conn.execute("SELECT kind, points FROM points_ledger WHERE sale_id = ? ORDER BY id",
                          (committed.sale_id,)).fetchall()
    assert [tuple(r) for r in ledger] == [("redeem", -1000), ("earn", 57)]
    # consume.sync records an Alipay trade (alipay-api.md 5.3): a cash sale moves the card by card.update only
    assert conn.execute("SELECT count(*) FROM outbox WHERE kind = 'card.consume_sync'").fetchone()[0] == 0
    upd = json.loads(conn.execute("SELECT body_json FROM outbox WHERE kind = 'card.update'").fetchone()[0])
    assert upd["merchant_card_msg_info"]["changed_point"] == "-943"
    conn.close()


def test_member_without_biz_card_uses_external_card(checkout: CheckoutService,
                                                    uow: Callable[[], SqliteUnitOfWork], db: Path) -> None:
    sale = checkout.new_sale()
    checkout.add_scan(sale, classify(BREAD))
    sale.attach_member(_member(uow, checkout, MEMBER_NO_BIZ))
    checkout.commit_cash(sale, 1200, shift_id=1, cashier_id=1, cashier_name="Alice")
    conn = connect(db)
    body = json.loads(conn.execute("SELECT body_json FROM outbox WHERE kind = 'card.update'").fetchone()[0])
    assert body["target_card_no"] == MEMBER_NO_BIZ and body["target_card_no_type"] == "EXTERNAL_CARD"
    conn.close()


class _FailingJournal:
    def __init__(self, real: Any) -> None:
        self._real = real

    def enqueue(self, **kw: Any) -> int:
        return int(self._real.enqueue(**kw))

    def audit(self, **kw: Any) -> int:
        raise RuntimeError("disk pulled out mid-commit")


class _FailingUow(SqliteUnitOfWork):
    @property
    def journal(self) -> Any:
        return _FailingJournal(super().journal)


def test_commit_is_all_or_nothing(checkout: CheckoutService, uow: Callable[[], SqliteUnitOfWork], db: Path) -> None:
    before = _counts(db)
    failing = CheckoutService(lambda: _FailingUow(uow().conn), checkout._clock, checkout._ids, checkout.config, card_requests=AlipayCardRequests())
    sale = failing.new_sale()
    failing.add_scan(sale, classify(BREAD))
    sale.attach_member(_member(uow, checkout))
    with pytest.raises(RuntimeError):
        failing.commit_cash(sale, 2000, shift_id=1, cashier_id=1, cashier_name="Alice")
    assert _counts(db) == before
    assert sale.state.value == "awaiting_payment"  # not marked paid: the cashier can retry
    committed = checkout.commit_cash(sale, 2000, shift_id=1, cashier_id=1, cashier_name="Alice")
    assert committed.points_earned == 18


def test_voided_lines_keep_reason_and_approver(checkout: CheckoutService, db: Path) -> None:
    sale = checkout.new_sale()
    checkout.add_scan(sale, classify(BREAD))
    checkout.add_scan(sale, classify(COLA))
    checkout.add_scan(sale, classify(TOBACCO))
    lines = sale.snapshot().lines
    sale.void_line(lines[0].line_no, "customer changed mind")
    sale.void_line(lines[1].line_no, "cashier error", approved_by=1)
    committed = checkout.commit_cash(sale, 100000, shift_id=1, cashier_id=1, cashier_name="Alice")
    conn = connect(db)
    rows = conn.execute("SELECT voided, void_reason, voided_by FROM sale_lines WHERE sale_id = ? ORDER BY line_no",
                        (committed.sale_id,)).fetchall()
    conn.close()
    assert [tuple(r) for r in rows] == [(1, "customer changed mind", None), (1, "cashier error", 1), (0, "", None)]
