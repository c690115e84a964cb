"""The demo wallet window: codes shown as barcodes, "send to terminal" types like a wedge scanner."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from drivers.virtual import get_frame_source
from tests.ui.conftest import WATER, make_terminal, scan


def test_wallet_sends_member_and_pays(qtbot: Any, tmp_path: Path) -> None:
    terminal = make_terminal(qtbot, tmp_path, show_wallet=True)
    try:
        wallet = terminal.wallet
        w = terminal.window
        assert wallet is not None and wallet.isVisible()
        assert not wallet.member_image.pixmap().isNull() and not wallet.qr_image.pixmap().isNull()
        qtbot.waitUntil(lambda: get_frame_source("wallet") is not None and get_frame_source("wallet")() is not None)
        frame = get_frame_source("wallet")()
        assert frame.ndim == 3 and frame.shape[2] == 3
        w.activateWindow()
        w.checkout_view.entry.setFocus()
        wallet.send("member")
        qtbot.waitUntil(lambda: w.controller.snapshot().member is not None, timeout=10_000)
        scan(terminal, WATER, "EAN13")
        qtbot.waitUntil(lambda: w.checkout_view.model.rowCount() == 1)
        w.controller.on_intent("alipay")
        qtbot.waitUntil(lambda: w.controller.payment_dialog is not None)
        used = wallet.new_payment_code("pays")
        wallet.send("payment")
        qtbot.waitUntil(lambda: w.controller.last_committed is not None, timeout=10_000)
        assert w.controller.last_committed.trade_no
        qtbot.waitUntil(lambda: wallet.payment_text != used)  # single-use: the wallet shows a fresh code
        assert wallet.member_text and w.controller.last_committed.points_balance > 0
    finally:
        terminal.shutdown()
