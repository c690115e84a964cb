"""One real terminal (offscreen Qt, the settings file a lane uses) driven like a cashier, for the store-mode walk
of docs/store-mode.md ("Done when"): log in, then for each line of a command file, sell.

    QT_QPA_PLATFORM=offscreen python -m tests.store.walk_terminal --config lane1.toml --cashier 2001 \\
        --pin-env WALK_PIN --commands cmds.txt --out lane1.jsonl

The command file is read as it grows (the walk appends to it while the terminal runs); each line is one of
    sale MEMBER ITEM_BARCODE COUNT REDEEM    a cash sale (MEMBER "-" for none, REDEEM points or "max" or 0)
    status                                   the status bar's store text
    storex PNG                               Shift+F9 as the cashier; a supervisor approves (number and PIN
                                             from $WALK_SUP and $WALK_SUP_PIN); the store X is grabbed to PNG
    quit
Every result is one JSON line in --out: what the cashier saw (receipt, points, the message of a refusal,
how long the commit took, the status bar), so the walk can compare it with the store and the sandbox.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any


def _wait(app: Any, cond: Callable[[], bool], timeout: float = 15.0) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        app.processEvents()
        if cond():
            return True
        time.sleep(0.01)
    return False


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--config", required=True)
    ap.add_argument("--cashier", required=True)
    ap.add_argument("--pin-env", required=True)
    ap.add_argument("--commands", required=True, type=Path)
    ap.add_argument("--out", required=True, type=Path)
    args = ap.parse_args()
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtCore import Qt
    from PySide6.QtTest import QTest
    from PySide6.QtWidgets import QApplication

    from pos_app.app import build_terminal
    from pos_app.logs import setup_logging
    from pos_app.settings import load_settings

    app = QApplication.instance() or QApplication(sys.argv)
    settings = load_settings(args.config)
    setup_logging(settings.log_dir)
    terminal = build_terminal(settings, scanner_urls=("fake://",), show_wallet=False)
    w = terminal.window
    w.show()
    out = args.out.open("a", encoding="utf-8")

    def emit(**rec: Any) -> None:
        out.write(json.dumps(rec, ensure_ascii=False) + "\n")
        out.flush()

    def status() -> str:   # the status bar's figures are read on a pool thread: wait for this refresh
        w.refresh_status()
        _wait(app, lambda: not w._figures_in_flight, 5)
        return str(w.status_labels["storelink"].text())

    def accept_open_shift() -> None:   # the first login of a shift counts the float: none in the walk
        dialog = QApplication.activeModalWidget()
        if dialog is not None and hasattr(dialog, "_open"):
            dialog._open()

    from PySide6.QtCore import QTimer

    def store_x(png: Path) -> dict[str, Any]:
        """What a supervisor sees on Shift+F9: the approval, then the store X (read, grabbed, closed)."""
        seen: dict[str, Any] = {}

        def drive() -> None:
            dialog = QApplication.activeModalWidget()
            name = type(dialog).__name__ if dialog is not None else ""
            if name == "ApprovalDialog" and "approved" not in seen:
                seen["approved"] = True
                dialog.number.setText(os.environ["WALK_SUP"])   # type: ignore[union-attr]
                dialog.pin.setText(os.environ["WALK_SUP_PIN"])  # type: ignore[union-attr]
                QTest.keyClick(dialog.pin, Qt.Key.Key_Return)   # type: ignore[union-attr]
            elif name == "StoreReportDialog" and not dialog.panel.busy:  # type: ignore[union-attr]
                panel = dialog.panel  # type: ignore[union-attr]
                f = panel.figures
                seen.update(unavailable=f is None, message=str(getattr(panel, "message", "")),
                            lanes=[(ln.lane, ln.sales, ln.total_fen) for ln in f.lanes] if f else [],
                            sales=f.sales if f else 0, total_fen=f.total_fen if f else 0,
                            incomplete=[il.lane for il in f.incomplete_lanes] if f else [])
                dialog.grab().save(str(png))  # type: ignore[union-attr]
                dialog.reject()  # type: ignore[union-attr]
                return
            QTimer.singleShot(100, drive)

        QTimer.singleShot(100, drive)
        w.activateWindow()   # Shift+F9 is a window shortcut: the counter's window is the active one
        _wait(app, lambda: QApplication.activeWindow() is w, 2)
        QTest.keyClick(w.checkout_view.entry, Qt.Key.Key_F9, Qt.KeyboardModifier.ShiftModifier)
        _wait(app, lambda: "lanes" in seen or "unavailable" in seen, 20)
        return seen

    ok = False
    for _ in range(30):   # a new lane knows the store's users after its first pull (a second or so)
        QTimer.singleShot(300, accept_open_shift)
        w.try_login(args.cashier, os.environ[args.pin_env])
        ok = _wait(app, lambda: w.stack.currentWidget() is w.checkout_view, 1.5)
        if ok:
            break
    emit(event="login", ok=ok, status=status())
    scan = terminal.fake_scanner().feed
    done = 0
    try:
        while True:
            lines = args.commands.read_text(encoding="utf-8").splitlines() if args.commands.exists() else []
            if done >= len(lines):
                _wait(app, lambda: False, 0.2)
                continue
            cmd = lines[done].split()
            done += 1
            if not cmd:
                continue
            if cmd[0] == "quit":
                break
            if cmd[0] == "status":
                emit(event="status", status=status())
                continue
            if cmd[0] == "storex":
                emit(event="storex", **store_x(Path(cmd[1])))
                continue
            member, item, count, redeem = cmd[1], cmd[2], int(cmd[3]), cmd[4]
            view, ctl = w.checkout_view, w.controller
            before = ctl.last_committed
            if member != "-":
                scan(member, "CODE128")
                _wait(app, lambda: member[-4:] in view.member_detail.text())
            for _ in range(count):
                scan(item, "EAN13")
            _wait(app, lambda: view.model.line_at(0) is not None and view.model.line_at(0).quantity == count)
            shown_points = view.member_detail.text()
            refused = ""
            if redeem != "0":
                QTest.keyClick(w, Qt.Key.Key_F6)
                _wait(app, lambda: ctl.prompt is not None and ctl.prompt.isVisible())
                if redeem != "max":
                    ctl.prompt.edit.setText(redeem)
                QTest.keyClick(ctl.prompt.edit, Qt.Key.Key_Return)
                _wait(app, lambda: ctl.prompt is None or not ctl.prompt.isVisible(), 5)

            def pay() -> tuple[bool, float]:
                t0 = time.perf_counter()
                QTest.keyClick(w, Qt.Key.Key_F5)
                if _wait(app, lambda: ctl.cash_dialog is not None and ctl.cash_dialog.isVisible(), 5):
                    QTest.keyClick(ctl.cash_dialog.amount, Qt.Key.Key_Return)      # exact cash
                return _wait(app, lambda: ctl.last_committed is not before, 5), (time.perf_counter() - t0) * 1000

            committed, ms = pay()
            if not committed:   # refused (the store has not the points): the cashier reads why, pays without them
                refused = str(view.notice.text())
                ctl.till.clear_redemption()
                ctl.refresh()
                committed, ms = pay()
            c = ctl.last_committed if committed else None
            emit(event="sale", member=member, redeem=redeem, committed=committed, ms=round(ms, 1),
                 receipt=c.receipt_no if c else "", points_redeemed=c.snapshot.totals.points_redeemed if c else 0,
                 points_earned=c.points_earned if c else 0, balance=c.points_balance if c else None,
                 shown_before=shown_points, refused=refused, status=status())
    finally:
        terminal.shutdown()
        out.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
