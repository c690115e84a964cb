"""The customer display follows the till: a window on screen 0 and a fake pole display, driven by scans."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import Qt

from pos_app.app import Terminal, build_terminal
from pos_app.settings import load_settings
from tests.ui.conftest import WATER, scan


@pytest.fixture
def displayed(qtbot: Any, tmp_path: Path) -> Iterator[Terminal]:
    env = {"POS_LANGUAGE": "zh_CN", "POS_DISPLAY_WINDOW": "0", "POS_DISPLAY_POLE_URL": "fake://pole",
           "POS_CARD_JOIN_URL": "https://shop.example.com/join"}
    settings = load_settings(None, env=env, data_dir=tmp_path / "data")
    terminal = build_terminal(settings, demo=True, scanner_urls=("fake://",), show_wallet=False,
                              payment_sleep=lambda s: time.sleep(min(s, 0.05)))
    qtbot.addWidget(terminal.window)
    terminal.window.show()
    qtbot.waitUntil(terminal.recovery_done.is_set, timeout=10_000)
    yield terminal
    terminal.shutdown()


def test_display_follows_scans_and_thanks(qtbot: Any, displayed: Terminal) -> None:
    cd = displayed.customer_display
    assert cd is not None and cd.window is not None and cd.pole is not None
    assert cd.pole.shown[-1] == ("欢迎光临            ", "扫码领取会员卡      ")
    assert cd.window.qr.pixmap() is not None and not cd.window.qr.pixmap().isNull()  # scan to join
    scan(displayed, WATER, "EAN13")
    qtbot.waitUntil(lambda: cd.window.lines.count() == 1)
    assert cd.window.total.text() == "合计 ¥2.00"
    assert cd.pole.shown[-1][1] == "合计            2.00"
    w = displayed.window
    qtbot.keyClick(w, Qt.Key.Key_F5)
    dialog = w.controller.cash_dialog
    assert dialog is not None
    qtbot.keyClicks(dialog.amount, "5")
    qtbot.keyClick(dialog.amount, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: any(first.startswith("谢谢惠顾") for first, _ in cd.pole.shown))


def test_display_shows_the_alipay_payment_progress(qtbot: Any, displayed: Terminal) -> None:
    import secrets

    cd = displayed.customer_display
    assert cd is not None and cd.window is not None and cd.pole is not None
    seen: list[str] = []
    show = cd.window.show_view
    cd.window.show_view = lambda view: (seen.append(view.payment_state or view.kind), show(view))  # type: ignore[method-assign]
    w = displayed.window

    def pay(behaviour: str) -> None:
        code = "28" + "".join(secrets.choice("0123456789") for _ in range(16))
        displayed.sandbox.script_auth_code(code, behaviour, queries=1)
        qtbot.keyClick(w, Qt.Key.Key_F4)
        assert w.controller.payment_dialog is not None
        scan(displayed, code, "CODE128")

    scan(displayed, WATER, "EAN13")
    qtbot.waitUntil(lambda: cd.window.lines.count() == 1)
    pay("balance_not_enough")                            # refused: the customer reads "not paid"
    qtbot.waitUntil(lambda: cd.window.status.text() == "支付未完成", timeout=10_000)
    assert "sending" in seen and seen[-1] == "failed"
    assert cd.pole.shown[-1][1].startswith("支付未完成")
    qtbot.keyClick(w.controller.payment_dialog, Qt.Key.Key_Escape)
    qtbot.waitUntil(lambda: w.controller.payment_dialog is None, timeout=10_000)
    assert cd.window.status.text() == "" and cd.window.total.text() == "合计 ¥2.00"   # back to the basket
    seen.clear()
    pay("wait_then_success")                             # the customer confirms in Alipay, then it is paid
    qtbot.waitUntil(lambda: w.controller.payment_dialog is None, timeout=10_000)
    qtbot.waitUntil(lambda: "thanks" in seen)
    order = [s for s in seen if s in ("sending", "waiting", "paid", "thanks")]
    assert order == ["sending", "waiting", "paid", "thanks"], seen
    assert any(second.startswith("请在支付宝中确认付款") for _, second in cd.pole.shown)
