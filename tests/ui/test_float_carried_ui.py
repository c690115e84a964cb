"""The close dialog takes the float left for the next shift; the next open dialog says it (issue 14)."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtWidgets import QLabel

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "integration" / "reports"))
from _shift_env import Env, Seeder, make_env  # noqa: E402

from pos_app.ui.shift_dialogs import CloseShiftDialog, OpenShiftDialog  # noqa: E402


@pytest.fixture
def env(tmp_path: Path) -> Iterator[Env]:
    e = make_env(tmp_path / "pos.sqlite3")
    yield e
    e.conn.close()


def test_float_left_at_close_is_shown_at_the_next_open(qtbot: Any, env: Env) -> None:
    shift = env.shifts.open_shift(env.cashier, {10000: 1})
    Seeder(env.conn, env.clock).sale(shift.id, 1, [("cash", 5000, 5000)])
    close = CloseShiftDialog(env.shifts, env.cashier, lambda action, subject: None)
    qtbot.addWidget(close)
    close.count.set_counts({10000: 1, 5000: 1})
    close.float_left.setText("100")
    close._close()  # noqa: SLF001 - the dialog's OK handler
    assert close.result_ is not None and close.result_.figures["float"] == {"left_fen": 10000, "to_safe_fen": 5000}
    opener = OpenShiftDialog(env.shifts, env.cashier)
    qtbot.addWidget(opener)
    note = opener.findChild(QLabel, "carriedFloat")
    assert note is not None and "¥100.00" in note.text()
