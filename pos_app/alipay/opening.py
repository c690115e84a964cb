"""Card opening on the Alipay side: the express-mode SPI request Alipay sends the shop (verified, answered
signed) and the historical callback mode's calls (oauth token, activation form, card.open).

Wire format of the SPI (``spi.alipay.user.opencard.get``), written down where the sources are thin:
Alipay POSTs form params ``app_id, method, charset, sign_type, timestamp, version, biz_content, sign``
signed with the Alipay key over every param except ``sign`` (the gateway-message rule that keeps
``sign_type``); the shop answers ``{"response":{...},"sign":"..."}`` signed with its own key over the
exact ``response`` bytes. A request older or newer than ``window_s`` is a replay and is refused.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from collections.abc import Mapping
from typing import Any

from cryptography.hazmat.primitives.asymmetric import rsa

from pos_app.domain.card_template import OpeningError
from pos_app.services.ports.clock import BEIJING
from pos_app.services.ports.gateway import (
    GatewayBusinessFailure,
    GatewayResult,
    GatewaySuccess,
    GatewayUnknown,
)

from .client import AlipayClient
from .signing import sign_content, verify_notification_v2

__all__ = ["SPI_METHOD", "SpiRejected", "verify_spi_request", "spi_answer", "AlipayOpeningGateway"]

logger = logging.getLogger(__name__)

SPI_METHOD = "spi.alipay.user.opencard.get"


class SpiRejected(Exception):
    """A request that is not a verifiable, fresh SPI call from Alipay for this app (message says why)."""

    def __init__(self, message: str, sub_code: str = "INVALID_REQUEST") -> None:
        super().__init__(message)
        self.sub_code = sub_code


def verify_spi_request(params: Mapping[str, str], *, alipay_public_key: rsa.RSAPublicKey, app_id: str,
                       now: dt.datetime, window_s: float = 300.0) -> dict[str, Any]:
    """The biz_content of a verified, fresh SPI request; raises SpiRejected."""
    if params.get("method") != SPI_METHOD:
        raise SpiRejected(f"method must be {SPI_METHOD}", "INVALID_METHOD")
    if params.get("app_id") != app_id:
        raise SpiRejected("the request is for another app", "INVALID_APP_ID")
    if not params.get("sign"):
        raise SpiRejected("the request is not signed", "MISSING_SIGN")
    if not verify_notification_v2(params, alipay_public_key, params.get("charset") or "utf-8"):
        raise SpiRejected("the signature does not verify with the Alipay public key", "INVALID_SIGN")
    try:
        sent = dt.datetime.strptime(params.get("timestamp", ""), "%Y-%m-%d %H:%M:%S").replace(tzinfo=BEIJING)
    except ValueError:
        raise SpiRejected("the request has no valid timestamp", "INVALID_TIMESTAMP") from None
    if abs((now - sent).total_seconds()) > window_s:
        raise SpiRejected("the request is too old or from the future (a replay?)", "INVALID_TIMESTAMP")
    try:
        biz = json.loads(params.get("biz_content") or "")
    except ValueError:
        raise SpiRejected("biz_content is not JSON", "INVALID_PARAMETER") from None
    if not isinstance(biz, dict):
        raise SpiRejected("biz_content is not a JSON object", "INVALID_PARAMETER")
    return biz


def spi_answer(reply: Mapping[str, Any], private_key: rsa.RSAPrivateKey, sign_type: str = "RSA2") -> bytes:
    """``{"response":…,"sign":…}`` signed over the exact response bytes with the shop's key."""
    content = json.dumps(reply, ensure_ascii=False, separators=(",", ":"))
    sign = sign_content(content, private_key, sign_type)
    return f'{{"response":{content},"sign":"{sign}"}}'.encode()


def _body(result: GatewayResult, what: str) -> Mapping[str, Any]:
    if isinstance(result, GatewaySuccess):
        return result.body
    if isinstance(result, GatewayBusinessFailure):
        raise OpeningError(f"Alipay refused {what}: {result.sub_code or result.code} {result.sub_msg}".strip())
    if isinstance(result, GatewayUnknown):
        raise OpeningError(f"no usable answer from Alipay for {what} ({result.reason})")
    raise OpeningError(f"unexpected answer to {what}")


class AlipayOpeningGateway:
    """The historical mode's three calls on one AlipayClient (implements services.card_opening.OpeningGateway)."""

    def __init__(self, client: AlipayClient) -> None:
        self._client = client

    def oauth_token(self, auth_code: str) -> tuple[str, str]:
        body = _body(self._client.call("alipay.system.oauth.token", None,
                                       extra={"grant_type": "authorization_code", "code": auth_code}),
                     "the auth code")
        token, user_id = body.get("access_token"), body.get("user_id") or body.get("open_id")
        if not isinstance(token, str) or not token or not isinstance(user_id, str) or not user_id:
            raise OpeningError("Alipay's token answer has no access_token or user")
        return token, user_id

    def activate_form(self, access_token: str, template_id: str, request_id: str) -> dict[str, str]:
        body = _body(self._client.call("alipay.marketing.card.activateform.query",
                                       {"biz_type": "MEMBER_CARD", "template_id": template_id,
                                        "request_id": request_id}, extra={"auth_token": access_token}),
                     "the activation form")
        infos = body.get("infos")
        form: dict[str, str] = {}
        try:
            items = json.loads(infos) if isinstance(infos, str) else infos
        except ValueError:
            items = None
        for item in items if isinstance(items, list) else []:
            if isinstance(item, Mapping):
                form.update({str(k): str(v) for k, v in item.items()})
        return form

    def open_card(self, access_token: str, body: Mapping[str, Any]) -> str:
        answer = _body(self._client.card_open(body, auth_token=access_token), "card.open")
        info = answer.get("card_info")
        asked = body["card_ext_info"]["external_card_no"]
        if not isinstance(info, Mapping) or info.get("external_card_no") not in (None, asked):
            raise OpeningError(f"Alipay's card.open answer is about another card, not ****{asked[-4:]}")
        biz_card_no = info.get("biz_card_no")
        if not isinstance(biz_card_no, str) or not biz_card_no:
            raise OpeningError("Alipay's card.open answer has no biz_card_no")
        return biz_card_no
