"""Issue 14's counter, keyboard only: member (level) price and a 满减 promotion, a manual discount above the
cashier's cap approved by the supervisor, park, serve another customer, recall, pay; the receipt shows every
discount and the VAT per rate, the "sale done" panel stays until the next scan, and the X report reconciles."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

from pos_app.domain.promotions import LevelPrice, PriceBook, Promotion
from pos_app.services.receipts import receipt_text
from pos_app.storage.db import Database
from pos_app.storage.promotions import apply_price_book
from tests.ui.conftest import WATER, make_terminal, scan
from tests.ui.modal import ModalScript, supervisor_approves

MEMBER = "8800433332545130"   # a SILVER member of the demo
BOOK = PriceBook([Promotion.from_mapping({"id": "MJ10", "name": "饮料满10减1", "kind": "threshold",
                                          "categories": ["drinks"], "threshold_fen": 1000, "amount_fen": 100})])


def _prompt(qtbot: Any, controller: Any, text: str) -> None:
    qtbot.waitUntil(lambda: controller.prompt is not None and controller.prompt.isVisible(), timeout=5_000)
    dialog = controller.prompt
    if text:
        QTest.keyClicks(dialog.focus_widget(), text)
    QTest.keyClick(dialog.focus_widget(), Qt.Key.Key_Return)


def _pay_cash(qtbot: Any, w: Any, tendered: str) -> Any:
    qtbot.keyClick(w, Qt.Key.Key_F5)
    dialog = w.controller.cash_dialog
    assert dialog is not None
    qtbot.keyClicks(dialog.amount, tendered)
    qtbot.keyClick(dialog.amount, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: w.controller.cash_dialog is None, timeout=10_000)
    return w.controller.last_committed


def test_member_price_threshold_approved_discount_park_recall(qtbot: Any, tmp_path: Path) -> None:
    db = tmp_path / "data" / "pos.sqlite3"
    db.parent.mkdir(parents=True)
    conn = Database(db).open_and_migrate()
    apply_price_book(conn, BOOK, [LevelPrice(WATER, "SILVER", 180)], at=dt.datetime.now(dt.UTC), by_user="test",
                     source="promos.json", sha256="-")
    conn.close()
    terminal = make_terminal(qtbot, tmp_path)
    try:
        w, view = terminal.window, terminal.window.checkout_view
        # customer 1: member, 6 x water at the SILVER price 1.80 = 10.80 -> 满10减1 -> 9.80
        scan(terminal, MEMBER, "QRCODE")
        qtbot.waitUntil(lambda: w.controller.snapshot().member is not None, timeout=10_000)
        for _ in range(6):
            scan(terminal, WATER, "EAN13")
        qtbot.waitUntil(lambda: w.controller.snapshot().totals.payable_fen == 980, timeout=10_000)
        # 20 % off the line is above the cashier's 10 %: the supervisor approves it
        view.select_row(0)
        script = ModalScript([supervisor_approves()])
        qtbot.keyClick(w, Qt.Key.Key_D, Qt.KeyboardModifier.ControlModifier)
        _prompt(qtbot, w.controller, "20% damaged")
        script.finish(qtbot)
        qtbot.waitUntil(lambda: w.controller.snapshot().totals.payable_fen == 980 - 196, timeout=10_000)
        # park it, serve another customer, recall
        qtbot.keyClick(w, Qt.Key.Key_H, Qt.KeyboardModifier.ControlModifier)
        _prompt(qtbot, w.controller, "lady in red")
        qtbot.waitUntil(lambda: view.model.rowCount() == 0, timeout=5_000)
        scan(terminal, WATER, "EAN13")
        qtbot.waitUntil(lambda: view.model.rowCount() == 1, timeout=5_000)
        other = _pay_cash(qtbot, w, "5")
        assert other.snapshot.totals.payable_fen == 200 and view.sale_done.isVisible()
        assert other.receipt_no in view.sale_done.text() and "3.00" in view.sale_done.text()
        qtbot.keyClick(w, Qt.Key.Key_H, Qt.KeyboardModifier.ControlModifier)
        _prompt(qtbot, w.controller, "")                       # the first (only) parked sale
        qtbot.waitUntil(lambda: view.model.rowCount() == 1, timeout=5_000)
        assert not view.sale_done.isVisible()                  # the next customer is being served
        snap = w.controller.snapshot()
        assert snap.totals.payable_fen == 784 and snap.member is not None
        committed = _pay_cash(qtbot, w, "10")
        assert committed.change_fen == 216
        text = receipt_text(terminal.ctx.nav.receipts.last_content)
        for part in ("Member price SILVER", "Promotion 饮料满10减1", "Discount damaged", "VAT 13%"):
            assert part in text, part
        fig = terminal.ctx.reports.x_report().figures
        assert sum(t["sales_fen"] for t in fig["tax"]) == fig["sales_fen"] == 784 + 200
        assert {(d["kind"], d["ref"]) for d in fig["discounts"]} == {
            ("member_price", "SILVER"), ("promotion", "MJ10"), ("manual", "damaged")}
        assert fig["parked_waiting"] == 0
    finally:
        terminal.shutdown()
