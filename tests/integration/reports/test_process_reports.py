"""X reports built in their own process (issue 18): same figures as in-process, audited, never blocking a commit."""

from __future__ import annotations

import os
import sqlite3
import threading
from pathlib import Path

from _shift_env import Env, Seeder

from pos_app.background.reports import ProcessReports
from pos_app.settings import load_settings
from pos_app.storage.db import connect


def test_x_report_from_the_report_process_matches_and_is_audited(env: Env, seed: Seeder, tmp_path: Path) -> None:
    shift = env.shifts.open_shift(env.cashier, float_fen=50_000)
    seed.sale(shift.id, env.cashier.id, [("cash", 1200, 2000)])
    seed.sale(shift.id, env.cashier.id, [("alipay", 3300, 3300)])
    settings = load_settings(None, env={"POS_STORE_TERMINAL_ID": "T01"}, data_dir=tmp_path)
    assert settings.db_path == tmp_path / "pos.sqlite3"
    reports = ProcessReports(env.reports, settings)
    before = reports.x_report(printed_by="early")            # before the process is up: built here
    assert reports.remote_reports == 0
    reports.start()
    try:
        assert reports.wait_ready(20)
        assert reports.pid not in (None, os.getpid())
        remote = reports.x_report(printed_by="Sup Li")
        assert reports.remote_reports == 1
    finally:
        assert reports.stop(10)
    assert remote.figures["net_fen"] == before.figures["net_fen"] == 4500
    assert remote.figures["shift_number"] == shift.number
    assert "Sup Li" in remote.text
    audited = env.conn.execute("SELECT user_name FROM audit_log WHERE action = 'report.x' ORDER BY id").fetchall()
    assert [r[0] for r in audited] == ["early", "Sup Li"]
    assert reports.z_reports() == env.reports.z_reports()    # the rest is answered by the terminal's service


def test_the_figures_are_read_without_the_write_lock(env: Env, seed: Seeder, tmp_path: Path) -> None:
    """While another connection holds the write lock, the figures are still read (a snapshot); only the
    audit entry waits for it."""
    shift = env.shifts.open_shift(env.cashier, float_fen=0)
    seed.sale(shift.id, env.cashier.id, [("cash", 700, 700)])
    from pos_app.runtime import SystemClock
    from pos_app.services.reports import ReportService
    from pos_app.storage.uow import SqliteUnitOfWork

    reads: list[str] = []
    at_write = threading.Event()

    class Spy(SqliteUnitOfWork):
        def __enter__(self) -> SqliteUnitOfWork:
            reads.append("read" if self._readonly else "write")
            if not self._readonly:
                at_write.set()
            return super().__enter__()

    def build() -> None:                   # the report's own thread and connection, as in the report process
        conn = connect(tmp_path / "pos.sqlite3")
        service = ReportService(lambda: Spy(conn), SystemClock(), terminal_id="T01")
        try:
            got.append(service.x_report(printed_by="x"))
        finally:
            conn.close()

    writer = sqlite3.connect(tmp_path / "pos.sqlite3", isolation_level=None)
    writer.execute("BEGIN IMMEDIATE")
    got: list[object] = []
    t = threading.Thread(target=build)
    t.start()
    assert at_write.wait(10)
    assert reads == ["read", "write"]     # the figures were read while the writer held the lock
    writer.execute("COMMIT")
    t.join(10)
    assert got and got[0].figures["net_fen"] == 700  # type: ignore[attr-defined]
    writer.close()
