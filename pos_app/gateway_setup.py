"""The one way the terminal, the CLI and `config check` turn settings into a gateway client configuration."""

from __future__ import annotations

import os
from collections.abc import Mapping

from pos_app.alipay.client import GatewayConfig, load_gateway_config
from pos_app.settings import Settings

__all__ = ["gateway_config"]


def gateway_config(settings: Settings, env: Mapping[str, str] | None = None) -> GatewayConfig | None:
    """The configured gateway (None when gateway.url is empty).

    Raises pos_app.alipay.errors.KeyConfigError for every key problem: unreadable or malformed files, a
    private key readable by others (unencrypted), an encrypted key without its passphrase, and the
    merchant's own public key configured as the Alipay public key.
    """
    gw = settings.gateway
    if not gw.url:
        return None
    env = os.environ if env is None else env
    passphrase = env.get(gw.passphrase_env) or None if gw.passphrase_env else None
    return load_gateway_config(gw.url, gw.app_id, gw.app_private_key, gw.alipay_public_key, passphrase=passphrase,
                               sign_type=gw.sign_type, connect_timeout_s=gw.connect_timeout_s,
                               read_timeout_s=gw.read_timeout_s)
