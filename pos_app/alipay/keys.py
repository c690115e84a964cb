"""RSA key loading (PKCS#1/PKCS#8, PEM or bare Base64, optionally encrypted), generation and writing."""

from __future__ import annotations

import base64
import binascii
import logging
import os
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from .errors import KeyConfigError

__all__ = [
    "EncryptedKeyError",
    "KEY_SIZES",
    "load_private_key",
    "load_public_key",
    "load_private_key_file",
    "load_public_key_file",
    "public_key_base64",
    "public_key_pem",
    "same_public_key",
    "generate_private_key",
    "write_private_key",
    "write_public_key",
]

logger = logging.getLogger(__name__)

def _as_text(data: bytes | str) -> str:
    if isinstance(data, bytes):
        try:
            return data.decode("ascii")
        except UnicodeDecodeError as exc:
            raise KeyConfigError("key data is not PEM or Base64 text") from exc
    return data


def _bare_der(text: str) -> bytes:
    body = "".join(text.split())
    try:
        return base64.b64decode(body, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise KeyConfigError("key is neither PEM nor a valid Base64 body") from exc


class EncryptedKeyError(KeyConfigError):
    """The private key is encrypted and no passphrase was given (the only case where asking for one helps)."""


def _looks_encrypted(text: str) -> bool:
    return "BEGIN ENCRYPTED PRIVATE KEY" in text or "Proc-Type: 4,ENCRYPTED" in text


def _private_key_shape_problem(data: bytes | str) -> str:
    """What is visibly wrong with private key file content ("" when nothing obvious is)."""
    raw = data.encode("utf-8", "replace") if isinstance(data, str) else data
    if not raw.strip():
        return "file is empty"
    try:
        text = raw.decode("ascii")
    except UnicodeDecodeError:
        return "file is not PEM or Base64 text (binary data: wrong file?)"
    if "PUBLIC KEY-----" in text:
        return ("file holds a PUBLIC key: gateway.app_private_key must name the merchant PRIVATE key "
                "(app_private_key.pem from `pos-app keygen`)")
    if "-----BEGIN" in text and "-----END" not in text:
        return "file is truncated (its PEM block has no END line)"
    if "-----BEGIN" in text and "PRIVATE KEY-----" not in text:
        return "file is a PEM file but not a private key (a certificate?)"
    return ""


def load_private_key(
    data: bytes | str, passphrase: bytes | str | None = None, *, validate: bool = True
) -> rsa.RSAPrivateKey:
    """Load an RSA private key: PKCS#1 or PKCS#8, PEM or bare Base64 (DER), optionally encrypted.

    ``validate=False`` skips the (slow) RSA consistency check; only for keys this program generated itself.
    """
    problem = _private_key_shape_problem(data)
    if problem:
        raise KeyConfigError(f"the merchant private key {problem}")
    text = _as_text(data).strip()
    pw = passphrase.encode("utf-8") if isinstance(passphrase, str) else passphrase
    try:
        if "-----BEGIN" in text:
            key = serialization.load_pem_private_key(
                text.encode("ascii"), password=pw, unsafe_skip_rsa_key_validation=not validate
            )
        else:
            key = serialization.load_der_private_key(
                _bare_der(text), password=pw, unsafe_skip_rsa_key_validation=not validate
            )
    except TypeError as exc:  # password missing or given for an unencrypted key
        if pw is None:
            raise EncryptedKeyError("the merchant private key is encrypted") from exc
        raise KeyConfigError(f"merchant private key passphrase problem: {exc}") from exc
    except ValueError as exc:
        if pw is not None and _looks_encrypted(text):
            raise KeyConfigError("the merchant private key's passphrase is wrong") from exc
        raise KeyConfigError(
            "cannot load the merchant private key: the file is damaged or not an RSA private key (expected "
            "PKCS#1 or PKCS#8, PEM or bare Base64)"
        ) from exc
    if not isinstance(key, rsa.RSAPrivateKey):
        raise KeyConfigError(f"merchant private key must be RSA, got {type(key).__name__}")
    return key


def load_public_key(data: bytes | str) -> rsa.RSAPublicKey:
    """Load an RSA public key: SPKI ("BEGIN PUBLIC KEY") or PKCS#1, PEM or bare Base64."""
    text = _as_text(data).strip()
    try:
        if "-----BEGIN" in text:
            key = serialization.load_pem_public_key(text.encode("ascii"))
        else:
            der = _bare_der(text)
            try:
                key = serialization.load_der_public_key(der)
            except ValueError:
                pem = b"-----BEGIN RSA PUBLIC KEY-----\n" + base64.encodebytes(der) + b"-----END RSA PUBLIC KEY-----\n"
                key = serialization.load_pem_public_key(pem)
    except ValueError as exc:
        raise KeyConfigError("cannot load the public key (expected X.509 SPKI PEM or bare Base64)") from exc
    if not isinstance(key, rsa.RSAPublicKey):
        raise KeyConfigError(f"public key must be RSA, got {type(key).__name__}")
    return key


def load_private_key_file(
    path: Path | str, passphrase: bytes | str | None = None, *, validate: bool = True
) -> rsa.RSAPrivateKey:
    """Read and load a merchant private key file.

    DESIGN.md: the key is stored encrypted or in a file only its owner can read. An unencrypted key in a
    file that group/others can read is refused (KeyConfigError saying ``chmod 600``); an encrypted one
    only draws a warning. A passphrase given for a key that is not encrypted is ignored (logged), so a
    configured ``passphrase_env`` does not break an unencrypted key.
    """
    p = Path(path)
    try:
        data = p.read_bytes()
    except OSError as exc:
        raise KeyConfigError(f"cannot read the merchant private key file {p}: {exc.strerror}") from exc
    try:
        key = load_private_key(data, None, validate=validate)
        encrypted = False
    except EncryptedKeyError as exc:
        if not passphrase:
            raise KeyConfigError(f"the merchant private key {p} is encrypted: give its passphrase "
                                 "(gateway.passphrase_env names the environment variable holding it)") from exc
        key = load_private_key(data, passphrase, validate=validate)
        encrypted = True
    except KeyConfigError as exc:
        raise KeyConfigError(f"{p}: {exc}") from exc
    if passphrase and not encrypted:
        logger.info("merchant private key file %s is not encrypted; the passphrase is not used", p)
    if os.name == "posix" and p.stat().st_mode & 0o077:
        if not encrypted:
            raise KeyConfigError(f"the merchant private key file {p} can be read by other users: "
                                 f"run `chmod 600 {p}` (or encrypt the key) and start again")
        logger.warning("merchant private key file %s is readable by group/others; chmod 600 it", p)
    return key


def load_public_key_file(path: Path | str) -> rsa.RSAPublicKey:
    """Read and load a public key file (Alipay public key as handed out by the console)."""
    p = Path(path)
    try:
        data = p.read_bytes()
    except OSError as exc:
        raise KeyConfigError(f"cannot read the public key file {p}: {exc.strerror}") from exc
    return load_public_key(data)


def public_key_pem(key: rsa.RSAPublicKey) -> bytes:
    """The SPKI PEM of a public key."""
    return key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)


def public_key_base64(key: rsa.RSAPublicKey) -> str:
    """The one-line Base64 SPKI body that the Alipay console asks for."""
    der = key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return base64.b64encode(der).decode("ascii")


def same_public_key(a: rsa.RSAPublicKey, b: rsa.RSAPublicKey) -> bool:
    """True when both objects are the same RSA public key."""
    return a.public_numbers() == b.public_numbers()


KEY_SIZES = (2048, 3072, 4096)


def generate_private_key(bits: int = 2048) -> rsa.RSAPrivateKey:
    """A new RSA private key (e = 65537); KeyConfigError for a size Alipay RSA2 does not take."""
    if bits not in KEY_SIZES:
        raise KeyConfigError(f"--bits {bits}: an Alipay RSA2 key is 2048 bits (3072 or 4096 also work)")
    return rsa.generate_private_key(public_exponent=65537, key_size=bits)


def write_private_key(
    path: Path | str, key: rsa.RSAPrivateKey, passphrase: bytes | str | None = None, *, pkcs8: bool = True
) -> None:
    """Write a private key as PEM with owner-only permissions (0600), encrypted when a passphrase is given."""
    p = Path(path)
    pw = passphrase.encode("utf-8") if isinstance(passphrase, str) else passphrase
    enc: serialization.KeySerializationEncryption = (
        serialization.BestAvailableEncryption(pw) if pw else serialization.NoEncryption()
    )
    fmt = serialization.PrivateFormat.PKCS8 if (pkcs8 or pw) else serialization.PrivateFormat.TraditionalOpenSSL
    pem = key.private_bytes(serialization.Encoding.PEM, fmt, enc)
    p.parent.mkdir(parents=True, exist_ok=True)
    # never follow a link at the target (a dangling one would put the key wherever it points)
    if p.is_symlink():
        p.unlink()
    fd = os.open(p, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_NOFOLLOW", 0), 0o600)
    try:
        os.fchmod(fd, 0o600)
        os.write(fd, pem)
    finally:
        os.close(fd)


def write_public_key(path: Path | str, key: rsa.RSAPublicKey) -> None:
    """Write a public key as SPKI PEM."""
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    if p.is_symlink():
        p.unlink()
    p.write_bytes(public_key_pem(key))
