"""The real terminal (offscreen Qt) in store mode asks the store for a sale's points off the GUI thread (issue 13).

With the path to the store stalled the window keeps working: a scan is rung up and the cashier's other payment
keys are refused while the till waits for the store's answer; when the path breaks the offline rules apply.
Offline, more points than ``[store] offline_redeem_supervisor_above`` need a supervisor's approval in the real
ApprovalDialog: a cashier's PIN is refused, a cancelled approval redeems nothing, a supervisor's is recorded.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt

from pos_app.demo import DEMO_CASHIER, DEMO_SUPERVISOR
from pos_app.storage.db import connect
from pos_app.storage.lane_journal import SqliteLaneJournal
from pos_app.storage.lane_redeem import SqliteRedeemHolds
from pos_app.store import schema
from pos_app.store.connect import lane_conninfo
from pos_app.store.pull import Pull
from pos_app.store.redeem import StoreRedeemer
from pos_app.store.uplink import Uplink, UplinkConfig
from pos_app.store_points import StorePointsGate
from tests.store.lanekit import server
from tests.store.tcpproxy import TcpProxy
from tests.store.test_terminal_store import STORE_ENV, make_terminal
from tests.ui.conftest import WATER, scan
from tests.ui.modal import ModalScript, is_a, type_into

MEMBER = "8800671208341214"     # demo member 黄涛


def _holds(db: Any) -> list[tuple[Any, ...]]:
    conn = connect(db)
    try:
        return [tuple(r) for r in conn.execute("SELECT state, asked, online, approved_by FROM lane_redeem ORDER BY id")]
    finally:
        conn.close()


def _redeem(qtbot: Any, terminal: Any, points: int) -> None:
    ctl = terminal.window.controller
    qtbot.keyClick(terminal.window, Qt.Key.Key_F6)
    qtbot.waitUntil(lambda: ctl.prompt is not None and ctl.prompt.isVisible())
    ctl.prompt.edit.setText(str(points))
    qtbot.keyClick(ctl.prompt.edit, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: ctl.snapshot().totals.points_redeemed == points)


def _cash_dialog_opens(qtbot: Any, ctl: Any) -> Any:
    qtbot.waitUntil(lambda: ctl.cash_dialog is not None and ctl.cash_dialog.isVisible(), timeout=10_000)
    return ctl.cash_dialog


def _cancel_cash(qtbot: Any, ctl: Any) -> None:
    qtbot.keyClick(ctl.cash_dialog.amount, Qt.Key.Key_Escape)
    qtbot.waitUntil(lambda: ctl.cash_dialog is None)


def test_the_store_is_asked_off_the_gui_thread_and_offline_a_supervisor_approves(qtbot: Any, tmp_path: Any,
                                                                                 store_db: Any) -> None:
    with store_db.admin() as c:
        creds = schema.add_lane(c, "t1")
        c.execute("INSERT INTO pos.member (member_id, name, level) VALUES (%s, '黄涛', 'SILVER')", (MEMBER,))
        c.execute("SELECT pos.adjust_points(%s, 240, gen_random_uuid())", (MEMBER,))
    # the terminal is built standalone (a store-mode terminal's link process is tests/store/test_terminal_store.py)
    # and its lane is linked here, in-process: the till's gate is the one store mode builds, but its calls go
    # through a proxy the test stalls, with a long deadline (the test, not the clock, breaks the stalled path)
    STORE_ENV.clear()
    STORE_ENV["POS_STORE_OFFLINE_REDEEM_SUPERVISOR_ABOVE"] = "100"
    terminal = make_terminal(qtbot, tmp_path)
    proxy = TcpProxy(store_db.server.port)
    journal = SqliteLaneJournal.open(terminal.settings.db_path)
    checkout = terminal.services.checkout
    try:
        db = terminal.settings.db_path
        direct = store_db.server.dsn(store_db.name, creds.role)
        journal.enable()
        up, pull = Uplink(journal, UplinkConfig(lane_conninfo(direct, creds.password))), \
            Pull(journal, lane_conninfo(direct, creds.password))
        up.push()                                                 # hello
        pull.step()                                               # the member's store balance
        up.drop()
        pull.drop()
        assert SqliteRedeemHolds(db).store_snapshot(MEMBER) is not None
        store = terminal.settings.store
        assert store.offline_redeem_supervisor_above == 100
        via_proxy = lane_conninfo(direct.replace(f"port={store_db.server.port}", f"port={proxy.port}"),
                                  creds.password)
        assert checkout.points_gate is None
        checkout.points_gate = StorePointsGate(
            db, StoreRedeemer(via_proxy, deadline_s=60), online=lambda: True, offline_cap=store.offline_redeem_cap,
            supervisor_above=store.offline_redeem_supervisor_above)
        w, ctl, view = terminal.window, terminal.window.controller, terminal.window.checkout_view
        scan(terminal, MEMBER, "CODE128")
        qtbot.waitUntil(lambda: MEMBER[-4:] in view.member_detail.text())
        for _ in range(5):
            scan(terminal, WATER, "EAN13")
        qtbot.waitUntil(lambda: view.model.line_at(0) is not None and view.model.line_at(0).quantity == 5)

        # online: the store holds the points, then the cash dialog opens
        _redeem(qtbot, terminal, 100)
        qtbot.keyClick(w, Qt.Key.Key_F5)
        _cash_dialog_opens(qtbot, ctl)
        assert _holds(db) == [("held", 1, 1, None)]
        assert server(store_db, "SELECT balance FROM pos.member_points WHERE member_id = %s", (MEMBER,)) == [(140,)]
        _cancel_cash(qtbot, ctl)                                  # back to the basket: the hold is given back
        assert _holds(db)[-1][0] == "released"

        # the path stalls: the till waits for the answer without freezing
        proxy.set_mode("stall")
        qtbot.keyClick(w, Qt.Key.Key_F5)
        assert ctl.till.asking_points and ctl.cash_dialog is None
        assert view.notice.text() == "Asking the store for the points…"
        scan(terminal, WATER, "EAN13")                            # the scanner is read, the scan rung up
        qtbot.waitUntil(lambda: view.model.line_at(0).quantity == 6)
        qtbot.keyClick(w, Qt.Key.Key_F6)                          # the points cannot change meanwhile
        qtbot.waitUntil(lambda: "wait for its answer" in view.notice.text())
        qtbot.keyClick(w, Qt.Key.Key_F5)                          # nor a second ask or payment start
        assert view.notice.text() == "Asking the store for the points…"
        assert ctl.till.asking_points and ctl.cash_dialog is None
        qtbot.waitUntil(lambda: _holds(db)[-1][:2] == ("asking", 1))   # asked (on a worker), no answer yet
        assert ctl.till.asking_points and ctl.cash_dialog is None
        proxy.set_mode("refuse")                                  # the path breaks: offline rules (100 <= 100)
        dialog = _cash_dialog_opens(qtbot, ctl)
        assert _holds(db)[-1] == ("offline", 1, 0, None)
        assert ctl.snapshot().totals.points_redeemed == 100
        _cancel_cash(qtbot, ctl)

        # offline above the threshold: a supervisor must approve; cancelled = no points, the sale goes on
        qtbot.keyClick(w, Qt.Key.Key_F6)                          # F6 again clears the 100 points
        qtbot.waitUntil(lambda: ctl.snapshot().totals.points_redeemed == 0)
        _redeem(qtbot, terminal, 200)
        before = len(_holds(db))
        script = ModalScript([(is_a("ApprovalDialog"), lambda d: d.reject())])
        qtbot.keyClick(w, Qt.Key.Key_F5)
        script.finish(qtbot)
        qtbot.waitUntil(lambda: not ctl.till.asking_points)
        assert ctl.snapshot().totals.points_redeemed == 0 and ctl.cash_dialog is None
        assert "supervisor must approve" in view.notice.text()
        assert len(_holds(db)) == before                          # nothing held

        _redeem(qtbot, terminal, 200)
        errors: list[str] = []

        def cashier_tries(d: Any) -> None:
            type_into(d.number, DEMO_CASHIER[0], enter=True)
            type_into(d.pin, DEMO_CASHIER[1], enter=True)

        def supervisor_approves(d: Any) -> None:
            errors.append(d.error.text())                         # the cashier was refused, the dialog stayed
            d.number.clear()
            type_into(d.number, DEMO_SUPERVISOR[0], enter=True)
            type_into(d.pin, DEMO_SUPERVISOR[1], enter=True)

        script = ModalScript([(is_a("ApprovalDialog"), cashier_tries), (is_a("ApprovalDialog"), supervisor_approves)])
        qtbot.keyClick(w, Qt.Key.Key_F5)
        script.finish(qtbot)
        assert errors and "may not approve" in errors[0]
        dialog = _cash_dialog_opens(qtbot, ctl)
        qtbot.keyClicks(dialog.amount, "20")
        qtbot.keyClick(dialog.amount, Qt.Key.Key_Return)
        qtbot.waitUntil(lambda: ctl.cash_dialog is None)
        committed = ctl.last_committed
        assert committed is not None and committed.snapshot.totals.points_redeemed == 200
        supervisor = terminal.services.users.authenticate(DEMO_SUPERVISOR[0], DEMO_SUPERVISOR[1])
        assert _holds(db)[-1] == ("used", 0, 0, supervisor.id)
        conn = connect(db)
        try:
            audit = conn.execute("SELECT user_name, subject, detail FROM audit_log WHERE action = 'approval' "
                                 "ORDER BY id DESC LIMIT 1").fetchone()
        finally:
            conn.close()
        assert audit is not None and audit[0] == supervisor.name and "offline_redeem" in audit[2]
        assert "200 points" in audit[1]
    finally:
        if checkout.points_gate is not None:
            checkout.points_gate.close()
        proxy.close()
        journal.close()
        terminal.shutdown()
        STORE_ENV.clear()
