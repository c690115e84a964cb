"""Coverage-guided fuzzing (atheris/libFuzzer) of every parser that meets outside input.

Usage: ``python tests/reliability/fuzz_atheris.py TARGET [libFuzzer flags]``, e.g.
``.venv/bin/python tests/reliability/fuzz_atheris.py money -max_total_time=180``; ``list`` prints the
targets. A target passes when every input is either accepted or rejected with the parser's own typed
error (with a message); anything else (another exception, a broken invariant) is a crash and libFuzzer
writes the input to ``crash-<sha1>``. Save such inputs as regression tests in test_fuzz_inputs.py.
Not collected by pytest (no ``test_`` prefix).
"""

from __future__ import annotations

import json
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

import atheris

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

if True:  # instrumented below (instrument_all: the editable install's loader defeats instrument_imports)
    from drivers.framing import SUFFIXES, FrameRejected, SuffixFramer, parse_aim, validate_frame
    from pos_app.alipay.envelope import extract_signed_content, verify_response
    from pos_app.alipay.errors import AlipayError
    from pos_app.alipay.keys import generate_private_key, load_private_key_file
    from pos_app.alipay.signing import sign_content, sign_string
    from pos_app.domain.codes import CodeKind, classify, strip_framing
    from pos_app.domain.errors import MoneyError
    from pos_app.domain.money import format_gateway, parse_gateway_amount, parse_yuan
    from pos_app.sandbox.gateway import METHODS
    from pos_app.sandbox.server import SandboxServer, decode_gateway_params
    from pos_app.settings import SettingsError, load_settings

__all__ = ["TARGETS", "main"]

atheris.instrument_all()

_SYMBOLOGIES = ("", "EAN13", "EAN8", "UPCA", "UPCE", "QR", "CODE128", "bogus")


def fuzz_classifier(data: bytes) -> None:
    fdp = atheris.FuzzedDataProvider(data)
    symbology = _SYMBOLOGIES[fdp.ConsumeIntInRange(0, len(_SYMBOLOGIES) - 1)]
    text = fdp.ConsumeUnicodeNoSurrogates(fdp.remaining_bytes())
    first = classify(text, symbology)
    assert first == classify(text, symbology), "classify is not deterministic"
    assert isinstance(first.kind, CodeKind)
    if first.kind is CodeKind.REJECTED:
        assert first.reason, "a rejection without a reason"
    cleaned, sym = strip_framing(text)
    assert isinstance(cleaned, str) and isinstance(sym, str)


def fuzz_framer(data: bytes) -> None:
    fdp = atheris.FuzzedDataProvider(data)
    suffix = SUFFIXES[fdp.ConsumeIntInRange(0, len(SUFFIXES) - 1)]
    max_len = fdp.ConsumeIntInRange(1, 600)
    notices: list[str] = []
    framer = SuffixFramer(suffix, max_len=max_len, on_notice=notices.append)
    now = 0.0
    frames: list[bytes] = []
    while fdp.remaining_bytes():
        now += fdp.ConsumeIntInRange(0, 500) / 1000
        frames += framer.feed(fdp.ConsumeBytes(fdp.ConsumeIntInRange(1, 64)), now)
    frames += framer.flush_if_idle(now + 10)
    for frame in frames:
        assert isinstance(frame, bytes) and len(frame) <= max_len, "a frame longer than max_len"
        try:
            text = validate_frame(frame)
        except FrameRejected as exc:
            assert str(exc)
            continue
        symbology, rest = parse_aim(text)
        assert symbology is None or isinstance(symbology, str)
        assert isinstance(rest, str)
        classify(rest, symbology or "")
    assert all(isinstance(n, str) and n for n in notices)


_AMOUNT_CHARS = "0123456789" * 3 + ".-+ ¥￥CNYRMB１２．eE_,\u00a0\u0663"


def fuzz_money(data: bytes) -> None:
    fdp = atheris.FuzzedDataProvider(data)
    allow_negative, allow_zero = fdp.ConsumeBool(), fdp.ConsumeBool()
    if fdp.ConsumeBool():  # amount-shaped text most of the time, so the fuzzer gets past the regex
        text = "".join(_AMOUNT_CHARS[b % len(_AMOUNT_CHARS)] for b in fdp.ConsumeBytes(40))
    else:
        text = fdp.ConsumeUnicodeNoSurrogates(40)
    try:
        fen = parse_yuan(text, allow_negative=allow_negative, allow_zero=allow_zero)
    except MoneyError as exc:
        assert str(exc)
    else:
        assert type(fen) is int
        assert allow_negative or fen >= 0
        assert allow_zero or fen != 0
    try:
        fen = parse_gateway_amount(text)
    except MoneyError as exc:
        assert str(exc)
    else:
        assert type(fen) is int
        if fen >= 0:
            assert parse_gateway_amount(format_gateway(fen)) == fen, "gateway amount does not round-trip"


_KEY = None


def _key():  # type: ignore[no-untyped-def]
    global _KEY
    if _KEY is None:
        _KEY = generate_private_key(2048)
    return _KEY


_METHOD_NAMES = ("alipay.trade.pay", "alipay.trade.query", "alipay.trade.cancel", "alipay.trade.refund",
                 "alipay.marketing.card.update")


def fuzz_envelope(data: bytes) -> None:
    fdp = atheris.FuzzedDataProvider(data)
    method = _METHOD_NAMES[fdp.ConsumeIntInRange(0, len(_METHOD_NAMES) - 1)]
    sign_it = fdp.ConsumeBool()
    body = fdp.ConsumeUnicodeNoSurrogates(fdp.remaining_bytes())
    key = _key()
    if sign_it:
        # a correctly signed node around fuzzed content: exercises the verifier past the signature
        node = method.replace(".", "_") + "_response"
        sig = sign_content(body, key)
        body = '{"' + node + '":' + body + ',"sign":"' + sig + '"}'
    try:
        extract_signed_content(body, method)
    except AlipayError as exc:
        assert str(exc)
    try:
        verified = verify_response(body, method, key.public_key())
    except AlipayError as exc:
        assert str(exc)
        return
    assert isinstance(verified.data, dict)
    assert verified.signed or verified.data.get("sub_code"), "an unsigned success was accepted"


_TMP = Path(tempfile.mkdtemp(prefix="fuzz-settings-"))


def fuzz_settings(data: bytes) -> None:
    fdp = atheris.FuzzedDataProvider(data)
    env: dict[str, str] = {}
    for _ in range(fdp.ConsumeIntInRange(0, 2)):
        env["POS_" + fdp.ConsumeUnicodeNoSurrogates(12).upper()] = fdp.ConsumeUnicodeNoSurrogates(12)
    path = _TMP / "pos.toml"
    path.write_bytes(fdp.ConsumeBytes(fdp.remaining_bytes()))
    try:
        load_settings(path, env=env)
    except SettingsError as exc:
        assert exc.problems and all(isinstance(p, str) and p for p in exc.problems)


_SANDBOX: SandboxServer | None = None


def _sandbox() -> SandboxServer:
    global _SANDBOX
    if _SANDBOX is None:
        _SANDBOX = SandboxServer(Path(tempfile.mkdtemp(prefix="fuzz-sandbox-")))
        _SANDBOX.issue_card(external_card_no="8800000000000001", name="fuzz", points=100)
    return _SANDBOX


_PARAM_NAMES = ("app_id", "method", "charset", "sign_type", "timestamp", "version", "biz_content", "sign",
                "format", "notify_url", "auth_token", "app_auth_token")


def fuzz_sandbox_request(data: bytes) -> None:
    """The sandbox's own request path: form/query decoding, then GatewayCore.handle on the decoded params.
    Half the inputs carry a valid app signature so the biz_content parsing and the dispatch are reached."""
    sb = _sandbox()
    fdp = atheris.FuzzedDataProvider(data)
    mode = fdp.ConsumeIntInRange(0, 2)
    if mode == 0:  # raw bytes through the HTTP decoding
        query = fdp.ConsumeUnicodeNoSurrogates(fdp.ConsumeIntInRange(0, 200))
        body = fdp.ConsumeBytes(fdp.remaining_bytes())
        params = decode_gateway_params(query, body)
        assert all(isinstance(k, str) and isinstance(v, str) for k, v in params.items())
    else:
        methods = sorted(METHODS)
        params = {"app_id": sb.app_id, "method": methods[fdp.ConsumeIntInRange(0, len(methods) - 1)],
                  "charset": ("utf-8", "gbk", "GBK", "latin-1")[fdp.ConsumeIntInRange(0, 3)],
                  "sign_type": "RSA2", "timestamp": sb.state.now_text()[:19], "version": "1.0"}
        for _ in range(fdp.ConsumeIntInRange(0, 3)):
            params[_PARAM_NAMES[fdp.ConsumeIntInRange(0, len(_PARAM_NAMES) - 1)]] = \
                fdp.ConsumeUnicodeNoSurrogates(24)
        params["biz_content"] = fdp.ConsumeUnicodeNoSurrogates(fdp.remaining_bytes())
        if mode == 2:
            try:
                key = _app_key()
                params["sign"] = sign_content(sign_string(params), key, "RSA2",
                                              "gbk" if params.get("charset", "").lower() == "gbk" else "utf-8")
            except AlipayError:  # SigningError: text the charset cannot carry
                pass  # text the charset cannot carry: the request goes unsigned
    reply = sb.core.handle(params, "POST")
    assert reply.drop or reply.status in (200, 500)
    if not reply.drop and reply.status == 200:
        text = reply.body.decode("gbk" if "gbk" in reply.content_type else "utf-8", errors="replace")
        assert text.startswith("{"), "the gateway answered with something that is not JSON"
        json.loads(text)


_APP_KEY = None


def _app_key():  # type: ignore[no-untyped-def]
    global _APP_KEY
    if _APP_KEY is None:
        _APP_KEY = load_private_key_file(_sandbox().app_private_key_path, validate=False)
    return _APP_KEY


TARGETS: dict[str, Callable[[bytes], None]] = {
    "classifier": fuzz_classifier,
    "framer": fuzz_framer,
    "money": fuzz_money,
    "envelope": fuzz_envelope,
    "settings": fuzz_settings,
    "sandbox": fuzz_sandbox_request,
}


def main(argv: list[str] | None = None) -> None:
    argv = list(sys.argv if argv is None else argv)
    if len(argv) < 2 or argv[1] not in TARGETS:
        print(f"usage: {Path(argv[0]).name} {{{','.join(TARGETS)}}} [libFuzzer flags]", file=sys.stderr)
        raise SystemExit(2 if len(argv) < 2 or argv[1] != "list" else 0)
    target = TARGETS[argv[1]]
    atheris.Setup([argv[0], *argv[2:]], target)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
