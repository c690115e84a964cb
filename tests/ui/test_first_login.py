"""The first login of a real (non-demo) terminal asks for the opening float; only the demo scripts it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtWidgets import QPushButton

from pos_app.app import Terminal, build_terminal
from pos_app.bootstrap import open_container
from pos_app.settings import load_settings
from tests.ui.modal import ModalScript, click, is_a


def _real_terminal(qtbot: Any, tmp_path: Path) -> Terminal:
    cfg = tmp_path / "pos.toml"  # no gateway: cash only; a real terminal needs its loyalty rules
    cfg.write_text("[loyalty]\npoints_per_yuan = 1\n", encoding="utf-8")
    settings = load_settings(cfg, env={"POS_LANGUAGE": "en"}, data_dir=tmp_path / "data")
    with open_container(settings) as c:
        c.users.add_user("1001", "Cashier One", "cashier", "2580")
    terminal = build_terminal(settings, scanner_urls=("fake://",))
    qtbot.addWidget(terminal.window)
    terminal.window.show()
    qtbot.waitUntil(terminal.recovery_done.is_set, timeout=10_000)
    return terminal


def test_first_login_counts_the_opening_float(qtbot: Any, tmp_path: Path) -> None:
    terminal = _real_terminal(qtbot, tmp_path)
    try:
        assert terminal.services.shifts.current_shift() is None

        def count(w: Any) -> None:
            w.count.set_counts({10000: 2, 1000: 3})
            click(w.findChild(QPushButton, "okButton"))

        script = ModalScript([(is_a("OpenShiftDialog"), count)])
        terminal.window.try_login("1001", "2580")
        script.finish(qtbot)
        shift = terminal.services.shifts.current_shift()
        assert shift is not None and shift.opening_float_fen == 23_000
        assert terminal.window.session is not None and terminal.window.session.shift_id == shift.id
        # the next login of the same shift asks nothing
        assert terminal.window.stack.currentWidget() is terminal.window.checkout_view
    finally:
        terminal.shutdown()


def test_typing_the_float_replaces_the_zero(qtbot: Any, tmp_path: Path) -> None:
    """Seen at a real till: the first field showed 0 with the cursor before it, typing 5 gave 50 (¥5,000)."""
    from PySide6.QtCore import Qt
    from PySide6.QtTest import QTest
    from PySide6.QtWidgets import QApplication

    terminal = _real_terminal(qtbot, tmp_path)
    try:
        def type_five(w: Any) -> None:
            spin = w.count.spins[10000]
            w.activateWindow()
            spin.setFocus(Qt.FocusReason.OtherFocusReason)  # how the dialog opens: not a Tab
            for _ in range(5):
                QApplication.processEvents()
            QTest.keyClicks(spin, "5")
            QTest.keyClick(spin, Qt.Key.Key_Return)

        script = ModalScript([(is_a("OpenShiftDialog"), type_five)])
        terminal.window.try_login("1001", "2580")
        script.finish(qtbot)
        shift = terminal.services.shifts.current_shift()
        assert shift is not None and shift.opening_float_fen == 50_000  # five ¥100 notes, not fifty
    finally:
        terminal.shutdown()


def test_cancelling_the_float_leaves_the_login_screen_without_a_shift(qtbot: Any, tmp_path: Path) -> None:
    terminal = _real_terminal(qtbot, tmp_path)
    try:
        script = ModalScript([(is_a("OpenShiftDialog"), lambda w: w.reject())])
        terminal.window.try_login("1001", "2580")
        script.finish(qtbot)
        assert terminal.services.shifts.current_shift() is None
        assert terminal.window.session is None
        assert terminal.window.stack.currentWidget() is terminal.window.login_view
        assert "opening float" in terminal.window.login_view.error.text()
    finally:
        terminal.shutdown()
