"""A cash sale driven by scans and keys: product scan, quantity, F5, tendered amount, change, receipt."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt

from tests.ui.conftest import WATER, payable_text, scan


def test_cash_sale_with_change(qtbot: Any, terminal: Any) -> None:
    w = terminal.window
    view = w.checkout_view
    assert w.session is not None and w.session.user_name
    scan(terminal, WATER, "EAN13")
    qtbot.waitUntil(lambda: view.model.rowCount() == 1)
    qtbot.keyClick(view.entry, Qt.Key.Key_Plus)           # quantity 2
    qtbot.waitUntil(lambda: payable_text(terminal) == "¥4.00")
    qtbot.keyClick(w, Qt.Key.Key_F5)
    dialog = w.controller.cash_dialog
    assert dialog is not None and dialog.isVisible()
    qtbot.keyClicks(dialog.amount, "10")
    assert "6.00" in dialog.change.text()
    qtbot.keyClick(dialog.amount, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: w.controller.cash_dialog is None)
    committed = w.controller.last_committed
    assert committed is not None and committed.change_fen == 600
    assert committed.snapshot.totals.payable_fen == 400
    assert view.model.rowCount() == 0                    # the next sale starts at once
    assert "6.00" in view.notice.text()
    receipts = terminal.ctx.nav.receipts
    assert receipts.last_content is not None and receipts.last_content.barcode == committed.receipt_no


def test_unknown_code_shows_a_notice(qtbot: Any, terminal: Any) -> None:
    view = terminal.window.checkout_view
    scan(terminal, "hello")
    qtbot.waitUntil(lambda: view.notice.isVisible())
    assert "Not recognised" in view.notice.text()


def test_basket_model_passes_qtmodeltester(qtmodeltester: Any, terminal: Any, qtbot: Any) -> None:
    view = terminal.window.checkout_view
    scan(terminal, WATER, "EAN13")
    qtbot.waitUntil(lambda: view.model.rowCount() == 1)
    qtmodeltester.check(view.model)
