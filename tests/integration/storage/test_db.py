"""The SQLite adapter on a real file: pragmas, migrations, refusals, rollback, crash safety."""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from pos_app.storage import db as dbmod
from pos_app.storage.db import SCHEMA_VERSION, Database, connect, migrate, schema_version, transaction
from pos_app.storage.errors import DatabaseCorrupt, DatabaseTooNew, DiskFull, ReadOnly, StorageBug, translate


def test_fresh_database_gets_pragmas_and_current_schema(tmp_path: Path) -> None:
    conn = Database(tmp_path / "a" / "pos.sqlite3").open_and_migrate()
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
    assert conn.execute("PRAGMA foreign_keys").fetchone()[0] == 1
    assert conn.execute("PRAGMA application_id").fetchone()[0] == dbmod.APPLICATION_ID
    assert schema_version(conn) == SCHEMA_VERSION
    assert migrate(conn) == []  # idempotent


def test_migrates_from_every_earlier_version(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    versions = sorted(v for v, _ in dbmod.MIGRATIONS)
    for stop in [0, *versions[:-1]]:
        path = tmp_path / f"v{stop}.sqlite3"
        conn = connect(path)
        monkeypatch.setattr(dbmod, "MIGRATIONS", [m for m in dbmod.MIGRATIONS if m[0] <= stop])
        monkeypatch.setattr(dbmod, "SCHEMA_VERSION", stop)
        migrate(conn)
        monkeypatch.undo()
        assert schema_version(conn) == stop
        migrate(conn)
        assert schema_version(conn) == SCHEMA_VERSION
        conn.close()


def test_a_lower_numbered_migration_arriving_later_is_still_applied(tmp_path: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    # Areas number migrations in their own ranges; one landing after a higher number must not be skipped.
    calls: list[str] = []

    def late(conn: sqlite3.Connection) -> None:
        calls.append("late")
        conn.execute("CREATE TABLE late_area (id INTEGER PRIMARY KEY)")

    conn = connect(tmp_path / "pos.sqlite3")
    migrate(conn)  # every migration of today's code: user_version is the highest
    top = schema_version(conn)
    gap = next(v for v in range(2, top) if v not in {m[0] for m in dbmod.MIGRATIONS})
    monkeypatch.setattr(dbmod, "MIGRATIONS", [*dbmod.MIGRATIONS, (gap, late)])
    assert migrate(conn) == [gap]
    assert calls == ["late"]
    assert conn.execute("SELECT count(*) FROM late_area").fetchone()[0] == 0
    assert schema_version(conn) == top  # the highest stays the highest
    assert migrate(conn) == []  # recorded: not applied twice
    conn.close()


def test_a_file_from_before_the_migrations_table_counts_its_versions_as_applied(tmp_path: Path) -> None:
    conn = connect(tmp_path / "pos.sqlite3")
    migrate(conn)
    conn.execute("DROP TABLE schema_migrations")  # as a file written by the first build: user_version only
    assert migrate(conn) == []  # nothing re-applied (migration 1 would fail on its existing tables)
    conn.close()


def test_newer_database_is_refused_and_untouched(tmp_path: Path) -> None:
    path = tmp_path / "pos.sqlite3"
    conn = Database(path).open_and_migrate()
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 5}")
    conn.close()
    before = path.read_bytes()
    conn = connect(path)
    with pytest.raises(DatabaseTooNew, match="newer version"):
        migrate(conn)
    conn.close()
    assert path.read_bytes() == before


def test_foreign_sqlite_database_is_refused_untouched(tmp_path: Path) -> None:
    path = tmp_path / "other.db"
    other = sqlite3.connect(path)
    other.execute("CREATE TABLE songs (title TEXT)")
    other.commit()
    other.close()
    before = path.read_bytes()
    with pytest.raises(DatabaseCorrupt, match="another program"):
        connect(path)
    assert path.read_bytes() == before


def test_garbage_file_is_refused_untouched(tmp_path: Path) -> None:
    path = tmp_path / "pos.sqlite3"
    path.write_bytes(b"this is not a database at all" * 200)
    before = path.read_bytes()
    with pytest.raises(DatabaseCorrupt):
        Database(path).open_and_migrate()
    assert path.read_bytes() == before


def test_data_folder_that_cannot_be_created_gives_a_clear_error(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the data folder should be")
    with pytest.raises(ReadOnly, match="cannot be written"):
        Database(blocker / "pos.sqlite3").open_and_migrate()


def test_read_only_database_file_gives_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "pos.sqlite3"
    Database(path).open_and_migrate().close()
    conn = connect(path, readonly=True)
    with pytest.raises(ReadOnly):
        with transaction(conn):
            conn.execute("INSERT INTO meta VALUES ('a', 'b')")
    conn.close()


def test_rollback_on_error_leaves_nothing(conn: sqlite3.Connection) -> None:
    with pytest.raises(RuntimeError):
        with transaction(conn):
            conn.execute("INSERT INTO meta VALUES ('k', 'v')")
            raise RuntimeError("boom")
    assert conn.execute("SELECT count(*) FROM meta").fetchone()[0] == 0


def test_constraint_violation_is_a_bug_not_the_environment(conn: sqlite3.Connection) -> None:
    with pytest.raises(StorageBug, match="UNIQUE") as info:
        with transaction(conn):
            conn.execute("INSERT INTO meta VALUES ('k', 'v')")
            conn.execute("INSERT INTO meta VALUES ('k', 'v')")
    assert isinstance(info.value.__cause__, sqlite3.IntegrityError)
    assert isinstance(translate(sqlite3.OperationalError("database or disk is full")), DiskFull)
    assert conn.execute("SELECT count(*) FROM meta").fetchone()[0] == 0


def test_disk_full_is_reported_as_the_environment(tmp_path: Path) -> None:
    conn = Database(tmp_path / "pos.sqlite3").open_and_migrate()
    page_count = conn.execute("PRAGMA page_count").fetchone()[0]
    conn.execute(f"PRAGMA max_page_count = {page_count + 2}")
    with pytest.raises(DiskFull, match="disk is full"):
        with transaction(conn):
            for i in range(2000):
                conn.execute("INSERT INTO meta VALUES (?, ?)", (f"k{i}", "x" * 500))
    assert conn.execute("SELECT count(*) FROM meta").fetchone()[0] == 0


def test_kill_between_statements_leaves_nothing_half_written(tmp_path: Path) -> None:
    path = tmp_path / "pos.sqlite3"
    Database(path).open_and_migrate().close()
    script = textwrap.dedent(f"""
        import os, signal, sys
        sys.path.insert(0, {str(Path(__file__).resolve().parents[3])!r})
        from pos_app.storage.db import connect, transaction
        conn = connect({str(path)!r})
        with transaction(conn):
            conn.execute("INSERT INTO meta VALUES ('first', '1')")
            conn.execute("INSERT INTO meta VALUES ('second', '2')")
        with transaction(conn):
            conn.execute("INSERT INTO meta VALUES ('third', '3')")
            print("ready", flush=True)
            sys.stdin.readline()
            conn.execute("INSERT INTO meta VALUES ('fourth', '4')")
    """)
    with subprocess.Popen([sys.executable, "-c", script], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                          text=True) as proc:
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "ready"
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
    conn = connect(path)
    keys = [r[0] for r in conn.execute("SELECT key FROM meta ORDER BY key")]
    assert keys == ["first", "second"]
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
