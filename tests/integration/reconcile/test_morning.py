"""The automatic morning run: yesterday's bill once it is ready, retried when not, never twice."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from pos_app.reconcile_runner import MorningReconcile
from pos_app.runtime import FixedClock
from pos_app.sandbox import SandboxServer
from pos_app.settings import load_settings
from pos_app.storage.db import connect


def test_morning_run_waits_for_the_bill_and_runs_once(tmp_path: Path, sandbox: SandboxServer) -> None:
    sandbox.configure(timestamp_window_s=None)
    cfg = tmp_path / "pos.toml"
    cfg.write_text(f'[gateway]\nurl = "{sandbox.gateway_url}"\napp_id = "{sandbox.app_id}"\n'
                   f'app_private_key = "{sandbox.app_private_key_path}"\n'
                   f'alipay_public_key = "{sandbox.alipay_public_key_path}"\n[reconcile]\nrun_after = "09:30"\n',
                   encoding="utf-8")
    settings = load_settings(cfg, data_dir=tmp_path / "data", env={})
    clock = FixedClock(dt.datetime(2026, 5, 12, 1, 0, tzinfo=dt.UTC))  # 09:00 Beijing: too early
    sandbox.set_clock(dt.datetime(2026, 5, 11, 15, 0))
    sandbox.make_trade("5.00", out_trade_no="SIDE-9")
    sandbox.set_clock(dt.datetime(2026, 5, 12, 9, 0))
    morning = MorningReconcile(settings, clock)
    assert morning.check_once() is None
    clock.advance(40 * 60)                              # 09:40, the days before are asked first
    sandbox.configure(bill_ready_hour=11)               # ... and Alipay's bills are late today
    sandbox.set_clock(dt.datetime(2026, 5, 12, 9, 40))
    first = [o.reconciliation.bill_date for o in (morning.check_once() for _ in range(3)) if o is not None]
    assert first == [dt.date(2026, 5, 9), dt.date(2026, 5, 10)]  # the older days; yesterday's is not ready
    assert morning.check_once() is None                 # yesterday is blocked for 30 minutes
    sandbox.configure(bill_ready_hour=9)
    clock.advance(20 * 60)
    assert morning.check_once() is None                 # still blocked at 10:00
    clock.advance(11 * 60)
    sandbox.set_clock(dt.datetime(2026, 5, 12, 10, 11))
    late = morning.check_once()
    assert late is not None and late.reconciliation.bill_date == dt.date(2026, 5, 11)
    assert morning.check_once() is None                 # never twice
    conn = connect(settings.db_path)
    rows = conn.execute("SELECT bill_date, problems FROM reconciliations ORDER BY bill_date").fetchall()
    assert [tuple(r) for r in rows] == [("2026-05-09", 0), ("2026-05-10", 0), ("2026-05-11", 1)]
