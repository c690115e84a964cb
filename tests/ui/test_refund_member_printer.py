"""Refund with supervisor approval, an expired dynamic member code, and the printer offline."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QLabel

from pos_app.domain.money import format_ui
from tests.ui.conftest import WATER, make_terminal, scan


def _cash_sale(qtbot: Any, terminal: Any, items: int = 2) -> Any:
    w = terminal.window
    for _ in range(items):
        scan(terminal, WATER, "EAN13")
    qtbot.waitUntil(lambda: w.checkout_view.model.rowCount() == 1)
    qtbot.keyClick(w, Qt.Key.Key_F5)
    qtbot.keyClick(w.controller.cash_dialog.amount, Qt.Key.Key_Return)      # exact
    qtbot.waitUntil(lambda: w.controller.last_committed is not None)
    return w.controller.last_committed


def test_refund_with_supervisor_approval(qtbot: Any, terminal: Any) -> None:
    committed = _cash_sale(qtbot, terminal)
    w = terminal.window
    scan(terminal, committed.receipt_no, "CODE128")          # scanning the receipt opens the refund
    qtbot.waitUntil(lambda: w.controller.refund_dialog is not None)
    dialog = w.controller.refund_dialog
    assert dialog.detail is not None and dialog.lines.count() == 1
    qtbot.keyClicks(dialog.reason, "damaged")

    def approve() -> None:
        ap = dialog.approval_dialog
        if ap is None:
            QTimer.singleShot(20, approve)
            return
        ap.number.setText("9001")
        ap.pin.setText("9999")
        ap._approve()  # noqa: SLF001 - the dialog's OK button handler

    QTimer.singleShot(20, approve)
    qtbot.mouseClick(dialog.go, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: dialog.outcome is not None, timeout=10_000)
    assert dialog.outcome.state == "done"
    assert dialog.outcome.amount_fen == committed.snapshot.totals.payable_fen
    assert dialog.outcome.method == "cash"
    # QA #2: the dialog reloads the sale after the refund: nothing refundable left, no ticked line
    assert dialog.detail.refundable_fen == 0
    assert dialog.lines.count() == 0
    assert not dialog.go.isEnabled()
    assert "¥0.00" in dialog.summary.text()


def test_refund_keyboard_only(qtbot: Any, terminal: Any) -> None:
    """Seen on a real till: Enter in the reason did nothing, so a keyboard-only refund was stuck there."""
    from tests.ui.modal import ModalScript, supervisor_approves

    committed = _cash_sale(qtbot, terminal, items=2)
    w = terminal.window
    qtbot.keyClick(w, Qt.Key.Key_F8)
    qtbot.waitUntil(lambda: w.controller.refund_dialog is not None)
    dialog = w.controller.refund_dialog
    qtbot.keyClicks(dialog.code, committed.receipt_no)
    qtbot.keyClick(dialog.code, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: dialog.detail is not None)
    line = committed.snapshot.lines[0]
    assert dialog.lines.item(0).text().endswith(format_ui(line.amount_fen - line.discount_fen))
    script = ModalScript([supervisor_approves()])
    qtbot.keyClicks(dialog.reason, "damaged")
    qtbot.keyClick(dialog.reason, Qt.Key.Key_Return)
    script.finish(qtbot)
    qtbot.waitUntil(lambda: dialog.outcome is not None, timeout=10_000)
    assert dialog.outcome.state == "done" and dialog.outcome.amount_fen == committed.snapshot.totals.payable_fen


def test_expired_dynamic_member_code(qtbot: Any, terminal: Any) -> None:
    card = next(c for c in terminal.sandbox.cards() if c.get("biz_card_no"))
    code = terminal.sandbox.mint_member_code(card["biz_card_no"], ttl_s=-1)["code"]
    view = terminal.window.checkout_view
    scan(terminal, code, "QRCODE")
    qtbot.waitUntil(lambda: "expired" in view.notice.text(), timeout=10_000)
    assert "refresh" in view.notice.text()
    assert terminal.window.controller.snapshot().member is None


def test_dynamic_member_code_resolves(qtbot: Any, terminal: Any) -> None:
    card = next(c for c in terminal.sandbox.cards() if c.get("biz_card_no"))
    code = terminal.sandbox.mint_member_code(card["biz_card_no"])["code"]
    scan(terminal, code, "QRCODE")
    qtbot.waitUntil(lambda: terminal.window.controller.snapshot().member is not None, timeout=10_000)


def test_printer_offline_sale_stays_committed(qtbot: Any, tmp_path: Path) -> None:
    terminal = make_terminal(qtbot, tmp_path, printer_url="fake://?state=offline")
    try:
        receipts = terminal.ctx.nav.receipts
        with qtbot.waitSignal(receipts.printed, timeout=10_000) as blocker:
            committed = _cash_sale(qtbot, terminal)
        assert blocker.args[0] is False
        view = terminal.window.checkout_view
        assert "did not print" in view.notice.text() and "saved" in view.notice.text()
        assert committed.sale_id > 0
        assert terminal.ctx.printer.status_text() == "offline"
        terminal.ctx.printer._device.set_state("ok")  # noqa: SLF001 - the paper is back
        with qtbot.waitSignal(receipts.printed, timeout=10_000) as again:
            receipts.reprint()
        assert again.args[0] is True
        assert committed.receipt_no in "\n".join(terminal.ctx.printer._device.texts())  # noqa: SLF001
    finally:
        terminal.shutdown()


def test_refund_lines_show_what_was_paid_and_the_approver_sees_the_amount(qtbot: Any, terminal: Any) -> None:
    """Seen on a real terminal: the lines showed their list price (a member-price line ¥7.00 where ¥6.00 was
    paid) and the supervisor approved "Refund: R0010…" without an amount."""
    w = terminal.window
    member = "8800671208341214"                    # demo member, 240 points
    scan(terminal, member, "CODE128")
    qtbot.waitUntil(lambda: member[-4:] in w.checkout_view.member_detail.text())
    for _ in range(5):
        scan(terminal, WATER, "EAN13")             # 5 x ¥2.00
    qtbot.waitUntil(lambda: w.checkout_view.model.line_at(0) is not None
                    and w.checkout_view.model.line_at(0).quantity == 5)
    qtbot.keyClick(w, Qt.Key.Key_F6)               # redeem the most points allowed: ¥2.00 off
    qtbot.waitUntil(lambda: w.controller.prompt is not None and w.controller.prompt.isVisible())
    qtbot.keyClick(w.controller.prompt.edit, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: w.checkout_view.payable.text() == "¥8.00")
    qtbot.keyClick(w, Qt.Key.Key_F5)
    qtbot.keyClick(w.controller.cash_dialog.amount, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: w.controller.last_committed is not None)
    scan(terminal, w.controller.last_committed.receipt_no, "CODE128")
    qtbot.waitUntil(lambda: w.controller.refund_dialog is not None)
    dialog = w.controller.refund_dialog
    assert dialog.lines.count() == 1 and dialog.lines.item(0).text().endswith("¥8.00")   # paid, not ¥10.00
    qtbot.keyClicks(dialog.reason, "damaged")
    shown: list[str] = []

    def approve() -> None:
        ap = dialog.approval_dialog
        if ap is None:
            QTimer.singleShot(20, approve)
            return
        detail = ap.findChild(QLabel, "approvalDetail")
        shown.append(detail.text() if detail is not None else "")
        ap.number.setText("9001")
        ap.pin.setText("9999")
        ap._approve()  # noqa: SLF001 - the dialog's OK button handler

    QTimer.singleShot(20, approve)
    qtbot.mouseClick(dialog.go, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: dialog.outcome is not None, timeout=10_000)
    assert dialog.outcome.state == "done" and dialog.outcome.amount_fen == 800
    assert shown and "¥8.00" in shown[0]
    slip = terminal.ctx.nav.receipts.last_content     # the refund slip says what was paid back, line by line
    assert slip is not None and slip.items[0].amount_text == "-¥8.00" and slip.items[0].quantity_text == "-5 × ¥1.60"
    # "Ctrl+P to preview or reprint", as the dialog's status line says, works in the refund dialog itself
    from tests.ui.modal import ModalScript, is_a

    seen: list[str] = []
    script = ModalScript([(is_a("ReceiptPreviewDialog"), lambda d: (seen.append(d.content.header[0]), d.reject()))])
    dialog.activateWindow()          # a window manager gives the focus back when the approval closes
    qtbot.waitUntil(dialog.isActiveWindow, timeout=5000)
    qtbot.keyClick(dialog.reason, Qt.Key.Key_P, Qt.KeyboardModifier.ControlModifier)
    script.finish(qtbot)
    assert seen == ["REFUND / 退款"]
