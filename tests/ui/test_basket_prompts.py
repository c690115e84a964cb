"""F2 member search by the phone's last 4 digits, F3 catalogue search by name, Del void (supervisor after the total)."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

from pos_app.services.approvals import reasons_for
from tests.ui.modal import ModalScript, supervisor_approves, type_into


def _prompt(qtbot: Any, controller: Any) -> Any:
    qtbot.waitUntil(lambda: controller.prompt is not None and controller.prompt.isVisible())
    return controller.prompt


def test_searches_and_line_void_with_supervisor(qtbot: Any, terminal: Any) -> None:
    w = terminal.window
    view, controller = w.checkout_view, w.controller
    # F3: catalogue by name, pick the first match with Enter
    qtbot.keyClick(view.entry, Qt.Key.Key_F3)
    type_into(_prompt(qtbot, controller).edit, "农夫山泉", enter=True)
    chooser = _prompt(qtbot, controller)
    assert chooser.list.count() >= 1 and "Nongfu" in chooser.list.item(0).text()
    QTest.keyClick(chooser.list, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: view.model.rowCount() == 1)
    # F2: member by the last 4 digits of the phone (demo member 李红, 198****8808)
    qtbot.keyClick(view.entry, Qt.Key.Key_F2)
    type_into(_prompt(qtbot, controller).edit, "8808", enter=True)
    chooser = _prompt(qtbot, controller)
    QTest.keyClick(chooser.list, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: controller.snapshot().member is not None)
    assert controller.snapshot().member.card_no == "8800433332545130"
    # a second item, then Del before the total was shown: no supervisor needed
    qtbot.keyClick(view.entry, Qt.Key.Key_F3)
    type_into(_prompt(qtbot, controller).edit, "农夫山泉", enter=True)
    chooser = _prompt(qtbot, controller)
    QTest.keyClick(chooser.list, Qt.Key.Key_Down)          # another item this time
    QTest.keyClick(chooser.list, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: view.model.rowCount() == 2)
    view.entry.setFocus()
    qtbot.keyClick(view.entry, Qt.Key.Key_Delete)
    type_into(_prompt(qtbot, controller).edit, "customer changed mind", enter=True)
    qtbot.waitUntil(lambda: any(line.voided for line in controller.snapshot().lines))
    assert controller.last_void_approval is None
    # the total is shown (cash dialog opened, then cancelled): a void now needs a supervisor
    qtbot.keyClick(view.entry, Qt.Key.Key_F5)
    qtbot.keyClick(controller.cash_dialog.amount, Qt.Key.Key_Escape)
    qtbot.waitUntil(lambda: controller.cash_dialog is None)
    assert controller.snapshot().total_shown
    view.select_row(0)
    script = ModalScript([supervisor_approves()])
    qtbot.keyClick(view.entry, Qt.Key.Key_Delete)          # QA #6: straight to the approval, no free-text prompt
    script.finish(qtbot)
    qtbot.waitUntil(lambda: all(line.voided for line in controller.snapshot().lines))
    lines = controller.snapshot().lines
    assert all(line.voided for line in lines)
    assert controller.last_void_approval is not None and controller.last_void_approval.action == "void_line"
    approver = controller.last_void_approval.approved_by
    assert [line.voided_by for line in lines] == [approver, None]  # only the supervised void names one
    labels = dict(reasons_for("void_line"))
    assert lines[0].void_reason.startswith(labels[controller.last_void_approval.reason_code])
    # QA #4: voided lines are struck through and greyed, amount 0
    model = view.model
    for col in range(model.columnCount()):
        assert model.data(model.index(0, col), Qt.ItemDataRole.FontRole).strikeOut()
        assert model.data(model.index(0, col), Qt.ItemDataRole.ForegroundRole) is not None
    assert model.data(model.index(0, 4)) == "¥0.00"
