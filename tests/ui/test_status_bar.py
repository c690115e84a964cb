"""The status bar reads the database off the GUI thread and says when the sync is offline.

The GUI thread opens no SQLite connection after start-up and writes nothing outside a cashier intent
(a scan is a read; a commit is the cashier's intent and writes).
"""

from __future__ import annotations

import sqlite3
import threading
from typing import Any

import pytest
from PySide6.QtCore import Qt

from tests.ui.conftest import WATER, scan

WRITES = ("BEGIN IMMEDIATE", "INSERT", "UPDATE", "DELETE", "REPLACE")


def _sync_label(terminal: Any) -> str:
    return str(terminal.window.status_labels["sync"].text())


def test_status_bar_says_offline(qtbot: Any, terminal: Any) -> None:
    w = terminal.window
    qtbot.waitUntil(lambda: "…" not in _sync_label(terminal), timeout=10_000)
    terminal.sandbox.inject_fault("refuse", "*", count=None)   # the gateway's door is shut
    card = next(c for c in terminal.sandbox.cards() if c.get("biz_card_no"))
    scan(terminal, str(card.get("external_card_no") or card["biz_card_no"]))
    qtbot.waitUntil(lambda: w.controller.snapshot().member is not None, timeout=10_000)
    scan(terminal, WATER, "EAN13")
    qtbot.waitUntil(lambda: w.checkout_view.model.rowCount() == 1)
    qtbot.keyClick(w, Qt.Key.Key_F5)
    qtbot.keyClicks(w.controller.cash_dialog.amount, "10")
    qtbot.keyClick(w.controller.cash_dialog.amount, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: w.controller.last_committed is not None, timeout=10_000)

    def offline() -> bool:
        w.refresh_status()
        return "offline" in _sync_label(terminal)

    qtbot.waitUntil(offline, timeout=20_000)
    assert "pending" in _sync_label(terminal)
    terminal.sandbox.clear_faults()


@pytest.fixture
def gui_db_watch(terminal: Any, monkeypatch: pytest.MonkeyPatch) -> dict[str, list[str]]:
    """Connections opened and write statements run on the GUI thread, from now on."""
    gui = threading.main_thread()
    seen: dict[str, list[str]] = {"connections": [], "writes": []}
    real_connect = sqlite3.connect

    def connect(*args: Any, **kwargs: Any) -> sqlite3.Connection:
        if threading.current_thread() is gui:
            seen["connections"].append(str(args[0] if args else kwargs.get("database")))
        return real_connect(*args, **kwargs)

    def trace(sql: str) -> None:
        if threading.current_thread() is gui and sql.lstrip().upper().startswith(WRITES):
            seen["writes"].append(sql.strip().split("\n")[0][:60])

    monkeypatch.setattr(sqlite3, "connect", connect)
    terminal.conns.get().set_trace_callback(trace)   # the GUI thread's one connection
    return seen


def test_gui_thread_opens_no_connection_and_writes_only_in_cashier_intents(
        qtbot: Any, terminal: Any, gui_db_watch: dict[str, list[str]]) -> None:
    w = terminal.window
    for _ in range(3):                                 # the periodic refresh: figures come from a worker
        w.refresh_status()
        qtbot.waitUntil(lambda: not w._figures_in_flight, timeout=10_000)  # noqa: SLF001
    scan(terminal, WATER, "EAN13")                     # a scan reads the catalogue: no write lock taken
    qtbot.waitUntil(lambda: w.checkout_view.model.rowCount() == 1)
    assert gui_db_watch == {"connections": [], "writes": []}
    qtbot.keyClick(w, Qt.Key.Key_F5)                   # the cashier's intent: commit the sale
    qtbot.keyClicks(w.controller.cash_dialog.amount, "10")
    qtbot.keyClick(w.controller.cash_dialog.amount, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: w.controller.last_committed is not None, timeout=10_000)
    assert gui_db_watch["connections"] == []
    assert any(s.startswith("INSERT") for s in gui_db_watch["writes"])   # the watch sees writes when they happen


def _db_descriptors(db: Any) -> int:
    """Descriptors this process holds on the terminal's database file and its WAL."""
    import os

    names = {str(db), f"{db}-wal"}
    n = 0
    for fd in os.listdir("/proc/self/fd"):
        try:
            if os.readlink(f"/proc/self/fd/{fd}") in names:
                n += 1
        except OSError:
            continue
    return n


def test_status_refreshes_do_not_leak_database_connections(qtbot: Any, terminal: Any) -> None:
    """Every status refresh reads the database on a pool thread. The pool thread must keep its connection:
    before, each refresh opened one more and never closed it (one descriptor a second, "too many open files"
    after a quarter of an hour at the usual limit of 1 024)."""
    w = terminal.window

    def refreshes(n: int) -> None:
        for _ in range(n):
            w.refresh_status()
            qtbot.waitUntil(lambda: not w._figures_in_flight, timeout=10_000)

    refreshes(5)
    settled = _db_descriptors(terminal.settings.db_path)
    refreshes(40)
    # Before: one more per refresh (+40). A pool thread or a background worker starting meanwhile may add one
    # or two (seen under a loaded parallel run), never one per refresh.
    assert _db_descriptors(terminal.settings.db_path) <= settled + 4
    assert terminal.container.conns.open_count() <= 10   # GUI thread + pool and worker threads, not per refresh


def test_shutdown_stops_the_open_basket_writer(qtbot: Any, tmp_path: Any) -> None:
    """Each terminal starts a thread that keeps the open basket safe; shutting the terminal down ends it
    (before, every terminal built in a process left one behind, waiting forever)."""
    import threading

    from tests.ui.conftest import make_terminal

    def keepers() -> set[threading.Thread]:
        return {t for t in threading.enumerate() if t.name == "open-basket-keeper"}

    before = keepers()
    t = make_terminal(qtbot, tmp_path)
    mine = keepers() - before
    assert len(mine) == 1
    t.shutdown()
    assert not any(k.is_alive() for k in mine)
