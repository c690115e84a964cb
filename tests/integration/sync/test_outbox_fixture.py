"""Pending outbox rows written by the first build migrate and drain unchanged (tests/data/outbox-v1)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from pos_app.bootstrap import migrate_database
from pos_app.sandbox import SandboxServer
from pos_app.settings import load_settings
from pos_app.storage.db import connect
from tests.integration.sandbox.sandbox_support import make_client
from tests.integration.sync.sync_support import make_worker

FIXTURE = Path(__file__).resolve().parents[2] / "data" / "outbox-v1"


def _rows(db: Path) -> list[tuple[object, ...]]:
    conn = connect(db)
    try:
        return [tuple(r) for r in conn.execute(
            "SELECT id, event_id, kind, card_no, method, body_json, points_after, state FROM outbox ORDER BY id")]
    finally:
        conn.close()


def test_first_build_pending_rows_keep_their_keys_and_drain_once(tmp_path: Path) -> None:
    work = tmp_path / "terminal"
    shutil.copytree(FIXTURE, work, ignore=shutil.ignore_patterns("*.md", "*.txt"))
    for key in (work / "sandbox" / "keys").glob("*private_key.pem"):
        key.chmod(0o600)
    before = _rows(work / "pos.sqlite3")
    assert [r[7] for r in before] == ["pending"] * 6 and {r[2] for r in before} == {"card.update",
                                                                                   "card.consume_sync"}
    applied = migrate_database(load_settings(None, env={}, data_dir=work))
    assert applied                                          # the old file really was migrated
    assert _rows(work / "pos.sqlite3") == before            # same ids, event ids, bodies (idempotency keys)

    sandbox = SandboxServer(work / "sandbox").start()
    try:
        worker = make_worker(work / "pos.sqlite3", lambda: make_client(sandbox))
        try:
            worker.run_once()
            after = _rows(work / "pos.sqlite3")
            assert [r[7] for r in after] == ["done"] * 6
            assert [r[:7] for r in after] == [r[:7] for r in before]
            for card_no in {str(r[3]) for r in before}:
                card = sandbox.card(card_no)
                assert card is not None
                last = [r for r in before if r[3] == card_no][-1]
                assert int(float(card["point"])) == last[6]      # the absolute points of the newest row
                trades = [json.loads(str(r[5]))["trade_no"] for r in before
                          if r[3] == card_no and r[2] == "card.consume_sync"]
                assert sorted(card["synced_trades"]) == sorted(trades)   # each trade synced exactly once
        finally:
            worker.close()
    finally:
        sandbox.stop()
