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
from pos_app.card_desk import DEMO_SPEC, CardDesk
from pos_app.sandbox import SandboxServer
from pos_app.services.users import hash_pin
from pos_app.settings import Settings

if TYPE_CHECKING:
    from pos_app.app import Terminal

__all__ = ["DEMO_CASHIER", "DEMO_SUPERVISOR", "DEMO_FLOAT_FEN", "DEMO_WALLET_CAMERA", "prepare_demo", "seed_demo",
           "open_wallet", "place_beside", "card_desk", "join_by_qr"]

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


def card_desk(settings: Settings, sandbox: SandboxServer) -> CardDesk:
    """The supervisor's card desk in the demo: the demo shop's template spec, and the card-opening endpoint
    served in-process with the sandbox pointed at it (express mode: Alipay calls the shop)."""
    desk = CardDesk(settings, spec_path=DEMO_SPEC, serve_endpoint=True,
                    on_endpoint=lambda url: sandbox.configure(spi_endpoint_url=url))
    # a poster of an earlier demo run points at an endpoint that no longer runs: the supervisor prints anew
    desk.poster_path.unlink(missing_ok=True)
    return desk


def open_wallet(t: Terminal) -> Any:
    from drivers.virtual import register_frame_source
    from pos_app.printing import render_barcode_png
    from pos_app.ui.wallet_window import WalletWindow

    sandbox = t.sandbox
    # the demo member with the most points, so that redeeming points can be tried at once
    cards = sorted((c for c in sandbox.cards() if c.get("biz_card_no")),
                   key=lambda c: -Decimal(str(c.get("point") or 0)))
    joined: list[str] = []  # the card the customer got with "Join", once they have one

    def member_code(dynamic: bool) -> str:
        card = sandbox.card(joined[-1]) if joined else (cards[0] if cards else None)
        if card is None:
            return ""
        if dynamic:
            return str(sandbox.mint_member_code(card["biz_card_no"])["code"])
        return str(card.get("external_card_no") or card["biz_card_no"])

    def payment_code(behaviour: str) -> str:
        code = "28" + "".join(secrets.choice("0123456789") for _ in range(16))
        scripted = {"pays": ("success", 1), "password": ("wait_then_success", 1),
                    "balance": ("balance_not_enough", 1), "never": ("wait_forever", 1)}[behaviour]
        sandbox.script_auth_code(code, scripted[0], queries=scripted[1])
        return code

    def join(frame: Any, mobile: str, name: str) -> str:
        card_no = join_by_qr(sandbox.base_url, frame, mobile, name)
        joined.append(card_no)
        return card_no

    desk = t.card_desk
    wallet = WalletWindow(t.ctx.tr, member_code, payment_code, render_barcode_png, t.wedge_filter,
                          join_poster=(lambda: desk.poster_path) if desk is not None else None,
                          join=join if desk is not None else None)
    wallet.via_camera = any(s.url.startswith("virtual://wallet") for s in t.scanners)
    register_frame_source("wallet", _wallet_frames(wallet))
    wallet.show()
    return wallet


def join_by_qr(alipay_base: str, frame: Any, mobile: str, name: str) -> str:
    """What Alipay's app does when a customer scans the shop's join QR: read the code in the camera frame,
    open it (only Alipay's own activation page is followed), submit the open-card form; the card's number.

    Express templates: Alipay calls the shop's endpoint and answers with the card. Callback templates: the
    page redirects to the shop's callback, whose page names the card. Raises ValueError saying why not.
    """
    import json
    import re
    import urllib.parse

    import httpx
    import numpy as np

    from drivers.decode import decode_frame

    data, w, h, bpl = frame
    bgr = np.frombuffer(data, np.uint8, count=bpl * h).reshape(h, bpl)[:, : w * 4].reshape(h, w, 4)[:, :, :3]
    texts = [d.text for d in decode_frame(np.ascontiguousarray(bgr), effort="thorough") if d.symbology == "QR"]
    if not texts:
        raise ValueError("no QR code found on the poster")
    url = texts[0]
    if not url.startswith(alipay_base.rstrip("/") + "/card/apply?"):
        raise ValueError("this QR code is not a membership-card offer of Alipay")
    form = urllib.parse.urlencode({"mobile": mobile, "name": name})
    try:
        resp = httpx.get(f"{url}&{form}", follow_redirects=True, timeout=15.0, trust_env=False)
    except httpx.HTTPError as exc:
        raise ValueError(f"Alipay did not answer ({type(exc).__name__})") from exc
    kind = resp.headers.get("content-type", "")
    if resp.status_code == 200 and kind.startswith("application/json"):
        card = resp.json().get("external_card_no")
        if isinstance(card, str) and card:
            return card
    found = re.search(r'<p hidden id="card">("[^"]*")</p>', resp.text)
    if resp.status_code == 200 and found:
        return str(json.loads(found.group(1)))
    reason = resp.json().get("error") if kind.startswith("application/json") else ""
    raise ValueError(f"the card was not opened ({resp.status_code}{': ' + str(reason) if reason else ''})")


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


