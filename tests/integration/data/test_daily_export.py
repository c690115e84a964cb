"""The scheduled daily export: yesterday's journal appears once, after the configured time, atomically."""

from __future__ import annotations

import datetime as dt
import stat
from pathlib import Path

import pytest

from pos_app.daily_export import DailyExporter, due_days, export_file
from pos_app.settings import SettingsError, load_settings
from tests.integration.reports._shift_env import Seeder, make_env


def _settings(tmp_path: Path, time: str = "06:00") -> object:
    cfg = tmp_path / "pos.toml"
    cfg.write_text(f'[store]\nterminal_id = "T01"\n[export]\nfolder = "{tmp_path / "out"}"\ntime = "{time}"\n'
                   'catch_up_days = 2\n', encoding="utf-8")
    return load_settings(cfg, env={}, data_dir=tmp_path)


def test_yesterday_is_written_once_after_the_time_and_missed_days_caught_up(tmp_path: Path) -> None:
    env = make_env(tmp_path / "pos.sqlite3")  # clock: 2026-11-25 01:00 UTC = 09:00 Beijing
    try:
        shift = env.shifts.open_shift(env.cashier, float_fen=1000)
        Seeder(env.conn, env.clock).sale(shift.id, 1, [("cash", 500, 500)])
    finally:
        env.conn.close()
    settings = _settings(tmp_path)
    before = dt.datetime(2026, 11, 25, 21, 59, tzinfo=dt.UTC)   # 05:59 on the 26th, Beijing
    after = dt.datetime(2026, 11, 25, 22, 0, tzinfo=dt.UTC)     # 06:00
    assert due_days(settings, before) == [dt.date(2026, 11, 23), dt.date(2026, 11, 24)]  # type: ignore[arg-type]
    assert due_days(settings, after) == [dt.date(2026, 11, 24), dt.date(2026, 11, 25)]  # type: ignore[arg-type]
    exporter = DailyExporter(settings, clock=lambda: after)  # type: ignore[arg-type]
    written = exporter.run_once()
    day = export_file(settings, dt.date(2026, 11, 25))  # type: ignore[arg-type]
    assert day in written and day.name == "sales-T01-2026-11-25.csv"
    assert stat.S_IMODE(day.stat().st_mode) == 0o600
    text = day.read_text(encoding="utf-8-sig")
    assert [line.split(",")[2] for line in text.splitlines()[1:]] == ["shift_open", "sale", "line", "tender"]
    assert exporter.run_once() == [], "a day is exported once"
    assert not list((tmp_path / "out").glob(".*")), "no temporary files left"


def test_export_settings_are_validated(tmp_path: Path) -> None:
    with pytest.raises(SettingsError) as info:
        _settings(tmp_path, time="25:00")
    assert any("export.time" in p for p in info.value.problems)
