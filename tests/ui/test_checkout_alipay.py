"""Alipay flows end to end over the sandbox: paid with points, redemption, 10003, give up, balance, gateway down."""

from __future__ import annotations

import secrets
from typing import Any

from PySide6.QtCore import Qt

from pos_app.services.routing import Route
from tests.ui.conftest import SCREENSHOTS, WATER, scan

MEMBER = "8800671208341214"     # demo member 黄涛, SILVER, 240 points


def _code(terminal: Any, behaviour: str, queries: int = 1) -> str:
    code = "28" + "".join(secrets.choice("0123456789") for _ in range(16))
    terminal.sandbox.script_auth_code(code, behaviour, queries=queries)
    return code


def _start_payment(qtbot: Any, terminal: Any) -> Any:
    w = terminal.window
    qtbot.keyClick(w, Qt.Key.Key_F4)
    dialog = w.controller.payment_dialog
    assert dialog is not None and dialog.isVisible()
    assert terminal.ctx.router.payment_waiting
    return dialog


def _basket(qtbot: Any, terminal: Any, member: bool = True, items: int = 3) -> None:
    view = terminal.window.checkout_view
    if member:
        scan(terminal, MEMBER, "CODE128")
        qtbot.waitUntil(lambda: MEMBER[-4:] in view.member_detail.text())
    for _ in range(items):
        scan(terminal, WATER, "EAN13")
    qtbot.waitUntil(lambda: view.model.line_at(0) is not None and view.model.line_at(0).quantity == items)


def test_member_sale_paid_by_alipay_earns_points(qtbot: Any, terminal: Any) -> None:
    _basket(qtbot, terminal, items=5)                    # ¥10.00
    assert terminal.window.checkout_view.earn.text() == "10"
    dialog = _start_payment(qtbot, terminal)
    scan(terminal, _code(terminal, "success"), "CODE128")
    qtbot.waitUntil(lambda: terminal.window.controller.payment_dialog is None, timeout=10_000)
    committed = terminal.window.controller.last_committed
    assert committed is not None and committed.trade_no
    assert committed.points_earned == 10
    assert committed.snapshot.member.card_no == MEMBER
    assert not terminal.ctx.router.payment_waiting
    assert dialog.outcome.paid


def test_redemption_sale(qtbot: Any, terminal: Any, monkeypatch: Any) -> None:
    _basket(qtbot, terminal, items=5)                    # ¥10.00, 240 points: 200 may be redeemed (cap 50%)
    ctl = terminal.window.controller
    qtbot.keyClick(terminal.window, Qt.Key.Key_F6)
    qtbot.waitUntil(lambda: ctl.prompt is not None and ctl.prompt.isVisible())
    assert ctl.prompt.edit.text() == "200"                  # the most that may be redeemed, pre-filled
    qtbot.keyClick(ctl.prompt.edit, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: terminal.window.checkout_view.payable.text() == "¥8.00")
    # QA #3: the member panel shows the balance left (240 - 200) and no longer offers the old 200 points
    view = terminal.window.checkout_view
    assert "Can redeem now" not in view.member_redeem.text()
    assert "200" in view.member_redeem.text() and "¥2.00" in view.member_redeem.text()
    assert "Points: 40" in view.member_detail.text()
    _start_payment(qtbot, terminal)
    scan(terminal, _code(terminal, "success"), "CODE128")
    qtbot.waitUntil(lambda: ctl.payment_dialog is None, timeout=10_000)
    committed = ctl.last_committed
    assert committed.snapshot.totals.points_redeemed == 200
    assert committed.snapshot.totals.payable_fen == 800


def test_10003_then_success(qtbot: Any, terminal: Any) -> None:
    _basket(qtbot, terminal, member=False)
    dialog = _start_payment(qtbot, terminal)
    seen: list[str] = []
    dialog.status.linkHovered  # noqa: B018 - keep the label alive while we watch it
    orig = dialog._progress  # noqa: SLF001 - observe the stages shown

    def watch(p: Any) -> None:
        seen.append(p.stage)
        orig(p)

    dialog._progress = watch  # noqa: SLF001
    qtbot.keyClicks(dialog.code, _code(terminal, "wait_then_success", queries=2))
    qtbot.keyClick(dialog.code, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: terminal.window.controller.payment_dialog is None, timeout=10_000)
    assert terminal.window.controller.last_committed is not None
    assert dialog.outcome.paid


def test_10003_and_the_cashier_gives_up(qtbot: Any, terminal: Any) -> None:
    _basket(qtbot, terminal, member=False)
    dialog = _start_payment(qtbot, terminal)
    scan(terminal, _code(terminal, "wait_forever"), "CODE128")
    qtbot.waitUntil(lambda: "Waiting for the customer" in dialog.status.text(), timeout=10_000)
    SCREENSHOTS.mkdir(exist_ok=True)
    dialog.grab().save(str(SCREENSHOTS / "payment_waiting_en.png"))   # mid-wait, for a person to look at
    qtbot.keyClick(dialog, Qt.Key.Key_Escape)             # give up: the service cancels properly
    qtbot.waitUntil(lambda: dialog.outcome is not None, timeout=10_000)
    assert dialog.outcome.state in ("cancelled", "cancelled_refunded")
    assert "not completed" in dialog.status.text()
    qtbot.keyClick(dialog, Qt.Key.Key_Escape)             # close
    qtbot.waitUntil(lambda: terminal.window.controller.payment_dialog is None)
    assert terminal.window.controller.last_committed is None
    assert terminal.window.controller.sale.state.value == "open"   # the basket can be changed again
    assert terminal.window.checkout_view.model.rowCount() == 1


def test_insufficient_balance(qtbot: Any, terminal: Any) -> None:
    _basket(qtbot, terminal, member=False)
    dialog = _start_payment(qtbot, terminal)
    scan(terminal, _code(terminal, "balance_not_enough"), "CODE128")
    qtbot.waitUntil(lambda: dialog.outcome is not None, timeout=10_000)
    assert dialog.outcome.state == "failed"
    assert "balance is not enough" in dialog.status.text()
    assert terminal.ctx.router.payment_waiting            # a new code can be scanned
    qtbot.keyClick(dialog, Qt.Key.Key_Escape)
    qtbot.waitUntil(lambda: terminal.window.controller.payment_dialog is None)
    assert terminal.window.controller.last_committed is None


def test_no_payment_waiting(qtbot: Any, terminal: Any) -> None:
    view = terminal.window.checkout_view
    scan(terminal, _code(terminal, "success"), "CODE128")
    qtbot.waitUntil(lambda: view.notice.isVisible())
    assert "no payment is waiting" in view.notice.text()
    assert terminal.ctx.router.payment_waiting is False
    assert Route.PAYMENT


def test_gateway_down_mid_payment_then_resolved(qtbot: Any, terminal: Any) -> None:
    _basket(qtbot, terminal, member=False)
    dialog = _start_payment(qtbot, terminal)
    code = _code(terminal, "success")
    terminal.sandbox.inject_fault("truncated", "alipay.trade.pay", count=1)
    terminal.sandbox.inject_fault("refuse", "*", count=None)
    scan(terminal, code, "CODE128")
    qtbot.waitUntil(lambda: dialog.outcome is not None, timeout=20_000)
    assert dialog.outcome.state == "unknown"
    assert "do not hand over goods" in dialog.status.text()
    qtbot.keyClick(dialog, Qt.Key.Key_Escape)
    qtbot.waitUntil(lambda: terminal.window.controller.payment_dialog is None)
    terminal.sandbox.clear_faults()
    outcomes = terminal.services.payment.recover()    # the later check (start-up recovery does this)
    assert [o.state for o in outcomes] in (["cancelled_refunded"], ["paid"], ["cancelled"])
