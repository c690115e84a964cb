"""Card events -> the outbox's Alipay requests (consume.sync and card.update), fixed at commit time.

Idempotency (DESIGN.md): consume.sync is keyed by the Alipay ``trade_no`` + ``trade_time`` (only a later
trade_time changes the card); card.update carries ``occur_time`` and the *absolute* point/level, so a
resend sets the same values again. The bodies are exactly those of the first build (services/card_sync.py
before issue 11): rows written by it are sent unchanged, and new rows look the same
(tests/integration/alipay/test_card_requests.py pins them byte for byte).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from pos_app.domain.money import format_gateway
from pos_app.services.ports.card_events import CardEvent, CardTrade, CardUpdate, OutboxRequest
from pos_app.services.ports.clock import BEIJING

__all__ = ["KIND_METHOD", "gateway_time", "card_target", "consume_sync_body", "card_update_body",
           "AlipayCardRequests"]

KIND_METHOD: Mapping[str, str] = {
    CardTrade.KIND: "alipay.marketing.card.consume.sync",
    CardUpdate.KIND: "alipay.marketing.card.update",
}
"""The Alipay method each outbox kind is sent with (stored in the row's ``method`` column)."""


def gateway_time(when: dt.datetime) -> str:
    """``yyyy-MM-dd HH:mm:ss`` in Beijing time, as the card APIs want it."""
    return when.astimezone(BEIJING).strftime("%Y-%m-%d %H:%M:%S")


def card_target(card_no: str, biz_card_no: str | None) -> dict[str, str]:
    """``target_card_no``/``_type``: the Alipay biz_card_no when known, else the external card number."""
    if biz_card_no:
        return {"target_card_no": biz_card_no, "target_card_no_type": "BIZ_CARD"}
    return {"target_card_no": card_no, "target_card_no_type": "EXTERNAL_CARD"}


def consume_sync_body(*, card_no: str, biz_card_no: str | None, level: str, trade_no: str, trade_time: dt.datetime,
                      trade_type: str, trade_name: str, trade_amount_fen: int, act_pay_amount_fen: int,
                      points_after: int, points_redeemed: int, discount_fen: int, shop_code: str,
                      memo: str = "") -> dict[str, Any]:
    """alipay.marketing.card.consume.sync: the trade plus the card state after it (absolute point/level)."""
    body: dict[str, Any] = {
        **card_target(card_no, biz_card_no),
        "trade_no": trade_no,
        "trade_time": gateway_time(trade_time),
        "trade_type": trade_type,
        "trade_name": trade_name,
        "trade_amount": format_gateway(trade_amount_fen),
        "act_pay_amount": format_gateway(act_pay_amount_fen),
        "card_info": {"external_card_no": card_no, "point": str(points_after), "level": level},
        "swipe_cert_type": "ALIPAY",
    }
    if points_redeemed and discount_fen:
        body["use_benefit_list"] = [{"benefit_type": "DISCOUNT", "amount": format_gateway(discount_fen),
                                     "description": f"{points_redeemed} points redeemed"}]
    if shop_code:
        body["shop_code"] = shop_code
    if memo:
        body["memo"] = memo
    return body


def card_update_body(*, card_no: str, biz_card_no: str | None, level: str, occur_time: dt.datetime,
                     points_after: int, changed_point: int) -> dict[str, Any]:
    """alipay.marketing.card.update: absolute point/level at ``occur_time`` and the signed change for the message."""
    return {
        **card_target(card_no, biz_card_no),
        "occur_time": gateway_time(occur_time),
        "card_info": {"external_card_no": card_no, "point": str(points_after), "level": level},
        "merchant_card_msg_info": {"changed_point": str(changed_point)},
    }


class AlipayCardRequests:
    """Implements the CardRequests port: a card event -> the request the outbox stores."""

    def request(self, event: CardEvent) -> OutboxRequest:
        if isinstance(event, CardTrade):
            body = consume_sync_body(
                card_no=event.card_no, biz_card_no=event.biz_card_no, level=event.level, trade_no=event.trade_no,
                trade_time=event.trade_time, trade_type="RETURN" if event.is_return else "TRADE",
                trade_name=event.trade_name, trade_amount_fen=event.trade_amount_fen,
                act_pay_amount_fen=event.act_pay_amount_fen, points_after=event.points_after,
                points_redeemed=event.points_redeemed, discount_fen=event.discount_fen, shop_code=event.shop_code,
                memo=event.memo)
        else:
            body = card_update_body(card_no=event.card_no, biz_card_no=event.biz_card_no, level=event.level,
                                    occur_time=event.occur_time, points_after=event.points_after,
                                    changed_point=event.changed_point)
        return OutboxRequest(event.KIND, KIND_METHOD[event.KIND], body)
