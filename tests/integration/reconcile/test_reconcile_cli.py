"""`pos-app reconcile alipay` against the sandbox: exit codes, messages, the stored result."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from pos_app.__main__ import main
from pos_app.sandbox import SandboxServer
from pos_app.services.ports.clock import BEIJING


def _config(tmp_path: Path, sandbox: SandboxServer) -> Path:
    cfg = tmp_path / "pos.toml"
    cfg.write_text(f'data_dir = "{tmp_path / "data"}"\n[gateway]\nurl = "{sandbox.gateway_url}"\n'
                   f'app_id = "{sandbox.app_id}"\napp_private_key = "{sandbox.app_private_key_path}"\n'
                   f'alipay_public_key = "{sandbox.alipay_public_key_path}"\n', encoding="utf-8")
    return cfg


def test_cli_reconciles_yesterday_and_lists_the_trade_it_does_not_know(
        tmp_path: Path, sandbox: SandboxServer, capsys: pytest.CaptureFixture[str]) -> None:
    sandbox.configure(timestamp_window_s=None)
    today = dt.datetime.now(BEIJING).date()
    yesterday = today - dt.timedelta(days=1)
    cfg = str(_config(tmp_path, sandbox))
    sandbox.set_clock(dt.datetime.combine(today, dt.time(10, 0)))
    assert main(["reconcile", "alipay", "--config", cfg]) == 0  # a quiet day: an empty bill, all matched
    assert "0 trades" in capsys.readouterr().out
    sandbox.set_clock(dt.datetime.combine(yesterday, dt.time(15, 0)))
    sandbox.make_trade("12.00", out_trade_no="SIDE-1")
    sandbox.set_clock(dt.datetime.combine(today, dt.time(10, 0)))
    assert main(["reconcile", "alipay", "--date", yesterday.isoformat(), "--config", cfg]) == 1
    out = capsys.readouterr().out
    assert "alipay_only_trade: SIDE-1 alipay 12.00" in out and "differences: 1" in out
    assert main(["reconcile", "show", "--config", cfg]) == 1
    assert "SIDE-1" in capsys.readouterr().out


def test_cli_bad_input_is_one_clear_line(tmp_path: Path, sandbox: SandboxServer,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    cfg = str(_config(tmp_path, sandbox))
    junk = tmp_path / "bill.zip"
    junk.write_bytes(b"not a zip at all")
    assert main(["reconcile", "alipay", "--date", "2026-01-05", "--file", str(junk), "--config", cfg]) == 2
    err = capsys.readouterr().err
    assert "reconcile: bad bill, nothing changed: the bill is not a zip file" in err
    today = dt.datetime.now(BEIJING).date().isoformat()
    assert main(["reconcile", "alipay", "--date", today, "--config", cfg]) == 3
    assert "no Alipay bill for" in capsys.readouterr().err
    assert main(["reconcile", "alipay", "--date", "25/11/2026", "--config", cfg]) == 2
    assert "not a date" in capsys.readouterr().err
    assert main(["reconcile", "show", "--config", cfg]) == 3
    assert "no reconciliation stored" in capsys.readouterr().err
