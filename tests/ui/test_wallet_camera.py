"""The demo wallet seen by the virtual camera: the wallet renders the code, the camera thread decodes it,
the terminal attaches the member. No typing: the keyboard-wedge path is not used.

``POS_WALLET_SOAK_S=180`` turns the loop into a soak of a few minutes (default: a few seconds).
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

from pos_app.app import DEMO_WALLET_CAMERA, build_terminal
from pos_app.settings import load_settings
from tests.ui.conftest import WATER

SOAK_S = float(os.environ.get("POS_WALLET_SOAK_S", "4"))
FPS = 30


def test_member_code_through_the_virtual_camera(qtbot: Any, tmp_path: Path) -> None:
    env = {"POS_LANGUAGE": "en", "POS_PAYMENT_QUERY_INTERVAL_S": "0.05", "POS_PAYMENT_QUERY_MAX": "3"}
    settings = load_settings(None, env=env, data_dir=tmp_path / "data")
    t = build_terminal(settings, demo=True, scanner_urls=("fake://", f"virtual://wallet?fps={FPS}"),
                       show_wallet=True, payment_sleep=lambda s: time.sleep(min(s, 0.05)))
    qtbot.addWidget(t.window)
    t.window.show()
    try:
        qtbot.waitUntil(t.recovery_done.is_set, timeout=10_000)
        wallet, w = t.wallet, t.window
        camera = next(s for s in t.scanners if s.url.startswith("virtual://wallet"))
        assert wallet is not None and wallet.via_camera
        typed: list[Any] = []
        wallet._type_timer.timeout.connect(lambda: typed.append(1))
        deadline = time.monotonic() + SOAK_S
        sends = 0
        while sends < 3 or time.monotonic() < deadline:
            # alternate the static card number (the re-emit guard must let it through again once
            # it has left the view) and a fresh dynamic member code
            wallet.new_member_code(sends % 2 == 1)
            wallet.send("member")
            assert wallet.holding and not wallet.typing
            qtbot.waitUntil(lambda: w.controller.snapshot().member is not None, timeout=10_000)
            sends += 1
            w.controller.do_remove_member()
            qtbot.waitUntil(lambda: w.controller.snapshot().member is None, timeout=5_000)
            qtbot.waitUntil(lambda: not wallet.holding, timeout=5_000)
            # the phone is away: let the camera see the empty view for longer than its 0.5 s guard
            seen = camera.frames_decoded
            qtbot.waitUntil(lambda: camera.frames_decoded >= seen + int(0.7 * FPS), timeout=5_000)
        assert not typed, "the wallet typed instead of showing the code to the camera"
        assert camera.frames_decoded > sends * FPS * 0.7
        print(f"{sends} member sends through the virtual camera in {SOAK_S:.0f} s")
        # and a payment: the QR held up to the camera pays the waiting sale
        t.fake_scanner().feed(WATER, "EAN13")
        qtbot.waitUntil(lambda: w.checkout_view.model.rowCount() == 1)
        w.controller.on_intent("alipay")
        qtbot.waitUntil(lambda: w.controller.payment_dialog is not None)
        used = wallet.new_payment_code("pays")
        wallet.send("payment")
        qtbot.waitUntil(lambda: w.controller.last_committed is not None, timeout=10_000)
        assert w.controller.last_committed.trade_no
        qtbot.waitUntil(lambda: wallet.payment_text != used, timeout=5_000)  # single-use: a fresh code
        assert not typed
    finally:
        t.shutdown()


def test_demo_adds_the_wallet_camera(qtbot: Any, tmp_path: Path) -> None:
    settings = load_settings(None, env={"POS_LANGUAGE": "en"}, data_dir=tmp_path / "data")
    t = build_terminal(settings, demo=True, show_wallet=True)
    qtbot.addWidget(t.window)
    try:
        assert DEMO_WALLET_CAMERA in [s.url for s in t.scanners]
        assert t.wallet is not None and t.wallet.via_camera
    finally:
        t.shutdown()
