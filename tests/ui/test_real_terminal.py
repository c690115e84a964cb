"""A real (non-demo) terminal driven as a shop would: its own gateway settings, users added by the
command line's bootstrap, the first login counts the float, a member, products, cash and Alipay."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QPushButton

from pos_app.app import Terminal, build_terminal
from pos_app.bootstrap import open_container, seed_demo_data
from pos_app.sandbox import SandboxServer
from pos_app.settings import load_settings
from tests.ui.conftest import WATER, scan
from tests.ui.modal import ModalScript, click, is_a

MEMBER = "8800671208341214"     # a member of the shop's member list (resources/demo/members.json)


@pytest.fixture
def shop(qtbot: Any, tmp_path: Path) -> Iterator[tuple[Terminal, SandboxServer]]:
    sandbox = SandboxServer(tmp_path / "alipay", seed_demo=True).start()
    env = {"POS_LANGUAGE": "en", "POS_GATEWAY_URL": sandbox.gateway_url, "POS_GATEWAY_APP_ID": sandbox.app_id,
           "POS_GATEWAY_APP_PRIVATE_KEY": str(sandbox.app_private_key_path),
           "POS_GATEWAY_ALIPAY_PUBLIC_KEY": str(sandbox.alipay_public_key_path),
           "POS_PAYMENT_QUERY_INTERVAL_S": "0.05", "POS_PAYMENT_CANCEL_INTERVAL_S": "0.05"}
    cfg = tmp_path / "pos.toml"                   # a real terminal needs its loyalty rules: the shop's are the demo's
    rules = Path(__file__).resolve().parents[2] / "resources" / "demo" / "loyalty.json"
    cfg.write_text(f'[loyalty]\nfile = "{rules}"\n', encoding="utf-8")
    settings = load_settings(cfg, env=env, data_dir=tmp_path / "data")
    with open_container(settings) as c:          # what `pos-app users add` and a catalogue import do
        seed_demo_data(c)
        c.users.add_user("1001", "Cashier One", "cashier", "2580")
    terminal = build_terminal(settings, scanner_urls=("fake://",))
    qtbot.addWidget(terminal.window)
    terminal.window.show()
    qtbot.waitUntil(terminal.recovery_done.is_set, timeout=10_000)
    try:
        yield terminal, sandbox
    finally:
        terminal.shutdown()
        sandbox.stop()


def test_a_day_at_a_real_counter(qtbot: Any, shop: tuple[Terminal, SandboxServer]) -> None:
    terminal, sandbox = shop
    w = terminal.window
    view = w.checkout_view
    assert not terminal.demo and w.session is None

    def count(d: Any) -> None:
        d.count.set_counts({10000: 5})
        click(d.findChild(QPushButton, "okButton"))

    script = ModalScript([(is_a("OpenShiftDialog"), count)])
    w.try_login("1001", "2580")
    script.finish(qtbot)
    assert terminal.services.shifts.current_shift().opening_float_fen == 50_000

    scan(terminal, MEMBER, "CODE128")                              # the member, from the local member list
    qtbot.waitUntil(lambda: MEMBER[-4:] in view.member_detail.text(), timeout=10_000)
    scan(terminal, WATER, "EAN13")
    scan(terminal, WATER, "EAN13")
    qtbot.waitUntil(lambda: view.model.rowCount() == 1 and view.model.line_at(0).quantity == 2)
    qtbot.keyClick(w, Qt.Key.Key_F5)                               # cash
    qtbot.keyClicks(w.controller.cash_dialog.amount, "10")
    qtbot.keyClick(w.controller.cash_dialog.amount, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: w.controller.last_committed is not None)
    cash = w.controller.last_committed
    assert cash.change_fen == 600 and cash.snapshot.member is not None

    scan(terminal, WATER, "EAN13")                                 # the next customer pays by Alipay
    qtbot.waitUntil(lambda: view.model.rowCount() == 1)
    qtbot.keyClick(w, Qt.Key.Key_F4)
    assert w.controller.payment_dialog is not None
    scan(terminal, "28" + "".join(secrets.choice("0123456789") for _ in range(16)), "CODE128")
    qtbot.waitUntil(lambda: w.controller.payment_dialog is None, timeout=10_000)
    paid = w.controller.last_committed
    assert paid is not cash and paid.trade_no and paid.snapshot.totals.payable_fen == 200
    assert sandbox.trade(next(t["out_trade_no"] for t in sandbox.trades()
                              if t.get("trade_no") == paid.trade_no))["status"] == "TRADE_SUCCESS"
    assert view.model.rowCount() == 0
