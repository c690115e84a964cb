"""Request building and response extraction/verification for the Alipay gateway v2 envelope."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import re
from collections.abc import Mapping
from typing import Any

from cryptography.hazmat.primitives.asymmetric import rsa

from pos_app.services.ports.clock import BEIJING

from .errors import ResponseFormatError, SignatureVerificationError
from .signing import sign_content, sign_string, verify_content

__all__ = [
    "QUERY_KEYS",
    "SignedRequest",
    "ExtractedResponse",
    "VerifiedResponse",
    "format_timestamp",
    "dump_biz",
    "response_node",
    "build_request",
    "extract_signed_content",
    "verify_response",
]

QUERY_KEYS = frozenset({
    "app_id", "method", "format", "charset", "sign_type", "sign", "timestamp", "version",
    "notify_url", "return_url", "auth_token", "app_auth_token", "encrypt_type",
})
"""Common parameters that the official SDKs put in the URL query; everything else goes in the form body."""


@dataclasses.dataclass(frozen=True, slots=True)
class SignedRequest:
    """A signed request split the way the official SDKs send it."""

    method: str
    query: dict[str, str]
    body: dict[str, str]
    sign_string: str

    @property
    def params(self) -> dict[str, str]:
        """All parameters (query merged with body)."""
        return {**self.query, **self.body}


@dataclasses.dataclass(frozen=True, slots=True)
class ExtractedResponse:
    """The signed substring of a raw response body and the top-level sign that goes with it."""

    node: str
    content: str
    sign: str


@dataclasses.dataclass(frozen=True, slots=True)
class VerifiedResponse:
    """A response whose signed content was verified (or an unsigned error the rules accept)."""

    node: str
    content: str
    data: dict[str, Any]
    signed: bool


def format_timestamp(now: dt.datetime) -> str:
    """``yyyy-MM-dd HH:mm:ss`` in Beijing time (GMT+8); naive datetimes are taken as UTC."""
    if now.tzinfo is None:
        now = now.replace(tzinfo=dt.UTC)
    return now.astimezone(BEIJING).strftime("%Y-%m-%d %H:%M:%S")


def _drop_empty(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(k): _drop_empty(v) for k, v in value.items() if v is not None}
    if isinstance(value, list | tuple):
        return [_drop_empty(v) for v in value]
    return value


def dump_biz(biz: Mapping[str, Any]) -> str:
    """Compact ``biz_content`` JSON with Chinese kept as UTF-8 and ``None`` values dropped."""
    return json.dumps(_drop_empty(biz), ensure_ascii=False, separators=(",", ":"))


def response_node(method: str) -> str:
    """``alipay.trade.pay`` -> ``alipay_trade_pay_response``."""
    return method.replace(".", "_") + "_response"


def build_request(
    method: str,
    biz: Mapping[str, Any] | None,
    *,
    app_id: str,
    private_key: rsa.RSAPrivateKey,
    now: dt.datetime,
    sign_type: str = "RSA2",
    charset: str = "utf-8",
    extra: Mapping[str, str | None] | None = None,
) -> SignedRequest:
    """Build and sign one request; empty values are dropped before signing and never sent."""
    params: dict[str, str] = {
        "app_id": app_id,
        "method": method,
        "format": "json",
        "charset": charset,
        "sign_type": sign_type,
        "timestamp": format_timestamp(now),
        "version": "1.0",
    }
    if biz is not None:
        params["biz_content"] = dump_biz(biz)
    for k, v in (extra or {}).items():
        if v is not None and v != "":
            params[k] = v
    content = sign_string(params)
    params["sign"] = sign_content(content, private_key, sign_type, charset)
    query = {k: v for k, v in params.items() if k in QUERY_KEYS}
    body = {k: v for k, v in params.items() if k not in QUERY_KEYS}
    return SignedRequest(method=method, query=query, body=body, sign_string=content)


def _match_object(raw: str, start: int) -> int:
    """Index just past the ``}`` that closes the object opening at ``raw[start]`` (quote-aware)."""
    depth = 0
    in_string = False
    i = start
    n = len(raw)
    while i < n:
        ch = raw[i]
        if in_string:
            if ch == "\\":
                i += 2  # skip the escaped character, whatever it is (handles runs of backslashes)
                continue
            if ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
            if depth == 0:
                return i + 1
        i += 1
    raise ResponseFormatError("response body ends before its signed object closes (truncated?)")


_SIGN_RE = re.compile(r'"sign"\s*:\s*("(?:[^"\\]|\\.)*")')


def _node_start(raw: str, node: str) -> int:
    """Index of the ``{`` that opens the value of ``"node"`` as a key, or -1."""
    pos = 0
    pattern = re.compile(r'"' + re.escape(node) + r'"\s*:\s*')
    while True:
        m = pattern.search(raw, pos)
        if m is None:
            return -1
        end = m.end()
        if end < len(raw) and raw[end] == "{":
            return end
        pos = m.end()


def extract_signed_content(raw: str, method: str) -> ExtractedResponse:
    """Cut the exact signed substring (the ``*_response`` object) and the top-level sign out of ``raw``.

    Falls back to ``error_response``. Rejects a second occurrence of the node key after the
    extracted object (duplicate-key injection, fzlee/alipay#69).
    """
    node = response_node(method)
    start = _node_start(raw, node)
    if start < 0:
        node = "error_response"
        start = _node_start(raw, node)
        if start < 0:
            raise ResponseFormatError(f"response has no {response_node(method)} or error_response node")
    end = _match_object(raw, start)
    content = raw[start:end]
    rest = raw[end:]
    if re.search(r'"' + re.escape(node) + r'"\s*:', rest):
        raise ResponseFormatError(f"response contains the node {node} more than once")
    sign = ""
    m = _SIGN_RE.search(rest)
    if m is not None:
        try:
            decoded = json.loads(m.group(1))
        except json.JSONDecodeError as exc:
            raise ResponseFormatError("response sign is not a JSON string") from exc
        sign = decoded if isinstance(decoded, str) else ""
    return ExtractedResponse(node=node, content=content, sign=sign)


def verify_response(
    raw: str,
    method: str,
    alipay_public_key: rsa.RSAPublicKey,
    sign_type: str = "RSA2",
    charset: str = "utf-8",
) -> VerifiedResponse:
    """Extract, verify, then parse the signed substring and nothing else.

    A non-empty sign must verify (one retry with ``\\/`` unescaped, as the Java SDK does). An
    unsigned body is accepted only when it is an error (has ``sub_code``); an unsigned success
    raises :class:`SignatureVerificationError`.
    """
    ext = extract_signed_content(raw, method)
    signed = False
    if ext.sign:
        ok = verify_content(ext.content, ext.sign, alipay_public_key, sign_type, charset)
        if not ok and "\\/" in ext.content:
            ok = verify_content(ext.content.replace("\\/", "/"), ext.sign, alipay_public_key, sign_type, charset)
        if not ok:
            raise SignatureVerificationError(f"signature of {ext.node} does not verify with the Alipay public key")
        signed = True
    try:
        data = json.loads(ext.content)
    except json.JSONDecodeError as exc:
        raise ResponseFormatError(f"signed content of {ext.node} is not valid JSON") from exc
    if not isinstance(data, dict):
        raise ResponseFormatError(f"{ext.node} is not a JSON object")
    if not signed and not data.get("sub_code"):
        raise SignatureVerificationError(f"{ext.node} is unsigned and is not an error response")
    return VerifiedResponse(node=ext.node, content=ext.content, data=data, signed=signed)
