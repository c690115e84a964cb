"""The card-opening endpoint under waitress, with the sandbox as Alipay: express and historical modes."""

from __future__ import annotations

import datetime as dt
import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from pos_app.__main__ import main
from pos_app.alipay.keys import load_private_key_file
from pos_app.alipay.signing import sign_content, sign_string
from pos_app.card_endpoint import OpeningApp, serve, stop
from pos_app.gateway_setup import gateway_config
from pos_app.sandbox import SandboxServer
from pos_app.settings import load_settings
from pos_app.storage.db import connect
from pos_app.storage.members import SqliteMembers

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def _spec(mode: str, callback: str = "") -> str:
    return (f'[card]\nname = "会员卡"\nbiz_no_prefix = "8800"\n[style]\nbg_color = "#112233"\nlogo = "l.png"\n'
            f'background = "l.png"\n[open]\nmode = "{mode}"\n' + (f'callback_url = "{callback}"\n' if callback else ""))


class Endpoint:
    def __init__(self, tmp_path: Path, sandbox: SandboxServer) -> None:
        self.tmp, self.sandbox = tmp_path, sandbox
        self.server: Any = None
        self.cfg = tmp_path / "pos.toml"
        self.cfg.write_text(f'data_dir = "{tmp_path / "data"}"\n[gateway]\nurl = "{sandbox.gateway_url}"\n'
                            f'app_id = "{sandbox.app_id}"\napp_private_key = "{sandbox.app_private_key_path}"\n'
                            f'alipay_public_key = "{sandbox.alipay_public_key_path}"\n'
                            '[card]\nopening_points = 100\nopening_level = "SILVER"\n', encoding="utf-8")
        (tmp_path / "l.png").write_bytes(PNG)
        self.port = 0
        self.store_dsn = ""   # the store's writer connection in store mode (tests/store/test_card_opening_store.py)

    def start(self, mode: str) -> str:
        import socket

        with socket.socket() as s:  # a free port, so the template's callback URL can name it
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        base = f"http://127.0.0.1:{self.port}"
        (self.tmp / "card.toml").write_text(_spec(mode, base + "/card/open" if mode == "callback" else ""),
                                           encoding="utf-8")
        assert main(["card", "template", "create", "--spec", str(self.tmp / "card.toml"),
                     "--config", str(self.cfg)]) == 0
        self.settings = load_settings(self.cfg, env={})
        cfg = gateway_config(self.settings, env={})
        assert cfg is not None
        self.app = OpeningApp(self.settings, cfg, store_dsn=self.store_dsn)
        self.server = serve(self.app, "127.0.0.1", self.port, threads=4)
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.thread.start()
        self.sandbox.configure(spi_endpoint_url=base + "/spi")
        return base

    def stop(self) -> None:
        if self.server is not None:
            stop(self.server, self.thread)

    def members(self) -> list[tuple[str, str, str, str]]:
        conn = connect(self.settings.db_path)
        try:
            return [tuple(r) for r in conn.execute("SELECT card_no, phone, level, coalesce(biz_card_no, '')"
                                                   " FROM members ORDER BY card_no")]  # type: ignore[misc]
        finally:
            conn.close()


@pytest.fixture
def endpoint(tmp_path: Path, sandbox: SandboxServer) -> Iterator[Endpoint]:
    ep = Endpoint(tmp_path, sandbox)
    try:
        yield ep
    finally:
        ep.stop()


def _join(sandbox: SandboxServer, tid: str, mobile: str, **extra: str) -> httpx.Response:
    return httpx.get(sandbox.base_url + "/card/apply", params={"template_id": tid, "app_id": sandbox.app_id,
                                                              "mobile": mobile, "name": "王五", **extra},
                     follow_redirects=True, timeout=10, trust_env=False)


def test_express_join_creates_the_member_once(endpoint: Endpoint, sandbox: SandboxServer) -> None:
    base = endpoint.start("express")
    tid = endpoint.settings.card.template_id
    r = _join(sandbox, tid, "13912345678")
    assert r.status_code == 200, r.text
    card = r.json()
    ((card_no, phone, level, _),) = endpoint.members()
    assert (card["external_card_no"], phone, level, card["point"]) == (card_no, "13912345678", "SILVER", "100")
    assert card_no.startswith("8800") and len(card_no) == 16
    member = SqliteMembers(connect(endpoint.settings.db_path)).get(card_no)  # known at the next scan
    assert member is not None and member.level == "SILVER"
    assert sandbox.card(card_no) is not None  # the card is in the customer's wallet

    key = load_private_key_file(sandbox.gateway_private_key_path, validate=False)

    def spi(biz: dict[str, object], *, ts: dt.datetime | None = None, signer: object = None) -> dict[str, object]:
        params = {"app_id": sandbox.app_id, "method": "spi.alipay.user.opencard.get", "charset": "utf-8",
                  "sign_type": "RSA2", "version": "1.0",
                  "timestamp": (ts or sandbox.now()).strftime("%Y-%m-%d %H:%M:%S"),
                  "biz_content": json.dumps(biz)}
        params["sign"] = sign_content(sign_string(params), signer or key, "RSA2")  # type: ignore[arg-type]
        text = httpx.post(base + "/spi", data=params, timeout=5, trust_env=False).text
        return json.loads(text[len('{"response":'):text.rindex(',"sign":"')])

    biz = {"template_id": tid, "request_id": "REQ-X1", "user_id": "2088000000000777",
           "form_info": {"OPEN_FORM_FIELD_MOBILE": "13700000000"}}
    first, again = spi(biz), spi(biz)   # Alipay retries: the same card, one member
    assert first["code"] == "10000" and again["card_info"] == first["card_info"]  # type: ignore[index]
    forged = spi({**biz, "request_id": "REQ-X2"}, signer=load_private_key_file(sandbox.app_private_key_path))
    assert forged["sub_code"] == "INVALID_SIGN"
    replay = spi({**biz, "request_id": "REQ-X3"}, ts=sandbox.now() - dt.timedelta(minutes=10))
    assert replay["sub_code"] == "INVALID_TIMESTAMP"
    other = spi({**biz, "request_id": "REQ-X4", "template_id": "nope"})
    assert other["sub_code"] == "OPEN_CARD_REFUSED" and "unknown template" in str(other["sub_msg"])
    assert len(endpoint.members()) == 2


def test_callback_join_exchanges_the_code_and_opens_the_card(endpoint: Endpoint, sandbox: SandboxServer) -> None:
    base = endpoint.start("callback")
    tid = endpoint.settings.card.template_id
    r = _join(sandbox, tid, "13600000000")
    assert r.status_code == 200 and "开卡成功" in r.text, r.text
    ((card_no, phone, level, biz_card_no),) = endpoint.members()
    assert phone == "13600000000" and level == "SILVER" and biz_card_no
    held = sandbox.card(biz_card_no)
    assert held is not None and held["external_card_no"] == card_no and held["point"] == "100"
    bogus = httpx.get(base + "/card/open", params={"auth_code": "forged", "request_id": "R", "template_id": tid},
                      timeout=10, trust_env=False)
    assert bogus.status_code == 400 and "开卡失败" in bogus.text
    assert len(endpoint.members()) == 1


def test_the_endpoint_serves_when_its_descriptors_are_above_1023(endpoint: Endpoint, sandbox: SandboxServer) -> None:
    """waitress's default select() fails on a descriptor above 1023 ("filedescriptor out of range"): a busy
    endpoint (many connections and files open) stopped answering. It polls instead."""
    import os
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard < 1300:
        pytest.skip(f"the hard limit of open files is {hard}: cannot open 1 100 descriptors")
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, 1300) if hard == resource.RLIM_INFINITY
                                                else min(max(soft, 1300), hard), hard))
    null = os.open(os.devnull, os.O_RDONLY)
    held = [os.dup(null) for _ in range(1100)]   # every socket the server opens now gets a number above 1023
    try:
        endpoint.start("express")
        r = _join(sandbox, endpoint.settings.card.template_id, "13912340000")
        assert r.status_code == 200, r.text
        assert [m[1] for m in endpoint.members()] == ["13912340000"]
    finally:
        endpoint.stop()
        for fd in held:
            os.close(fd)
        os.close(null)
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
