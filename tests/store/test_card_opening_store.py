"""Store mode: a card opened at the endpoint is a member of the store's PostgreSQL master, and another lane
knows it at its next pull; when the store cannot be reached, Alipay is answered "retry" and nothing is lost."""

from __future__ import annotations

import json
import socket
import threading
from pathlib import Path
from typing import Any

import httpx
import pytest

from pos_app.alipay.keys import load_private_key_file
from pos_app.alipay.signing import sign_content, sign_string
from pos_app.card_endpoint import OpeningApp, serve, stop
from pos_app.gateway_setup import gateway_config
from pos_app.sandbox import SandboxServer
from pos_app.settings import load_settings
from tests.integration.card.test_card_endpoint import Endpoint
from tests.store.lanekit import make_lane, server


def _spi(sandbox: SandboxServer, base: str, biz: dict[str, object]) -> dict[str, Any]:
    key = load_private_key_file(sandbox.gateway_private_key_path, validate=False)
    params = {"app_id": sandbox.app_id, "method": "spi.alipay.user.opencard.get", "charset": "utf-8",
              "sign_type": "RSA2", "version": "1.0", "timestamp": sandbox.now().strftime("%Y-%m-%d %H:%M:%S"),
              "biz_content": json.dumps(biz)}
    params["sign"] = sign_content(sign_string(params), key, "RSA2")
    text = httpx.post(base + "/spi", data=params, timeout=10, trust_env=False).text
    return dict(json.loads(text[len('{"response":'):text.rindex(',"sign":"')]))


def _dead_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_an_opening_in_store_mode_reaches_the_store_and_every_lane(tmp_path: Path, store_db: Any,
                                                                    sandbox: SandboxServer) -> None:
    other = make_lane(tmp_path, store_db, "lane2")
    ep = Endpoint(tmp_path, sandbox)
    with ep.cfg.open("a", encoding="utf-8") as f:     # store mode: the lane's (read) connection is named
        f.write(f'[store]\ndsn = "{store_db.server.dsn(store_db.name, "nobody")}"\n')
    ep.store_dsn = store_db.admin_dsn
    dead: Any = None
    try:
        base = ep.start("express")
        tid = ep.settings.card.template_id
        biz = {"template_id": tid, "request_id": "REQ-S1", "user_id": "2088000000000991",
               "form_info": {"OPEN_FORM_FIELD_MOBILE": "13700000001", "OPEN_FORM_FIELD_NAME": "赵六"}}

        # the store cannot be reached: Alipay is told to retry (20000), the store holds nothing
        settings = load_settings(ep.cfg, env={})
        cfg = gateway_config(settings, env={})
        assert cfg is not None
        with pytest.raises(SystemExit, match="POS_STORE_ADMIN_DSN"):   # store mode without the writer: refused
            OpeningApp(settings, cfg)
        port = _dead_port()
        app = OpeningApp(settings, cfg, store_dsn=f"host=127.0.0.1 port={_dead_port()} dbname=x connect_timeout=1")
        dead = serve(app, "127.0.0.1", port, threads=1)
        thread = threading.Thread(target=dead.run, daemon=True)
        thread.start()
        refused = _spi(sandbox, f"http://127.0.0.1:{port}", biz)
        assert (refused["code"], refused["sub_code"]) == ("20000", "isp.unknow-error"), refused
        assert server(store_db, "SELECT count(*) FROM pos.member")[0][0] == 0
        stop(dead, thread)
        dead = None

        # Alipay's retry reaches a working endpoint: the member is in the store with its opening points
        first = _spi(sandbox, base, biz)
        assert first["code"] == "10000", first
        card_no = first["card_info"]["external_card_no"]
        again = _spi(sandbox, base, biz)                       # replayed: the same card, nothing twice
        assert again["card_info"] == first["card_info"]
        assert server(store_db, "SELECT member_id, phone, name, level FROM pos.member") == \
            [(card_no, "13700000001", "赵六", "SILVER")]
        assert server(store_db, "SELECT member_id, balance FROM pos.member_points") == [(card_no, 100)]
        assert server(store_db, "SELECT count(*) FROM pos.points_entry WHERE member_id = %s",
                      (card_no,))[0][0] == 1

        # another lane knows the card at its next pull: the scan finds the member and its points
        other.pull().step()
        view = other.svc.members.get(card_no, 0)
        assert view is not None and view.level == "SILVER"
        assert other.journal.points_shown(card_no) == 100
    finally:
        if dead is not None:
            dead.close()
        ep.stop()
        other.close()
