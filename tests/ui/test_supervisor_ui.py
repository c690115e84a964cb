"""F9/F10/F11/F12 open the real supervisor dialogs; pay-in approved by the demo supervisor; blind-count close."""

from __future__ import annotations

import secrets
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QPushButton, QTableWidget

from pos_app.domain.codes import classify
from tests.ui.conftest import SCREENSHOTS, WATER
from tests.ui.modal import ModalScript, click, is_a, press, supervisor_approves, type_into


def _f(qtbot: Any, terminal: Any, key: Qt.Key) -> None:
    qtbot.keyClick(terminal.window.checkout_view.entry, key)


def test_pay_in_and_blind_close_from_the_shift_dialog(qtbot: Any, terminal: Any) -> None:
    shifts = terminal.ctx.shifts
    shift = shifts.current_shift()
    seen: dict[str, Any] = {}

    def pay_in_form(w: Any) -> None:
        type_into(w.amount, "20")
        type_into(w.reason, "float top-up")
        click(w.findChild(QPushButton, "okButton"))

    def count_blind(w: Any) -> None:
        seen["blind"] = w.pages.currentIndex() == 0 and not w.findChildren(QTableWidget, "comparisonTable")
        for d, n in ((10000, "5"), (2000, "1")):
            spin = w.count.spins[d]
            spin.selectAll()
            type_into(spin, n)
        click(w.findChild(QPushButton, "okButton"))

    def z_shown(w: Any) -> None:
        seen["z"] = w.z_text.toPlainText()
        seen["table"] = w.findChild(QTableWidget, "comparisonTable") is not None
        click(w.findChild(QPushButton, "okButton"))      # "Done"

    script = ModalScript([
        (is_a("ShiftDialog"), lambda w: click(w.buttons_["pay_in"])),
        (is_a("CashMovementDialog"), pay_in_form),
        supervisor_approves(),
        (is_a("ShiftDialog"), lambda w: click(w.buttons_["close"])),
        (is_a("CloseShiftDialog"), count_blind),
        (is_a("CloseShiftDialog", lambda w: w.pages.currentIndex() == 2), z_shown),
        (is_a("ShiftDialog"), press(Qt.Key.Key_Escape)),
    ])
    _f(qtbot, terminal, Qt.Key.Key_F10)
    script.finish()
    assert seen["blind"] and seen["table"] and "Z" in seen["z"]
    assert shifts.current_shift() is None
    conn = terminal.conns.get()
    row = conn.execute("SELECT kind, amount_fen FROM cash_movements WHERE shift_id = ?", (shift.id,)).fetchone()
    assert tuple(row) == ("pay_in", 2000)
    approver = conn.execute("SELECT u.number FROM approvals a JOIN users u ON u.id = a.approved_by"
                            " WHERE a.action = 'pay_in'").fetchone()
    assert approver[0] == "9001"
    assert "closed" in terminal.window.checkout_view.notice.text().lower()


def test_f9_f11_open_reports_and_sync(qtbot: Any, terminal: Any) -> None:
    seen: dict[str, Any] = {}

    def look(w: Any) -> None:
        seen["rows"] = w.x_model.rowCount()
        SCREENSHOTS.mkdir(exist_ok=True)
        w.resize(1000, 660)
        w.grab().save(str(SCREENSHOTS / "x_report_en.png"))
        QTest.keyClick(w, Qt.Key.Key_Escape)

    # the X report is built off the GUI thread: the step waits until its figures are on the screen
    script = ModalScript([supervisor_approves(),
                          (lambda w: is_a("ReportsView")(w) and w.x_model.rowCount() > 0, look)])
    _f(qtbot, terminal, Qt.Key.Key_F9)                  # a cashier: the supervisor approves viewing
    script.finish()
    assert seen["rows"] > 5

    script = ModalScript([(is_a("SyncDialog"), lambda w: (seen.__setitem__("sync", w.view.objectName()),
                                                          QTest.keyClick(w, Qt.Key.Key_Escape)))])
    _f(qtbot, terminal, Qt.Key.Key_F11)
    script.finish()
    assert seen["sync"] == "syncView"


def _orphan(terminal: Any) -> Any:
    """A paid attempt with its basket and no sale: the terminal died between pay and commit."""
    checkout, payment = terminal.ctx.checkout, terminal.ctx.payment
    session = terminal.window.session
    sale = checkout.new_sale()
    checkout.add_scan(sale, classify(WATER, "EAN13"))
    code = "28" + "".join(secrets.choice("0123456789") for _ in range(16))
    att = payment.begin(sale.totals().payable_fen, code, "orphan test", shift_id=session.shift_id,
                        cashier_id=session.user_id, basket=checkout.basket_of(sale))
    terminal.gateway.pay(att.out_trade_no, code, att.amount_fen, att.subject, store_id=None, terminal_id=None,
                         operator_id=None)
    assert [o.state for o in payment.recover()] == ["paid"]
    return att


def test_orphans_completed_and_refunded_by_a_supervisor(qtbot: Any, terminal: Any) -> None:
    w = terminal.window
    a1, a2 = _orphan(terminal), _orphan(terminal)
    w.refresh_status()                                    # the figures are read on a worker thread
    banner = w.status_labels["payments"]
    qtbot.waitUntil(lambda: banner.isVisible(), timeout=10_000)
    assert "needs a supervisor" in banner.text()
    results: list[Any] = []

    def decide(key: Qt.Key) -> Any:
        def act(d: Any) -> None:
            QTest.keyClick(d, key)
        return act

    def settled(d: Any) -> bool:
        return not d.busy and d.last_result is not None and d.last_result not in results

    def note(d: Any) -> None:
        results.append(d.last_result)

    script = ModalScript([
        (is_a("OrphansDialog"), decide(Qt.Key.Key_C)),     # first row: the customer is still here
        supervisor_approves(),
        (is_a("OrphansDialog", settled), lambda d: (note(d), decide(Qt.Key.Key_R)(d))),
        supervisor_approves(),
        (is_a("OrphansDialog", settled), lambda d: (note(d), QTest.keyClick(d, Qt.Key.Key_Escape))),
    ], timeout_s=20)
    _f(qtbot, terminal, Qt.Key.Key_F12)
    script.finish()
    assert terminal.ctx.payment.orphans() == []
    assert getattr(results[0], "receipt_no", "")
    assert "refund" in str(getattr(results[1], "message", "")).lower()
    conn = terminal.conns.get()
    actions = [r[0] for r in conn.execute("SELECT action FROM audit_log WHERE action LIKE 'payment.orphan%'")]
    assert sorted(actions) == ["payment.orphan_completed", "payment.orphan_refunded"]
    assert terminal.sandbox.trade(a2.out_trade_no)["refund_fen"] == a2.amount_fen
    assert a1.id != a2.id
    w.refresh_status()
    qtbot.waitUntil(lambda: not w.status_labels["payments"].isVisible(), timeout=10_000)
