"""Response-substring extraction (vector D), response verification (vector A) and tampering."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pos_app.alipay.envelope import extract_signed_content, verify_response
from pos_app.alipay.errors import ResponseFormatError, SignatureVerificationError
from pos_app.alipay.keys import generate_private_key, load_public_key
from pos_app.alipay.signing import sign_content

DATA = Path(__file__).resolve().parents[2] / "data"


@pytest.fixture(scope="module")
def vectors() -> dict:
    return json.loads((DATA / "alipay-vectors" / "vectors.json").read_text("utf-8"))


@pytest.fixture(scope="module")
def gw_key():
    return generate_private_key()


def _body(node: str, content: str, sign: str, *, extra: str = "") -> str:
    return f'{{"{node}":{content}{extra},"sign":"{sign}"}}'


def test_vector_d_extraction(vectors) -> None:
    cases = vectors["response_extraction"]["cases"]
    assert len(cases) >= 3
    for case in cases:
        method = case["response_key"].removesuffix("_response").replace("_", ".")
        ext = extract_signed_content(case["raw_body"], method)
        assert ext.content == case["expected_signed_content"], case["name"]
        assert ext.sign.startswith("P8xrBWqZ")


def test_vector_a_response_signature(vectors) -> None:
    v = vectors["response_signature"]
    key = load_public_key(v["alipay_public_key_pem"])
    res = verify_response(v["raw_body"], "alipay.open.file.upload", key)
    assert res.signed and res.content == v["expected_signed_content"]
    assert res.data["file_id"] == "CAxAToWB1JsAAAAAAAAAAAAADgSLAQBr"
    tampered = v["raw_body"].replace("CAxAToWB1", "CAxAToWB2")
    with pytest.raises(SignatureVerificationError):
        verify_response(tampered, "alipay.open.file.upload", key)
    bad_sign = v["raw_body"].replace('"sign":"F+', '"sign":"G+')
    with pytest.raises(SignatureVerificationError):
        verify_response(bad_sign, "alipay.open.file.upload", key)


def test_wrong_key_rejected(vectors, gw_key) -> None:
    v = vectors["response_signature"]
    with pytest.raises(SignatureVerificationError):
        verify_response(v["raw_body"], "alipay.open.file.upload", gw_key.public_key())


def test_slash_escapes_and_braces_in_strings(gw_key) -> None:
    content = '{"code":"10000","msg":"Success","url":"https:\\/\\/x.y\\/a","note":"a } b { \\" c \\\\"}'
    body = _body("alipay_trade_query_response", content, sign_content(content, gw_key))
    res = verify_response(body, "alipay.trade.query", gw_key.public_key())
    assert res.content == content and res.data["url"] == "https://x.y/a" and res.data["note"] == 'a } b { " c \\'


def test_signature_over_unescaped_slashes_accepted_once(gw_key) -> None:
    content = '{"code":"10000","msg":"Success","url":"https:\\/\\/x"}'
    sign = sign_content(content.replace("\\/", "/"), gw_key)
    res = verify_response(_body("alipay_trade_query_response", content, sign), "alipay.trade.query", gw_key.public_key())
    assert res.data["url"] == "https://x"


def test_whitespace_between_tokens(gw_key) -> None:
    content = '{"code":"10000","msg":"Success"}'
    sign = sign_content(content, gw_key)
    body = f'{{ "alipay_trade_query_response" \n : \n {content} \n , \n "sign" : "{sign}" }}'
    assert verify_response(body, "alipay.trade.query", gw_key.public_key()).data["code"] == "10000"


def test_duplicated_node_rejected(gw_key) -> None:
    good = '{"code":"40004","msg":"Business Failed","sub_code":"ACQ.TRADE_NOT_EXIST","sub_msg":"x"}'
    forged = '{"code":"10000","msg":"Success","trade_status":"TRADE_SUCCESS"}'
    body = (f'{{"alipay_trade_query_response":{good},"alipay_trade_query_response":{forged},'
            f'"sign":"{sign_content(good, gw_key)}"}}')
    with pytest.raises(ResponseFormatError):
        verify_response(body, "alipay.trade.query", gw_key.public_key())


def test_body_changed_after_signing_rejected(gw_key) -> None:
    content = '{"code":"10000","msg":"Success","trade_status":"WAIT_BUYER_PAY"}'
    body = _body("alipay_trade_query_response", content, sign_content(content, gw_key))
    with pytest.raises(SignatureVerificationError):
        verify_response(body.replace("WAIT_BUYER_PAY", "TRADE_SUCCESS"), "alipay.trade.query", gw_key.public_key())


def test_unsigned_error_accepted_unsigned_success_rejected(gw_key) -> None:
    err = ('{"error_response":{"code":"40002","msg":"Invalid Arguments","sub_code":"isv.code-invalid",'
           '"sub_msg":"授权码code无效"},"sign":""}')
    res = verify_response(err, "alipay.system.oauth.token", gw_key.public_key())
    assert res.node == "error_response" and not res.signed and res.data["sub_code"] == "isv.code-invalid"
    no_sign = '{"alipay_trade_query_response":{"code":"10000","msg":"Success"}}'
    with pytest.raises(SignatureVerificationError):
        verify_response(no_sign, "alipay.trade.query", gw_key.public_key())
    empty = '{"alipay_trade_query_response":{"code":"10000","msg":"Success"},"sign":""}'
    with pytest.raises(SignatureVerificationError):
        verify_response(empty, "alipay.trade.query", gw_key.public_key())


def test_cert_sn_between_node_and_sign(gw_key) -> None:
    content = '{"code":"10000","msg":"Success"}'
    body = _body("alipay_trade_query_response", content, sign_content(content, gw_key), extra=',"alipay_cert_sn":"abc"')
    body = body.replace(f'{content},"alipay_cert_sn":"abc"', f'{content},"alipay_cert_sn":"abc"')
    assert verify_response(body, "alipay.trade.query", gw_key.public_key()).signed


@pytest.mark.parametrize("raw", ["", "{", '{"alipay_trade_query_response":{"code":"10000","msg":"Succ',
                                 '{"other_response":{}}', "<html>502</html>"])
def test_truncated_or_foreign_bodies(raw, gw_key) -> None:
    with pytest.raises(ResponseFormatError):
        verify_response(raw, "alipay.trade.query", gw_key.public_key())
