"""`pos-app card template create|modify|show` and `card form set` against the sandbox over HTTP."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from pos_app.__main__ import main
from pos_app.alipay import AlipayClient
from pos_app.sandbox import SandboxServer
from pos_app.services.ports.gateway import GatewayBusinessFailure, GatewaySuccess

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 64

SPEC = '''
[card]
name = "示例会员卡"
biz_no_prefix = "8800"
biz_no_suffix_len = 12
write_off_type = "dbarcode"

[style]
brand_name = "示例便利店"
bg_color = "#3770B3"
logo = "logo.png"
background = "bg.jpg"

[open]
mode = "callback"
callback_url = "https://shop.example.com/card/open"

[[columns]]
kind = "points"
title = "积分"

[[columns]]
kind = "level"
title = "等级"

[[levels]]
level = "SILVER"
name = "银卡"

[[levels]]
level = "GOLD"
name = "金卡"

[form]
required = ["mobile", "name"]
optional = ["birthday"]
'''


def _setup(tmp_path: Path, sandbox: SandboxServer, spec: str = SPEC) -> tuple[str, str]:
    (tmp_path / "logo.png").write_bytes(PNG)
    (tmp_path / "bg.jpg").write_bytes(JPEG)
    (tmp_path / "card.toml").write_text(spec, encoding="utf-8")
    cfg = tmp_path / "pos.toml"
    cfg.write_text(f'# the shop\n[gateway]\nurl = "{sandbox.gateway_url}"\napp_id = "{sandbox.app_id}"\n'
                   f'app_private_key = "{sandbox.app_private_key_path}"\n'
                   f'alipay_public_key = "{sandbox.alipay_public_key_path}"\n', encoding="utf-8")
    return str(tmp_path / "card.toml"), str(cfg)


def _card_calls(sandbox: SandboxServer) -> list[str]:
    return [e["method"] for e in sandbox.request_log() if "card" in e["method"] or "material" in e["method"]]


def test_create_is_idempotent_saved_shown_modified_and_the_form_set(
        tmp_path: Path, sandbox: SandboxServer, capsys: pytest.CaptureFixture[str]) -> None:
    spec, cfg = _setup(tmp_path, sandbox)
    assert main(["card", "template", "create", "--spec", spec, "--config", cfg]) == 0
    saved = tomllib.loads(Path(cfg).read_text("utf-8"))
    tid = saved["card"]["template_id"]
    assert Path(cfg).read_text("utf-8").startswith("# the shop\n")  # comments kept
    assert main(["card", "template", "create", "--spec", spec, "--config", cfg]) == 0  # same spec: same template
    assert f"template_id = {tid}" in capsys.readouterr().out
    assert len(sandbox.state.templates) == 1
    tpl = sandbox.state.templates[tid]
    assert tpl["write_off_type"] == "dbarcode" and tpl["biz_no_prefix"] == "8800"
    assert tpl["open_card_conf"]["open_card_url"] == "https://shop.example.com/card/open"
    assert [c["code"] for c in tpl["column_info_list"]] == ["POINT", "LEVEL"]
    assert tpl["template_style_info"]["bg_color"] == "rgb(55,112,179)"
    assert main(["card", "template", "show", "--config", cfg]) == 0
    shown = capsys.readouterr().out
    assert '"card_show_name": "示例会员卡"' in shown and '"level_show_name": "金卡"' in shown
    Path(spec).write_text(SPEC.replace('name = "示例会员卡"', 'name = "新会员卡"'), encoding="utf-8")
    assert main(["card", "template", "modify", "--spec", spec, "--config", cfg]) == 0
    assert sandbox.state.templates[tid]["template_style_info"]["card_show_name"] == "新会员卡"
    assert main(["card", "form", "set", "--spec", spec, "--config", cfg]) == 0
    assert sandbox.state.templates[tid]["form_fields"] == {
        "required": {"common_fields": ["OPEN_FORM_FIELD_MOBILE", "OPEN_FORM_FIELD_NAME"]},
        "optional": {"common_fields": ["OPEN_FORM_FIELD_BIRTHDAY"]}}
    assert _card_calls(sandbox).count("alipay.offline.material.image.upload") == 6


@pytest.mark.parametrize(("change", "words"), [
    (lambda s: s.replace('write_off_type = "dbarcode"', 'write_off_type = "nfc"'), "card.write_off_type: 'nfc'"),
    (lambda s: s.replace('name = "示例会员卡"\n', ""), "card.name: required"),
    (lambda s: s.replace('"#3770B3"', '"blue"'), "style.bg_color: 'blue'"),
    (lambda s: s.replace('callback_url = "https://shop.example.com/card/open"', ""), "open.callback_url: required"),
    (lambda s: s.replace('"https://shop.example.com/card/open"', '"https://x.cn/open?a=1"'), "without a query"),
    (lambda s: s.replace('kind = "level"', 'kind = "stars"'), "columns[2].kind: 'stars'"),
    (lambda s: s.replace('level = "GOLD"', 'level = "SILVER"'), "levels: SILVER appears more than once"),
    (lambda s: s.replace('optional = ["birthday"]', 'optional = ["shoe_size"]'), "form.optional: 'shoe_size'"),
    (lambda s: s + "\n[colour]\nx = 1\n", "colour: unknown section"),
    (lambda s: s.replace("[card]", "[card"), "not valid TOML"),
])
def test_bad_specs_are_refused_before_anything_is_sent(tmp_path: Path, sandbox: SandboxServer,
                                                        capsys: pytest.CaptureFixture[str], change: object,
                                                        words: str) -> None:
    spec, cfg = _setup(tmp_path, sandbox, change(SPEC))  # type: ignore[operator]
    assert main(["card", "template", "create", "--spec", spec, "--config", cfg]) == 2
    assert words in capsys.readouterr().err
    assert _card_calls(sandbox) == []


@pytest.mark.parametrize(("data", "words"), [
    (b"GIF? no, a text file", "is not an image"),
    (b"\x89PNG\r\n\x1a\n" + b"\x00" * (2 * 1024 * 1024), "more than the 2 MB allowed"),
])
def test_bad_images_are_refused(tmp_path: Path, sandbox: SandboxServer, capsys: pytest.CaptureFixture[str],
                                data: bytes, words: str) -> None:
    spec, cfg = _setup(tmp_path, sandbox)
    (tmp_path / "logo.png").write_bytes(data)
    assert main(["card", "template", "create", "--spec", spec, "--config", cfg]) == 2
    assert f"style.logo: {tmp_path / 'logo.png'}" in capsys.readouterr().err and words
    assert _card_calls(sandbox) == []


def test_sandbox_checks_like_alipay(client: AlipayClient) -> None:
    res = client.call("alipay.offline.material.image.upload", None, extra={"image_type": "png", "image_name": "x"},
                      files={"image_content": ("x.png", b"plain text", "image/png")})
    assert isinstance(res, GatewayBusinessFailure) and res.sub_code == "IMAGE_FORMAT_ERROR"
    res = client.call("alipay.offline.material.image.upload", None, extra={"image_type": "png", "image_name": "x"},
                      files={"image_content": ("x.png", PNG, "image/png")})
    assert isinstance(res, GatewaySuccess)
    logo = res.body["image_id"]
    base = {"request_id": "r1", "card_type": "OUT_MEMBER_CARD", "write_off_type": "qrcode",
            "field_rule_list": [{"field_name": "Point", "rule_name": "ASSIGN_FROM_REQUEST", "rule_value": "Point"}],
            "template_style_info": {"card_show_name": "卡", "logo_id": logo, "background_id": "nope",
                                    "bg_color": "rgb(1,2,3)"}}
    res = client.call("alipay.marketing.card.template.create", base)
    assert isinstance(res, GatewayBusinessFailure) and res.sub_code == "IMAGE_NOT_EXIST"
    res = client.call("alipay.marketing.card.template.create", {**base, "template_style_info": None})
    assert isinstance(res, GatewayBusinessFailure) and "template_style_info" in res.sub_msg
    res = client.call("alipay.marketing.card.template.modify", {"template_id": "999", "request_id": "m"})
    assert isinstance(res, GatewayBusinessFailure) and res.sub_code == "TEMPLATE_NOT_EXIST"
    res = client.call("alipay.marketing.card.formtemplate.set", {"template_id": "999", "fields": {}})
    assert isinstance(res, GatewayBusinessFailure) and res.sub_code == "TEMPLATE_NOT_EXIST"


def test_join_qr_poster_carries_the_activation_url(tmp_path: Path, sandbox: SandboxServer,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    import subprocess

    import zxingcpp
    from PIL import Image

    spec, cfg = _setup(tmp_path, sandbox)
    assert main(["card", "join-qr", "--config", cfg]) == 2  # no template yet
    assert "no template yet" in capsys.readouterr().err
    assert main(["card", "template", "create", "--spec", spec, "--config", cfg]) == 0
    poster = tmp_path / "poster.pdf"
    assert main(["card", "join-qr", "--out", str(poster), "--config", cfg]) == 0
    settings = tomllib.loads(Path(cfg).read_text("utf-8"))["card"]
    url = settings["join_url"]
    assert url.startswith(sandbox.base_url + "/card/apply?") and f"template_id={settings['template_id']}" in url
    assert "callback=https%3A%2F%2Fshop.example.com%2Fcard%2Fopen" in url  # the template's callback mode
    text = subprocess.run(["pdftotext", str(poster), "-"], capture_output=True, text=True, check=True).stdout
    assert "扫码领取会员卡" in text
    info = subprocess.run(["pdfinfo", str(poster)], capture_output=True, text=True, check=True).stdout
    assert "(A5)" in info
    subprocess.run(["pdftoppm", "-r", "100", "-png", "-singlefile", str(poster), str(tmp_path / "p")], check=True)
    (found,) = zxingcpp.read_barcodes(Image.open(tmp_path / "p.png"))
    assert found.text == url
    assert main(["card", "join-qr", "--callback", "https://x.cn/a?b=1", "--config", cfg]) == 2
