"""A refund prints a refund slip ("REFUND / 退款", lines, amount, method, points) shown by Ctrl+P and reprintable."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QPlainTextEdit, QPushButton

from tests.ui.conftest import SCREENSHOTS, WATER, make_terminal, scan
from tests.ui.modal import ModalScript, click, is_a, supervisor_approves, type_into


def test_refund_slip_prints_previews_and_reprints(qtbot: Any, tmp_path: Path) -> None:
    terminal = make_terminal(qtbot, tmp_path, printer_url="fake://")
    try:
        w = terminal.window
        device = terminal.ctx.printer._device  # noqa: SLF001 - the fake printer records what was printed
        scan(terminal, WATER, "EAN13")
        scan(terminal, WATER, "EAN13")
        qtbot.waitUntil(lambda: w.checkout_view.model.rowCount() == 1)
        qtbot.keyClick(w.checkout_view.entry, Qt.Key.Key_F5)
        qtbot.keyClick(w.controller.cash_dialog.amount, Qt.Key.Key_Return)
        qtbot.waitUntil(lambda: w.controller.last_committed is not None)
        committed = w.controller.last_committed
        qtbot.waitUntil(lambda: len(device.texts()) == 1, timeout=10_000)

        scan(terminal, committed.receipt_no, "CODE128")
        qtbot.waitUntil(lambda: w.controller.refund_dialog is not None)
        dialog = w.controller.refund_dialog
        SCREENSHOTS.mkdir(exist_ok=True)
        dialog.grab().save(str(SCREENSHOTS / "refund_dialog_en.png"))
        type_into(dialog.reason, "damaged")
        script = ModalScript([supervisor_approves()])
        click(dialog.go)
        script.finish()
        qtbot.waitUntil(lambda: dialog.outcome is not None and dialog.receipt is not None, timeout=10_000)
        qtbot.waitUntil(lambda: len(device.texts()) == 2, timeout=10_000)
        slip = device.texts()[-1]
        assert "REFUND / 退款" in slip and "4.00" in slip and "Cash back" in slip
        assert committed.receipt_no in slip
        QTest.keyClick(dialog, Qt.Key.Key_Escape)
        qtbot.waitUntil(lambda: w.controller.refund_dialog is None)

        seen: dict[str, str] = {}

        def preview(p: Any) -> None:
            seen["text"] = p.findChild(QPlainTextEdit, "receiptText").toPlainText()
            p.grab().save(str(SCREENSHOTS / "refund_receipt_en.png"))
            click(p.findChild(QPushButton, "reprint"))
            QTest.keyClick(p, Qt.Key.Key_Escape)

        script = ModalScript([(is_a("ReceiptPreviewDialog"), preview)])
        qtbot.keyClick(w.checkout_view.entry, Qt.Key.Key_P, Qt.KeyboardModifier.ControlModifier)
        script.finish()
        assert "REFUND / 退款" in seen["text"] and "-2 × ¥2.00" in seen["text"] and "Cash back" in seen["text"]
        qtbot.waitUntil(lambda: len(device.texts()) == 3, timeout=10_000)
        assert "REFUND / 退款" in device.texts()[-1]
    finally:
        terminal.shutdown()
