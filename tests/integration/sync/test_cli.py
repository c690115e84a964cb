"""``pos-app sync status`` and ``sync run --once`` headless, against the sandbox (same code path as the worker)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from pos_app.alipay import AlipayClient
from pos_app.sandbox import SandboxServer
from pos_app.storage.db import Database
from tests.integration.sync.sync_support import Ledger, check_sandbox_matches, make_trades

ROOT = Path(__file__).resolve().parents[3]


def _cli(*args: str, cfg: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("POS_CONFIG", None)
    return subprocess.run([sys.executable, "-m", "pos_app", "sync", *args, "--config", str(cfg)], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=60)


def test_status_and_run_once(tmp_path: Path, sandbox: SandboxServer, client: AlipayClient) -> None:
    cfg = tmp_path / "pos.toml"
    cfg.write_text(f'data_dir = "{tmp_path / "data"}"\n[gateway]\nurl = "{sandbox.gateway_url}"\n'
                   f'app_id = "{sandbox.app_id}"\napp_private_key = "{sandbox.app_private_key_path}"\n'
                   f'alipay_public_key = "{sandbox.alipay_public_key_path}"\n', encoding="utf-8")
    db_path = tmp_path / "data" / "pos.sqlite3"
    Database(db_path).open_and_migrate().close()
    ledger = Ledger.open(db_path)
    card = "8800000000001101"
    ledger.add_member(sandbox, card)
    ledger.sale(card, 9, make_trades(client, 1)[0])
    ledger.add_member(None, "8800000000001102")
    ledger.sale("8800000000001102", 3, None)                 # no such card on Alipay: dead letter

    st = json.loads(_cli("status", "--json", cfg=cfg).stdout)
    assert st["pending"] == 3 and st["dead"] == 0 and st["oldest_pending_age_s"] is not None

    run = _cli("run", "--once", cfg=cfg)
    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout) | {"elapsed_s": 0} == {"sent": 3, "done": 2, "retried": 0, "dead": 1,
                                                        "coalesced": 0, "offline": False, "elapsed_s": 0}
    text = _cli("status", cfg=cfg).stdout
    assert "dead letters: 1" in text and "CARD_NOT_EXIST" in text
    assert "8800000000001102" not in text and "1102" in text      # masked
    check_sandbox_matches(sandbox, ledger, [card])
    ledger.close()
