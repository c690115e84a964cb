"""Composition for the card-template commands: the configured gateway as a typed card issuer."""

from __future__ import annotations

from typing import Any

from pos_app.alipay.card_issuing import CardIssuer
from pos_app.alipay.client import AlipayClient
from pos_app.gateway_setup import gateway_config
from pos_app.runtime import SystemClock
from pos_app.settings import Settings

__all__ = ["open_issuer"]


def open_issuer(settings: Settings) -> tuple[Any, CardIssuer]:
    """(client to close, issuer) on the configured gateway; SystemExit when none is configured,
    KeyConfigError for key problems."""
    cfg = gateway_config(settings)
    if cfg is None:
        raise SystemExit("card: no gateway configured (gateway.url); the template lives at Alipay")
    client = AlipayClient(cfg, clock=SystemClock())
    return client, CardIssuer(client)
