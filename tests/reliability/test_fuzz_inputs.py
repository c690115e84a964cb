"""Bad input, property-based: every parser either accepts or rejects with its own typed error.

Hypothesis drives each parser that meets outside input (scanner bytes, keyed amounts, gateway
bodies, settings files). No crash, no hang (each example is bounded by the per-test timeout), no
untyped exception. Run longer with HYPOTHESIS_PROFILE=fuzz (see docs/reliability.md).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from drivers.framing import FrameRejected, SuffixFramer, parse_aim, validate_frame
from pos_app.alipay.envelope import extract_signed_content, verify_response
from pos_app.alipay.errors import AlipayError
from pos_app.alipay.keys import generate_private_key, load_private_key_file, load_public_key_file
from pos_app.alipay.signing import sign_content, sign_string
from pos_app.domain.codes import CodeKind, classify, strip_framing
from pos_app.domain.errors import MoneyError
from pos_app.domain.money import parse_gateway_amount, parse_yuan
from pos_app.sandbox import SandboxServer
from pos_app.sandbox.gateway import METHODS
from pos_app.sandbox.server import decode_gateway_params
from pos_app.settings import SettingsError, load_settings

settings.register_profile("ci", max_examples=300, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
settings.register_profile("fuzz", max_examples=200_000, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


def _examples(ci: int) -> int:
    """A slow property's own example count in CI; the profile's (fuzz: 200 000) otherwise."""
    return ci if os.environ.get("HYPOTHESIS_PROFILE", "ci") == "ci" else settings.default.max_examples

SCANNER_ALPHABET = st.sampled_from(list("0123456789]CEQdFfpPRSU\r\n\t\x02\x03 -+.¥中\x00\x7f\x1b"))
scanner_text = st.one_of(st.text(), st.text(SCANNER_ALPHABET, max_size=80))


@given(scanner_text, st.sampled_from(["", "EAN13", "QR", "CODE128", "bogus"]))
def test_classifier_is_total_and_deterministic(text: str, symbology: str) -> None:
    first = classify(text, symbology)
    assert first == classify(text, symbology)
    assert isinstance(first.kind, CodeKind)
    if first.kind is CodeKind.REJECTED:
        assert first.reason, "every rejection says why"


@given(scanner_text)
def test_strip_framing_never_raises(text: str) -> None:
    cleaned, symbology = strip_framing(text)
    assert isinstance(cleaned, str) and isinstance(symbology, str)
    assert cleaned == cleaned.strip("\r\n\t"), "terminators are stripped from both ends"


@given(st.lists(st.binary(max_size=700), max_size=12), st.sampled_from(["cr", "lf", "crlf", "etx", "none"]))
def test_serial_framer_takes_any_bytes(chunks: list[bytes], suffix: str) -> None:
    notices: list[str] = []
    framer = SuffixFramer(suffix, max_len=512, on_notice=notices.append)
    now = 0.0
    frames: list[bytes] = []
    for chunk in chunks:
        now += 0.01
        frames += framer.feed(chunk, now)
    frames += framer.flush_if_idle(now + 10)
    for frame in frames:
        assert len(frame) <= 512
        try:
            text = validate_frame(frame)
        except FrameRejected as exc:
            assert str(exc)
            continue
        symbology, rest = parse_aim(text)
        assert symbology is None or isinstance(symbology, str)
        assert isinstance(rest, str)


@given(st.one_of(st.text(max_size=30), st.from_regex(r"-?[¥￥]?\d{0,14}(\.\d{0,4})?([eE]\d)?", fullmatch=True)))
def test_money_parser_accepts_or_raises_money_error(text: str) -> None:
    try:
        fen = parse_yuan(text, allow_negative=True)
    except MoneyError as exc:
        assert str(exc)
        return
    assert isinstance(fen, int)


@given(st.text(max_size=30))
def test_gateway_amount_parser_accepts_or_raises_money_error(text: str) -> None:
    try:
        assert isinstance(parse_gateway_amount(text), int)
    except MoneyError:
        pass


_KEY = generate_private_key(2048)
_BODY_PARTS = st.sampled_from(['{', '}', '"', '\\', ':', ',', '"sign"', '"alipay_trade_pay_response"',
                               '"error_response"', '"code":"10000"', '"sub_code":"X"', ' ', '\n', 'ab', '\\/'])


@given(st.one_of(st.text(max_size=300), st.lists(_BODY_PARTS, max_size=40).map("".join)))
@settings(max_examples=_examples(300))
def test_response_extractor_and_verifier_reject_with_typed_errors(body: str) -> None:
    try:
        extract_signed_content(body, "alipay.trade.pay")
    except AlipayError as exc:
        assert str(exc)
    try:
        verified = verify_response(body, "alipay.trade.pay", _KEY.public_key())
    except AlipayError:
        return
    # Nothing random can carry a valid signature, so only an unsigned *error* may pass.
    assert not verified.signed
    assert verified.data.get("sub_code")


@given(st.text(max_size=400))
@settings(max_examples=_examples(200))
def test_settings_loader_reports_instead_of_crashing(tmp_path_factory: pytest.TempPathFactory, text: str) -> None:
    path = Path(tmp_path_factory.mktemp("cfg")) / "pos.toml"
    path.write_bytes(text.encode("utf-8", "surrogatepass"))
    try:
        load_settings(path, env={})
    except SettingsError as exc:
        assert exc.problems and all(p for p in exc.problems)


# --- the sandbox's request parser: HTTP query/form decoding, then GatewayCore.handle ---------------

_PARAM_NAMES = st.sampled_from(["app_id", "method", "charset", "sign_type", "timestamp", "version", "biz_content",
                                "sign", "format", "notify_url", "auth_token"])
_FORM_TEXT = st.text(st.sampled_from(list("=&%+;aZ09.-_ {}\":,中\x00\xff")), max_size=120)


@pytest.fixture(scope="module")
def fuzz_sandbox(tmp_path_factory: pytest.TempPathFactory) -> SandboxServer:
    server = SandboxServer(tmp_path_factory.mktemp("fuzz-sandbox"))
    server.issue_card(external_card_no="8800000000000001", name="fuzz", points=100)
    return server


@given(st.one_of(st.text(max_size=200), _FORM_TEXT), st.one_of(st.binary(max_size=300), _FORM_TEXT.map(str.encode)))
@settings(max_examples=_examples(300))
def test_sandbox_form_decoding_is_total(query: str, body: bytes) -> None:
    params = decode_gateway_params(query, body)
    assert all(isinstance(k, str) and isinstance(v, str) for k, v in params.items())


@given(st.dictionaries(_PARAM_NAMES, st.text(max_size=40), max_size=6), st.booleans(),
       st.sampled_from(sorted(METHODS)), st.one_of(st.text(max_size=80), st.dictionaries(
           st.sampled_from(["out_trade_no", "auth_code", "total_amount", "refund_amount", "subject", "scene",
                            "biz_card_no", "card_info", "trade_no", "out_request_no"]),
           st.one_of(st.text(max_size=20), st.integers(), st.floats(allow_nan=True), st.none(),
                     st.lists(st.integers(), max_size=2), st.dictionaries(st.text(max_size=5), st.text(max_size=5),
                                                                           max_size=2)), max_size=6).map(json.dumps)))
@settings(max_examples=_examples(150))
def test_sandbox_gateway_answers_every_request(fuzz_sandbox: SandboxServer, extra: dict[str, str], signed: bool,
                                               method: str, biz: str) -> None:
    """Signed or not, any params get an answer that is a JSON envelope (or an injected fault), never a crash."""
    params = {"app_id": fuzz_sandbox.app_id, "method": method, "charset": "utf-8", "sign_type": "RSA2",
              "timestamp": fuzz_sandbox.state.now_text()[:19], "version": "1.0", **extra, "biz_content": biz}
    if signed:
        try:
            params["sign"] = sign_content(sign_string(params), _APP_KEY(fuzz_sandbox), "RSA2", "utf-8")
        except AlipayError:  # SigningError: text the charset cannot carry
            pass
    reply = fuzz_sandbox.core.handle(params, "POST")
    assert not reply.drop and reply.status == 200
    data = json.loads(reply.body.decode("utf-8", errors="replace"))
    assert isinstance(data, dict) and len(data) >= 1


def _APP_KEY(server: SandboxServer) -> Any:  # noqa: N802 - cached per sandbox
    key = getattr(server, "_fuzz_app_key", None)
    if key is None:
        key = load_private_key_file(server.app_private_key_path, validate=False)
        server._fuzz_app_key = key  # type: ignore[attr-defined]  # noqa: SLF001
    return key


def test_regression_f1_unknown_method_is_not_echoed_as_a_json_key(fuzz_sandbox: SandboxServer) -> None:
    """Finding F1 (hypothesis, 2026-11-25): ``method='"'`` with an empty app_id made the sandbox answer
    ``{""_response":...}`` (the method text was used as the response node unescaped): not JSON."""
    for method, app_id in (('"', ""), ('a"b\\', fuzz_sandbox.app_id), ("alipay.trade.nope", "")):
        params = {"app_id": app_id, "method": method, "charset": "utf-8", "sign_type": "RSA2",
                  "timestamp": fuzz_sandbox.state.now_text()[:19], "version": "1.0", "biz_content": ""}
        reply = fuzz_sandbox.core.handle(params, "POST")
        data = json.loads(reply.body.decode("utf-8"))
        assert list(data)[0] == "error_response", data


def test_regression_a1_unencodable_sign_content_is_a_typed_error() -> None:
    """Input a1 (atheris ``sandbox`` target, 2026-11-25; bytes 26 14 27 00 06 32 14): a request in charset gbk
    whose params gbk cannot encode. Signing it raises SigningError (typed, with a message); the crash was
    the fuzz target's own except clause, fixed there."""
    from pos_app.alipay.errors import SigningError

    with pytest.raises(SigningError, match="charset"):
        sign_content("biz_content=\U0001f600", _KEY, "RSA2", "gbk")


def test_regression_f4_gbk_reply_with_text_gbk_cannot_carry_is_still_answered(fuzz_sandbox: SandboxServer) -> None:
    """Finding F4 (atheris ``sandbox`` target, 2026-11-25): a request in charset gbk whose reply echoes text
    gbk cannot encode (here the sign string of a bad signature) made ``_encode`` raise SigningError: the HTTP
    handler died and the client got no answer. The reply now falls back to \\u escapes."""
    params = {"app_id": fuzz_sandbox.app_id, "method": "alipay.trade.query", "charset": "gbk", "sign_type": "RSA2",
              "timestamp": fuzz_sandbox.state.now_text()[:19], "version": "1.0", "sign": "AAAA",
              "biz_content": '{"out_trade_no":"\U0001f600"}'}
    reply = fuzz_sandbox.core.handle(params, "POST")
    assert reply.status == 200 and not reply.drop
    data = json.loads(reply.body.decode("gbk"))
    assert data["alipay_trade_query_response"]["sub_code"] == "isv.invalid-signature"
    verified = verify_response(reply.body.decode("gbk"), "alipay.trade.query",
                               load_public_key_file(fuzz_sandbox.alipay_public_key_path), charset="gbk")
    assert verified.signed
