"""The command line: defaults to run, every command has --help, bad settings are one line each."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from pos_app.__main__ import build_parser, main, sub_choices

ROOT = Path(__file__).resolve().parents[3]


def test_every_command_has_help(capsys: pytest.CaptureFixture[str]) -> None:
    commands = sub_choices(build_parser())
    assert {"run", "config", "db", "sandbox", "keygen", "gateway", "report", "scanner", "decode", "sync",
            "users", "audit"} <= set(commands)
    for command in commands:
        with pytest.raises(SystemExit) as info:
            main([command, "--help"])
        assert info.value.code == 0
        assert "usage: pos-app" in capsys.readouterr().out


def test_verbose_flag_before_a_command_keeps_the_command(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("POS_DATA_DIR", str(tmp_path))
    assert main(["-v", "db", "migrate"]) == 0
    assert "schema" in capsys.readouterr().out


def test_config_check_reports_each_problem_on_one_line(tmp_path: Path) -> None:
    cfg = tmp_path / "pos.toml"
    cfg.write_text('[store]\nterminal_no = "x"\n[printer]\nurl = "lpt1"\n', encoding="utf-8")
    proc = subprocess.run([sys.executable, "-m", "pos_app", "config", "check", "--config", str(cfg)],
                          capture_output=True, text=True, cwd=ROOT, timeout=60, check=False)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 2 and all(line.startswith(f"settings: {cfg}: ") for line in lines)
    assert "Traceback" not in proc.stderr


def test_db_info_on_a_newer_database_says_so_without_touching_it(tmp_path: Path,
                                                                 capsys: pytest.CaptureFixture[str]) -> None:
    from pos_app.storage.db import SCHEMA_VERSION, Database

    conn = Database(tmp_path / "pos.sqlite3").open_and_migrate()
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    conn.close()
    before = (tmp_path / "pos.sqlite3").read_bytes()
    assert main(["db", "migrate", "--data-dir", str(tmp_path)]) == 3
    assert "newer version" in capsys.readouterr().err
    assert (tmp_path / "pos.sqlite3").read_bytes() == before


def _sandbox_config(tmp_path: Path, sandbox_dir: Path, **over: str) -> Path:
    """A settings file pointing at a (stopped) sandbox's key files; only the key checks matter here."""
    from pos_app.sandbox.server import SandboxServer

    server = SandboxServer(sandbox_dir)
    server.start()
    server.stop()
    keys = {"app_private_key": str(server.app_private_key_path),
            "alipay_public_key": str(server.alipay_public_key_path), **over}
    cfg = tmp_path / "pos.toml"
    lines = ['[gateway]', 'url = "http://127.0.0.1:9/gateway.do"', f'app_id = "{server.app_id}"',
             *[f'{k} = "{v}"' for k, v in keys.items()], "[loyalty]", "points_per_yuan = 1"]
    cfg.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return cfg


def test_config_check_makes_the_terminals_key_checks(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import os

    good = _sandbox_config(tmp_path, tmp_path / "sb", passphrase_env="POS_TEST_UNSET_PASSPHRASE")
    assert main(["config", "check", "--config", str(good), "--data-dir", str(tmp_path)]) == 0, \
        "a passphrase_env for an unencrypted key is harmless"
    own = _sandbox_config(tmp_path, tmp_path / "sb",
                          alipay_public_key=str(tmp_path / "sb" / "keys" / "app_public_key.pem"))
    capsys.readouterr()
    assert main(["config", "check", "--config", str(own), "--data-dir", str(tmp_path)]) == 2
    assert "own public key" in capsys.readouterr().err
    good = _sandbox_config(tmp_path, tmp_path / "sb")
    key = tmp_path / "sb" / "keys" / "app_private_key.pem"
    os.chmod(key, 0o644)
    assert main(["config", "check", "--config", str(good), "--data-dir", str(tmp_path)]) == 2
    assert "chmod 600" in capsys.readouterr().err
