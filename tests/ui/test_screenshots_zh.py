"""zh_CN screenshots for a person to look at (checkout, cash change, X report, refund) and the preview-only notice."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QImage
from PySide6.QtTest import QTest

from pos_app.ui.reports_view import ReportsView
from tests.ui.conftest import SCREENSHOTS, WATER, make_terminal, scan

MEMBER = "8800671208341214"
NOODLES = "6937485505352"


def _save(widget: Any, name: str) -> Path:
    SCREENSHOTS.mkdir(exist_ok=True)
    path = SCREENSHOTS / name
    assert widget.grab().save(str(path), "PNG")
    assert not QImage(str(path)).isNull()
    return path


def _cash_sale(qtbot: Any, terminal: Any, tendered: str, shot: str = "") -> Any:
    w = terminal.window
    before = w.controller.last_committed
    qtbot.keyClick(w.checkout_view.entry, Qt.Key.Key_F5)
    dialog = w.controller.cash_dialog
    assert dialog is not None
    qtbot.keyClicks(dialog.amount, tendered)
    if shot:
        _save(dialog, shot)
    qtbot.keyClick(dialog.amount, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: w.controller.last_committed is not before)
    return w.controller.last_committed


def test_zh_cn_screens_and_preview_only_notice(qtbot: Any, tmp_path: Path) -> None:
    terminal = make_terminal(qtbot, tmp_path, language="zh_CN")
    try:
        w = terminal.window
        view = w.checkout_view
        scan(terminal, MEMBER, "CODE128")
        scan(terminal, WATER, "EAN13")
        scan(terminal, WATER, "EAN13")
        scan(terminal, NOODLES, "EAN13")
        qtbot.waitUntil(lambda: view.model.rowCount() == 2 and MEMBER[-4:] in view.member_detail.text())
        assert view.totals_box.title() == "合计"
        _save(w, "checkout_3items_member_zh_CN.png")

        committed = _cash_sale(qtbot, terminal, "50", "cash_change_zh_CN.png")
        assert committed.change_fen > 0
        # no printer configured (none://): the success notice tells the cashier how to see the receipt
        assert "找零" in view.notice.text() and "Ctrl+P" in view.notice.text()
        assert view.notice.objectName() == "info"

        scan(terminal, WATER, "EAN13")
        qtbot.waitUntil(lambda: view.model.rowCount() == 1)
        _cash_sale(qtbot, terminal, "10")

        reports = ReportsView(terminal.ctx.reports, w, printed_by="Sup Li", tr=terminal.ctx.tr)
        qtbot.addWidget(reports)
        reports.resize(1000, 660)
        reports.show()
        qtbot.waitExposed(reports)
        cells = {str(reports.x_model.data(reports.x_model.index(r, 1))) for r in range(reports.x_model.rowCount())}
        assert {"总销售额", "应有现金", "交易笔数"} <= cells
        _save(reports, "x_report_zh_CN.png")
        reports.close()

        scan(terminal, committed.receipt_no, "CODE128")
        qtbot.waitUntil(lambda: w.controller.refund_dialog is not None)
        dialog = w.controller.refund_dialog
        qtbot.waitUntil(lambda: dialog.detail is not None)
        _save(dialog, "refund_dialog_zh_CN.png")
        QTest.keyClick(dialog, Qt.Key.Key_Escape)
        qtbot.waitUntil(lambda: w.controller.refund_dialog is None)
    finally:
        terminal.shutdown()
