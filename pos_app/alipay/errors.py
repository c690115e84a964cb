"""Typed errors of the Alipay gateway client (keys, configuration, envelopes, signatures)."""

from __future__ import annotations

__all__ = [
    "AlipayError",
    "KeyConfigError",
    "SigningError",
    "ResponseFormatError",
    "SignatureVerificationError",
]


class AlipayError(Exception):
    """Base of every error raised by pos_app.alipay."""


class KeyConfigError(AlipayError, ValueError):
    """A key that cannot be loaded or a key configuration that cannot work (wrong key, wrong format)."""


class SigningError(AlipayError):
    """A request could not be signed (bad sign_type or charset)."""


class ResponseFormatError(AlipayError, ValueError):
    """A gateway response whose signed node cannot be cut out or parsed (truncated, duplicated node)."""


class SignatureVerificationError(AlipayError):
    """A gateway response or notification whose signature does not verify with the Alipay public key."""
