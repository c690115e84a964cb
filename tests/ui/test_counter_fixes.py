"""Counter fixes of issue 14: Enter after the supervisor number moves to the PIN (no empty-PIN strike)."""

from __future__ import annotations

import sqlite3
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

from pos_app.ui.approval_dialog import ApprovalDialog


def _refusals(terminal: Any) -> int:
    conn = sqlite3.connect(terminal.settings.db_path)
    try:
        return int(conn.execute("SELECT count(*) FROM audit_log WHERE action = 'approval.refused'").fetchone()[0])
    finally:
        conn.close()


def test_enter_after_the_supervisor_number_moves_to_the_pin(qtbot: Any, terminal: Any) -> None:
    dialog = ApprovalDialog(terminal.ctx.users, "no_sale", "", None, None)
    qtbot.addWidget(dialog)
    dialog.show()
    dialog.activateWindow()
    before = _refusals(terminal)
    dialog.number.setFocus()
    QTest.keyClicks(dialog.number, "9001")
    QTest.keyClick(dialog.number, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: dialog.focusWidget() is dialog.pin, timeout=2_000)
    assert dialog.isVisible() and dialog.approval() is None and dialog.error.text() == ""
    QTest.keyClick(dialog.pin, Qt.Key.Key_Return)      # Enter on an empty PIN: still no attempt
    assert dialog.approval() is None and _refusals(terminal) == before
    QTest.keyClicks(dialog.pin, "9999")
    QTest.keyClick(dialog.pin, Qt.Key.Key_Return)
    approval = dialog.approval()
    assert approval is not None and approval.approver_name and _refusals(terminal) == before
