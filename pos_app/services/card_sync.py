"""Request bodies for the membership-card outbox (consume.sync and card.update), fixed at commit time.

Idempotency (DESIGN.md): consume.sync is keyed by the Alipay ``trade_no`` + ``trade_time`` (only a later
trade_time changes the card); card.update carries ``occur_time`` and the *absolute* point/level, so a
resend sets the same values again.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from pos_app.domain.money import format_gateway

from .ports.clock import BEIJING

__all__ = ["gateway_time", "card_target", "consume_sync_body", "card_update_body"]

logger = logging.getLogger(__name__)


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
