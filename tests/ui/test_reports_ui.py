"""Approval dialog, shift dialogs and the report screen, driven offscreen over a real database."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtWidgets import QLineEdit

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "integration" / "reports"))
from _shift_env import Env, Seeder, make_env  # noqa: E402

from pos_app.services.approvals import Approval  # noqa: E402
from pos_app.ui.approval_dialog import ApprovalDialog  # noqa: E402
from pos_app.ui.reports_view import FigureTableModel, ReportsView, ZListModel  # noqa: E402
from pos_app.ui.shift_dialogs import CashMovementDialog, CloseShiftDialog, ShiftDialog  # noqa: E402


@pytest.fixture
def env(tmp_path: Path) -> Iterator[Env]:
    e = make_env(tmp_path / "pos.sqlite3")
    yield e
    e.conn.close()


def _approver(env: Env):
    def ask(action: str, subject: str) -> Approval | None:
        return env.users.approve(action, subject, "9001", "1357", "other", "ui test", requested_by=env.cashier)
    return ask


def test_approval_dialog_masks_pin_and_records_approval(qtbot, env: Env) -> None:
    dlg = ApprovalDialog(env.users, "refund", "R00000001", [("customer_return", "Customer returned goods")],
                         requested_by=env.cashier)
    qtbot.addWidget(dlg)
    assert dlg.pin.echoMode() == QLineEdit.EchoMode.Password
    dlg.fill_card("SUP0001")
    dlg.pin.setText("0000")
    dlg.buttons.accepted.emit()
    assert "wrong user number or PIN" in dlg.error.text() and dlg.pin.text() == ""
    dlg.pin.setText("1357")
    dlg.buttons.accepted.emit()
    a = dlg.approval()
    assert a is not None and (a.approver_name, a.reason_code, a.subject) == ("Sup Li", "customer_return", "R00000001")


def test_shift_hub_open_movement_and_blind_close_with_difference(qtbot, env: Env) -> None:
    hub = ShiftDialog(env.shifts, env.cashier, approver=_approver(env))
    qtbot.addWidget(hub)
    assert hub.buttons_["open"].isEnabled() and not hub.buttons_["close"].isEnabled()
    opener = hub.make("open")
    opener.count.set_counts({10000: 1})
    opener.findChild(type(hub.buttons_["open"]), "okButton").click()
    assert opener.shift is not None and opener.shift.opening_float_fen == 10000
    hub.refresh()
    assert "Shift 1" in hub.status.text()
    move = hub.make("pay_out")
    assert isinstance(move, CashMovementDialog)
    move.amount.setText("20")
    move.reason.setText("milk")
    move._record()
    assert move.movement_id is not None
    Seeder(env.conn, env.clock).sale(1, 1, [("cash", 5000, 10000)])
    close = hub.make("close")
    assert isinstance(close, CloseShiftDialog)
    # the blind count page shows nothing about what is expected
    texts = " ".join(w.text() for w in close.findChildren(type(close.error)))
    assert "130.00" not in texts
    close.count.set_counts({10000: 1})             # expected 130.00, counted 100.00
    close._close()
    assert close.pages.currentIndex() == 1 and close._pending_action == "close_difference"
    close._ask_supervisor()
    assert close.result_ is not None and close.pages.currentIndex() == 2
    assert close.result_.comparison[0].difference_fen == -3000
    assert "Z report #1" in close.z_text.toPlainText()


def test_reports_view_models_chart_and_exports(qtbot, qtmodeltester, env: Env, tmp_path: Path) -> None:
    seed = Seeder(env.conn, env.clock)
    shift = env.shifts.open_shift(env.cashier, float_fen=0)
    seed.sale(shift.id, 1, [("cash", 1000, 1000)])
    env.shifts.close_shift({1000: 1}, env.cashier)
    shift2 = env.shifts.open_shift(env.cashier, float_fen=0)
    seed.sale(shift2.id, 1, [("alipay", 2500, 2500)])
    printed: list[str] = []
    view = ReportsView(env.reports, printed_by="Sup Li", printer=printed.append)
    qtbot.addWidget(view)
    assert view.x_model.rowCount() > 40 and "Shift 2" in view.x_status.text()
    qtmodeltester.check(view.x_model)
    qtmodeltester.check(view.z_model)
    qtmodeltester.check(FigureTableModel())
    qtmodeltester.check(ZListModel())
    chart = view.chart_view.chart()
    assert chart is not None and len(chart.series()) == 1
    assert view.z_model.rowCount() == 1
    view._reprint()
    assert printed == [env.reports.z_report(1).text]
    z = view.selected_z()
    assert z is not None
    pdf = view.export(z.figures, tmp_path / "z.pdf", "pdf")
    a4 = view.export(view.x_figures, tmp_path / "x.pdf", "pdf", page="a4")
    csv_path = view.export(z.figures, tmp_path / "z.csv", "csv")
    assert pdf.read_bytes()[:4] == b"%PDF" and a4.read_bytes()[:4] == b"%PDF"
    assert csv_path.read_bytes().startswith(b"\xef\xbb\xbf")
