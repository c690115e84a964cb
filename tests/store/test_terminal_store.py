"""The real terminal (offscreen Qt) in store mode: the link runs off the GUI thread and the status bar says
whether the store is reachable and how many events wait; a standalone terminal shows nothing of it."""

from __future__ import annotations

import time
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

from pos_app.app import build_terminal
from pos_app.settings import load_settings
from pos_app.store import schema
from tests.ui.modal import ModalScript, is_a, supervisor_approves

STORE_ENV: dict[str, str] = {}


def _store_env(monkeypatch: Any, dsn: str, password: str) -> None:
    STORE_ENV.clear()
    STORE_ENV.update({"POS_STORE_DSN": dsn, "POS_STORE_PASSWORD_ENV": "LANE_PW", "POS_STORE_DEADLINE_S": "1.0"})
    monkeypatch.setenv("LANE_PW", password)


def make_terminal(qtbot: Any, tmp_path: Any) -> Any:
    """As tests/ui/conftest.make_terminal, with this test's [store] settings."""
    env = {"POS_LANGUAGE": "en", **STORE_ENV}
    settings = load_settings(None, env=env, data_dir=tmp_path / "data")
    terminal = build_terminal(settings, demo=True, scanner_urls=("fake://",), show_wallet=False,
                              payment_sleep=lambda s: time.sleep(min(s, 0.05)))
    qtbot.addWidget(terminal.window)
    terminal.window.show()
    qtbot.waitUntil(terminal.recovery_done.is_set, timeout=10_000)
    return terminal


def test_terminal_in_store_mode_syncs_and_shows_the_store(qtbot: Any, tmp_path: Any, store_db: Any,
                                                          monkeypatch: Any) -> None:
    with store_db.admin() as c:
        creds = schema.add_lane(c, "t1")
    _store_env(monkeypatch, store_db.server.dsn(store_db.name, creds.role), creds.password)
    terminal = make_terminal(qtbot, tmp_path)
    try:
        label = terminal.window.status_labels["storelink"]
        qtbot.waitUntil(lambda: (terminal.window.refresh_status(), label.text())[1] == "Store server online",
                        timeout=15_000)
        assert label.isVisible()
        assert terminal.services.checkout.points_gate is not None   # redemption goes through the store
        # Shift+F9: the store report; the demo cashier asks the supervisor, who sees this lane on the store X
        seen: dict[str, Any] = {}

        def look(w: Any) -> None:
            seen["lanes"] = [ln.lane for ln in w.panel.figures.lanes]
            QTest.keyClick(w, Qt.Key.Key_Escape)

        script = ModalScript([supervisor_approves(), (lambda w: is_a("StoreReportDialog")(w) and not w.panel.busy
                                                      and w.panel.figures is not None, look)])
        qtbot.keyClick(terminal.window.checkout_view.entry, Qt.Key.Key_F9, Qt.KeyboardModifier.ShiftModifier)
        script.finish(qtbot)
        assert seen["lanes"] == ["t1"]

        # F9's report screen has a Store tab, asked only when it is shown
        def store_tab(w: Any) -> None:
            seen["tab"] = w.tabs.tabText(w.tabs.count() - 1)
            seen["before"] = w.tabs.widget(w.tabs.count() - 1).loaded
            w.tabs.setCurrentIndex(w.tabs.count() - 1)

        def loaded(w: Any) -> None:
            seen["tab_lanes"] = [ln.lane for ln in w.tabs.currentWidget().figures.lanes]
            QTest.keyClick(w, Qt.Key.Key_Escape)

        script = ModalScript([supervisor_approves(), (is_a("ReportsView"), store_tab),
                              (lambda w: is_a("ReportsView")(w) and w.tabs.currentWidget().figures is not None, loaded)])
        qtbot.keyClick(terminal.window.checkout_view.entry, Qt.Key.Key_F9)
        script.finish(qtbot)
        assert seen["tab"] == "Store" and seen["before"] is False and seen["tab_lanes"] == ["t1"]
    finally:
        terminal.shutdown()
    with store_db.admin() as c:    # the demo login opened a shift: it reached the store
        assert c.execute("SELECT count(*) FROM pos.shift_event WHERE kind = 'open'").fetchone()[0] >= 1


def test_terminal_with_the_store_down_says_so(qtbot: Any, tmp_path: Any, monkeypatch: Any) -> None:
    _store_env(monkeypatch, "host=127.0.0.1 port=1 dbname=x user=y", "pw")
    terminal = make_terminal(qtbot, tmp_path)
    try:
        label = terminal.window.status_labels["storelink"]
        qtbot.waitUntil(lambda: (terminal.window.refresh_status(), label.text())[1].startswith(
            "Store offline since"), timeout=15_000)
        assert label.text().endswith("events waiting")
    finally:
        terminal.shutdown()


def test_standalone_terminal_has_no_store_status(qtbot: Any, tmp_path: Any, monkeypatch: Any) -> None:
    STORE_ENV.clear()
    terminal = make_terminal(qtbot, tmp_path)
    try:
        assert terminal.store_link is None
        assert terminal.services.checkout.points_gate is None        # redeems against its own ledger
        assert not terminal.window.status_labels["storelink"].isVisible()
        assert terminal.ctx.store_reports is None and "store_report" not in terminal.ctx.nav.intents  # no store X
    finally:
        terminal.shutdown()


def test_shift_f9_opens_the_store_report_when_the_window_is_not_active(qtbot: Any, tmp_path: Any, store_db: Any,
                                                                      monkeypatch: Any) -> None:
    """Found under Xvfb with a real window: on a counter PC without a window manager the till's window is not
    "active", and Qt gives an inactive window no shortcuts; the action keys (F1-F12) have a fallback in the
    window's keyPressEvent, Shift+F9 had none and did nothing. The real terminal's keyboard-wedge scanner is on."""
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication, QWidget

    with store_db.admin() as c:
        creds = schema.add_lane(c, "t_inactive")
    _store_env(monkeypatch, store_db.server.dsn(store_db.name, creds.role), creds.password)
    settings = load_settings(None, env={"POS_LANGUAGE": "en", **STORE_ENV}, data_dir=tmp_path / "data")
    terminal = build_terminal(settings, demo=True, scanner_urls=("wedge://",), show_wallet=False)
    qtbot.addWidget(terminal.window)
    other = QWidget()
    qtbot.addWidget(other)
    try:
        w = terminal.window
        w.show()
        qtbot.waitUntil(terminal.recovery_done.is_set, timeout=10_000)
        other.show()
        other.activateWindow()
        qtbot.waitUntil(lambda: QApplication.activeWindow() is other, timeout=3_000)
        other.close()       # and gone: no window of the terminal is active (no window manager to pick one)
        qtbot.waitUntil(lambda: QApplication.activeWindow() is None, timeout=5000)
        seen: list[str | None] = []

        def look() -> None:
            modal = QApplication.activeModalWidget()
            seen.append(type(modal).__name__ if modal is not None else None)
            if modal is not None:
                modal.reject()  # type: ignore[attr-defined]

        QTimer.singleShot(500, look)
        entry = w.checkout_view.entry
        QTest.keyPress(entry, Qt.Key.Key_Shift, Qt.KeyboardModifier.ShiftModifier)
        QTest.keyClick(entry, Qt.Key.Key_F9, Qt.KeyboardModifier.ShiftModifier)
        QTest.keyRelease(entry, Qt.Key.Key_Shift)
        qtbot.waitUntil(lambda: bool(seen), timeout=5_000)
        assert seen == ["ApprovalDialog"]      # the demo cashier asks a supervisor for the store report
    finally:
        terminal.shutdown()
