"""Refunds (cumulative, points reversed through ledger + outbox) and member resolution against the sandbox."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from checkout_env import BREAD, COLA, MEMBER, make_client

from pos_app.alipay.card_requests import AlipayCardRequests
from pos_app.alipay.client import AlipayClient
from pos_app.alipay.subcodes import business_failure
from pos_app.domain.codes import CodeKind, ScanCode, classify
from pos_app.runtime import FixedClock, RandomIds
from pos_app.sandbox.server import SandboxServer
from pos_app.services.checkout import CheckoutService
from pos_app.services.errors import RefundError
from pos_app.services.members import MemberService
from pos_app.services.payment import PaymentService
from pos_app.services.refunds import RefundService
from pos_app.storage.db import connect
from pos_app.storage.uow import SqliteUnitOfWork


def _paid_member_sale(checkout: CheckoutService, payments: PaymentService, uow: Callable[[], SqliteUnitOfWork],
                      auth: str) -> object:
    sale = checkout.new_sale()
    for _ in range(3):
        checkout.add_scan(sale, classify(BREAD))  # 3 × 12.00
    checkout.add_scan(sale, classify(COLA))       # 3.50
    member = MemberService(uow, None, checkout._clock).get(MEMBER)
    assert member is not None
    sale.attach_member(member.ref())
    sale.redeem_points(500)                       # 5.00 off
    total = sale.begin_payment().payable_fen
    att = payments.begin(total, auth, "Demo Shop", shift_id=1, cashier_id=1, basket=checkout.basket_of(sale))
    out = payments.run(att.id, auth)
    assert out.paid
    return checkout.commit_alipay(sale, out.attempt, shift_id=1, cashier_id=1, cashier_name="Alice")


def test_alipay_refund_lines_then_amount(checkout: CheckoutService, payments: PaymentService,
                                        uow: Callable[[], SqliteUnitOfWork], client: AlipayClient,
                                        sandbox: SandboxServer, db: Path, clock: FixedClock) -> None:
    committed = _paid_member_sale(checkout, payments, uow, "28100000000000001")
    refunds = RefundService(uow, client, clock, RandomIds("T1"), store_id="S1", card_requests=AlipayCardRequests())
    detail = refunds.find_sale(committed.receipt_no)  # type: ignore[attr-defined]
    assert detail.refundable_fen == 3450 and detail.refundable_qty == {1: 3, 2: 1}
    conn = connect(db)
    # the sale's shift closes and the next one opens: the refunds count where the money moves (shift 2)
    conn.execute("UPDATE shifts SET state = 'closed', closed_at = '2026-01-02' WHERE id = 1")
    conn.execute("INSERT INTO shifts (id, terminal_id, number, state, opened_by, opened_at, opening_float_fen)"
                 " VALUES (2, 'T1', 2, 'open', 1, '2026-01-02', 0)")
    first = refunds.refund(detail.sale.id, [(1, 1)], None, method="alipay", reason="stale", cashier_id=1,
                           approved_by=2, shift_id=2)
    assert first.state == "done" and first.sale_state == "partly_refunded"
    assert first.amount_fen == (3600 - detail.lines[0].discount_fen) // 3
    trade = sandbox.trade(detail.out_trade_no)
    assert trade["refund_fen"] == first.amount_fen and trade["status"] == "TRADE_SUCCESS"
    assert first.points_reversed > 0 and first.points_restored > 0
    rest = refunds.find_sale(committed.receipt_no).refundable_fen  # type: ignore[attr-defined]
    second = refunds.refund(detail.sale.id, None, rest, method="alipay", reason="all back", cashier_id=1,
                            approved_by=2, shift_id=1)
    assert second.state == "done" and second.sale_state == "refunded"
    assert sandbox.trade(detail.out_trade_no)["refund_fen"] == 3450
    # all points earned were taken back, all redeemed given back
    earned = committed.points_earned  # type: ignore[attr-defined]
    assert first.points_reversed + second.points_reversed == earned
    assert first.points_restored + second.points_restored == 500
    assert conn.execute("SELECT balance_after FROM points_ledger WHERE card_no = ? ORDER BY id DESC LIMIT 1",
                        (MEMBER,)).fetchone()[0] == 1000
    kinds = [r[0] for r in conn.execute("SELECT kind FROM outbox WHERE refund_id IS NOT NULL ORDER BY id")]
    assert kinds == ["card.consume_sync", "card.update"] * 2
    body = json.loads(conn.execute("SELECT body_json FROM outbox WHERE refund_id IS NOT NULL AND kind = "
                                   "'card.consume_sync' ORDER BY id DESC").fetchone()[0])
    assert body["trade_type"] == "RETURN" and body["card_info"]["point"] == "1000"
    # the second was asked for with the closed shift's id (a stale caller): it still lands in the open shift
    assert [r[0] for r in conn.execute("SELECT shift_id FROM refunds ORDER BY id")] == [2, 2]
    assert conn.execute("SELECT count(*) FROM audit_log WHERE action = 'refund.done'").fetchone()[0] == 2
    with pytest.raises(RefundError):
        refunds.refund(detail.sale.id, None, 1, method="alipay", reason="again", cashier_id=1, approved_by=2,
                       shift_id=1)
    conn.close()


def test_alipay_refund_unknown_then_retry(checkout: CheckoutService, payments: PaymentService,
                                          uow: Callable[[], SqliteUnitOfWork], client: AlipayClient,
                                          sandbox: SandboxServer, clock: FixedClock) -> None:
    committed = _paid_member_sale(checkout, payments, uow, "28100000000000002")
    refunds = RefundService(uow, client, clock, RandomIds("T1"), card_requests=AlipayCardRequests())
    sale_id = committed.sale_id  # type: ignore[attr-defined]
    sandbox.inject_fault("refuse", "alipay.trade.refund", apply=True)
    sandbox.inject_fault("refuse", "alipay.trade.fastpay.refund.query")
    out = refunds.refund(sale_id, None, 1000, method="alipay", reason="x", cashier_id=1, approved_by=2, shift_id=1)
    assert out.state == "unknown"
    again = refunds.retry(out.refund_id, cashier_id=1)
    assert again.state == "done" and again.out_request_no == out.out_request_no
    trade = sandbox.trade(refunds.find_sale(committed.receipt_no).out_trade_no)  # type: ignore[attr-defined]
    assert trade["refund_fen"] == 1000  # moved once


def test_cash_refund(checkout: CheckoutService, uow: Callable[[], SqliteUnitOfWork], clock: FixedClock) -> None:
    sale = checkout.new_sale()
    checkout.add_scan(sale, classify(COLA))
    committed = checkout.commit_cash(sale, 500, shift_id=1, cashier_id=1, cashier_name="Alice")
    refunds = RefundService(uow, None, clock, RandomIds("T1"), card_requests=AlipayCardRequests())
    with pytest.raises(RefundError):
        refunds.refund(committed.sale_id, [(1, 1)], None, method="alipay", reason="x", cashier_id=1, approved_by=2,
                       shift_id=1)
    out = refunds.refund(committed.sale_id, [(1, 1)], None, method="cash", reason="broken", cashier_id=1,
                         approved_by=2, shift_id=1)
    assert out.state == "done" and out.amount_fen == 350 and out.sale_state == "refunded"


def test_member_resolution(uow: Callable[[], SqliteUnitOfWork], sandbox: SandboxServer, db: Path) -> None:
    clock = FixedClock()
    with make_client(sandbox) as client:
        members = MemberService(uow, client, clock)
        static = members.resolve(classify(MEMBER))
        assert static.found and static.member is not None and static.member.name_masked == "张*明"
        assert static.member.phone_masked == "138****5678" and static.member.points_balance == 1000
        # a card issued at Alipay that this terminal never saw, shown as a dynamic QR code
        card = sandbox.issue_card(external_card_no="8800000000000077", name="王五", level="SILVER", points=321)
        minted = sandbox.mint_member_code(card["biz_card_no"])
        scan = classify(minted["code"], "QR")
        assert scan.kind == CodeKind.MEMBER_DYNAMIC
        found = members.resolve(scan)
        assert found.found and found.member is not None and found.member.points_balance == 321
        assert found.member.points_confirmed == 321 and found.member.points_pending == 0
        conn = connect(db)
        assert [tuple(r) for r in conn.execute(
            "SELECT kind, points FROM points_ledger WHERE card_no = '8800000000000077'")] == [("opening", 321)]
        conn.close()
        # expired code
        sandbox.set_clock(advance_s=600)
        expired = members.resolve(ScanCode(CodeKind.MEMBER_DYNAMIC, minted["code"], "CODE128"))
        assert expired.kind == "expired_code" and "refresh" in expired.message
        # search by phone, last four, card number
        assert [m.card_no for m in members.search("13812345678")] == [MEMBER]
        assert [m.card_no for m in members.search("5678")] == [MEMBER]
        assert [m.card_no for m in members.search(MEMBER)] == [MEMBER]
        assert members.search("8" * 50_000) == []  # cut, not a storage error
        refreshed = members.refresh(MEMBER)
        assert refreshed.found
    sandbox.inject_fault("refuse", "alipay.marketing.card.query")  # gateway unreachable
    with make_client(sandbox) as client:
        offline = MemberService(uow, client, clock).resolve(ScanCode(CodeKind.MEMBER_DYNAMIC, "DMABCDEFGH12345", "QR"))
        assert offline.kind == "offline" and "phone number" in offline.message
    assert MemberService(uow, None, clock).resolve(ScanCode(CodeKind.MEMBER_DYNAMIC, "DMABCDEFGH1", "QR")).kind \
        == "offline"


class _AnswerLost:
    """The real gateway, but the answer to a refund that went through is replaced by a transient refusal."""

    def __init__(self, inner: AlipayClient, code: str, sub_code: str) -> None:
        self._inner, self._code, self._sub = inner, code, sub_code

    def __getattr__(self, name: str) -> object:
        return getattr(self._inner, name)

    def refund(self, out_trade_no: str, out_request_no: str, amount_fen: int, reason: str) -> object:
        self._inner.refund(out_trade_no, out_request_no, amount_fen, reason)   # the money moves
        return business_failure(self._code, self._sub, "busy", {"code": self._code, "sub_code": self._sub})


@pytest.mark.parametrize(("code", "sub_code"), [("40004", "ACQ.SYSTEM_ERROR"), ("40004", "aop.ACCESS_LIMITED")])
def test_a_transient_refusal_of_a_refund_is_checked_not_believed(
        checkout: CheckoutService, payments: PaymentService, uow: Callable[[], SqliteUnitOfWork],
        client: AlipayClient, sandbox: SandboxServer, clock: FixedClock, code: str, sub_code: str) -> None:
    """Alipay busy or in error is no definite answer: the refund query finds the money moved (never "failed",
    which would invite a second refund in cash)."""
    committed = _paid_member_sale(checkout, payments, uow, "28100000000000031")
    refunds = RefundService(uow, _AnswerLost(client, code, sub_code), clock, RandomIds("T1"),  # type: ignore[arg-type]
                            card_requests=AlipayCardRequests())
    detail = refunds.find_sale(committed.receipt_no)  # type: ignore[attr-defined]
    out = refunds.refund(detail.sale.id, None, 1000, method="alipay", reason="busy", cashier_id=1, approved_by=2,
                         shift_id=1)
    assert out.state == "done", out.message
    assert sandbox.trade(detail.out_trade_no)["refund_fen"] == 1000
