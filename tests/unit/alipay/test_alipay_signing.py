"""Request sign strings, RSA2/RSA signatures (vector G) and notification V1/V2 rules (vectors B, C)."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from pos_app.alipay.envelope import build_request, dump_biz, format_timestamp
from pos_app.alipay.errors import SigningError
from pos_app.alipay.keys import load_private_key, load_public_key
from pos_app.alipay.signing import (
    notification_content_v1,
    notification_content_v2,
    sign_content,
    sign_string,
    verify_content,
    verify_notification_v1,
    verify_notification_v2,
)
from pos_app.services.ports.clock import BEIJING

DATA = Path(__file__).resolve().parents[2] / "data"

G_SIGN_STRING = (
    'app_id=2021000000000001&biz_content={"auth_code":"286648048691290423","out_trade_no":"POS20240101000001",'
    '"scene":"bar_code","store_id":"S001","subject":"测试商品","terminal_id":"T01","total_amount":"88.88"}'
    "&charset=utf-8&format=json&method=alipay.trade.pay&sign_type=RSA2&timestamp=2024-01-01 12:00:00&version=1.0"
)
G_RSA2 = (
    "I420b26rQ6Jst1iKavFdtv/oBnSkf6+yMAJXRbVZxBQz4gQt/YxWCtJmtQ48Lgo8b5pqpKs4I0xngGfjixy2HnQt2snG3M0zuG++PawUjr5amos"
    "FRnJDk3iz54HeaQwviwBhDSJ+qqbzKYiB6sY745lRTX6CuaVGbaX3XZf2vrVovhDlbV0Wxe3h7wC5U+uID9DCiGXzNY1YWqO72s5ueuAA/DNtWmz"
    "LP27RN+rrBpaeG6+krVUzfUXNAljEJz1zs3xHBNfsHqePkxFVH3vXPd4Wwag4TlRgHQW9qgLuJC+anHZwuzDT6b1vYw/8DOa6zrpxYD4xaWZ2qB3"
    "jsVjO2w=="
)
G_RSA = (
    "MqFz0dGZAyZU1kFZVB/S2GnrCvGSJnsQr4q+s2iD89wMwzZmXXDYL9EXyZJ9BZuiJ4n+r89FlbTsJ9EXmFKcd7QTMS3cn/5DDC/lwE8z2P7fWDTI"
    "dSlM9mkrPWY9/ziC1FkhnyiOGybyyw/ZcsRSFm2z89nqSLQdmXWy8lTzU34bX1aglaRNLXCZZw5pFWMmn5+gsGqe+dVFou9lDkD6bdt0vnMNz3ue"
    "I6PsXJUHItW4+grogUP2Ga7c6qgyfVXTh9zcAqvsNBgxubXXgsslPl1T9USDtAXhOHvAsQ4BA42GN5mo/3QjDdYgFvpAojR2SGVG4zcCoDvyhmj8"
    "QrCffQ=="
)
G_BIZ = {"auth_code": "286648048691290423", "out_trade_no": "POS20240101000001", "scene": "bar_code",
         "store_id": "S001", "subject": "测试商品", "terminal_id": "T01", "total_amount": "88.88"}


@pytest.fixture(scope="module")
def vectors() -> dict:
    return json.loads((DATA / "alipay-vectors" / "vectors.json").read_text("utf-8"))


@pytest.fixture(scope="module")
def fzlee_key():
    return load_private_key((DATA / "fzlee_app_private_key.pem").read_bytes())  # a public test key


def test_vector_g_sign_string_from_build_request(fzlee_key) -> None:
    now = dt.datetime(2024, 1, 1, 12, 0, 0, tzinfo=BEIJING)
    req = build_request("alipay.trade.pay", G_BIZ, app_id="2021000000000001", private_key=fzlee_key, now=now)
    assert req.sign_string == G_SIGN_STRING
    assert req.query["sign"] == G_RSA2


def test_vector_g_rsa2_and_rsa_signatures(fzlee_key) -> None:
    assert sign_content(G_SIGN_STRING, fzlee_key, "RSA2") == G_RSA2
    rsa_string = G_SIGN_STRING.replace("sign_type=RSA2", "sign_type=RSA")
    # the brief's RSA vector signs the very same string (sign_type=RSA2 inside) with SHA1
    assert sign_content(G_SIGN_STRING, fzlee_key, "RSA") == G_RSA
    assert verify_content(G_SIGN_STRING, G_RSA, fzlee_key.public_key(), "RSA")
    assert not verify_content(G_SIGN_STRING, G_RSA, fzlee_key.public_key(), "RSA2")
    assert not verify_content(rsa_string, G_RSA, fzlee_key.public_key(), "RSA")


def test_sign_string_rules() -> None:
    params = {"b": "2", "a": "1", "sign": "zzz", "sign_type": "RSA2", "empty": "", "notify_url": "", "A": "x y+z"}
    # ASCII order (uppercase first), sign excluded, sign_type kept, empty dropped, raw values
    assert sign_string(params) == "A=x y+z&a=1&b=2&sign_type=RSA2"


def test_biz_content_compact_utf8_and_none_dropped() -> None:
    assert dump_biz({"subject": "测试", "x": None, "n": {"a": None, "b": 1}}) == '{"subject":"测试","n":{"b":1}}'


def test_timestamp_is_beijing_time() -> None:
    assert format_timestamp(dt.datetime(2024, 1, 1, 4, 0, 0, tzinfo=dt.UTC)) == "2024-01-01 12:00:00"


def test_request_split_query_and_body(fzlee_key) -> None:
    now = dt.datetime(2024, 1, 1, 12, 0, 0, tzinfo=BEIJING)
    req = build_request("alipay.marketing.card.open", {"a": 1}, app_id="1", private_key=fzlee_key, now=now,
                        extra={"auth_token": "tok", "notify_url": None})
    assert set(req.body) == {"biz_content"}
    assert req.query["auth_token"] == "tok" and "notify_url" not in req.query
    assert "auth_token=tok" in req.sign_string


def test_unknown_sign_type_rejected(fzlee_key) -> None:
    with pytest.raises(SigningError):
        sign_content("x", fzlee_key, "HMAC")


def test_vector_b_notification_v1(vectors) -> None:
    v = vectors["trade_notification_v1"]
    key = load_public_key(v["public_key_base64"])
    assert verify_notification_v1(v["params"], key)
    assert not verify_notification_v2(v["params"], key)  # with sign_type in the content it fails
    tampered = dict(v["params"], total_amount="0.11")
    assert not verify_notification_v1(tampered, key)
    assert "sign_type" not in notification_content_v1(v["params"])


def test_vector_c_gateway_message_v2(vectors) -> None:
    v = vectors["gateway_message_v2"]
    key = load_public_key(v["public_key_pem"])
    assert verify_notification_v2(v["params"], key)
    assert not verify_notification_v1(v["params"], key)
    assert not verify_notification_v2(dict(v["params"], service_code="58621635"), key)
    assert "sign_type=RSA2" in notification_content_v2(v["params"])


def test_verify_rejects_garbage_signature(fzlee_key) -> None:
    pub = fzlee_key.public_key()
    assert not verify_content("x", "", pub)
    assert not verify_content("x", "not base64!!", pub)
    assert not verify_content("x", G_RSA2, pub)
