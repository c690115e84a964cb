"""Issue 17: `config check` refuses, with one line naming file, key and what is allowed, every value that
would stop or silently weaken the terminal; the terminal's start refuses the very same (one code path)."""

from __future__ import annotations

from pathlib import Path

import pytest

from drivers import open_scanner
from pos_app.__main__ import main
from pos_app.app import run_terminal
from pos_app.settings import SettingsError, load_settings

# (settings file text, key named in the one line, a fragment saying what is allowed)
BAD = {
    "backoff_cap_below_base": ("[sync]\nbackoff_cap_s = 1.0\n", "sync.backoff_cap_s", "allowed 2 to 86400 s"),
    "loyalty_unknown_rule": ('[loyalty]\nearn = "lots"\n', "loyalty", "unknown loyalty rule(s): earn"),
    "loyalty_bad_value": ('[loyalty]\npoints_per_yuan = "lots"\n', "loyalty", "whole number"),
    "serial_baud_not_a_number": ('[scanners]\nurls = ["serial:///dev/ttyACM0?baud=abc"]\n', "scanners.urls",
                                 "baud='abc' is not an integer"),
    "serial_unknown_option": ('[scanners]\nurls = ["serial:///dev/ttyACM0?speed=9600"]\n', "scanners.urls",
                              "unknown option 'speed' (known: aim"),
    "wedge_bad_option": ('[scanners]\nurls = ["wedge://?min_len=0"]\n', "scanners.urls", "out of range 1..512"),
    "printer_tcp_port": ('[printer]\nurl = "tcp://host:abc"\n', "printer.url", "1 to 65535"),
    "printer_usb_ids": ('[printer]\nurl = "usb://zzzz"\n', "printer.url", "usb://VID:PID in hex"),
    "printer_usb_id_too_big": ('[printer]\nurl = "usb://10000:0202"\n', "printer.url", "usb://VID:PID in hex"),
    "printer_cols": ('[printer]\nurl = "file:///tmp/r.bin?cols=0"\n', "printer.url", "cols must be 16-80"),
    "width_chars_zero": ("[printer]\nwidth_chars = 0\n", "printer.width_chars", "allowed 24 to 80"),
    "pin_lock_negative": ("[shift]\npin_lock_minutes = -15\n", "shift.pin_lock_minutes", "allowed 1 to 1440"),
    "pin_failures_zero": ("[shift]\npin_max_failures = 0\n", "shift.pin_max_failures", "allowed 1 to 20"),
    "probe_interval_nan": ("[sync]\nprobe_interval_s = nan\n", "sync.probe_interval_s", "not a finite number"),
    "timeout_inf": ("[gateway]\nread_timeout_s = inf\n", "gateway.read_timeout_s", "not a finite number"),
    "query_interval_zero": ("[payment]\nquery_interval_s = 0.0\n", "payment.query_interval_s",
                            "allowed 0.01 to 60 s"),
    "terminal_no": ("[store]\nterminal_no = 1000\n", "store.terminal_no", "allowed 0 to 999"),
    "wedge_gap_zero": ("[scanners]\nwedge_max_gap_ms = 0\n", "scanners.wedge_max_gap_ms", "allowed 1 to 5000"),
    "wedge_prefix_two_chars": ('[scanners]\nwedge_prefix_key = "ab"\n', "scanners.wedge_prefix_key",
                               "one character"),
    "data_dir_empty": ('data_dir = ""\n', "data_dir", "empty"),
    "data_dir_nul": ('data_dir = "/tmp/a\\u0000b"\n', "data_dir", "control character"),
    "data_dir_relative": ('data_dir = "pos-data"\n', "data_dir", "absolute path"),
}


def _run(argv: list[str]) -> int:
    try:
        return main(argv)
    except SystemExit as exc:
        return int(exc.code or 0)


def _config(tmp_path: Path, text: str) -> Path:
    cfg = tmp_path / "pos.toml"
    cfg.write_text(text, encoding="utf-8")
    return cfg


@pytest.mark.parametrize("name", sorted(BAD))
def test_config_check_refuses_with_one_line(name: str, tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    text, key, allowed = BAD[name]
    if not text.startswith("data_dir"):
        text = f'data_dir = "{tmp_path / "data"}"\n' + text
    monkeypatch.delenv("POS_DATA_DIR", raising=False)
    cfg = _config(tmp_path, text)
    assert _run(["config", "check", "--config", str(cfg)]) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1, lines
    assert lines[0].startswith(f"settings: {cfg}: {key}: "), lines[0]
    assert allowed in lines[0]


@pytest.mark.parametrize("name", sorted(BAD))
def test_terminal_start_refuses_the_same(name: str, tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    text, key, _ = BAD[name]
    if not text.startswith("data_dir"):
        text = f'data_dir = "{tmp_path / "data"}"\n' + text
    monkeypatch.delenv("POS_DATA_DIR", raising=False)
    cfg = _config(tmp_path, text)
    assert run_terminal(config=cfg, data_dir=None, demo=False, screenshot=None) == 2
    assert f"{cfg}: {key}: " in capsys.readouterr().err
    assert not (tmp_path / "data").exists()  # refused before anything was created


def test_data_dir_under_a_regular_file(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("x", encoding="utf-8")
    cfg = _config(tmp_path, f'data_dir = "{tmp_path / "file" / "pos"}"\n')
    with pytest.raises(SettingsError) as info:
        load_settings(cfg, env={})
    assert info.value.problems == [f"{cfg}: data_dir: '{tmp_path / 'file' / 'pos'}': {tmp_path / 'file'} "
                                   "is a file, not a folder"]


def test_empty_data_dir_on_the_command_line_names_the_option(tmp_path: Path) -> None:
    with pytest.raises(SettingsError) as info:
        load_settings(None, env={}, data_dir="")
    assert info.value.problems[0].startswith("--data-dir: data_dir: empty")


def test_a_value_from_the_environment_names_its_variable(tmp_path: Path) -> None:
    with pytest.raises(SettingsError) as info:
        load_settings(None, env={"POS_PRINTER_URL": "usb://zzzz", "POS_DATA_DIR": str(tmp_path)})
    assert info.value.problems == ["$POS_PRINTER_URL: printer.url: usb://zzzz: expected usb://VID:PID in hex "
                                   "(usb://04b8:0202)"]


def test_wedge_settings_reach_the_wedge_reader(tmp_path: Path) -> None:
    cfg = _config(tmp_path, '[scanners]\nwedge_min_chars = 3\nwedge_max_mean_gap_ms = 45\nwedge_max_gap_ms = 150\n'
                            'wedge_prefix_key = "\\u0002"\n')
    s = load_settings(cfg, env={"POS_DATA_DIR": str(tmp_path)})
    reader = open_scanner("wedge://", **s.scanners.reader_defaults("wedge://"))
    assert (reader.config.min_len, reader.config.max_mean_gap, reader.config.max_gap, reader.config.prefix) == \
        (3, 0.045, 0.15, "\x02")
    # an option written in the URL wins; a serial reader's own idle gap is not the wedge's
    assert open_scanner("wedge://?min_len=8", **s.scanners.reader_defaults("wedge://?min_len=8")).config.min_len == 8
    assert s.scanners.reader_defaults("serial:///dev/ttyACM0") == {}


def test_every_numeric_setting_has_a_range() -> None:
    import dataclasses

    from pos_app import settings as module

    missing = [f"{name}.{f.name}" for name, cls in module._SECTIONS.items() for f in dataclasses.fields(cls)
               if f.type in ("int", "float") and "range" not in f.metadata]
    assert not missing, f"give these a ranged(...) default: {missing}"
