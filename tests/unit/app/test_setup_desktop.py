"""pos-app setup desktop: names and writes each file (systemd unit or autostart, no-blanking, udev), dry run."""

from __future__ import annotations

from pathlib import Path

import pytest

from pos_app.__main__ import main


def _args(tmp_path: Path, *extra: str) -> list[str]:
    cfg = tmp_path / "pos.toml"
    cfg.write_text(f'data_dir = "{tmp_path / "data"}"\n', encoding="utf-8")
    return ["setup", "desktop", "--config", str(cfg), "--home", str(tmp_path / "home"),
            "--scanner-id", "05e0:1200", "--scanner-id", "0c2e:0b61", "--printer-id", "04b8:0202", *extra]


def test_systemd_unit_kiosk_noblank_and_staged_udev_rules(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(_args(tmp_path, "--mode", "systemd")) == 0
    out = capsys.readouterr().out
    unit = tmp_path / "home/.config/systemd/user/pos-app.service"
    noblank = tmp_path / "home/.config/autostart/pos-app-noblank.desktop"
    udev = tmp_path / "data/setup/70-pos-app.rules"
    for path in (unit, noblank, udev):
        assert f"wrote {path}" in out
    text = unit.read_text(encoding="utf-8")
    assert "Restart=on-failure" in text and "RestartPreventExitStatus=2 3" in text
    assert f"run --config {tmp_path / 'pos.toml'}" in text and "Environment=POS_KIOSK_ENABLED=true" in text
    assert "xset s off -dpms" in noblank.read_text(encoding="utf-8")
    rules = udev.read_text(encoding="utf-8")
    assert 'ATTRS{idVendor}=="05e0", ATTRS{idProduct}=="1200", ENV{ID_MM_DEVICE_IGNORE}="1"' in rules
    assert 'SYMLINK+="pos-scanner"' in rules and 'SYMLINK+="pos-scanner-2"' in rules
    assert 'ATTRS{idVendor}=="04b8", ATTRS{idProduct}=="0202", GROUP="lp", MODE="0660"' in rules
    assert f"sudo install -m 644 {udev} /etc/udev/rules.d/70-pos-app.rules" in out
    assert "systemctl --user daemon-reload && systemctl --user enable pos-app" in out


def test_autostart_entry_without_kiosk(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(_args(tmp_path, "--mode", "autostart", "--no-kiosk")) == 0
    entry = (tmp_path / "home/.config/autostart/pos-app.desktop").read_text(encoding="utf-8")
    assert "Exec=" in entry and "run --config" in entry and "POS_KIOSK_ENABLED" not in entry
    assert entry.split("Exec=")[1].split("\n")[0].endswith(" --keep-alive")  # no service manager to restart it
    assert not (tmp_path / "home/.config/systemd").exists()


def test_dry_run_names_each_file_and_writes_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(_args(tmp_path, "--mode", "systemd", "--dry-run")) == 0
    out = capsys.readouterr().out
    assert out.count("would write ") == 3 and "    Restart=on-failure" in out
    assert not (tmp_path / "home").exists() and not (tmp_path / "data" / "setup").exists()


def test_a_wrong_usb_id_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    args = _args(tmp_path, "--dry-run")
    args[args.index("05e0:1200")] = "zebra"
    assert main(args) == 2
    assert "'zebra' is not a USB id" in capsys.readouterr().err
