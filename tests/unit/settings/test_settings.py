"""Settings: TOML + POS_* overrides, one clear line per problem."""

from __future__ import annotations

from pathlib import Path

import pytest

from pos_app.settings import SettingsError, load_settings


def test_defaults_with_data_dir_from_environment(tmp_path: Path) -> None:
    s = load_settings(env={"POS_DATA_DIR": str(tmp_path)})
    assert s.data_dir == tmp_path
    assert s.db_path == tmp_path / "pos.sqlite3"
    assert s.store.currency == "CNY"
    assert s.language == "zh_CN"


def test_file_and_environment_overrides(tmp_path: Path) -> None:
    cfg = tmp_path / "pos.toml"
    cfg.write_text('language = "en"\n[store]\nstore_id = "SH01"\nterminal_id = "T02"\n'
                   '[scanners]\nurls = ["wedge://", "serial:///dev/ttyACM0?baud=9600"]\n', encoding="utf-8")
    s = load_settings(env={"POS_CONFIG": str(cfg), "POS_STORE_TERMINAL_ID": "T07", "POS_DATA_DIR": str(tmp_path),
                           "POS_PAYMENT_QUERY_MAX": "7"})
    assert s.config_file == cfg
    assert s.language == "en"
    assert s.store.store_id == "SH01"
    assert s.store.terminal_id == "T07"
    assert s.payment.query_max == 7
    assert s.scanners.urls == ("wedge://", "serial:///dev/ttyACM0?baud=9600")


def test_every_problem_is_one_line_naming_file_and_key(tmp_path: Path) -> None:
    cfg = tmp_path / "bad.toml"
    cfg.write_text('language = "fr"\n[store]\nterminal_no = "abc"\nbogus = 1\n[gateway]\nurl = "ftp://x"\n',
                   encoding="utf-8")
    with pytest.raises(SettingsError) as info:
        load_settings(cfg, env={})
    problems = info.value.problems
    assert all(p.startswith(f"{cfg}: ") for p in problems)
    text = "\n".join(problems)
    for fragment in ("language", "store.terminal_no", "store.bogus: unknown setting", "gateway.url",
                     "gateway.app_id: required"):
        assert fragment in text


@pytest.mark.parametrize("content", ["[store\nx=1", "\x00\x01binary", "store = 3\n"])
def test_malformed_file_is_a_settings_error_not_a_traceback(tmp_path: Path, content: str) -> None:
    cfg = tmp_path / "broken.toml"
    cfg.write_text(content, encoding="utf-8")
    with pytest.raises(SettingsError) as info:
        load_settings(cfg, env={})
    assert str(cfg) in str(info.value)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="not found"):
        load_settings(tmp_path / "nope.toml", env={})


def test_gateway_key_files_must_exist(tmp_path: Path) -> None:
    cfg = tmp_path / "gw.toml"
    cfg.write_text('[gateway]\nurl = "https://openapi.alipay.com/gateway.do"\napp_id = "2021"\n'
                   'app_private_key = "/nope/key.pem"\nalipay_public_key = "/nope/ali.pem"\n', encoding="utf-8")
    with pytest.raises(SettingsError) as info:
        load_settings(cfg, env={})
    assert "file not found: /nope/key.pem" in str(info.value)


def test_device_urls_are_checked_by_scheme(tmp_path: Path) -> None:
    import drivers
    from pos_app import settings as settings_module

    assert set(settings_module._SCANNER_SCHEMES) == set(drivers.SCHEMES)
    cfg = tmp_path / "dev.toml"
    cfg.write_text('[scanners]\nurls = ["wedge://", "com1"]\n[printer]\nurl = "bogus://x"\n', encoding="utf-8")
    with pytest.raises(SettingsError) as info:
        load_settings(cfg, env={})
    text = str(info.value)
    assert "'com1' is not a reader URL" in text and "'bogus://x' is not a printer URL" in text


def test_offline_redeem_supervisor_threshold_is_checked_like_the_other_store_settings(tmp_path: Path) -> None:
    assert load_settings(None, env={}, data_dir=tmp_path).store.offline_redeem_supervisor_above == 200
    cfg = tmp_path / "pos.toml"
    cfg.write_text("[store]\noffline_redeem_supervisor_above = 0\n", encoding="utf-8")   # 0: never asked
    assert load_settings(cfg, env={}, data_dir=tmp_path).store.offline_redeem_supervisor_above == 0
    cfg.write_text("[store]\noffline_redeem_supervisor_above = -1\n", encoding="utf-8")
    with pytest.raises(SettingsError, match="store.offline_redeem_supervisor_above"):
        load_settings(cfg, env={}, data_dir=tmp_path)
    env = {"POS_STORE_OFFLINE_REDEEM_SUPERVISOR_ABOVE": "lots"}
    with pytest.raises(SettingsError, match="offline_redeem_supervisor_above"):
        load_settings(None, env=env, data_dir=tmp_path)
