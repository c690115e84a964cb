"""Bad input, property-based: every parser either accepts or rejects with its own typed error.

Hypothesis drives each parser that meets outside input (scanner bytes, keyed amounts, gateway
bodies, settings files). No crash, no hang (each example is bounded by the per-test timeout), no
untyped exception. Run longer with HYPOTHESIS_PROFILE=fuzz (see README, "Reliability").
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from drivers.framing import FrameRejected, SuffixFramer, parse_aim, validate_frame
from pos_app.alipay.envelope import extract_signed_content, verify_response
from pos_app.alipay.errors import AlipayError
from pos_app.alipay.keys import generate_private_key
from pos_app.domain.codes import CodeKind, classify, strip_framing
from pos_app.domain.errors import MoneyError
from pos_app.domain.money import parse_gateway_amount, parse_yuan
from pos_app.settings import SettingsError, load_settings

settings.register_profile("ci", max_examples=300, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
settings.register_profile("fuzz", max_examples=200_000, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

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
@settings(max_examples=300)
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
@settings(max_examples=200)
def test_settings_loader_reports_instead_of_crashing(tmp_path_factory: pytest.TempPathFactory, text: str) -> None:
    path = Path(tmp_path_factory.mktemp("cfg")) / "pos.toml"
    path.write_bytes(text.encode("utf-8", "surrogatepass"))
    try:
        load_settings(path, env={})
    except SettingsError as exc:
        assert exc.problems and all(p for p in exc.problems)
