"""The scheduled chores run in their own supervised process, not on threads of the terminal (issue 18): the
daily export written by that process, none of their threads in this one, gone when stopped."""

from __future__ import annotations

import datetime as dt
import os
import threading
import time
from pathlib import Path

from pos_app.background.jobs import JobsSupervisor
from pos_app.daily_export import due_days, export_file
from pos_app.settings import load_settings
from pos_app.storage.db import Database


def test_the_daily_export_is_written_by_the_jobs_process(tmp_path: Path) -> None:
    cfg = tmp_path / "pos.toml"
    cfg.write_text(f'[store]\nterminal_id = "T01"\n[export]\nfolder = "{tmp_path / "out"}"\ntime = "00:00"\n'
                   'catch_up_days = 1\n', encoding="utf-8")
    settings = load_settings(cfg, env={}, data_dir=tmp_path / "data")
    Database(settings.db_path).open_and_migrate().close()
    due = due_days(settings, dt.datetime.now(dt.UTC))  # the store day just finished (Beijing time)
    assert len(due) == 1
    yesterday = due[0]
    jobs = JobsSupervisor(settings, export=True).start()
    try:
        deadline = time.monotonic() + 30
        while not export_file(settings, yesterday).exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert export_file(settings, yesterday).exists()
        assert jobs.pid is not None and jobs.pid != os.getpid()
        assert not [t.name for t in threading.enumerate() if t.name in ("daily-export", "morning-reconcile")]
    finally:
        assert jobs.stop(30)
    assert jobs.pid is None


def test_nothing_to_do_starts_no_process(tmp_path: Path) -> None:
    settings = load_settings(None, env={}, data_dir=tmp_path / "data")
    jobs = JobsSupervisor(settings).start()
    assert jobs.pid is None and jobs.stop(1)
