"""ThreadConnections: one SQLite connection per OS thread, kept across a Qt pool thread's tasks, and closed when
its thread has ended (before: a pool thread opened a new connection at every task and none was ever closed)."""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Any

import pytest

from pos_app.bootstrap import ThreadConnections
from pos_app.storage.db import Database

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


def _descriptors(db: Path) -> int:
    names = {str(db), f"{db}-wal"}
    n = 0
    for fd in os.listdir("/proc/self/fd"):
        try:
            n += os.readlink(f"/proc/self/fd/{fd}") in names
        except OSError:
            continue
    return n


@pytest.fixture
def db(tmp_path: Path) -> Path:
    path = tmp_path / "pos.sqlite3"
    Database(path).open_and_migrate().close()
    return path


def test_a_qt_pool_thread_keeps_one_connection_across_tasks(qtbot: Any, db: Path) -> None:
    from pos_app.ui.workers import TaskRunner

    conns = ThreadConnections(db)
    runner = TaskRunner(max_threads=2)
    threads: set[int] = set()
    done: list[int] = []

    def task() -> int:
        threads.add(threading.get_native_id())
        return int(conns.get().execute("SELECT count(*) FROM sqlite_master").fetchone()[0])

    for _ in range(60):
        runner.submit(task, done.append)
        qtbot.waitUntil(lambda n=len(done): len(done) > n, timeout=5_000)
    assert len(done) == 60 and all(n > 0 for n in done)
    assert conns.open_count() <= len(threads) <= 2
    assert _descriptors(db) <= 2 * len(threads)
    assert runner.wait_idle()


def test_the_connection_of_an_ended_thread_is_closed(db: Path) -> None:
    conns = ThreadConnections(db)
    opened: list[Any] = []
    for _ in range(20):
        t = threading.Thread(target=lambda: opened.append(conns.get()))
        t.start()
        t.join()
    mine = conns.get()
    # a thread may still be in the kernel's task list a moment after join(): the last one or two are left over
    assert conns.open_count() <= 3
    assert _descriptors(db) <= 6
    with pytest.raises(Exception, match="closed"):
        opened[0].execute("SELECT 1")
    assert mine.execute("SELECT 1").fetchone()[0] == 1
    conns.close_mine()
    assert conns.open_count() <= 2
