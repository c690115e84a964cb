"""Screenshots of the checkout screen in zh_CN and en (artifacts under tests/ui/screenshots), and a smoke run."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtGui import QImage

from tests.ui.conftest import SCREENSHOTS, WATER, make_terminal, scan

MEMBER = "8800671208341214"


@pytest.mark.parametrize("language", ["zh_CN", "en"])
def test_checkout_screenshot(qtbot: Any, tmp_path: Path, language: str) -> None:
    terminal = make_terminal(qtbot, tmp_path, language=language)
    try:
        view = terminal.window.checkout_view
        scan(terminal, MEMBER, "CODE128")
        for _ in range(3):
            scan(terminal, WATER, "EAN13")
        scan(terminal, "6937485505352", "EAN13")
        qtbot.waitUntil(lambda: view.model.rowCount() == 2 and MEMBER[-4:] in view.member_detail.text())
        SCREENSHOTS.mkdir(exist_ok=True)
        path = SCREENSHOTS / f"checkout_{language}.png"
        assert terminal.window.grab().save(str(path), "PNG")
        image = QImage(str(path))
        assert image.width() >= 1024 and image.height() >= 700
        assert view.payable.text() == "¥10.00"
        assert view.payable.font().pixelSize() >= 40 or view.payable.sizeHint().height() >= 50
        if language == "zh_CN":
            assert view.member_box.title() == "会员"
    finally:
        terminal.shutdown()


def test_smoke_run_demo_screenshot(tmp_path: Path) -> None:
    out = tmp_path / "out.png"
    env = {**os.environ, "POS_DATA_DIR": str(tmp_path / "data"), "QT_QPA_PLATFORM": "offscreen"}
    root = Path(__file__).resolve().parents[2]
    proc = subprocess.run([sys.executable, "-m", "pos_app", "run", "--demo", "--screenshot", str(out)],
                          cwd=root, env=env, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr[-2000:]
    image = QImage(str(out))
    assert not image.isNull() and image.width() >= 800


def test_bad_settings_exit_2(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("language = 'fr'\n", encoding="utf-8")
    env = {**os.environ, "POS_DATA_DIR": str(tmp_path / "data"), "QT_QPA_PLATFORM": "offscreen"}
    root = Path(__file__).resolve().parents[2]
    proc = subprocess.run([sys.executable, "-m", "pos_app", "run", "--config", str(bad)], cwd=root, env=env,
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2
    assert "language" in proc.stderr and "Traceback" not in proc.stderr


def test_foreign_database_exit_3(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    (data / "pos.sqlite3").write_bytes(b"this is not a database" * 100)
    env = {**os.environ, "POS_DATA_DIR": str(data), "QT_QPA_PLATFORM": "offscreen"}
    root = Path(__file__).resolve().parents[2]
    proc = subprocess.run([sys.executable, "-m", "pos_app", "run"], cwd=root, env=env,
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 3, proc.stderr[-2000:]
    assert "Traceback" not in proc.stderr
