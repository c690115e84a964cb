"""A real terminal without loyalty rules is refused (config check and start), never run on the demo rules."""

from __future__ import annotations

from pathlib import Path

import pytest

from pos_app.__main__ import main
from pos_app.loyalty_setup import LoyaltyConfigError, loyalty_rules
from pos_app.settings import load_settings


def _cfg(tmp_path: Path, text: str) -> Path:
    cfg = tmp_path / "pos.toml"
    cfg.write_text(text, encoding="utf-8")
    return cfg


def test_config_check_refuses_missing_rules_and_accepts_a_rules_file(tmp_path: Path,
                                                                     capsys: pytest.CaptureFixture[str]) -> None:
    bare = _cfg(tmp_path, '[store]\nterminal_id = "T09"\n')
    assert main(["config", "check", "--config", str(bare), "--data-dir", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.startswith("settings:")]
    assert len(lines) == 1 and "no loyalty rules configured" in lines[0] and "demo rules" in lines[0]
    (tmp_path / "rules.toml").write_text("points_per_yuan = 2\nredeem_points_per_yuan = 50\n", encoding="utf-8")
    named = _cfg(tmp_path, '[loyalty]\nfile = "rules.toml"\n')
    assert main(["config", "check", "--config", str(named), "--data-dir", str(tmp_path)]) == 0
    rules = loyalty_rules(load_settings(named, data_dir=tmp_path), demo=False)
    assert rules.points_per_yuan == 2 and rules.redeem_points_per_yuan == 50
    bad = _cfg(tmp_path, '[loyalty]\npoints_per_yuan = 1\nbonus = 3\n')
    with pytest.raises(SystemExit) as info:  # a bad rule is a settings problem like any other
        main(["config", "check", "--config", str(bad), "--data-dir", str(tmp_path)])
    assert info.value.code == 2 and "unknown loyalty rule(s): bonus" in capsys.readouterr().err


def test_demo_mode_alone_falls_back_to_the_demo_rules(tmp_path: Path) -> None:
    settings = load_settings(None, env={}, data_dir=tmp_path)
    with pytest.raises(LoyaltyConfigError):
        loyalty_rules(settings, demo=False)
    assert loyalty_rules(settings, demo=True).level_multiplier_pct["GOLD"] == 150


def test_terminal_start_refuses_without_rules(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from pos_app import app as app_module

    code = app_module.run_terminal(_cfg(tmp_path, '[printer]\nurl = "none://"\n'), tmp_path / "data", False, None)
    assert code == app_module.EXIT_SETTINGS
    assert "no loyalty rules configured" in capsys.readouterr().err
