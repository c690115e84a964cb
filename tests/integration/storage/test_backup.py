"""Backups (SQLite backup API, while a cashier commits), rotation, restore (lock, replaced file kept, audited),
db migrate backs up first, every committed fixture database migrates to today's schema."""

from __future__ import annotations

import datetime as dt
import os
import shutil
import sqlite3
import threading
from pathlib import Path

import pytest

from pos_app.__main__ import main
from pos_app.storage.backup import (
    BackupError,
    backup_name,
    integrity_problems,
    list_backups,
    online_backup,
    restore,
    rotate,
)
from pos_app.storage.db import SCHEMA_VERSION, connect, migrate, transaction
from pos_app.storage.runlock import RunLock

ROOT = Path(__file__).resolve().parents[3]
FIXTURES = sorted((ROOT / "tests" / "data" / "db").glob("pos-schema-*.sqlite3"))


@pytest.fixture
def fixture_db(tmp_path: Path) -> Path:
    """The newest committed real database, copied (it is not live) into a data dir."""
    data = tmp_path / "data"
    data.mkdir()
    shutil.copyfile(FIXTURES[-1], data / "pos.sqlite3")
    connect(data / "pos.sqlite3").close()  # as the terminal opens it: WAL
    return data / "pos.sqlite3"


def _count(path: Path, table: str = "sales") -> int:
    with sqlite3.connect(path) as c:
        return int(c.execute(f"SELECT count(*) FROM {table}").fetchone()[0])  # noqa: S608


def test_online_backup_is_a_sound_private_snapshot_while_commits_go_on(fixture_db: Path, tmp_path: Path) -> None:
    before = _count(fixture_db, "audit_log")
    stop = threading.Event()
    committed = threading.Condition()
    written: list[int] = []

    def cashier() -> None:
        conn = connect(fixture_db)
        while not stop.is_set():
            with transaction(conn):
                conn.execute("INSERT INTO meta (key, value) VALUES (?, 'x')", (f"k{len(written)}",))
            with committed:
                written.append(1)
                committed.notify_all()
        conn.close()

    during: list[int] = []

    def progress(done: int, total: int) -> None:
        if len(during) < 3:  # in the middle of the copy, the cashier's next commit goes through
            with committed:
                n = len(written)
                assert committed.wait_for(lambda: len(written) > n, timeout=10)
            during.append(len(written))

    t = threading.Thread(target=cashier)
    t.start()
    try:
        result = online_backup(fixture_db, tmp_path / "b" / "copy.sqlite3", pages=2, progress=progress)
    finally:
        stop.set()
        t.join()
    assert result.steps > 3 and len(during) == 3
    assert os.stat(result.path).st_mode & 0o777 == 0o600
    assert integrity_problems(result.path) == []
    assert _count(result.path, "audit_log") == before
    assert not list((tmp_path / "b").glob("*.partial"))


def test_backup_of_a_missing_database_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(BackupError, match="no database to back up"):
        online_backup(tmp_path / "nope.sqlite3", tmp_path / "x.sqlite3")
    assert not (tmp_path / "x.sqlite3").exists()


def test_rotation_keeps_seven_daily_and_four_weekly(tmp_path: Path) -> None:
    start = dt.datetime(2026, 10, 1, 2, 0)
    for day in range(60):  # two a day for 60 days
        for hour in (2, 14):
            (tmp_path / backup_name(start + dt.timedelta(days=day, hours=hour - 2))).write_bytes(b"")
    (tmp_path / "pre-migrate-v1-20261001-020000.sqlite3").write_bytes(b"")
    (tmp_path / "notes.txt").write_text("mine", encoding="utf-8")
    rotate(tmp_path, keep_daily=7, keep_weekly=4)
    kept = [at for at, _ in list_backups(tmp_path)]
    days = sorted({at.date() for at in kept}, reverse=True)
    newest = dt.date(2026, 11, 29)
    assert [d for d in days if d > newest - dt.timedelta(days=7)] == [newest - dt.timedelta(days=i) for i in range(7)]
    assert all(at.hour == 14 for at in kept)  # the newest copy of each day
    weeks = {at.isocalendar()[:2] for at in kept}
    assert len(weeks) == 4 and len(kept) <= 7 + 4
    assert (tmp_path / "pre-migrate-v1-20261001-020000.sqlite3").exists() and (tmp_path / "notes.txt").exists()


def test_restore_refused_while_a_terminal_runs(fixture_db: Path, tmp_path: Path) -> None:
    copy = online_backup(fixture_db, tmp_path / "copy.sqlite3").path
    terminal = RunLock.for_database(fixture_db)
    assert terminal.acquire(shared=True)
    try:
        with pytest.raises(BackupError, match="in use by a terminal"):
            restore(fixture_db, copy, now=dt.datetime.now(dt.UTC))
    finally:
        terminal.release()
    assert not list(fixture_db.parent.glob("*.replaced-*"))


def test_restore_brings_back_the_copy_keeps_the_replaced_file_and_audits(fixture_db: Path, tmp_path: Path,
                                                                         capsys: pytest.CaptureFixture[str]) -> None:
    data = fixture_db.parent
    env = {"POS_DATA_DIR": str(data)}
    os.environ.update(env)
    try:
        assert main(["db", "backup"]) == 0
        yesterday = _count(fixture_db)
        conn = connect(fixture_db)
        conn.execute("DELETE FROM tenders")  # today's damage
        conn.execute("UPDATE sales SET total_fen = 0")
        conn.close()
        assert main(["db", "restore"]) == 0
        out = capsys.readouterr().out
        assert "the replaced file is kept at" in out
        assert main(["db", "verify"]) == 0
    finally:
        for k in env:
            os.environ.pop(k, None)
    assert _count(fixture_db) == yesterday and _count(fixture_db, "tenders") > 0
    aside = next(data.glob("pos.sqlite3.replaced-*[0-9]"))
    assert _count(aside, "tenders") == 0  # the replaced file, as it was
    with sqlite3.connect(fixture_db) as c:
        action, detail = c.execute("SELECT action, detail FROM audit_log ORDER BY id DESC LIMIT 1").fetchone()
    assert action == "db.restore" and str(aside) in detail


def test_restore_refuses_an_unsound_file_and_touches_nothing(fixture_db: Path, tmp_path: Path) -> None:
    bad = tmp_path / "bad.sqlite3"
    bad.write_bytes(b"SQLite format 3\x00" + b"\x00" * 2000)
    original = fixture_db.read_bytes()
    with pytest.raises(BackupError, match="nothing was replaced"):
        restore(fixture_db, bad, now=dt.datetime.now(dt.UTC))
    other = tmp_path / "other.sqlite3"
    with sqlite3.connect(other) as c:
        c.execute("CREATE TABLE x (y)")
    with pytest.raises(BackupError, match="not a terminal database"):
        restore(fixture_db, other, now=dt.datetime.now(dt.UTC))
    assert fixture_db.read_bytes() == original


@pytest.mark.parametrize("fixture", FIXTURES, ids=[p.name for p in FIXTURES])
def test_every_committed_database_migrates_to_todays_schema(fixture: Path, tmp_path: Path) -> None:
    db = tmp_path / "pos.sqlite3"
    shutil.copyfile(fixture, db)
    sales, audit = _count(db), _count(db, "audit_log")
    conn = connect(db)
    migrate(conn)
    assert int(conn.execute("PRAGMA user_version").fetchone()[0]) == SCHEMA_VERSION
    conn.close()
    assert integrity_problems(db) == []
    assert (_count(db), _count(db, "audit_log")) == (sales, audit)


def test_db_migrate_backs_up_first(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from pos_app.storage.db import MIGRATIONS

    data = tmp_path / "data"
    db = data / "pos.sqlite3"
    conn = connect(db)
    first_version, first_step = sorted(MIGRATIONS)[0]
    with transaction(conn):  # a file as the first release wrote it
        first_step(conn)
        conn.execute("PRAGMA application_id = 1347375921")
        conn.execute(f"PRAGMA user_version = {first_version}")
    conn.close()
    os.environ["POS_DATA_DIR"] = str(data)
    try:
        assert main(["db", "migrate"]) == 0
    finally:
        os.environ.pop("POS_DATA_DIR", None)
    out = capsys.readouterr().out
    if SCHEMA_VERSION == first_version:
        assert "backup before migrating" not in out
        return
    saved = next((data / "backups").glob(f"pre-migrate-v{first_version}-*.sqlite3"))
    assert f"backup before migrating: {saved}" in out
    with sqlite3.connect(saved) as c:
        assert c.execute("PRAGMA user_version").fetchone()[0] == first_version
