"""Membership-card rules of the sandbox: templates, cards, dynamic member codes, update and consume.sync."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import logging
import secrets
from collections.abc import Mapping
from typing import Any

from .base import MEMBER_CODE_TTL_S, TS_FMT, Reply, SandboxError, StateBase, fail, mask, money, ok, parse_ts

__all__ = ["CardRules"]

logger = logging.getLogger(__name__)


class CardRules(StateBase):
    """alipay.marketing.card.* behaviour on top of the shared state."""

    # --- membership cards ------------------------------------------------------------------

    def template_create(self, app_id: str, biz: Mapping[str, Any]) -> Reply:
        """alipay.marketing.card.template.create (idempotent by request_id)."""
        request_id = biz.get("request_id")
        if not isinstance(request_id, str) or not request_id:
            return fail("INVALID_PARAMETER", "request_id 不能为空")
        for tpl in self.templates.values():
            if tpl["request_id"] == request_id:
                return ok(template_id=tpl["template_id"])
        seq = self._next_seq("template_seq")
        tid = f"2025{seq:016d}"
        tpl = {
            "template_id": tid, "request_id": request_id, "app_id": app_id,
            "card_type": biz.get("card_type") or "OUT_MEMBER_CARD",
            "biz_no_prefix": str(biz.get("biz_no_prefix") or "SB"),
            "biz_no_suffix_len": int(biz.get("biz_no_suffix_len") or 12),
            "write_off_type": biz.get("write_off_type") or "dbarcode",
            "card_seq": 0, "created": self.now_text(),
        }
        self.templates[tid] = tpl
        self._dirty("template", tid, tpl)
        return ok(template_id=tid)

    def card_open(self, app_id: str, biz: Mapping[str, Any], *, auth_token: str | None) -> Reply:
        """alipay.marketing.card.open (idempotent by out_serial_no; auth_token required)."""
        if not auth_token:
            return fail("isv.missing-auth-token", "缺少用户授权令牌auth_token", code="40001")
        serial = biz.get("out_serial_no")
        tid = biz.get("card_template_id")
        if not isinstance(serial, str) or not serial:
            return fail("INVALID_PARAMETER", "out_serial_no 不能为空")
        for card in self.cards.values():
            if card.get("out_serial_no") == serial:
                return ok(card_info=self._card_info(card))
        tpl = self.templates.get(str(tid))
        if tpl is None:
            return fail("TEMPLATE_NOT_EXIST", "模板不存在")
        ext = self._obj(biz, "card_ext_info")
        user = self._obj(biz, "card_user_info")
        member = self._obj(biz, "member_ext_info")
        card = self._issue(tpl, ext, user_id=str(user.get("user_uni_id") or ""), name=str(member.get("name") or ""),
                           phone=str(member.get("cell") or ""), out_serial_no=serial)
        return ok(card_info=self._card_info(card))

    @staticmethod
    def _obj(biz: Mapping[str, Any], key: str) -> Mapping[str, Any]:
        value = biz.get(key)
        return value if isinstance(value, Mapping) else {}

    def _issue(self, tpl: dict[str, Any], ext: Mapping[str, Any], *, user_id: str, name: str, phone: str,
               out_serial_no: str) -> dict[str, Any]:
        tpl["card_seq"] += 1
        self._dirty("template", tpl["template_id"], tpl)
        width = max(1, int(tpl["biz_no_suffix_len"]) - 2)
        biz_card_no = f"{tpl['biz_no_prefix']}10{tpl['card_seq']:0{width}d}"
        now = self.now()
        if not user_id:
            user_id = "2088" + hashlib.sha256(biz_card_no.encode()).hexdigest()[:12].translate(
                str.maketrans("abcdef", "123456"))
        card = {
            "biz_card_no": biz_card_no, "template_id": tpl["template_id"],
            "external_card_no": str(ext.get("external_card_no") or biz_card_no),
            "user_id": user_id, "name": name, "phone": phone,
            "level": str(ext.get("level") or ""), "point": str(ext.get("point") or "0"),
            "balance": str(ext.get("balance") or "0.00"),
            "open_date": str(ext.get("open_date") or now.strftime(TS_FMT)),
            "valid_date": str(ext.get("valid_date") or (now + dt.timedelta(days=3650)).strftime(TS_FMT)),
            "out_serial_no": out_serial_no, "last_trade_time": None, "synced_trades": [], "synced_events": [], "history": [],
        }
        card["history"].append({"kind": "open", "at": now.strftime(TS_FMT), "point": card["point"],
                                "balance": card["balance"], "level": card["level"]})
        self.cards[biz_card_no] = card
        self._dirty("card", biz_card_no, card)
        return card

    def issue_card(self, *, external_card_no: str, name: str = "", phone: str = "", level: str = "",
                   points: int | str = 0, balance: str = "0.00", template_id: str | None = None) -> dict[str, Any]:
        """Test/demo hook: issue a card (idempotent by external_card_no) on the given or the demo template."""
        with self.lock:
            for card in self.cards.values():
                if card["external_card_no"] == external_card_no:
                    return dict(card)
            if template_id is None:
                self.template_create("sandbox", {"request_id": "sandbox-demo-template", "biz_no_prefix": "DEMO",
                                                 "write_off_type": "dbarcode"})
                template_id = next(t["template_id"] for t in self.templates.values()
                                   if t["request_id"] == "sandbox-demo-template")
            tpl = self.templates.get(template_id)
            if tpl is None:
                raise SandboxError(f"no template {template_id!r}")
            card = self._issue(tpl, {"external_card_no": external_card_no, "level": level, "point": str(points),
                                     "balance": balance}, user_id="", name=name, phone=phone,
                               out_serial_no=f"issue-{external_card_no}")
            self.flush()
            return dict(card)

    def _card_info(self, card: Mapping[str, Any]) -> dict[str, Any]:
        return {k: card[k] for k in ("biz_card_no", "external_card_no", "open_date", "valid_date", "level", "point",
                                     "balance") if card.get(k) not in (None, "")}

    def mint_member_code(self, biz_card_no: str, ttl_s: float = MEMBER_CODE_TTL_S) -> dict[str, Any]:
        """A dynamic member code ("DM" + 22 base32 chars; never matches the payment-code pattern)."""
        with self.lock:
            if biz_card_no not in self.cards:
                raise SandboxError(f"no card {biz_card_no!r}")
            code = "DM" + base64.b32encode(secrets.token_bytes(15)).decode("ascii").rstrip("=")[:22]
            expires = self.now() + dt.timedelta(seconds=ttl_s)
            entry = {"biz_card_no": biz_card_no, "expires_at": expires.strftime(TS_FMT), "expires_epoch": expires.timestamp()}
            self.dyncodes[code] = entry
            self._dirty("dyncode", code, entry)
            self.flush()
            return {"code": code, **entry}

    def _resolve_card(self, number: Any, kind: Any) -> tuple[dict[str, Any] | None, Reply | None]:
        if not isinstance(number, str) or not number:
            return None, fail("INVALID_PARAMETER", "target_card_no 不能为空")
        if kind == "BIZ_CARD":
            card = self.cards.get(number)
        elif kind == "EXTERNAL_CARD":
            card = next((c for c in self.cards.values() if c["external_card_no"] == number), None)
        elif kind in ("D_QR_CODE", "D_BAR_CODE"):
            entry = self.dyncodes.get(number)
            if entry is None:
                return None, fail("CARD_CODE_INVALID", "会员卡动态码无效")
            if self.now().timestamp() >= float(entry["expires_epoch"]):
                return None, fail("CARD_CODE_EXPIRED", "会员卡动态码已过期，请刷新后重试")
            card = self.cards.get(entry["biz_card_no"])
        else:
            return None, fail("INVALID_PARAMETER", f"不支持的target_card_no_type: {kind}")
        if card is None:
            return None, fail("CARD_NOT_EXIST", "会员卡不存在")
        return card, None

    def card_query(self, app_id: str, biz: Mapping[str, Any]) -> Reply:
        """alipay.marketing.card.query (BIZ_CARD, EXTERNAL_CARD, D_QR_CODE, D_BAR_CODE)."""
        card, err = self._resolve_card(biz.get("target_card_no"), biz.get("target_card_no_type"))
        if err is not None or card is None:
            return err or fail("CARD_NOT_EXIST", "会员卡不存在")
        return ok(card_info=self._card_info(card), schema_url=f"alipays://platformapi/startapp?card={mask(card['biz_card_no'])}")

    def _apply_card_info(self, card: dict[str, Any], info: Mapping[str, Any]) -> None:
        for k in ("point", "balance", "level", "external_card_no"):
            v = info.get(k)
            if v is not None and v != "":
                card[k] = str(v)

    def card_update(self, app_id: str, biz: Mapping[str, Any]) -> Reply:
        """alipay.marketing.card.update: absolute values, occur_time required."""
        card, err = self._resolve_card(biz.get("target_card_no"), biz.get("target_card_no_type") or "BIZ_CARD")
        if err is not None or card is None:
            return err or fail("CARD_NOT_EXIST", "会员卡不存在")
        occur = biz.get("occur_time")
        if parse_ts(occur) is None:
            return fail("INVALID_PARAMETER", "occur_time 格式错误")
        info = biz.get("card_info")
        if not isinstance(info, Mapping):
            return fail("INVALID_PARAMETER", "card_info 不能为空")
        if info.get("point") not in (None, "") and money(str(info.get("point"))) is None:
            return fail("INVALID_PARAMETER", "point 格式错误")
        self._apply_card_info(card, info)
        card["history"].append({"kind": "update", "at": self.now_text(), "occur_time": occur, "point": card["point"],
                                "balance": card["balance"], "level": card["level"]})
        self._dirty("card", card["biz_card_no"], card)
        return ok(result_code="SUCCESS")

    def consume_sync(self, app_id: str, biz: Mapping[str, Any]) -> Reply:
        """alipay.marketing.card.consume.sync: idempotent by trade_no; card_info applied only for a later trade_time."""
        card, err = self._resolve_card(biz.get("target_card_no"), biz.get("target_card_no_type") or "BIZ_CARD")
        if err is not None or card is None:
            return err or fail("CARD_NOT_EXIST", "会员卡不存在")
        trade_no = biz.get("trade_no")
        trade_time = parse_ts(biz.get("trade_time"))
        if not isinstance(trade_no, str) or not trade_no:
            return fail("INVALID_PARAMETER", "trade_no 不能为空")
        if trade_time is None:
            return fail("INVALID_PARAMETER", "trade_time 格式错误")
        if not any(t["trade_no"] == trade_no and not t.get("placeholder") for t in self.trades.values()):
            return fail("TRADE_NOT_EXIST", "交易不存在")
        # One event per (trade_no, trade_type, trade_time): a RETURN for a refund carries the sale's
        # trade_no with a later trade_time, and each partial refund its own time; a resend is a no-op.
        event_key = f"{trade_no}|{biz.get('trade_type') or 'TRADE'}|{biz['trade_time']}"
        events = card.setdefault("synced_events", [])
        if event_key in events:
            return ok(external_card_no=card["external_card_no"])
        events.append(event_key)
        last = parse_ts(card.get("last_trade_time"))
        applied = last is None or trade_time > last
        info = biz.get("card_info")
        if applied:
            if isinstance(info, Mapping):
                self._apply_card_info(card, info)
            card["last_trade_time"] = biz["trade_time"]
        card["synced_trades"].append(trade_no)
        card["history"].append({"kind": "consume_sync", "at": self.now_text(), "trade_no": trade_no,
                                "trade_type": biz.get("trade_type") or "TRADE", "trade_time": biz["trade_time"], "applied": applied, "point": card["point"],
                                "balance": card["balance"], "level": card["level"]})
        self._dirty("card", card["biz_card_no"], card)
        return ok(external_card_no=card["external_card_no"])
