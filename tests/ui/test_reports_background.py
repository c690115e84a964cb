"""The report screen builds the X report off the GUI thread and shows it when it arrives (issue 18)."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from pos_app.bootstrap import ThreadConnections
from pos_app.runtime import SystemClock
from pos_app.services.reports import Report, ReportService
from pos_app.ui.reports_view import ReportsView
from pos_app.ui.workers import TaskRunner


class _Recording(ReportService):
    def __init__(self, *a: Any, **k: Any) -> None:
        super().__init__(*a, **k)
        self.threads: list[int] = []

    def x_report(self, shift_number: int | None = None, *, printed_by: str = "") -> Report:
        self.threads.append(threading.get_ident())
        return super().x_report(shift_number, printed_by=printed_by)


def test_x_report_is_built_off_the_gui_thread_and_refreshes_coalesce(qtbot: Any, db_path: Path) -> None:
    conns = ThreadConnections(db_path)
    conn = conns.get()
    conn.execute("INSERT INTO users (id, number, name, role, pin_hash, created_at) VALUES"
                 " (1, '1001', 'A', 'cashier', 'x', '2026-01-01')")
    conn.execute("INSERT INTO shifts (id, terminal_id, number, state, opened_by, opened_at, opening_float_fen)"
                 " VALUES (1, 'T01', 7, 'open', 1, '2026-01-01T00:00:00+00:00', 30000)")
    reports = _Recording(conns.uow, SystemClock(), terminal_id="T01")
    runner = TaskRunner()
    view = ReportsView(reports, tasks=runner)          # the first build starts here, in the background
    qtbot.addWidget(view)
    assert view.x_model.rowCount() == 0                # nothing waited for on the GUI thread
    view.refresh_x()
    view.refresh_x()                                   # asked twice while the first is being built: one more
    qtbot.waitUntil(lambda: view.x_model.rowCount() > 0 and not view._x_busy, timeout=10_000)
    assert threading.get_ident() not in reports.threads
    assert len(reports.threads) == 2
    assert "7" in view.x_status.text()
    runner.wait_idle(5000)
    conns.close_mine()
