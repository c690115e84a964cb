"""Scheduled chores: the day's backup once after its hour, finished outbox rows and old logs pruned, audit kept."""

from __future__ import annotations

import datetime as dt
import os
import shutil
import sqlite3
from pathlib import Path

from pos_app.housekeeping import Housekeeper, backup_due
from pos_app.settings import load_settings
from pos_app.storage.backup import list_backups

ROOT = Path(__file__).resolve().parents[3]
FIXTURE = sorted((ROOT / "tests" / "data" / "db").glob("pos-schema-*.sqlite3"))[-1]


def test_backup_due_once_a_day_after_its_hour() -> None:
    at = dt.datetime(2026, 12, 3, 1, 59)
    assert not backup_due(None, at, 2)
    assert backup_due(None, at.replace(hour=2, minute=0), 2)
    assert backup_due(dt.datetime(2026, 12, 2, 23, 0), at.replace(hour=9), 2)
    assert not backup_due(dt.datetime(2026, 12, 3, 2, 5), at.replace(hour=9), 2)


def test_housekeeper_backs_up_prunes_finished_outbox_rows_and_old_logs(tmp_path: Path) -> None:
    data = tmp_path / "data"
    (data / "logs").mkdir(parents=True)
    shutil.copyfile(FIXTURE, data / "pos.sqlite3")
    settings = load_settings(None, env={"POS_DATA_DIR": str(data), "POS_HOUSEKEEPING_OUTBOX_KEEP_DAYS": "30"})
    now = dt.datetime(2026, 12, 3, 9, 0).astimezone()
    old, recent = (now - dt.timedelta(days=40)).astimezone(dt.UTC), (now - dt.timedelta(days=2)).astimezone(dt.UTC)
    with sqlite3.connect(data / "pos.sqlite3") as c:
        c.execute("DELETE FROM outbox")
        for i, (state, done_at) in enumerate([("done", old), ("discarded", old), ("done", recent), ("dead", None),
                                              ("pending", None)]):
            c.execute("INSERT INTO outbox (event_id, kind, card_no, method, body_json, state, created_at, done_at)"
                      " VALUES (?, 'card.update', '8800', 'm', '{}', ?, ?, ?)",
                      (f"e{i}", state, old.isoformat(), done_at.isoformat() if done_at else None))
        audit = c.execute("SELECT count(*) FROM audit_log").fetchone()[0]
    stale, fresh = data / "logs" / "pos.log.3", data / "logs" / "pos.log.1"
    for p in (stale, fresh, data / "logs" / "pos.log"):
        p.write_text("x", encoding="utf-8")
    os.utime(stale, (now.timestamp() - 100 * 86400,) * 2)
    os.utime(data / "logs" / "pos.log", (now.timestamp() - 100 * 86400,) * 2)

    report = Housekeeper(settings).run_once(now)
    assert report.backup is not None and report.backup_error == ""
    assert [p for _, p in list_backups(data / "backups")] == [report.backup]
    assert report.outbox_pruned == 2 and report.logs_pruned == 1
    with sqlite3.connect(data / "pos.sqlite3") as c:
        states = sorted(r[0] for r in c.execute("SELECT state FROM outbox"))
        assert states == ["dead", "done", "pending"]
        assert c.execute("SELECT count(*) FROM audit_log").fetchone()[0] == audit
    assert not stale.exists() and fresh.exists() and (data / "logs" / "pos.log").exists()
    again = Housekeeper(settings).run_once(now + dt.timedelta(hours=3))
    assert again.backup is None  # one a day
