"""Split tender on the real checkout screen, keyboard only (issue 14): half by Alipay (the sandbox over HTTP),
half in cash; a sale given up after its Alipay part, refunded with the supervisor's approval; and an exchange
for cheaper goods whose difference goes back to the earlier sale's Alipay trade."""

from __future__ import annotations

import secrets
from typing import Any

from PySide6.QtCore import Qt

from pos_app.services.receipts import receipt_text
from tests.ui.conftest import WATER, scan
from tests.ui.modal import ModalScript, supervisor_approves


def _code(terminal: Any, behaviour: str = "success") -> str:
    code = "28" + "".join(secrets.choice("0123456789") for _ in range(16))
    terminal.sandbox.script_auth_code(code, behaviour)
    return code


def _alipay_part(qtbot: Any, terminal: Any, amount: str) -> None:
    w = terminal.window
    qtbot.keyClick(w, Qt.Key.Key_F4)
    dialog = w.controller.payment_dialog
    assert dialog is not None and dialog.isVisible()
    qtbot.keyClick(dialog, Qt.Key.Key_F2)                  # F2: the amount by Alipay
    assert dialog.focusWidget() is dialog.amount
    qtbot.keyClicks(dialog.amount, amount)
    qtbot.keyClick(dialog.amount, Qt.Key.Key_Return)       # back to the payment code
    assert dialog.focusWidget() is dialog.code
    qtbot.keyClicks(dialog.code, _code(terminal))
    qtbot.keyClick(dialog.code, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: w.controller.payment_dialog is None, timeout=15_000)


def test_half_alipay_half_cash_keyboard_only(qtbot: Any, terminal: Any) -> None:
    w, view = terminal.window, terminal.window.checkout_view
    for _ in range(5):
        scan(terminal, WATER, "EAN13")                     # 5 × 2.00
    qtbot.waitUntil(lambda: w.controller.snapshot().totals.payable_fen == 1000, timeout=10_000)
    _alipay_part(qtbot, terminal, "4.00")
    till = w.controller.till.snapshot()
    assert [(p.kind, p.amount_fen) for p in till.parts] == [("alipay", 400)] and till.remaining_fen == 600
    assert "¥6.00" in view.notice.text() and w.controller.last_committed is None
    assert terminal.ctx.payment.orphans() == []            # the part is held by the sale, not an orphan
    qtbot.keyClick(w, Qt.Key.Key_F5)
    dialog = w.controller.cash_dialog
    assert dialog is not None and dialog.payable_fen == 600
    qtbot.keyClicks(dialog.amount, "10")
    qtbot.keyClick(dialog.amount, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: w.controller.last_committed is not None, timeout=10_000)
    committed = w.controller.last_committed
    assert [(t.kind, t.amount_fen, t.change_fen) for t in committed.snapshot.tenders] == [
        ("alipay", 400, 0), ("cash", 600, 400)]
    assert view.sale_done.isVisible() and "Alipay ¥4.00" in view.sale_done.text()
    text = receipt_text(terminal.ctx.nav.receipts.last_content)
    assert "Alipay" in text and "4.00" in text and "10.00" in text and "Change" in text
    fig = terminal.ctx.reports.x_report().figures
    assert fig["tenders"]["alipay"]["taken_fen"] == 400 and fig["tenders"]["cash"]["taken_fen"] == 600
    assert fig["sales_fen"] == 1000 and fig["transactions"] == 1


def test_giving_up_after_the_alipay_part_refunds_it(qtbot: Any, terminal: Any) -> None:
    w, view = terminal.window, terminal.window.checkout_view
    for _ in range(3):
        scan(terminal, WATER, "EAN13")
    qtbot.waitUntil(lambda: w.controller.snapshot().totals.payable_fen == 600, timeout=10_000)
    _alipay_part(qtbot, terminal, "2.50")
    # the cashier cannot just drop the sale: Esc in the cash dialog keeps it waiting for the rest
    qtbot.keyClick(w, Qt.Key.Key_F5)
    qtbot.keyClick(w.controller.cash_dialog, Qt.Key.Key_Escape)
    qtbot.waitUntil(lambda: w.controller.cash_dialog is None, timeout=5_000)
    assert w.controller.till.snapshot().remaining_fen == 350
    qtbot.keyClick(w, Qt.Key.Key_F5)                        # a cash part too: Ctrl+Enter takes less than due
    qtbot.keyClicks(w.controller.cash_dialog.amount, "1")
    qtbot.keyClick(w.controller.cash_dialog.amount, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: w.controller.cash_dialog is None, timeout=5_000)
    assert w.controller.till.snapshot().remaining_fen == 250
    script = ModalScript([supervisor_approves()])
    qtbot.keyClick(w, Qt.Key.Key_G, Qt.KeyboardModifier.ControlModifier)
    script.finish(qtbot)
    qtbot.waitUntil(lambda: not w.controller.till.snapshot().parts, timeout=15_000)
    qtbot.waitUntil(lambda: "refunded" in view.notice.text(), timeout=5_000)
    assert "¥2.50" in view.notice.text() and "¥1.00" in view.notice.text()
    attempt = terminal.ctx.payment.get(1)
    assert attempt.resolution == "refunded" and attempt.sale_id is None
    trade = terminal.sandbox.trade(attempt.out_trade_no)
    assert trade is not None and int(trade.get("refund_fen", 0)) == 250
    assert w.controller.snapshot().active_lines and w.controller.last_committed is None   # the basket is back


def test_exchange_for_cheaper_goods_refunds_the_difference_to_alipay(qtbot: Any, terminal: Any) -> None:
    w, view, ctl = terminal.window, terminal.window.checkout_view, terminal.window.controller
    for _ in range(3):
        scan(terminal, WATER, "EAN13")
    qtbot.waitUntil(lambda: ctl.snapshot().totals.payable_fen == 600, timeout=10_000)
    qtbot.keyClick(w, Qt.Key.Key_F4)
    dialog = ctl.payment_dialog
    qtbot.keyClicks(dialog.code, _code(terminal))
    qtbot.keyClick(dialog.code, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: ctl.payment_dialog is None, timeout=15_000)
    sale = ctl.last_committed
    assert sale is not None and sale.trade_no
    # one water comes back (2.00) for a cheaper one (1.50): 0.50 goes back to the customer's Alipay
    script = ModalScript([supervisor_approves()])
    qtbot.keyClick(w, Qt.Key.Key_E, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: ctl.prompt is not None and ctl.prompt.isVisible(), timeout=5_000)
    qtbot.keyClicks(ctl.prompt.focus_widget(), sale.receipt_no)
    qtbot.keyClick(ctl.prompt.focus_widget(), Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: ctl.prompt is not None and ctl.prompt.isVisible() and ctl.prompt.edit.isHidden(),
                    timeout=5_000)
    qtbot.keyClick(ctl.prompt.focus_widget(), Qt.Key.Key_Return)          # the water line
    qtbot.waitUntil(lambda: ctl.prompt is not None and ctl.prompt.isVisible() and not ctl.prompt.edit.isHidden(),
                    timeout=5_000)
    qtbot.keyClick(ctl.prompt.focus_widget(), Qt.Key.Key_Return)          # how many: 1 (pre-filled)
    script.finish(qtbot)
    qtbot.waitUntil(lambda: ctl.till.snapshot().exchange is not None, timeout=10_000)
    scan(terminal, "6937485787901", "EAN13")                              # 冰露纯净水 1.50
    qtbot.waitUntil(lambda: view.model.rowCount() == 1, timeout=5_000)
    qtbot.keyClick(w, Qt.Key.Key_F4)                                      # F4: the difference back to Alipay
    qtbot.waitUntil(lambda: ctl.last_committed is not sale, timeout=10_000)
    qtbot.waitUntil(lambda: "Refunded ¥0.50 to Alipay" in view.notice.text(), timeout=15_000)
    attempt = terminal.ctx.payment.get(1)
    trade = terminal.sandbox.trade(attempt.out_trade_no)
    assert trade is not None and int(trade.get("refund_fen", 0)) == 50
    assert ctl.last_committed.exchange.difference_fen == -50
