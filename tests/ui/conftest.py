"""Fixtures for the terminal's UI tests: a real terminal (SQLite in tmp_path, sandbox over HTTP, fake scanner)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from pos_app.app import Terminal, build_terminal
from pos_app.settings import load_settings

SCREENSHOTS = Path(__file__).parent / "screenshots"
WATER = "6937485522762"          # 农夫山泉 550ml, ¥2.00 in the demo catalogue


def make_terminal(qtbot: Any, tmp_path: Path, *, language: str = "en", printer_url: str | None = None,
                  show_wallet: bool = False) -> Terminal:
    env = {"POS_LANGUAGE": language, "POS_PAYMENT_QUERY_INTERVAL_S": "0.05",
           "POS_PAYMENT_QUERY_MAX": "3", "POS_PAYMENT_CANCEL_INTERVAL_S": "0.05"}
    settings = load_settings(None, env=env, data_dir=tmp_path / "data")
    terminal = build_terminal(settings, demo=True, scanner_urls=("fake://",), printer_url=printer_url,
                              show_wallet=show_wallet, payment_sleep=lambda s: time.sleep(min(s, 0.05)))
    qtbot.addWidget(terminal.window)
    terminal.window.show()
    qtbot.waitUntil(terminal.recovery_done.is_set, timeout=10_000)
    return terminal


@pytest.fixture
def terminal(qtbot: Any, tmp_path: Path) -> Iterator[Terminal]:
    t = make_terminal(qtbot, tmp_path)
    yield t
    t.shutdown()


def scan(terminal: Terminal, text: str, symbology: str = "") -> None:
    """A scan from the counter's (fake) reader, delivered like a driver thread would."""
    terminal.fake_scanner().feed(text, symbology)


def payable_text(terminal: Terminal) -> str:
    return str(terminal.window.checkout_view.payable.text())
