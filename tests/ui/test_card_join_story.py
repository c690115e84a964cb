"""Issue 15 "Done when", with the real widgets of a fresh demo (offscreen): the supervisor makes the card
template and prints the join poster (Ctrl+J); the customer scans the poster with the demo wallet and gets a
card; the cashier scans that card and sells; the points reach the card at the sandbox; the next day's
reconciliation matches every Alipay trade, and a trade made behind the terminal's back (sandbox admin API)
shows as unmatched."""

from __future__ import annotations

import datetime as dt
import subprocess
from pathlib import Path
from typing import Any

import httpx
from PIL import Image
from PySide6.QtCore import Qt
from pyzbar.pyzbar import decode

from pos_app.reconcile_runner import latest_run, run_reconcile
from pos_app.runtime import FixedClock
from pos_app.services.ports.clock import BEIJING
from tests.ui.conftest import WATER, make_terminal, scan
from tests.ui.modal import ModalScript, supervisor_approves


def _poster_qr(poster: Path, tmp_path: Path) -> str:
    subprocess.run(["pdftoppm", "-r", "100", "-png", "-singlefile", str(poster), str(tmp_path / "poster")],
                   check=True)
    (found,) = decode(Image.open(tmp_path / "poster.png"))
    return found.data.decode()


def test_join_by_qr_sell_sync_and_reconcile(qtbot: Any, tmp_path: Path) -> None:
    terminal = make_terminal(qtbot, tmp_path, show_wallet=True)
    try:
        w, wallet, sandbox = terminal.window, terminal.wallet, terminal.sandbox
        members_before = {c["external_card_no"] for c in sandbox.cards()}

        # no poster yet: the wallet says so and nothing is opened
        with qtbot.waitSignal(wallet.join_failed, timeout=5_000):
            qtbot.mouseClick(wallet.join_button, Qt.MouseButton.LeftButton)
        assert "supervisor" in wallet.join_status.text()

        # the supervisor's Ctrl+J: the demo logs in a cashier, so a supervisor approves it
        script = ModalScript([supervisor_approves()])
        qtbot.keyClick(w.checkout_view.entry, Qt.Key.Key_J, Qt.KeyboardModifier.ControlModifier)
        script.finish()
        desk = w.card_desk_dialog
        assert desk.isVisible() and "No card template" in desk.template.text()
        with qtbot.waitSignal(desk.ready, timeout=30_000) as ready:
            qtbot.mouseClick(desk.button, Qt.MouseButton.LeftButton)
        join_url = ready.args[0]
        assert desk.poster is not None and desk.poster.exists()
        assert terminal.card_desk.template_id in desk.template.text()
        assert "template_id=" + terminal.card_desk.template_id in join_url
        assert _poster_qr(desk.poster, tmp_path) == join_url   # the printed QR is the join URL
        assert not desk.qr.pixmap().isNull()
        assert terminal.ctx.nav.receipts.join_url == join_url   # non-members' receipts now carry the QR

        # the customer scans the poster in the wallet and fills the form: a new card in the wallet
        wallet.join_mobile.setText("13912345678")
        with qtbot.waitSignal(wallet.joined, timeout=30_000) as joined:
            qtbot.mouseClick(wallet.join_button, Qt.MouseButton.LeftButton)
        card_no = joined.args[0]
        assert card_no not in members_before and card_no.startswith("8800")
        assert wallet.member_text == card_no and card_no in wallet.join_status.text()
        held = sandbox.card(card_no)
        assert held is not None and held["phone"] == "13912345678"

        # the cashier scans that card and sells (Alipay)
        w.activateWindow()
        w.checkout_view.entry.setFocus()
        wallet.send("member")
        qtbot.waitUntil(lambda: w.controller.snapshot().member is not None, timeout=10_000)
        assert w.controller.snapshot().member.card_no == card_no
        for _ in range(5):
            scan(terminal, WATER, "EAN13")
        qtbot.waitUntil(lambda: w.checkout_view.model.rowCount() == 1)
        w.controller.on_intent("alipay")
        qtbot.waitUntil(lambda: w.controller.payment_dialog is not None)
        wallet.new_payment_code("pays")
        wallet.send("payment")
        qtbot.waitUntil(lambda: w.controller.last_committed is not None, timeout=15_000)
        sale = w.controller.last_committed
        assert sale.trade_no and sale.points_earned > 0

        # the points reach the card in the wallet (the sync worker, its own process, to the sandbox)
        qtbot.waitUntil(lambda: int(float(sandbox.card(card_no)["point"])) == sale.points_balance, timeout=30_000)

        # the next morning: every Alipay trade of the day matched
        day = dt.datetime.now(BEIJING).date()
        sandbox.configure(timestamp_window_s=None)
        morning = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(10, 0), tzinfo=BEIJING)
        sandbox.set_clock(morning.replace(tzinfo=None))
        first = run_reconcile(terminal.settings, day, clock=FixedClock(morning))
        rec = first.reconciliation
        assert not rec.problems and rec.matched >= 1 and rec.alipay_trades >= 1

        # a trade made behind the terminal's back, through the sandbox's admin API, is found
        sandbox.set_clock(dt.datetime.combine(day, dt.time(15, 0)))
        made = httpx.post(sandbox.base_url + "/admin/trades", json={"amount": "12.00", "out_trade_no": "SIDE-1"},
                          headers={"Authorization": f"Bearer {sandbox.admin_token}"}, timeout=10, trust_env=False)
        assert made.status_code == 200, made.text
        sandbox.set_clock(morning.replace(tzinfo=None) + dt.timedelta(minutes=5))
        second = run_reconcile(terminal.settings, day, clock=FixedClock(morning + dt.timedelta(minutes=5)))
        kinds = [(p.kind, p.out_trade_no) for p in second.reconciliation.problems]
        assert kinds == [("alipay_only_trade", "SIDE-1")]
        stored = latest_run(terminal.settings, day)
        assert stored is not None and stored["problems"] == 1
    finally:
        terminal.shutdown()
