"""Opening a membership card: the customer joined in Alipay; the shop creates the member and answers.

Two modes, chosen by the template:
- express (``spi.alipay.user.opencard.get``): Alipay calls the shop with the customer's form; the shop
  creates the member and answers the card at once;
- callback (historical): the customer's browser returns with an ``auth_code``; the shop exchanges it
  (``alipay.system.oauth.token``), reads the form (``activateform.query``) and opens the card
  (``alipay.marketing.card.open``).
One Alipay request creates at most one member (keyed by its request id, and by the customer's user id).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import re
from collections.abc import Callable, Mapping
from typing import Any, Protocol

from pos_app.domain.card_template import OpenedCard, OpeningError

from .ports.clock import BEIJING, Clock

__all__ = ["OpeningError", "OpeningConfig", "OpenedCard", "OpeningStore", "OpeningGateway", "CardOpening",
           "FORM_MOBILE", "FORM_NAME"]

logger = logging.getLogger(__name__)

FORM_MOBILE = "OPEN_FORM_FIELD_MOBILE"
FORM_NAME = "OPEN_FORM_FIELD_NAME"
_TS = "%Y-%m-%d %H:%M:%S"


@dataclasses.dataclass(frozen=True)
class OpeningConfig:
    template_id: str
    number_prefix: str = "8800"
    number_length: int = 16
    opening_points: int = 0
    opening_level: str = ""
    valid_days: int = 3650


class OpeningStore(Protocol):
    def opened(self, request_id: str) -> OpenedCard | None: ...

    def by_user(self, user_id: str) -> OpenedCard | None: ...

    def create(self, *, request_id: str, mode: str, template_id: str, user_id: str, phone: str, name: str,
               level: str, points: int, prefix: str, length: int, at: dt.datetime, open_date: str,
               valid_date: str) -> OpenedCard: ...

    def set_biz_card_no(self, card_no: str, biz_card_no: str) -> None: ...


class OpeningGateway(Protocol):
    def oauth_token(self, auth_code: str) -> tuple[str, str]: ...          # (access_token, user_id)

    def activate_form(self, access_token: str, template_id: str, request_id: str) -> dict[str, str]: ...

    def open_card(self, access_token: str, body: Mapping[str, Any]) -> str: ...  # biz_card_no


def _phone(form: Mapping[str, str]) -> str:
    phone = re.sub(r"\D", "", str(form.get(FORM_MOBILE) or ""))
    return phone if re.fullmatch(r"1\d{10}", phone) else ""


class CardOpening:
    def __init__(self, store: Callable[[], OpeningStore], clock: Clock, config: OpeningConfig) -> None:
        self._store = store
        self._clock = clock
        self._config = config

    def _check_template(self, template_id: str) -> None:
        if template_id != self._config.template_id:
            raise OpeningError(f"unknown template {template_id!r}: this shop opens cards of "
                               f"{self._config.template_id or '(none configured)'}")

    def _create(self, *, request_id: str, mode: str, template_id: str, user_id: str,
                form: Mapping[str, str]) -> OpenedCard:
        store = self._store()
        prior = store.opened(request_id) or (store.by_user(user_id) if user_id else None)
        if prior is not None:
            return dataclasses.replace(prior, created=False)
        now = self._clock.now()
        local = now.astimezone(BEIJING)
        card = store.create(request_id=request_id, mode=mode, template_id=template_id, user_id=user_id,
                            phone=_phone(form), name=str(form.get(FORM_NAME) or "")[:40],
                            level=self._config.opening_level, points=self._config.opening_points,
                            prefix=self._config.number_prefix, length=self._config.number_length, at=now,
                            open_date=local.strftime(_TS),
                            valid_date=(local + dt.timedelta(days=self._config.valid_days)).strftime(_TS))
        logger.info("card opened (%s) for request %s: card ****%s", mode, request_id[-6:], card.card_no[-4:])
        return card

    def express(self, biz: Mapping[str, Any]) -> OpenedCard:
        """spi.alipay.user.opencard.get: the verified request's biz_content -> the new (or same) card."""
        template_id = str(biz.get("template_id") or "")
        self._check_template(template_id)
        request_id = str(biz.get("request_id") or biz.get("out_request_no") or "")
        user_id = str(biz.get("user_id") or biz.get("open_id") or "")
        if not request_id or not user_id:
            raise OpeningError("the request names no request_id or no user")
        form = biz.get("form_info") or {}
        return self._create(request_id=request_id, mode="express", template_id=template_id, user_id=user_id,
                            form=form if isinstance(form, Mapping) else {})

    def callback(self, gateway: OpeningGateway, *, auth_code: str, request_id: str,
                 template_id: str) -> tuple[OpenedCard, str]:
        """The historical mode: auth code -> token -> form -> member -> card.open; returns (card, biz_card_no)."""
        self._check_template(template_id)
        if not auth_code or not request_id:
            raise OpeningError("the callback carries no auth_code or no request_id")
        access_token, user_id = gateway.oauth_token(auth_code)
        form = gateway.activate_form(access_token, template_id, request_id)
        card = self._create(request_id=request_id, mode="callback", template_id=template_id, user_id=user_id,
                            form=form)
        body = {"out_serial_no": f"open-{request_id}"[:64], "card_template_id": template_id,
                "card_user_info": {"user_uni_id": user_id, "user_uni_id_type": "UID"},
                "card_ext_info": {"external_card_no": card.card_no, "open_date": card.open_date,
                                  "valid_date": card.valid_date, "level": card.level, "point": str(card.points),
                                  "balance": "0.00"},
                "member_ext_info": {"cell": _phone(form), "name": str(form.get(FORM_NAME) or "")}}
        biz_card_no = gateway.open_card(access_token, body)
        self._store().set_biz_card_no(card.card_no, biz_card_no)
        return card, biz_card_no
