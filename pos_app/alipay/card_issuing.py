"""Typed card-issuing calls: image upload (multipart), template create/modify/query, the open-card form.

Each answer is believed only when it is a verified success about what was asked (the template asked
for, an image id for the upload); anything else raises :class:`CardIssuingError` with the reason.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from pos_app.domain.card_template import IMAGE_MAX_BYTES, CardIssuingError, image_kind
from pos_app.services.ports.gateway import (
    GatewayBusinessFailure,
    GatewayResult,
    GatewaySuccess,
    GatewayUnknown,
)

from .client import AlipayClient

__all__ = ["CardIssuer"]

logger = logging.getLogger(__name__)


def _success(result: GatewayResult, what: str) -> Mapping[str, Any]:
    if isinstance(result, GatewaySuccess):
        return result.body
    if isinstance(result, GatewayBusinessFailure):
        raise CardIssuingError(f"Alipay refused {what}: {result.code} {result.sub_code} {result.sub_msg}".strip())
    if isinstance(result, GatewayUnknown):
        raise CardIssuingError(f"no usable answer from Alipay for {what} ({result.reason}); nothing was changed "
                               "on this side, try again")
    raise CardIssuingError(f"unexpected answer to {what}")


class CardIssuer:
    """Card-issuing calls on one AlipayClient."""

    def __init__(self, client: AlipayClient) -> None:
        self._client = client

    def upload_image(self, data: bytes, name: str) -> str:
        """alipay.offline.material.image.upload; refuses a file that is not an image or is too large."""
        if not data:
            raise CardIssuingError(f"{name}: the file is empty")
        if len(data) > IMAGE_MAX_BYTES:
            raise CardIssuingError(f"{name}: {len(data) / 1024 / 1024:.1f} MB is larger than the "
                                   f"{IMAGE_MAX_BYTES // 1024 // 1024} MB allowed for card images")
        kind = image_kind(data)
        if kind is None:
            raise CardIssuingError(f"{name}: not an image (JPEG, PNG, GIF or BMP expected)")
        body = _success(self._client.call("alipay.offline.material.image.upload", None,
                                          extra={"image_type": kind, "image_name": name},
                                          files={"image_content": (name, data, f"image/{kind}")}),
                        f"the upload of {name}")
        image_id = body.get("image_id")
        if not isinstance(image_id, str) or not image_id:
            raise CardIssuingError(f"Alipay's answer to the upload of {name} has no image_id")
        logger.info("image %s uploaded", name)
        return image_id

    def create_template(self, biz: Mapping[str, Any]) -> str:
        """alipay.marketing.card.template.create (idempotent by ``request_id``); returns the template_id."""
        body = _success(self._client.call("alipay.marketing.card.template.create", biz), "the template")
        tid = body.get("template_id")
        if not isinstance(tid, str) or not tid:
            raise CardIssuingError("Alipay's answer to template.create has no template_id")
        return tid

    def modify_template(self, template_id: str, biz: Mapping[str, Any]) -> str:
        body = {k: v for k, v in biz.items() if k != "card_type"}
        answer = _success(self._client.call("alipay.marketing.card.template.modify",
                                            {**body, "template_id": template_id}), f"the change of {template_id}")
        if answer.get("template_id") not in (None, template_id):
            raise CardIssuingError(f"Alipay's answer is about template {answer.get('template_id')}, "
                                   f"not {template_id}; not believed")
        return template_id

    def query_template(self, template_id: str) -> dict[str, Any]:
        answer = _success(self._client.call("alipay.marketing.card.template.query", {"template_id": template_id}),
                          f"the query of {template_id}")
        if answer.get("template_id") not in (None, template_id):
            raise CardIssuingError(f"Alipay's answer is about template {answer.get('template_id')}, "
                                   f"not {template_id}; not believed")
        return {k: v for k, v in answer.items() if k not in ("code", "msg")}

    def set_form(self, template_id: str, fields: Mapping[str, Any]) -> None:
        _success(self._client.call("alipay.marketing.card.formtemplate.set",
                                   {"template_id": template_id, "fields": fields}),
                 f"the open-card form of {template_id}")

    def activate_url(self, template_id: str, *, callback: str | None = None, out_string: str | None = None) -> str:
        """alipay.marketing.card.activateurl.apply: the URL for the shop's join QR (URL-decoded)."""
        import urllib.parse

        answer = _success(self._client.call("alipay.marketing.card.activateurl.apply",
                                            {"template_id": template_id, "callback": callback,
                                             "out_string": out_string}),
                          f"the activation URL of {template_id}")
        raw = answer.get("apply_card_url")
        if not isinstance(raw, str) or not raw:
            raise CardIssuingError("Alipay's answer has no apply_card_url")
        url = urllib.parse.unquote(raw) if "%3A" in raw[:12].upper() else raw
        if not url.startswith(("http://", "https://", "alipays://")):
            raise CardIssuingError(f"Alipay's apply_card_url is not a URL: {url[:60]!r}")
        named = urllib.parse.parse_qs(urllib.parse.urlsplit(url).query).get("template_id")
        if named and named[0] != template_id:
            raise CardIssuingError(f"Alipay's activation URL is for template {named[0]}, not {template_id}; "
                                   "not believed")
        return url
