"""The supervisor's promotions screen on the real terminal, keyboard only (issue 14): Ctrl+R, the supervisor
approves, Space switches the promotion off, Esc; the next sale is priced without it (no restart), and the switch
is in the audit log under the supervisor."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

from pos_app.domain.promotions import PriceBook, Promotion
from pos_app.storage.db import Database, connect
from pos_app.storage.promotions import apply_price_book
from tests.ui.conftest import WATER, make_terminal, scan
from tests.ui.modal import ModalScript, is_a, supervisor_approves

HALF = Promotion.from_mapping({"id": "W50", "name": "水半价", "kind": "percent_off", "codes": [WATER],
                               "percent": 50})


def test_switch_a_promotion_off_applies_to_the_next_sale(qtbot: Any, tmp_path: Path) -> None:
    db = tmp_path / "data" / "pos.sqlite3"
    db.parent.mkdir(parents=True)
    conn = Database(db).open_and_migrate()
    apply_price_book(conn, PriceBook([HALF]), [], at=dt.datetime.now(dt.UTC), by_user="test", source="p.json",
                     sha256="-")
    conn.close()
    terminal = make_terminal(qtbot, tmp_path)
    try:
        w, ctl = terminal.window, terminal.window.controller
        scan(terminal, WATER, "EAN13")
        qtbot.waitUntil(lambda: ctl.snapshot().totals.payable_fen == 100, timeout=10_000)
        seen: list[str] = []

        def switch_off(d: Any) -> None:
            seen.append(d.list.item(0).text())
            QTest.keyClick(d.list, Qt.Key.Key_Space)
            seen.append(d.list.item(0).text())
            QTest.keyClick(d, Qt.Key.Key_Escape)

        script = ModalScript([supervisor_approves(), (is_a("PromotionsDialog"), switch_off)])
        qtbot.keyClick(w, Qt.Key.Key_R, Qt.KeyboardModifier.ControlModifier)
        script.finish(qtbot)
        assert seen[0].startswith("[on]  W50") and seen[1].startswith("[off]  W50")
        assert ctl.snapshot().totals.payable_fen == 100          # the basket being rung up keeps its price
        ctl.till.take_total()
        ctl.till.pay_cash(100)
        ctl.new_sale()
        scan(terminal, WATER, "EAN13")
        qtbot.waitUntil(lambda: ctl.snapshot().totals.line_count == 1, timeout=10_000)
        assert ctl.snapshot().totals.payable_fen == 200          # the next sale: no half price, no restart
        c = connect(db)
        try:
            who = c.execute("SELECT user_name FROM audit_log WHERE action = 'promotions.disable'").fetchall()
        finally:
            c.close()
        assert len(who) == 1 and who[0][0]
    finally:
        terminal.shutdown()
