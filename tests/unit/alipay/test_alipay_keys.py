"""Key loading in every accepted format, passphrases, and the own-public-key mistake."""

from __future__ import annotations

import base64
import os
import stat
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization

from pos_app.alipay.client import GatewayConfig
from pos_app.alipay.errors import KeyConfigError
from pos_app.alipay.keys import (
    generate_private_key,
    load_private_key,
    load_private_key_file,
    load_public_key,
    public_key_base64,
    same_public_key,
    write_private_key,
)

DATA = Path(__file__).resolve().parents[2] / "data"


@pytest.fixture(scope="module")
def key():
    return load_private_key((DATA / "fzlee_app_private_key.pem").read_bytes())  # a public test key


def _body(pem: bytes) -> str:
    return "".join(line for line in pem.decode().splitlines() if not line.startswith("-----"))


def test_private_key_formats(key) -> None:
    nums = key.private_numbers()
    pkcs1 = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
                              serialization.NoEncryption())
    pkcs8 = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                              serialization.NoEncryption())
    for data in (pkcs1, pkcs8, _body(pkcs1), _body(pkcs8), pkcs8.decode()):
        assert load_private_key(data).private_numbers() == nums


def test_encrypted_private_key(key, tmp_path: Path) -> None:
    path = tmp_path / "k.pem"
    write_private_key(path, key, "s3cret")
    if os.name == "posix":
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_private_key_file(path, "s3cret").private_numbers() == key.private_numbers()
    with pytest.raises(KeyConfigError):
        load_private_key_file(path, "wrong")
    with pytest.raises(KeyConfigError):
        load_private_key_file(path)


def test_public_key_formats(key) -> None:
    pub = key.public_key()
    spki = pub.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    pkcs1 = pub.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.PKCS1)
    for data in (spki, _body(spki), pkcs1, _body(pkcs1), public_key_base64(pub)):
        assert same_public_key(load_public_key(data), pub)


@pytest.mark.parametrize("data", ["", "not a key", base64.b64encode(b"junk").decode(), "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----"])
def test_bad_keys_are_typed_errors(data) -> None:
    with pytest.raises(KeyConfigError):
        load_public_key(data)
    with pytest.raises(KeyConfigError):
        load_private_key(data)


def test_own_public_key_as_alipay_key_refused(key) -> None:
    with pytest.raises(KeyConfigError, match="merchant's own public key"):
        GatewayConfig("http://127.0.0.1:1/gateway.do", "1", key, key.public_key())
    other = generate_private_key()
    cfg = GatewayConfig("http://127.0.0.1:1/gateway.do", "1", key, other.public_key())
    assert "PRIVATE" not in repr(cfg)
