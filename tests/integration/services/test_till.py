"""The till use-case: intents return frozen snapshots or a committed sale; the write-ahead Alipay sequence."""

from __future__ import annotations

import dataclasses
import threading
from pathlib import Path

import pytest
from checkout_env import BREAD, COLA

from pos_app.domain.codes import classify
from pos_app.domain.sale import SaleState
from pos_app.sandbox.server import SandboxServer
from pos_app.services.checkout import CheckoutService
from pos_app.services.errors import PaymentError, ServiceUnavailable, UnknownProduct
from pos_app.services.payment import PaymentService
from pos_app.services.till import PaymentsNotReady, ScanMode, Till, TillSession
from pos_app.storage.db import connect

WHO = TillSession(user_id=1, user_name="Alice", shift_id=1)


def _till(checkout: CheckoutService, payments: PaymentService | None = None,
          ready: threading.Event | None = None) -> Till:
    till = Till(checkout, payments, payments_ready=ready)
    till.start(WHO)
    return till


def _count(db: Path, table: str) -> int:
    conn = connect(db)
    try:
        return int(conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0])
    finally:
        conn.close()


def test_intents_return_frozen_snapshots(checkout: CheckoutService) -> None:
    till = _till(checkout)
    snap = till.scan_product(classify(COLA))
    snap = till.scan_product(classify(BREAD))
    assert [line.code for line in snap.sale.lines] == [COLA, BREAD] and snap.mode is ScanMode.PRODUCT
    with pytest.raises(dataclasses.FrozenInstanceError):
        snap.mode = ScanMode.MEMBER  # type: ignore[misc]
    after = till.set_quantity(snap.sale.lines[0].line_no, 3)
    assert snap.sale.lines[0].quantity == 1 and after.sale.lines[0].quantity == 3   # the old snapshot is unchanged
    assert after.payable_fen == 3 * 350 + 1200


def test_a_refused_scan_leaves_the_basket(checkout: CheckoutService) -> None:
    till = _till(checkout)
    till.scan_product(classify(COLA))
    with pytest.raises(UnknownProduct):
        till.scan_product(classify("6901234567885"))
    assert [line.code for line in till.snapshot().sale.lines] == [COLA]


def test_cash_commits_and_starts_the_next_sale(checkout: CheckoutService, db: Path) -> None:
    till = _till(checkout)
    till.scan_product(classify(BREAD))
    assert till.take_total().mode is ScanMode.AWAITING_PAYMENT
    committed = till.pay_cash(2000)
    assert committed.change_fen == 800 and committed.snapshot.totals.payable_fen == 1200
    assert _count(db, "sales") == 1
    nxt = till.snapshot()
    assert nxt.sale.lines == () and nxt.sale.state is SaleState.OPEN and nxt.mode is ScanMode.PRODUCT


def test_a_full_disk_during_commit_keeps_the_basket(checkout: CheckoutService, db: Path) -> None:
    till = _till(checkout)
    till.scan_product(classify(COLA))
    till.scan_product(classify(BREAD))
    till.take_total()
    # the disk fills during the commit: the tender row (written late in the transaction) fails with
    # SQLite's own disk-full message (the real full-disk run is tests/reliability/test_disk_faults.py)
    conn = checkout._uow().conn  # noqa: SLF001 - the same per-thread connection the till commits on
    conn.execute("CREATE TEMP TRIGGER disk_full BEFORE INSERT ON main.tenders "
                 "BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END")
    with pytest.raises(ServiceUnavailable) as err:
        till.pay_cash(5000)
    assert err.value.reason == "disk_full" and "disk is full" in str(err.value)
    snap = till.snapshot()
    assert [line.code for line in snap.sale.lines] == [COLA, BREAD]       # nothing lost
    assert snap.sale.state is SaleState.OPEN and snap.mode is ScanMode.PRODUCT
    assert _count(db, "sales") == 0                                           # rolled back whole
    conn.execute("DROP TRIGGER disk_full")                                    # space again: the same basket commits
    till.take_total()
    assert till.pay_cash(5000).snapshot.totals.payable_fen == 1550
    assert _count(db, "sales") == 1


def test_alipay_is_written_ahead_then_committed(checkout: CheckoutService, payments: PaymentService,
                                                 db: Path) -> None:
    till = _till(checkout, payments)
    till.scan_product(classify(BREAD))
    till.take_total()
    stages: list[str] = []
    result = till.pay_alipay("280000000000000101", subject="Demo", on_progress=lambda p: stages.append(p.stage))
    assert result.paid and result.committed is not None and result.committed.trade_no
    assert "sending" in stages
    conn = connect(db)
    row = conn.execute("SELECT state, sale_id FROM payment_attempts").fetchone()
    conn.close()
    assert tuple(row) == ("paid", result.committed.sale_id)
    assert till.snapshot().sale.lines == ()


def test_alipay_declined_keeps_the_sale_awaiting_payment(checkout: CheckoutService, payments: PaymentService,
                                                          sandbox: SandboxServer, db: Path) -> None:
    till = _till(checkout, payments)
    till.scan_product(classify(COLA))
    till.take_total()
    sandbox.script_auth_code("280000000000000202", "balance_not_enough")
    result = till.pay_alipay("280000000000000202", subject="Demo")
    assert not result.paid and result.outcome.state == "failed"
    assert till.snapshot().mode is ScanMode.AWAITING_PAYMENT
    assert till.cancel_payment().sale.state is SaleState.OPEN
    assert _count(db, "sales") == 0


def test_alipay_waits_for_recovery_and_refuses_a_non_payment_code(checkout: CheckoutService,
                                                                   payments: PaymentService, db: Path) -> None:
    ready = threading.Event()
    till = _till(checkout, payments, ready)
    till.scan_product(classify(COLA))
    till.take_total()
    with pytest.raises(PaymentsNotReady):
        till.pay_alipay("280000000000000303", subject="Demo")
    ready.set()
    with pytest.raises(PaymentError):
        till.pay_alipay(COLA, subject="Demo")
    assert _count(db, "payment_attempts") == 0          # nothing recorded, nothing sent
    assert till.snapshot().mode is ScanMode.AWAITING_PAYMENT


def test_a_basket_round_trips_through_json_for_park_and_recall(checkout: CheckoutService) -> None:
    """The seam park/recall builds on: basket() out, basket_to_sale + load_sale() back, nothing lost."""
    from pos_app.services.checkout import basket_to_sale

    till = _till(checkout)
    till.scan_product(classify(COLA))
    snap = till.scan_product(classify(BREAD))
    parked = till.basket()
    assert till.new_sale().sale.lines == ()
    back = till.load_sale(basket_to_sale(parked, checkout.config.loyalty))
    assert [(line.code, line.quantity, line.amount_fen) for line in back.sale.lines] == \
        [(line.code, line.quantity, line.amount_fen) for line in snap.sale.lines]
    assert back.payable_fen == snap.payable_fen
    # basket_to_sale rebuilds a sale awaiting payment (as an orphan's completion needs): the till follows it
    assert back.mode is ScanMode.AWAITING_PAYMENT and till.cancel_payment().sale.state is SaleState.OPEN
