"""AlipayClient: signed calls to the gateway over one keep-alive httpx.Client, answered with typed results."""

from __future__ import annotations

import dataclasses
import logging
import urllib.parse
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import httpx
from cryptography.hazmat.primitives.asymmetric import rsa

from pos_app.domain.codes import mask_code
from pos_app.domain.money import format_gateway
from pos_app.services.ports.clock import Clock
from pos_app.services.ports.gateway import (
    CardGateway,
    CardLookup,
    GatewayInProgress,
    GatewayResult,
    GatewaySuccess,
    GatewayUnknown,
    TradeGateway,
)

from .answers import typed
from .binding import bind_answer
from .envelope import build_request, verify_response
from .errors import KeyConfigError, ResponseFormatError, SignatureVerificationError
from .keys import load_private_key_file, load_public_key_file, same_public_key
from .signing import SIGN_TYPES, verify_notification_v1
from .subcodes import RATE_LIMIT_SUB_CODES, SYSTEM_ERROR_SUB_CODES, UNAVAILABLE_CODE, business_failure
from .urls import gateway_url_problem

__all__ = [
    "CARD_NO_TYPE",
    "DEFAULT_CONNECT_TIMEOUT_S",
    "DEFAULT_READ_TIMEOUT_S",
    "GatewayConfig",
    "load_gateway_config",
    "AlipayClient",
    "mask",
]

logger = logging.getLogger(__name__)

DEFAULT_CONNECT_TIMEOUT_S = 3.0
DEFAULT_READ_TIMEOUT_S = 15.0
PRODUCTION_GATEWAY_URL = "https://openapi.alipay.com/gateway.do"

CARD_NO_TYPE = {
    CardLookup.ALIPAY_CARD: "BIZ_CARD",
    CardLookup.SHOP_CARD: "EXTERNAL_CARD",
    CardLookup.DYNAMIC_QR: "D_QR_CODE",
    CardLookup.DYNAMIC_BAR: "D_BAR_CODE",
}
"""card.query's ``target_card_no_type`` for each way a card is looked up."""


mask = mask_code
"""All but the last 4 characters masked (payment codes, card numbers in logs): the one masking function."""


@dataclasses.dataclass(frozen=True)
class GatewayConfig:
    """Everything the client needs to talk to one gateway as one app."""

    gateway_url: str
    app_id: str
    app_private_key: rsa.RSAPrivateKey
    alipay_public_key: rsa.RSAPublicKey
    sign_type: str = "RSA2"
    connect_timeout_s: float = DEFAULT_CONNECT_TIMEOUT_S
    read_timeout_s: float = DEFAULT_READ_TIMEOUT_S
    charset: str = "utf-8"
    notify_url: str | None = None

    def __post_init__(self) -> None:
        if self.sign_type not in SIGN_TYPES:
            raise KeyConfigError(f"sign_type must be RSA2 or RSA, not {self.sign_type!r}")
        if not self.app_id:
            raise KeyConfigError("app_id is empty")
        url_problem = gateway_url_problem(self.gateway_url)
        if url_problem:
            raise KeyConfigError(f"gateway.url: {url_problem}")
        if same_public_key(self.alipay_public_key, self.app_private_key.public_key()):
            raise KeyConfigError(
                "the configured Alipay public key is the merchant's own public key: download the "
                "Alipay public key (支付宝公钥) from the Open Platform console, not the app public key (应用公钥)"
            )

    def __repr__(self) -> str:  # never show key material
        return f"GatewayConfig(gateway_url={self.gateway_url!r}, app_id={self.app_id!r}, sign_type={self.sign_type!r})"


def load_gateway_config(
    gateway_url: str,
    app_id: str,
    private_key_path: Path | str,
    alipay_public_key_path: Path | str,
    *,
    passphrase: str | bytes | None = None,
    sign_type: str = "RSA2",
    connect_timeout_s: float = DEFAULT_CONNECT_TIMEOUT_S,
    read_timeout_s: float = DEFAULT_READ_TIMEOUT_S,
    charset: str = "utf-8",
    notify_url: str | None = None,
) -> GatewayConfig:
    """Load both keys from files and build a validated GatewayConfig (raises KeyConfigError)."""
    return GatewayConfig(
        gateway_url=gateway_url,
        app_id=app_id,
        app_private_key=load_private_key_file(private_key_path, passphrase),
        alipay_public_key=load_public_key_file(alipay_public_key_path),
        sign_type=sign_type,
        connect_timeout_s=connect_timeout_s,
        read_timeout_s=read_timeout_s,
        charset=charset,
        notify_url=notify_url,
    )


class _RedactQueryFilter(logging.Filter):
    """Drop the query string (it carries ``sign``) from httpx's "HTTP Request: ..." INFO lines."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple) and record.msg.startswith("HTTP Request:") and len(record.args) >= 2:
            url = str(record.args[1])
            if "?" in url:
                record.args = (record.args[0], url.split("?", 1)[0] + "?<redacted>", *record.args[2:])
        return True


def _install_httpx_log_redaction() -> None:
    """Idempotent: attach the redaction filter to the ``httpx`` logger."""
    httpx_logger = logging.getLogger("httpx")
    if not any(isinstance(f, _RedactQueryFilter) for f in httpx_logger.filters):
        httpx_logger.addFilter(_RedactQueryFilter())


class AlipayClient:
    """Implements TradeGateway and CardGateway. Use from one thread only (one httpx.Client, keep-alive)."""

    def __init__(self, config: GatewayConfig, *, clock: Clock, http: httpx.Client | None = None) -> None:
        _install_httpx_log_redaction()
        self._config = config
        self._clock = clock
        self._own_http = http is None
        timeout = httpx.Timeout(config.read_timeout_s, connect=config.connect_timeout_s)
        self._http = http if http is not None else httpx.Client(timeout=timeout, trust_env=False)
        self._timeout = timeout

    @property
    def config(self) -> GatewayConfig:
        return self._config

    def close(self) -> None:
        """Close the HTTP connection pool (only when this client created it)."""
        if self._own_http:
            self._http.close()

    def __enter__(self) -> AlipayClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- generic -------------------------------------------------------------------------

    def call(self, method: str, biz: Mapping[str, Any] | None, *, extra: Mapping[str, str | None] | None = None,
             files: Mapping[str, tuple[str, bytes, str]] | None = None) -> GatewayResult:
        """One signed call; the verified ``*_response`` object is mapped to a typed result.

        ``files`` (name -> (file name, bytes, content type)) sends a multipart body, as the SDKs do for
        uploads: the text params are signed, the file parts are not.
        """
        cfg = self._config
        extras: dict[str, str | None] = {"notify_url": cfg.notify_url} if method == "alipay.trade.pay" else {}
        extras.update(extra or {})
        req = build_request(
            method, biz, app_id=cfg.app_id, private_key=cfg.app_private_key, now=self._clock.now(),
            sign_type=cfg.sign_type, charset=cfg.charset, extra=extras,
        )
        try:
            # encoded here (not by httpx) so that non-UTF-8 charsets send the bytes that were signed
            query = urllib.parse.urlencode(req.query, encoding=cfg.charset)
            url = cfg.gateway_url + ("&" if "?" in cfg.gateway_url else "?") + query
            if files:
                resp = self._http.post(url, data=dict(req.body), files=dict(files),
                                       headers={"Accept": "application/json"}, timeout=self._timeout)
            else:
                resp = self._http.post(
                    url,
                    content=urllib.parse.urlencode(req.body, encoding=cfg.charset).encode("ascii"),
                    headers={
                        "Content-Type": f"application/x-www-form-urlencoded;charset={cfg.charset}",
                        "Accept": "application/json",
                    },
                    timeout=self._timeout,
                )
        except httpx.TimeoutException as exc:
            logger.warning("%s: timeout (%s)", method, type(exc).__name__)
            return GatewayUnknown(f"timeout: {type(exc).__name__}", "timeout")
        except httpx.TransportError as exc:
            logger.warning("%s: connection problem (%s)", method, type(exc).__name__)
            return GatewayUnknown(f"connection error: {type(exc).__name__}: {exc}", "connection")
        if resp.status_code != 200:
            logger.warning("%s: HTTP %s", method, resp.status_code)
            return GatewayUnknown(f"HTTP {resp.status_code}", "http_status")
        try:
            text = resp.content.decode(cfg.charset)
        except (UnicodeDecodeError, LookupError):
            return GatewayUnknown(f"response is not valid {cfg.charset}", "format")
        try:
            verified = verify_response(text, method, cfg.alipay_public_key, cfg.sign_type, cfg.charset)
        except SignatureVerificationError as exc:
            logger.error("%s: response signature check failed: %s", method, exc)
            return GatewayUnknown(f"unverifiable response: {exc}", "signature")
        except ResponseFormatError as exc:
            logger.warning("%s: unparsable response: %s", method, exc)
            return GatewayUnknown(f"unparsable response: {exc}", "format")
        return typed(method, bind_answer(method, biz, self._classify(method, verified.data, verified.signed)))

    @staticmethod
    def _classify(method: str, body: Mapping[str, Any], signed: bool) -> GatewayResult:
        code = str(body.get("code", ""))
        sub_code = str(body.get("sub_code", "") or "")
        sub_msg = str(body.get("sub_msg", "") or "")
        if code == "10000":
            return GatewaySuccess(code, body)
        if code == "10003":
            if method == "alipay.trade.pay":
                return GatewayInProgress(body)
            return GatewayUnknown(f"unexpected code 10003 for {method}", "unexpected_code")
        if method == "alipay.trade.cancel" and body.get("retry_flag") == "Y":
            return business_failure(code, sub_code, sub_msg, body, signed)
        if code == UNAVAILABLE_CODE:
            # a throttling 20000 is still an unknown outcome, with cause "rate_limited" (subcodes.py)
            cause = "rate_limited" if sub_code in RATE_LIMIT_SUB_CODES else "service_unavailable"
            return GatewayUnknown(f"20000 {sub_code}: {sub_msg}", cause)
        if sub_code in SYSTEM_ERROR_SUB_CODES:
            return GatewayUnknown(f"{code} {sub_code}: {sub_msg}", "system_error")
        if not code:
            return GatewayUnknown("response has no code", "format")
        logger.info("%s: business failure %s %s", method, code, sub_code)
        return business_failure(code, sub_code, sub_msg, body, signed)

    def verify_notification(self, params: Mapping[str, str]) -> bool:
        """Check a form-decoded trade notification (V1 rule) against the Alipay public key and our app_id."""
        if params.get("app_id") not in (None, self._config.app_id):
            return False
        return verify_notification_v1(params, self._config.alipay_public_key)

    # --- trade ---------------------------------------------------------------------------

    def pay(
        self,
        out_trade_no: str,
        auth_code: str,
        amount_fen: int,
        subject: str,
        *,
        store_id: str | None = None,
        terminal_id: str | None = None,
        operator_id: str | None = None,
        scene: str = "bar_code",
    ) -> GatewayResult:
        """alipay.trade.pay (barcode payment)."""
        logger.info("pay %s amount=%s auth_code=%s", out_trade_no, format_gateway(amount_fen), mask(auth_code))
        biz = {
            "out_trade_no": out_trade_no,
            "scene": scene,
            "auth_code": auth_code,
            "subject": subject,
            "total_amount": format_gateway(amount_fen),
            "store_id": store_id or None,
            "terminal_id": terminal_id or None,
            "operator_id": operator_id or None,
        }
        return self.call("alipay.trade.pay", biz)

    def query(self, out_trade_no: str) -> GatewayResult:
        """alipay.trade.query by out_trade_no."""
        return self.call("alipay.trade.query", {"out_trade_no": out_trade_no})

    def cancel(self, out_trade_no: str) -> GatewayResult:
        """alipay.trade.cancel by out_trade_no."""
        return self.call("alipay.trade.cancel", {"out_trade_no": out_trade_no})

    def refund(self, out_trade_no: str, out_request_no: str, amount_fen: int, reason: str) -> GatewayResult:
        """alipay.trade.refund; retries must reuse ``out_request_no``."""
        biz = {
            "out_trade_no": out_trade_no,
            "out_request_no": out_request_no,
            "refund_amount": format_gateway(amount_fen),
            "refund_reason": reason or None,
        }
        return self.call("alipay.trade.refund", biz)

    def refund_query(self, out_trade_no: str, out_request_no: str) -> GatewayResult:
        """alipay.trade.fastpay.refund.query."""
        return self.call(
            "alipay.trade.fastpay.refund.query", {"out_trade_no": out_trade_no, "out_request_no": out_request_no}
        )

    # --- membership cards ----------------------------------------------------------------

    def card_query(self, target_card_no: str, target_card_no_type: CardLookup | str) -> GatewayResult:
        """alipay.marketing.card.query by a CardLookup (or Alipay's own type: BIZ_CARD, EXTERNAL_CARD, ...)."""
        kind = CARD_NO_TYPE[target_card_no_type] if isinstance(target_card_no_type, CardLookup) \
            else target_card_no_type
        return self.call("alipay.marketing.card.query", {"target_card_no": target_card_no, "target_card_no_type": kind})

    def card_update(self, body: Mapping[str, Any]) -> GatewayResult:
        """alipay.marketing.card.update with the stored body (absolute values + occur_time)."""
        return self.call("alipay.marketing.card.update", body)

    def consume_sync(self, body: Mapping[str, Any]) -> GatewayResult:
        """alipay.marketing.card.consume.sync with the stored body (trade_no + trade_time)."""
        return self.call("alipay.marketing.card.consume.sync", body)

    def card_open(self, body: Mapping[str, Any], *, auth_token: str) -> GatewayResult:
        """alipay.marketing.card.open (needs the user's OAuth ``auth_token``)."""
        return self.call("alipay.marketing.card.open", body, extra={"auth_token": auth_token})

    def template_create(self, body: Mapping[str, Any]) -> GatewayResult:
        """alipay.marketing.card.template.create (idempotent by ``request_id``)."""
        return self.call("alipay.marketing.card.template.create", body)


def _satisfies_ports(client: AlipayClient) -> tuple[TradeGateway, CardGateway]:
    """Static check (mypy): AlipayClient implements both gateway Protocols."""
    return client, client
