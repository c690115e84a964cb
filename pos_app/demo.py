"""Demo mode: the local sandbox gateway, demo data and users, the scripted first login, the wallet window.

Nothing here runs on a real counter: pos_app.app calls these only for ``pos-app run --demo``.
"""

from __future__ import annotations

import dataclasses
import secrets
from collections.abc import Callable
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from pos_app.bootstrap import Container, seed_demo_data
from pos_app.sandbox import SandboxServer
from pos_app.services.users import hash_pin
from pos_app.settings import Settings

if TYPE_CHECKING:
    from pos_app.app import Terminal

__all__ = ["DEMO_CASHIER", "DEMO_SUPERVISOR", "DEMO_FLOAT_FEN", "DEMO_WALLET_CAMERA", "prepare_demo", "seed_demo",
           "open_wallet", "place_beside"]

DEMO_CASHIER = ("1001", "1234", "演示收银员 Demo Cashier")
DEMO_SUPERVISOR = ("9001", "9999", "演示主管 Demo Supervisor")
DEMO_FLOAT_FEN = 50_000
"""The opening float the demo's scripted first login counts (a real terminal asks for it)."""
DEMO_WALLET_CAMERA = "virtual://wallet?fps=15"
"""Added to the demo's readers: the wallet window seen by a virtual camera."""


def prepare_demo(settings: Settings) -> tuple[Settings, SandboxServer]:
    """Start the sandbox gateway in a data sub-folder and point the settings at it."""
    sandbox = SandboxServer(settings.data_dir / "sandbox", seed_demo=True).start()
    gateway = dataclasses.replace(settings.gateway, url=sandbox.gateway_url, app_id=sandbox.app_id,
                                  app_private_key=str(sandbox.app_private_key_path),
                                  alipay_public_key=str(sandbox.alipay_public_key_path))
    payment = dataclasses.replace(settings.payment, query_interval_s=min(settings.payment.query_interval_s, 2.0))
    return dataclasses.replace(settings, gateway=gateway, payment=payment), sandbox


def seed_demo(container: Container) -> None:
    """The demo catalogue, members, cashier and supervisor (kept when already there)."""
    seed_demo_data(container)
    existing = {u.number for u in container.users.list_users()}
    for (number, pin, name), role in ((DEMO_CASHIER, "cashier"), (DEMO_SUPERVISOR, "supervisor")):
        if number in existing:
            continue
        # the demo PINs are fixed by the brief (9999 would fail the "weak PIN" rule of add_user)
        with container.conns.uow() as uow:
            uow.users.add(number=number, name=name, role=role, pin_hash=hash_pin(pin), card_code=None,
                          created_at=container.clock.now())


def open_wallet(t: Terminal) -> Any:
    from drivers.virtual import register_frame_source
    from pos_app.printing import render_barcode_png
    from pos_app.ui.wallet_window import WalletWindow

    sandbox = t.sandbox
    # the demo member with the most points, so that redeeming points can be tried at once
    cards = sorted((c for c in sandbox.cards() if c.get("biz_card_no")),
                   key=lambda c: -Decimal(str(c.get("point") or 0)))

    def member_code(dynamic: bool) -> str:
        if not cards:
            return ""
        card = cards[0]
        if dynamic:
            return str(sandbox.mint_member_code(card["biz_card_no"])["code"])
        return str(card.get("external_card_no") or card["biz_card_no"])

    def payment_code(behaviour: str) -> str:
        code = "28" + "".join(secrets.choice("0123456789") for _ in range(16))
        scripted = {"pays": ("success", 1), "password": ("wait_then_success", 1),
                    "balance": ("balance_not_enough", 1), "never": ("wait_forever", 1)}[behaviour]
        sandbox.script_auth_code(code, scripted[0], queries=scripted[1])
        return code

    wallet = WalletWindow(t.ctx.tr, member_code, payment_code, render_barcode_png, t.wedge_filter)
    wallet.via_camera = any(s.url.startswith("virtual://wallet") for s in t.scanners)
    register_frame_source("wallet", _wallet_frames(wallet))
    wallet.show()
    return wallet


def _wallet_frames(wallet: Any) -> Callable[[], Any]:
    """The frame source of virtual://wallet, called on the camera thread: it reads the bytes the
    wallet rendered on the GUI thread and touches no Qt object (an empty grey view when no code
    is held up, so the camera's "gone for 0.5 s" guard sees the phone go away)."""
    import numpy as np

    from pos_app.ui.wallet_window import CAMERA_FRAME

    empty = np.full((CAMERA_FRAME[1], CAMERA_FRAME[0], 3), 150, np.uint8)

    def read() -> Any:
        raw = wallet.latest_frame()
        if raw is None:
            return empty
        data, w, h, bpl = raw
        bgra = np.frombuffer(data, np.uint8, count=bpl * h).reshape(h, bpl)[:, : w * 4].reshape(h, w, 4)
        return np.ascontiguousarray(bgra[:, :, :3])

    return read


def place_beside(side: Any, main: Any) -> None:
    """Put the demo wallet to the right of the terminal when the screen has room, and in front of it."""
    screen = main.screen().availableGeometry()
    room = screen.width() - side.width() - 8
    if main.frameGeometry().width() > room >= main.minimumSizeHint().width():
        main.resize(room - (main.frameGeometry().width() - main.width()), main.height())  # make room: no overlap
    main.move(screen.left(), screen.top())
    frame = main.frameGeometry()
    x = min(frame.right() + 8, screen.right() - side.width())
    side.move(max(screen.left(), x), frame.top())
    side.raise_()


