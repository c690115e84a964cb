"""Issue 15 with issue 16's answer binding: the card-issuing calls (image upload, template create / modify /
query, open-card form, activation URL, oauth token, activation form, card.open) believe an answer only
when it is about what was asked. Genuinely signed answers of one call, renamed to another call's
``*_response`` by a man in the middle (tests/security/forging_proxy.py), pass the signature check and are
refused by pos_app/alipay/binding.py; an answer about another template is refused; a forged, tampered or
replayed opening request changes nothing; and a refused answer leaves the settings, the poster and the
member master as they were."""

from __future__ import annotations

import datetime as dt
import json
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from pos_app.__main__ import main
from pos_app.alipay.card_issuing import CardIssuer
from pos_app.alipay.client import AlipayClient
from pos_app.alipay.envelope import verify_response
from pos_app.alipay.keys import load_private_key_file, load_public_key_file
from pos_app.alipay.opening import AlipayOpeningGateway
from pos_app.alipay.signing import sign_content, sign_string
from pos_app.card_endpoint import OpeningApp, serve, stop
from pos_app.domain.card_template import CardIssuingError, form_fields, parse_spec, template_biz
from pos_app.gateway_setup import gateway_config
from pos_app.sandbox import SandboxServer
from pos_app.services.ports.gateway import GatewayResult, GatewaySuccess, GatewayUnknown
from pos_app.settings import load_settings
from pos_app.storage.db import connect
from tests.reliability.harness.env import GatewayInfo, make_client
from tests.security.forging_proxy import ForgingProxy, rename

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
UPLOAD = "alipay.offline.material.image.upload"
CREATE = "alipay.marketing.card.template.create"
MODIFY = "alipay.marketing.card.template.modify"
QUERY = "alipay.marketing.card.template.query"
FORM = "alipay.marketing.card.formtemplate.set"
ACTIVATE = "alipay.marketing.card.activateurl.apply"
TOKEN = "alipay.system.oauth.token"
AFORM = "alipay.marketing.card.activateform.query"
OPEN = "alipay.marketing.card.open"
UPDATE = "alipay.marketing.card.update"
TARGETS = (UPLOAD, CREATE, MODIFY, QUERY, FORM, ACTIVATE, TOKEN, AFORM, OPEN)
RESIDUAL = {(CREATE, MODIFY), (MODIFY, CREATE)}
"""template.create and template.modify both answer only ``template_id``: one's answer about the same template
cannot be told from the other's (documented in binding.py; the spec is checked whole before either is sent)."""


def _spec(mode: str, name: str) -> Any:
    raw = {"card": {"name": name, "biz_no_prefix": "8800"},
           "style": {"bg_color": "#112233", "logo": "l.png", "background": "l.png"},
           "open": {"mode": mode, **({"callback_url": "http://127.0.0.1:9/card/open"} if mode == "callback" else {})},
           "form": {"required": ["mobile"]}}
    return parse_spec(raw)


@pytest.fixture
def proxy(sandbox: SandboxServer) -> Iterator[ForgingProxy]:
    p = ForgingProxy(sandbox.gateway_url)
    try:
        yield p
    finally:
        p.close()


@pytest.fixture
def client(proxy: ForgingProxy, sandbox: SandboxServer) -> Iterator[AlipayClient]:
    gw = GatewayInfo.of(sandbox)
    c = make_client(GatewayInfo(proxy.url, gw.app_id, gw.app_private_key, gw.alipay_public_key), read_timeout_s=5.0)
    try:
        yield c
    finally:
        c.close()


class Recorded:
    """Genuine answers of every issuing call, made through the proxy (so it keeps them)."""

    def __init__(self, client: AlipayClient, sandbox: SandboxServer) -> None:
        issuer = CardIssuer(client)
        self.image = issuer.upload_image(PNG, "l.png")
        spec = _spec("express", "会员卡")
        self.biz = template_biz(spec, logo_id=self.image, background_id=self.image, app_id=sandbox.app_id)
        self.tid = issuer.create_template(self.biz)
        self.modify = {k: v for k, v in self.biz.items() if k != "card_type"}
        issuer.modify_template(self.tid, self.modify)
        issuer.query_template(self.tid)
        self.fields = form_fields(spec)
        issuer.set_form(self.tid, self.fields)
        self.url = issuer.activate_url(self.tid, out_string="S1")
        spec2 = _spec("callback", "老会员卡")
        self.biz2 = template_biz(spec2, logo_id=self.image, background_id=self.image, app_id=sandbox.app_id)
        self.tid2 = issuer.create_template(self.biz2)
        session = sandbox.state.join_session(sandbox.app_id, self.tid2, mobile="13900000001", name="")
        self.auth_code, self.request_id = session["auth_code"], session["request_id"]
        gw = AlipayOpeningGateway(client)
        self.token, user = gw.oauth_token(self.auth_code)
        gw.activate_form(self.token, self.tid2, self.request_id)
        self.open_body = {"out_serial_no": "open-1", "card_template_id": self.tid2,
                          "card_user_info": {"user_uni_id": user, "user_uni_id_type": "UID"},
                          "card_ext_info": {"external_card_no": "8800000000009991", "open_date": "2026-11-25 10:00:00",
                                            "valid_date": "2036-11-25 10:00:00", "level": "", "point": "0",
                                            "balance": "0.00"}}
        gw.open_card(self.token, self.open_body)

    def calls(self, client: AlipayClient) -> dict[str, Callable[[], GatewayResult]]:
        """Each target call, sent exactly as the typed wrappers send it."""
        return {
            UPLOAD: lambda: client.call(UPLOAD, None, extra={"image_type": "png", "image_name": "l.png"},
                                        files={"image_content": ("l.png", PNG, "image/png")}),
            CREATE: lambda: client.call(CREATE, self.biz),
            MODIFY: lambda: client.call(MODIFY, {**self.modify, "template_id": self.tid}),
            QUERY: lambda: client.call(QUERY, {"template_id": self.tid}),
            FORM: lambda: client.call(FORM, {"template_id": self.tid, "fields": self.fields}),
            ACTIVATE: lambda: client.call(ACTIVATE, {"template_id": self.tid, "callback": None, "out_string": "S1"}),
            TOKEN: lambda: client.call(TOKEN, None, extra={"grant_type": "authorization_code", "code": "x"}),
            AFORM: lambda: client.call(AFORM, {"biz_type": "MEMBER_CARD", "template_id": self.tid2,
                                               "request_id": self.request_id}, extra={"auth_token": self.token}),
            OPEN: lambda: client.card_open(self.open_body, auth_token=self.token),
        }


def test_every_signed_issuing_answer_renamed_to_another_call_is_not_believed(
        client: AlipayClient, proxy: ForgingProxy, sandbox: SandboxServer) -> None:
    rec = Recorded(client, sandbox)
    card = sandbox.cards()[0]   # a card.update answer too: the sync worker sends them all day
    assert isinstance(client.card_update({"target_card_no": card["biz_card_no"], "target_card_no_type": "BIZ_CARD",
                                          "occur_time": "2026-11-25 10:00:00", "card_info": {"point": "1"}}),
                      GatewaySuccess)
    sources = [*TARGETS, UPDATE]
    assert set(sources) <= set(proxy.recorded), sorted(set(sources) - set(proxy.recorded))
    public_key = load_public_key_file(sandbox.alipay_public_key_path)
    calls = rec.calls(client)
    believed, tried = [], 0
    for target in TARGETS:
        for source in sources:
            if source == target or (source, target) in RESIDUAL:
                continue
            forged = rename(proxy.recorded[source], source, target)
            assert verify_response(forged.decode(), target, public_key).signed   # the signature alone passes
            proxy.forge = {target: (source, False)}
            res = calls[target]()
            tried += 1
            if not (isinstance(res, GatewayUnknown) and res.cause == "binding"):
                believed.append(f"{source} as {target}: {type(res).__name__} {getattr(res, 'body', '')}")
    proxy.forge = {}
    assert believed == [], "signed answers of another call were believed:\n" + "\n".join(believed)
    assert tried == len(TARGETS) * len(sources) - len(TARGETS) - len(RESIDUAL)


def test_answers_about_another_template_are_not_believed(client: AlipayClient, proxy: ForgingProxy,
                                                         sandbox: SandboxServer) -> None:
    rec = Recorded(client, sandbox)
    issuer = CardIssuer(client)
    # the genuine answers recorded are about template 1; the questions are about template 2
    for method, ask in ((ACTIVATE, lambda: issuer.activate_url(rec.tid2)),
                        (QUERY, lambda: issuer.query_template(rec.tid2)),
                        (MODIFY, lambda: issuer.modify_template(rec.tid2, {k: v for k, v in rec.biz2.items()
                                                                            if k != "card_type"}))):
        proxy.forge = {method: (method, False)}
        with pytest.raises(CardIssuingError, match="no usable answer"):
            ask()
        assert proxy.forged >= 1
    proxy.forge = {}
    assert issuer.activate_url(rec.tid2).startswith("http")   # the true answers are believed


def _config(tmp_path: Path, sandbox: SandboxServer, url: str, template_id: str = "") -> Path:
    cfg = tmp_path / "pos.toml"
    cfg.write_text(f'data_dir = "{tmp_path / "data"}"\n[gateway]\nurl = "{url}"\n'
                   f'app_id = "{sandbox.app_id}"\napp_private_key = "{sandbox.app_private_key_path}"\n'
                   f'alipay_public_key = "{sandbox.alipay_public_key_path}"\n'
                   + (f'[card]\ntemplate_id = "{template_id}"\n' if template_id else ""), encoding="utf-8")
    return cfg


def test_a_forged_answer_changes_no_settings_and_writes_no_poster(
        tmp_path: Path, client: AlipayClient, proxy: ForgingProxy, sandbox: SandboxServer,
        capsys: pytest.CaptureFixture[str]) -> None:
    rec = Recorded(client, sandbox)
    (tmp_path / "l.png").write_bytes(PNG)
    (tmp_path / "card.toml").write_text('[card]\nname = "新卡"\nbiz_no_prefix = "8800"\n[style]\n'
                                        'bg_color = "#112233"\nlogo = "l.png"\nbackground = "l.png"\n',
                                        encoding="utf-8")
    cfg = _config(tmp_path, sandbox, proxy.url)
    before = cfg.read_text(encoding="utf-8")
    proxy.forge = {CREATE: (QUERY, False)}   # a template query's signed answer (it names a template)
    assert main(["card", "template", "create", "--spec", str(tmp_path / "card.toml"), "--config", str(cfg)]) == 3
    assert "no usable answer" in capsys.readouterr().err
    assert cfg.read_text(encoding="utf-8") == before
    cfg2 = _config(tmp_path, sandbox, proxy.url, template_id=rec.tid2)
    before = cfg2.read_text(encoding="utf-8")
    proxy.forge = {ACTIVATE: (ACTIVATE, False)}   # template 1's activation URL as template 2's
    poster = tmp_path / "poster.pdf"
    assert main(["card", "join-qr", "--out", str(poster), "--config", str(cfg2)]) == 3
    assert not poster.exists() and cfg2.read_text(encoding="utf-8") == before


class _Endpoint:
    def __init__(self, settings: Any, url: str) -> None:
        cfg = gateway_config(settings, env={})
        assert cfg is not None
        self.settings = settings
        self.app = OpeningApp(settings, cfg)
        self.server = serve(self.app, "127.0.0.1", 0, threads=2)
        self.base = f"http://127.0.0.1:{self.server.effective_port}"
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.thread.start()

    def members(self) -> int:
        conn = connect(self.settings.db_path)
        try:
            return int(conn.execute("SELECT count(*) FROM members").fetchone()[0])
        finally:
            conn.close()

    def close(self) -> None:
        stop(self.server, self.thread)


def test_forged_tampered_or_replayed_openings_create_no_member(
        tmp_path: Path, client: AlipayClient, proxy: ForgingProxy, sandbox: SandboxServer) -> None:
    rec = Recorded(client, sandbox)
    cfg = _config(tmp_path, sandbox, proxy.url, template_id=rec.tid2)
    ep = _Endpoint(load_settings(cfg, env={}), proxy.url)
    try:
        # historical mode: the token answer is the activation form's signed answer renamed: no member
        session = sandbox.state.join_session(sandbox.app_id, rec.tid2, mobile="13900000002", name="")
        proxy.forge = {TOKEN: (AFORM, False)}
        page = httpx.get(ep.base + "/card/open", params={"auth_code": session["auth_code"], "template_id": rec.tid2,
                                                         "request_id": session["request_id"]},
                         timeout=10, trust_env=False)
        assert page.status_code == 400 and "开卡失败" in page.text
        assert ep.members() == 0
        proxy.forge = {}
        # express mode: Alipay's signed SPI request, then the same request tampered, forged, replayed
        key = load_private_key_file(sandbox.gateway_private_key_path, validate=False)

        def spi(biz: dict[str, Any], *, ts: dt.datetime | None = None, signer: Any = key,
                tamper: Callable[[dict[str, str]], None] | None = None) -> dict[str, Any]:
            params = {"app_id": sandbox.app_id, "method": "spi.alipay.user.opencard.get", "charset": "utf-8",
                      "sign_type": "RSA2", "version": "1.0",
                      "timestamp": (ts or sandbox.now()).strftime("%Y-%m-%d %H:%M:%S"), "biz_content": json.dumps(biz)}
            params["sign"] = sign_content(sign_string(params), signer, "RSA2")
            if tamper is not None:
                tamper(params)
            text = httpx.post(ep.base + "/spi", data=params, timeout=5, trust_env=False).text
            return dict(json.loads(text[len('{"response":'):text.rindex(',"sign":"')]))

        biz = {"template_id": rec.tid2, "request_id": "SEC-1", "user_id": "2088000000000991",
               "form_info": {"OPEN_FORM_FIELD_MOBILE": "13900000003"}}

        def other_user(p: dict[str, str]) -> None:
            p["biz_content"] = p["biz_content"].replace("2088000000000991", "2088000000000992")

        assert spi(biz, tamper=other_user)["sub_code"] == "INVALID_SIGN"
        assert spi(biz, signer=load_private_key_file(sandbox.app_private_key_path))["sub_code"] == "INVALID_SIGN"
        assert spi(biz, ts=sandbox.now() - dt.timedelta(minutes=10))["sub_code"] == "INVALID_TIMESTAMP"
        assert spi({**biz, "template_id": "20250000000000000999"})["sub_code"] == "OPEN_CARD_REFUSED"
        assert ep.members() == 0
        assert spi(biz)["code"] == "10000" and ep.members() == 1   # the genuine request opens one card
    finally:
        ep.close()
