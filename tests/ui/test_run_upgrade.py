"""The terminal started on a file an older version wrote keeps a copy of it before migrating."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

from pos_app.app import run_terminal
from pos_app.storage.db import APPLICATION_ID, MIGRATIONS, SCHEMA_VERSION, connect, transaction


def test_start_on_an_older_file_backs_it_up_before_migrating(qapp: Any, tmp_path: Path) -> None:
    data = tmp_path / "data"
    conn = connect(data / "pos.sqlite3")
    first_version, first_step = sorted(MIGRATIONS)[0]
    with transaction(conn):
        first_step(conn)
        conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
        conn.execute(f"PRAGMA user_version = {first_version}")
    conn.close()
    cfg = tmp_path / "pos.toml"
    cfg.write_text(f'data_dir = "{data}"\n[scanners]\nurls = ["fake://"]\n', encoding="utf-8")
    assert run_terminal(config=cfg, data_dir=None, demo=False, screenshot=tmp_path / "shot.png") == 0
    with sqlite3.connect(data / "pos.sqlite3") as c:
        assert c.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    saved = list((data / "backups").glob(f"pre-migrate-v{first_version}-*.sqlite3"))
    assert len(saved) == (1 if SCHEMA_VERSION > first_version else 0)
    if saved:
        with sqlite3.connect(saved[0]) as c:
            assert c.execute("PRAGMA user_version").fetchone()[0] == first_version
