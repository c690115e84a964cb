"""Daily Alipay reconciliation end to end: a day of trading through the sandbox, the next morning's bill."""

from __future__ import annotations

import datetime as dt
import os
import stat
from collections.abc import Callable
from pathlib import Path

import pytest
from checkout_env import BREAD, COLA

from pos_app.alipay.bill import AlipayBillSource, parse_bill_zip
from pos_app.alipay.card_requests import AlipayCardRequests
from pos_app.alipay.client import AlipayClient
from pos_app.domain.codes import classify
from pos_app.domain.reconcile import AlipayBill, BillFormatError, FindingKind
from pos_app.runtime import FixedClock, RandomIds
from pos_app.sandbox.bills import build_bill_zip
from pos_app.sandbox.server import SandboxServer
from pos_app.services.checkout import CheckoutService
from pos_app.services.payment import PaymentService
from pos_app.services.reconcile import ReconcileOutcome, ReconcileService
from pos_app.services.refunds import RefundService
from pos_app.storage.db import connect
from pos_app.storage.reconcile import SqliteReconcileStore
from pos_app.storage.uow import SqliteUnitOfWork

DAY = dt.date(2026, 11, 25)  # FixedClock's default "now" is 2026-11-25 10:00 Beijing


def _parse(data: bytes, day: dt.date, account: str | None) -> AlipayBill:
    return parse_bill_zip(data, day, expected_account=account)


def _alipay_sale(checkout: CheckoutService, payments: PaymentService, auth: str, *codes: str) -> object:
    sale = checkout.new_sale()
    for code in codes:
        checkout.add_scan(sale, classify(code))
    total = sale.begin_payment().payable_fen
    att = payments.begin(total, auth, "Demo Shop", shift_id=1, cashier_id=1, basket=checkout.basket_of(sale))
    out = payments.run(att.id, auth)
    assert out.paid
    return checkout.commit_alipay(sale, out.attempt, shift_id=1, cashier_id=1, cashier_name="Alice")


def _reconcile(db: Path, clock: FixedClock, client: AlipayClient, out_dir: Path,
               data: bytes | None = None) -> ReconcileOutcome:
    conn = connect(db)
    source = AlipayBillSource(client)
    try:
        service = ReconcileService(lambda: SqliteReconcileStore(conn), clock, out_dir)
        return service.run(DAY, _parse, source=None if data else source, data=data)
    finally:
        source.close()
        conn.close()


@pytest.fixture
def day_of_trading(checkout: CheckoutService, payments: PaymentService, uow: Callable[[], SqliteUnitOfWork],
                   client: AlipayClient, sandbox: SandboxServer, clock: FixedClock) -> SandboxServer:
    """Three Alipay sales, one partly refunded, one cash sale; then the next morning."""
    sandbox.configure(timestamp_window_s=None)  # the client signs with the real clock, the sandbox lives on DAY
    sandbox.set_clock(dt.datetime(2026, 11, 25, 10, 0, 0))
    first = _alipay_sale(checkout, payments, "28100000000000001", COLA, BREAD)
    _alipay_sale(checkout, payments, "28100000000000002", BREAD)
    _alipay_sale(checkout, payments, "28100000000000003", COLA, COLA)
    cash = checkout.new_sale()
    checkout.add_scan(cash, classify(COLA))
    checkout.commit_cash(cash, 500, shift_id=1, cashier_id=1, cashier_name="Alice")
    refunds = RefundService(uow, client, clock, RandomIds("T1"), store_id="S1", card_requests=AlipayCardRequests())
    out = refunds.refund(first.sale_id, [(1, 1)], None, method="alipay", reason="stale",  # type: ignore[attr-defined]
                         cashier_id=1, approved_by=2, shift_id=1)
    assert out.state == "done"
    sandbox.set_clock(dt.datetime(2026, 11, 26, 10, 0, 0))
    clock.advance(86400)
    return sandbox


def test_a_day_of_trades_all_matched(day_of_trading: SandboxServer, client: AlipayClient, db: Path,
                                     clock: FixedClock, tmp_path: Path) -> None:
    outcome = _reconcile(db, clock, client, tmp_path / "rec")
    rec = outcome.reconciliation
    assert (rec.alipay_trades, rec.alipay_refunds) == (3, 1)
    assert rec.alipay_trade_fen == 350 + 1200 + 1200 + 700 and rec.alipay_refund_fen == 350
    assert rec.problems == () and rec.matched == 4 and outcome.all_matched
    assert stat.S_IMODE(os.stat(outcome.csv_path).st_mode) == 0o600
    lines = outcome.csv_path.read_text("utf-8-sig").splitlines()
    assert lines[0].startswith("kind,out_trade_no,trade_no") and len(lines) == 5
    run = SqliteReconcileStore(connect(db)).latest(DAY)
    assert run is not None and run["matched"] == 4 and run["problems"] == 0 and run["items"] == []


def test_a_trade_behind_the_terminals_back_is_unmatched(day_of_trading: SandboxServer, client: AlipayClient,
                                                        db: Path, clock: FixedClock, tmp_path: Path) -> None:
    sandbox = day_of_trading
    sandbox.set_clock(dt.datetime(2026, 11, 25, 18, 30, 0))
    secret = sandbox.make_trade("88.80", out_trade_no="BEHIND-1", subject="side till")
    sandbox.set_clock(dt.datetime(2026, 11, 26, 10, 0, 0))
    outcome = _reconcile(db, clock, client, tmp_path / "rec")
    (problem,) = outcome.reconciliation.problems
    assert problem.kind is FindingKind.ALIPAY_ONLY_TRADE
    assert (problem.out_trade_no, problem.trade_no, problem.alipay_fen) == ("BEHIND-1", secret["trade_no"], 8880)
    assert outcome.reconciliation.matched == 4 and not outcome.all_matched
    csv_text = outcome.csv_path.read_text("utf-8-sig")
    assert "alipay_only_trade,BEHIND-1," in csv_text and ",88.80,," in csv_text


def test_paid_but_never_a_sale_and_a_refund_alipay_never_made(day_of_trading: SandboxServer, client: AlipayClient,
                                                              payments: PaymentService, db: Path, clock: FixedClock,
                                                              tmp_path: Path) -> None:
    sandbox = day_of_trading
    sandbox.set_clock(dt.datetime(2026, 11, 25, 20, 0, 0))
    clock.advance(-86400 + 36000)  # 20:00 Beijing on DAY
    att = payments.begin(999, "28100000000000007", "Demo Shop", shift_id=1, cashier_id=1, basket={})
    assert payments.run(att.id, "28100000000000007").paid  # the terminal died before the sale was committed
    conn = connect(db)
    # a refund the terminal holds as done that never reached Alipay (written by hand: a corrupted record)
    sale_id = conn.execute("SELECT sale_id FROM tenders WHERE kind = 'alipay' ORDER BY id LIMIT 1").fetchone()[0]
    conn.execute("INSERT INTO refunds (sale_id, shift_id, out_request_no, method, amount_fen, state, reason,"
                 " cashier_id, created_at, completed_at) VALUES (?, 1, 'GHOST-1', 'alipay', 100, 'done', 'x', 1,"
                 " ?, ?)", (sale_id, clock.now().isoformat(), clock.now().isoformat()))
    conn.close()
    sandbox.set_clock(dt.datetime(2026, 11, 26, 10, 0, 0))
    clock.advance(86400 - 36000)
    kinds = sorted((f.kind.value, f.out_request_no) for f in
                   _reconcile(db, clock, client, tmp_path / "rec").reconciliation.problems)
    assert kinds == [("paid_without_sale", ""), ("terminal_only_refund", "GHOST-1")]


def test_a_bad_bill_changes_nothing(day_of_trading: SandboxServer, client: AlipayClient, db: Path,
                                    clock: FixedClock, tmp_path: Path) -> None:
    out_dir = tmp_path / "rec"
    with pytest.raises(BillFormatError, match="not a zip"):
        _reconcile(db, clock, client, out_dir, data=b"<html>busy</html>")
    good = _reconcile(db, clock, client, out_dir)  # the first good bill pins the account
    # a bill of another merchant is refused afterwards
    start = dt.datetime(2026, 11, 25, tzinfo=dt.timezone(dt.timedelta(hours=8)))
    _, foreign = build_bill_zip("20881111111111110156", "20261125", start, start + dt.timedelta(days=1), [], start)
    with pytest.raises(BillFormatError, match="another app"):
        _reconcile(db, clock, client, out_dir, data=foreign)
    conn = connect(db)
    assert conn.execute("SELECT COUNT(*) FROM reconciliations").fetchone()[0] == 1
    assert sorted(p.name for p in out_dir.iterdir()) == sorted(
        [good.csv_path.name, "alipay-bill-2026-11-25.csv.zip"])


def test_the_next_z_report_shows_the_reconciliation_once(day_of_trading: SandboxServer, client: AlipayClient,
                                                         db: Path, clock: FixedClock, tmp_path: Path) -> None:
    from pos_app.services.reports import canonical_json, render_text
    from pos_app.storage.reports import SqliteReportRepository

    sandbox = day_of_trading
    sandbox.set_clock(dt.datetime(2026, 11, 25, 18, 30, 0))
    sandbox.make_trade("88.80", out_trade_no="BEHIND-1")
    sandbox.set_clock(dt.datetime(2026, 11, 26, 10, 0, 0))
    _reconcile(db, clock, client, tmp_path / "rec")
    conn = connect(db)
    reports = SqliteReportRepository(conn)
    fig = reports.figures(1, now=clock.now())
    (shown,) = fig["reconciliation"]
    assert (shown["bill_date"], shown["matched"], shown["problems"]) == ("2026-11-25", 4, 1)
    assert shown["differences"] == {"alipay_only_trade": 1}
    text = render_text({**fig, "kind": "Z"})
    assert "ALIPAY RECONCILIATION" in text and "2026-11-25 alipay_only_trade" in text
    conn.execute("UPDATE shifts SET state = 'closed', closed_at = ? WHERE id = 1", (clock.now().isoformat(),))
    reports.add_z_report(terminal_id="T1", shift_id=1, created_at=clock.now(), figures_json=canonical_json(fig),
                         text=text, hash="h", number=1)
    assert "reconciliation" not in reports.figures(1, now=clock.now())  # shown once, on that Z
