"""Alipay gateway v2 client: signing, envelope verification, typed calls and typed errors."""

from __future__ import annotations

from .client import AlipayClient, GatewayConfig, load_gateway_config, mask
from .errors import (
    AlipayError,
    KeyConfigError,
    ResponseFormatError,
    SignatureVerificationError,
    SigningError,
)

__all__ = [
    "AlipayClient",
    "GatewayConfig",
    "load_gateway_config",
    "mask",
    "AlipayError",
    "KeyConfigError",
    "ResponseFormatError",
    "SignatureVerificationError",
    "SigningError",
]
