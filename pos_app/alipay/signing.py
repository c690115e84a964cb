"""Alipay RSA2/RSA signing and verification: request sign strings, response content, notifications (V1/V2)."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterable, Mapping

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from .errors import SigningError

__all__ = [
    "SIGN_TYPES",
    "sign_content",
    "sign_string",
    "verify_content",
    "sign_params",
    "notification_content_v1",
    "notification_content_v2",
    "verify_notification_v1",
    "verify_notification_v2",
]

SIGN_TYPES = ("RSA2", "RSA")
"""RSA2 = SHA256withRSA, RSA = SHA1withRSA; both PKCS#1 v1.5."""


def _hash_for(sign_type: str) -> hashes.HashAlgorithm:
    if sign_type == "RSA2":
        return hashes.SHA256()
    if sign_type == "RSA":
        return hashes.SHA1()  # noqa: S303 - the legacy Alipay RSA sign type is SHA1withRSA
    raise SigningError(f"unsupported sign_type {sign_type!r} (use RSA2 or RSA)")


def sign_string(params: Mapping[str, str], *, exclude: Iterable[str] = ("sign",)) -> str:
    """The request sign string: all params except ``exclude``, empty values dropped, ASCII-sorted, raw ``k=v&...``."""
    skip = set(exclude)
    items = sorted(
        (k, v) for k, v in params.items() if k and k not in skip and v is not None and v != ""
    )
    return "&".join(f"{k}={v}" for k, v in items)


def sign_content(content: str, key: rsa.RSAPrivateKey, sign_type: str = "RSA2", charset: str = "utf-8") -> str:
    """Sign ``content`` (encoded in ``charset``) with PKCS#1 v1.5; return standard padded Base64."""
    try:
        data = content.encode(charset)
    except (LookupError, UnicodeEncodeError) as exc:
        raise SigningError(f"cannot encode the sign content in charset {charset!r}") from exc
    sig = key.sign(data, padding.PKCS1v15(), _hash_for(sign_type))
    return base64.b64encode(sig).decode("ascii")


def verify_content(
    content: str, sign_b64: str, key: rsa.RSAPublicKey, sign_type: str = "RSA2", charset: str = "utf-8"
) -> bool:
    """True when ``sign_b64`` is a valid signature of ``content`` (in ``charset``) under ``key``."""
    if not sign_b64:
        return False
    try:
        sig = base64.b64decode(sign_b64, validate=True)
        data = content.encode(charset)
    except (binascii.Error, ValueError, LookupError, UnicodeEncodeError):
        return False
    try:
        key.verify(sig, data, padding.PKCS1v15(), _hash_for(sign_type))
    except InvalidSignature:
        return False
    return True


def sign_params(
    params: Mapping[str, str], key: rsa.RSAPrivateKey, sign_type: str = "RSA2", charset: str = "utf-8"
) -> tuple[dict[str, str], str]:
    """Return (params with ``sign`` added, the sign string). ``sign_type`` must already be in ``params``."""
    content = sign_string(params)
    signed = {k: v for k, v in params.items() if v is not None and v != ""}
    signed["sign"] = sign_content(content, key, sign_type, charset)
    return signed, content


def notification_content_v1(params: Mapping[str, str]) -> str:
    """V1 (trade notifications, rsaCheckV1): drop ``sign`` and ``sign_type``, empty values, sort, join."""
    return sign_string(params, exclude=("sign", "sign_type"))


def notification_content_v2(params: Mapping[str, str]) -> str:
    """V2 (gateway messages, rsaCheckV2): drop only ``sign``; ``sign_type`` stays in the content."""
    return sign_string(params, exclude=("sign",))


def verify_notification_v1(params: Mapping[str, str], key: rsa.RSAPublicKey, charset: str | None = None) -> bool:
    """Verify a form-decoded trade notification with the V1 rule (digest named by its ``sign_type``)."""
    sign_type = params.get("sign_type") or "RSA2"
    cs = charset or params.get("charset") or "utf-8"
    return verify_content(notification_content_v1(params), params.get("sign", ""), key, sign_type, cs)


def verify_notification_v2(params: Mapping[str, str], key: rsa.RSAPublicKey, charset: str | None = None) -> bool:
    """Verify a form-decoded gateway message with the V2 rule (``sign_type`` kept in the content)."""
    sign_type = params.get("sign_type") or "RSA2"
    cs = charset or params.get("charset") or "utf-8"
    return verify_content(notification_content_v2(params), params.get("sign", ""), key, sign_type, cs)
