"""The supervisor's Items screen: search, price history, and an import that needs a supervisor's approval."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from pos_app.app import Terminal
from pos_app.bootstrap import items_service
from pos_app.services.approvals import Approval
from pos_app.ui.items_view import ItemsDialog
from tests.integration.data.helpers import write_csv
from tests.ui.conftest import WATER


def _approval(role: str, name: str) -> Approval:
    return Approval(id=1, action="catalogue_import", subject="", approved_by=2, approver_name=name,
                    approver_role=role, requested_by=1, reason_code="other", note="", at=dt.datetime.now(dt.UTC))


def test_items_screen_imports_with_approval_and_shows_price_history(qtbot: Any, terminal: Terminal,
                                                                    tmp_path: Path) -> None:
    assert "items" in terminal.window.checkout_view.buttons
    assert "items" in terminal.ctx.nav.intents
    asked: list[str] = []
    role = {"value": "cashier"}

    def ask(_parent: Any, action: str, _subject: str) -> Approval:
        asked.append(action)
        return _approval(role["value"], "Sup Li")

    dialog = ItemsDialog(items_service(terminal.settings), ask, terminal.window)
    qtbot.addWidget(dialog)
    f = write_csv(tmp_path / "price.csv", [[WATER, "", "农夫山泉 550ml", "", "饮料", "瓶", "2.50", "", "13%",
                                            "0", "0", "1"]])
    assert not dialog.import_path(str(f)), "a cashier's approval does not allow an import"
    assert "supervisor must approve" in dialog.status.text()
    role["value"] = "supervisor"
    assert dialog.import_path(str(f))
    assert "changed 1" in dialog.status.text() and asked == ["catalogue_import", "catalogue_import"]
    dialog.search.setText(WATER)
    dialog.run_search()
    assert dialog.table.rowCount() == 1 and dialog.table.item(0, 3).text() == "2.50"
    assert dialog.history.rowCount() == 1
    assert [dialog.history.item(0, c).text() for c in (1, 2, 3, 4)] == ["Price", "2.00", "2.50", "Sup Li"]
    found = terminal.services.checkout.find_product(WATER)
    assert found is not None and found.price_fen == 250
