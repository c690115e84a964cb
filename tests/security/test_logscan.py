"""The secrets-in-logs scanner itself: it must find what it is meant to find (it cannot fail silently)."""

from __future__ import annotations

import base64
import logging

import pytest
from cryptography.hazmat.primitives import serialization

from pos_app.alipay.keys import generate_private_key
from tests.conftest_logscan import _HANDLER, mask_hit, scan_line, scan_lines


@pytest.mark.parametrize(("line", "kind"), [
    ("pay auth_code=284763019283746512 amount=1.00", "payment code"),
    ("code 301234567890123456789012 refused", "payment code"),
    ("scanned '251234567890123456'", "payment code"),
    ("member 8800000000000001 found", "member card"),
    ("card=8800123412341234,", "member card"),
    ("-----BEGIN RSA PRIVATE KEY-----", "private key"),
    ("-----BEGIN PRIVATE KEY-----", "private key"),
    ("GET /gateway.do?app_id=1&sign=AbCdEf0123456789%2B%2F%3D&timestamp=x", "signature"),
    ('{"alipay_trade_pay_response":{},"sign":"QUJDREVGR0hJSktMTU5PUFFSU1RVVldY"}', "signature"),
])
def test_scanner_finds_secrets(line: str, kind: str) -> None:
    assert kind in scan_line(line)
    assert kind in mask_hit(line), "the report shows the kind, not the secret"


def test_scanner_finds_real_private_key_bodies() -> None:
    key = generate_private_key()
    for fmt in (serialization.PrivateFormat.PKCS8, serialization.PrivateFormat.TraditionalOpenSSL):
        der = key.private_bytes(serialization.Encoding.DER, fmt, serialization.NoEncryption())
        assert "private key" in scan_line("key " + base64.b64encode(der).decode())
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption()).decode()
    assert any("private key" in kinds for _, kinds in scan_lines([pem]))


@pytest.mark.parametrize("line", [
    "pay P20261125T1000001 amount=1.00 auth_code=**************3456",
    "member ************0001 found",
    "trade_no 2026112522001499990000000001",          # an Alipay trade_no starts with 20
    "buyer 2088102146225135",                          # a buyer user id starts with 2088
    "receipt R01000012 hash 9f86d081884c7d659a2feaa0c55ad015",
    "sign_type=RSA2 charset=utf-8",
    "sign= missing",
    "out_trade_no=P2812345678901234567",               # embedded in a word: an id, not a code
    "card 880000000000000123 (18 digits) is not a card number",
    "public key MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAu1SU1LfVLPHCozMxH2Mo",
    "amount 25.00 at 2026-11-25 10:00:00",
])
def test_scanner_leaves_clean_lines(line: str) -> None:
    assert scan_line(line) == []


def test_the_session_handler_is_collecting() -> None:
    logging.getLogger("pos_app.logscan.selftest").debug("self-test line %d", 42)
    assert any("self-test line 42" in line for line in _HANDLER.lines[-50:])
    assert _HANDLER in logging.getLogger().handlers


@pytest.mark.parametrize("workers", [[], ["-n", "2"]], ids=["serial", "xdist"])
def test_a_session_that_logs_a_secret_fails(tmp_path, workers: list[str]) -> None:  # type: ignore[no-untyped-def]
    """Also under xdist (``make test`` runs two workers): a worker's hit must fail the whole session."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    (tmp_path / "test_leak.py").write_text(
        "import logging\n"
        "def test_leak():\n"
        "    logging.getLogger('leaky').info('member %s paid with %s', '88000000' + '00000042', '28' + '7' * 16)\n"
        "def test_clean():\n"
        "    logging.getLogger('fine').info('member ************0042')\n")
    (tmp_path / "pytest.ini").write_text("[pytest]\n")
    env = {**os.environ, "PYTHONPATH": str(root)}
    proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "tests.conftest_logscan", "-p",
                           "no:cacheprovider", *workers, str(tmp_path / "test_leak.py")], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "2 passed" in proc.stdout
    assert "member card" in proc.stdout and "payment code" in proc.stdout
    assert "8800000000000042" not in proc.stdout, "the report itself must not repeat the secret"
