"""Membership-card events as the services know them, and the port that turns them into outbox requests.

The services say what happened to a card (a trade with its points after it, or new absolute points and
level); ``pos_app.alipay.card_requests`` turns that into the request the outbox stores and the sync
worker sends. The request's method and body are opaque here: fixed at commit time and never read again
above pos_app.alipay (the outbox keeps them byte for byte; DESIGN.md "idempotency").
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Mapping
from typing import Any, ClassVar, Protocol

__all__ = ["OUTBOX_KINDS", "CardTrade", "CardUpdate", "CardEvent", "OutboxRequest", "CardRequests"]

OUTBOX_KINDS = ("card.consume_sync", "card.update")
"""The kinds of outbox rows (the sync worker keeps each card's rows in order, and coalesces updates)."""


@dataclasses.dataclass(frozen=True, slots=True)
class CardTrade:
    """A sale or a return on a member card, with the card's state after it (absolute points and level).

    ``trade_no`` is the Alipay trade of the sale (a return names its sale's trade); ``kind`` is "sale"
    or "return"; points redeemed for ``discount_fen`` are reported as the benefit used.
    """

    KIND: ClassVar[str] = "card.consume_sync"

    card_no: str
    biz_card_no: str | None
    level: str
    trade_no: str
    trade_time: dt.datetime
    is_return: bool
    trade_name: str
    trade_amount_fen: int
    act_pay_amount_fen: int
    points_after: int
    points_redeemed: int
    discount_fen: int
    shop_code: str
    memo: str = ""


@dataclasses.dataclass(frozen=True, slots=True)
class CardUpdate:
    """The card's absolute points and level at ``occur_time``; ``changed_point`` is the signed change shown."""

    KIND: ClassVar[str] = "card.update"

    card_no: str
    biz_card_no: str | None
    level: str
    occur_time: dt.datetime
    points_after: int
    changed_point: int


CardEvent = CardTrade | CardUpdate


@dataclasses.dataclass(frozen=True, slots=True)
class OutboxRequest:
    """What the outbox stores for one card event: its kind, and the method and body the sync worker sends."""

    kind: str
    method: str
    body: Mapping[str, Any]


class CardRequests(Protocol):
    """Turns a card event into the request to store (implemented by pos_app.alipay.card_requests)."""

    def request(self, event: CardEvent) -> OutboxRequest: ...
