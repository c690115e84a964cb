"""The gateway URL rule: https, except a gateway on this machine (the demo/test sandbox on loopback)."""

from __future__ import annotations

import ipaddress
import urllib.parse

__all__ = ["gateway_url_problem"]


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def gateway_url_problem(url: str) -> str:
    """Why ``url`` cannot be the gateway ("" when it can): plain http would let anyone on the path read
    payment codes and answer in Alipay's name with replayed signed bodies."""
    try:
        parts = urllib.parse.urlsplit(url)
        host = (parts.hostname or "").lower()
    except ValueError:
        return f"{url!r} is not a URL"
    if parts.scheme not in ("https", "http") or not host or any(c.isspace() for c in url):
        return f"{url!r} is not an http(s) URL"
    if parts.scheme == "http" and not _loopback(host):
        return f"{url!r} must use https (plain http is allowed only for a gateway on this machine)"
    return ""
