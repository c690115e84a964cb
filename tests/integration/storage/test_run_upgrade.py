"""The terminal started on a file an older version wrote keeps a copy of it before migrating."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

from pos_app.bootstrap import connect_database
from pos_app.settings import load_settings

ROOT = Path(__file__).resolve().parents[2]


def test_start_on_an_older_file_backs_it_up_before_migrating(tmp_path: Path) -> None:
    from pos_app.storage.db import APPLICATION_ID, MIGRATIONS, SCHEMA_VERSION, transaction

    data = tmp_path / "data"
    conn = connect_database(load_settings(None, env={}, data_dir=data))
    first_version, first_step = sorted(MIGRATIONS)[0]
    with transaction(conn):
        first_step(conn)
        conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
        conn.execute(f"PRAGMA user_version = {first_version}")
    conn.close()
    cfg = tmp_path / "pos.toml"
    cfg.write_text(f'data_dir = "{data}"\n[scanners]\nurls = ["fake://"]\n'
                   '[loyalty]\npoints_per_yuan = 1\n', encoding="utf-8")  # a real terminal needs its rules
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    env.pop("POS_CONFIG", None)
    # the whole terminal in its own process: it runs and quits its own Qt event loop
    proc = subprocess.run([sys.executable, "-m", "pos_app", "run", "--config", str(cfg), "--screenshot",
                           str(tmp_path / "shot.png")], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=90, check=False)
    assert proc.returncode == 0, proc.stderr[-2000:]
    with sqlite3.connect(data / "pos.sqlite3") as c:
        assert c.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    saved = list((data / "backups").glob(f"pre-migrate-v{first_version}-*.sqlite3"))
    assert len(saved) == (1 if SCHEMA_VERSION > first_version else 0)
    if saved:
        with sqlite3.connect(saved[0]) as c:
            assert c.execute("PRAGMA user_version").fetchone()[0] == first_version
