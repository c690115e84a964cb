"""Typed errors at the counter: a full disk during a commit is said plainly and the basket is kept."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt

from tests.ui.conftest import WATER, scan

DISK_FULL = ("CREATE TEMP TRIGGER disk_full BEFORE INSERT ON main.tenders "
             "BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END")


def _pay_cash(qtbot: Any, w: Any, amount: str) -> None:
    qtbot.keyClick(w, Qt.Key.Key_F5)
    qtbot.keyClicks(w.controller.cash_dialog.amount, amount)
    qtbot.keyClick(w.controller.cash_dialog.amount, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: w.controller.cash_dialog is None)


def test_full_disk_during_commit_keeps_the_basket(qtbot: Any, terminal: Any) -> None:
    w = terminal.window
    view = w.checkout_view
    scan(terminal, WATER, "EAN13")
    qtbot.waitUntil(lambda: view.model.rowCount() == 1)
    # the disk fills while the sale is written (SQLite's own message from the tender row's INSERT)
    terminal.conns.get().execute(DISK_FULL)
    _pay_cash(qtbot, w, "10")
    assert w.controller.last_committed is None
    assert "disk is full" in view.notice.text() and "sale was kept" in view.notice.text()
    assert view.model.rowCount() == 1 and w.controller.sale.state.value == "open"   # the basket is kept
    terminal.conns.get().execute("DROP TRIGGER disk_full")                          # space again
    _pay_cash(qtbot, w, "10")
    assert w.controller.last_committed is not None
    assert w.controller.last_committed.snapshot.totals.payable_fen == 200
