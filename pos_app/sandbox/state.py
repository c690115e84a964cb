"""The sandbox gateway's business state: trades, refunds, scripted buyers, cards, templates, dynamic codes, clock."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import logging
import re
import secrets
import threading
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pos_app.domain.errors import MoneyError
from pos_app.domain.money import format_gateway, parse_gateway_amount
from pos_app.services.ports import BEIJING

from .store import KvStore

__all__ = [
    "AUTH_CODE_RE",
    "BEHAVIOURS",
    "Reply",
    "SandboxState",
    "SandboxError",
]

logger = logging.getLogger(__name__)

AUTH_CODE_RE = re.compile(r"^(2[5-9]|30)\d{14,22}$")
BEHAVIOURS = ("success", "wait_then_success", "wait_forever", "balance_not_enough", "invalid", "refuse")
TS_FMT = "%Y-%m-%d %H:%M:%S"
DEFAULT_TIMEOUT_EXPRESS_S = 3 * 3600
MEMBER_CODE_TTL_S = 120.0

Reply = dict[str, Any]
"""The business part of a ``*_response`` object (code, msg, sub_code, fields)."""


class SandboxError(ValueError):
    """A bad admin request (unknown card, bad behaviour name, ...)."""


def ok(**fields: Any) -> Reply:
    return {"code": "10000", "msg": "Success", **{k: v for k, v in fields.items() if v is not None}}


def fail(sub_code: str, sub_msg: str, code: str = "40004", **fields: Any) -> Reply:
    msgs = {"40004": "Business Failed", "40002": "Invalid Arguments", "40001": "Missing Required Arguments",
            "20000": "Service Currently Unavailable"}
    return {"code": code, "msg": msgs.get(code, "Business Failed"), "sub_code": sub_code, "sub_msg": sub_msg,
            **{k: v for k, v in fields.items() if v is not None}}


def _money(value: Any) -> int | None:
    if not isinstance(value, str):
        return None
    if not re.fullmatch(r"\d{1,11}(\.\d{1,2})?", value):
        return None
    try:
        return parse_gateway_amount(value)
    except MoneyError:
        return None


def _parse_ts(value: Any) -> dt.datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return dt.datetime.strptime(value, TS_FMT).replace(tzinfo=BEIJING)
    except ValueError:
        return None


def _mask(value: str) -> str:
    return "*" * max(0, len(value) - 4) + value[-4:]


class SandboxState:
    """All sandbox state behind one lock. Every public method takes the lock and persists its changes."""

    KINDS = ("trade", "card", "template", "script", "dyncode", "meta")

    def __init__(self, data_dir: Path) -> None:
        self.lock = threading.RLock()
        self._store = KvStore(data_dir / "state.sqlite3")
        self._puts: dict[tuple[str, str], Any] = {}
        self._deletes: set[tuple[str, str]] = set()
        self.trades: dict[str, dict[str, Any]] = {}  # key: app_id + "/" + out_trade_no
        self.cards: dict[str, dict[str, Any]] = {}
        self.templates: dict[str, dict[str, Any]] = {}
        self.scripts: dict[str, dict[str, Any]] = {}
        self.dyncodes: dict[str, dict[str, Any]] = {}
        self.meta: dict[str, Any] = {}
        for kind, target in (("trade", self.trades), ("card", self.cards), ("template", self.templates),
                             ("script", self.scripts), ("dyncode", self.dyncodes), ("meta", self.meta)):
            for key, value in self._store.load(kind):
                target[key] = value
        self.meta.setdefault("clock_offset_s", 0.0)
        self.meta.setdefault("config", {"timestamp_window_s": 900, "cancel_window_s": 86400,
                                        "refund_deadline_s": None, "single_use_codes": False})

    # --- persistence -----------------------------------------------------------------------

    def _dirty(self, kind: str, key: str, value: Any) -> None:
        self._puts[(kind, key)] = value
        self._deletes.discard((kind, key))

    def _gone(self, kind: str, key: str) -> None:
        self._puts.pop((kind, key), None)
        self._deletes.add((kind, key))

    def flush(self) -> None:
        """Write every change made since the last flush in one transaction."""
        with self.lock:
            puts = [(k, key, v) for (k, key), v in self._puts.items()]
            deletes = list(self._deletes)
            self._puts.clear()
            self._deletes.clear()
            self._store.write(puts, deletes)

    def close(self) -> None:
        self.flush()
        self._store.close()

    def _meta(self, key: str, value: Any) -> None:
        self.meta[key] = value
        self._dirty("meta", key, value)

    def _next_seq(self, name: str) -> int:
        n = int(self.meta.get(name, 0)) + 1
        self._meta(name, n)
        return n

    def reset(self) -> None:
        """Forget trades, cards, templates, scripts, codes and the clock offset (keys stay)."""
        with self.lock:
            for d in (self.trades, self.cards, self.templates, self.scripts, self.dyncodes):
                d.clear()
            app = self.meta.get("app")
            self.meta.clear()
            self._puts.clear()
            self._deletes.clear()
            self._store.clear(keep_kinds=())
            self.meta.update({"clock_offset_s": 0.0, "config": {"timestamp_window_s": 900, "cancel_window_s": 86400,
                                                                 "refund_deadline_s": None, "single_use_codes": False}})
            if app is not None:
                self._meta("app", app)
            self._meta("clock_offset_s", 0.0)
            self._meta("config", self.meta["config"])
            self.flush()

    # --- clock and config ------------------------------------------------------------------

    def now(self) -> dt.datetime:
        """The sandbox's "now" (real time plus the settable offset), in GMT+8."""
        return (dt.datetime.now(dt.UTC) + dt.timedelta(seconds=float(self.meta["clock_offset_s"]))).astimezone(BEIJING)

    def now_text(self) -> str:
        return self.now().strftime(TS_FMT)

    def set_clock(self, when: dt.datetime | None = None, *, advance_s: float | None = None) -> dt.datetime:
        """Set "now" to ``when`` (naive = GMT+8) or move it by ``advance_s``; returns the new now."""
        with self.lock:
            if when is not None:
                if when.tzinfo is None:
                    when = when.replace(tzinfo=BEIJING)
                self._meta("clock_offset_s", (when - dt.datetime.now(dt.UTC)).total_seconds())
            if advance_s is not None:
                self._meta("clock_offset_s", float(self.meta["clock_offset_s"]) + advance_s)
            self.flush()
            return self.now()

    @property
    def config(self) -> dict[str, Any]:
        return dict(self.meta["config"])

    def configure(self, **changes: Any) -> dict[str, Any]:
        with self.lock:
            cfg = dict(self.meta["config"])
            for k, v in changes.items():
                if k not in cfg:
                    raise SandboxError(f"unknown config key {k!r} (known: {sorted(cfg)})")
                cfg[k] = v
            self._meta("config", cfg)
            self.flush()
            return cfg

    # --- scripted buyers -------------------------------------------------------------------

    def script_auth_code(self, auth_code: str, behaviour: str, *, queries: int = 1, after_s: float | None = None,
                         buyer_user_id: str | None = None, sub_code: str | None = None,
                         sub_msg: str | None = None) -> dict[str, Any]:
        """Map ``auth_code`` to a buyer behaviour (see BEHAVIOURS)."""
        if behaviour not in BEHAVIOURS:
            raise SandboxError(f"unknown behaviour {behaviour!r} (known: {', '.join(BEHAVIOURS)})")
        entry = {"behaviour": behaviour, "queries": int(queries), "after_s": after_s,
                 "buyer_user_id": buyer_user_id, "sub_code": sub_code, "sub_msg": sub_msg}
        with self.lock:
            self.scripts[auth_code] = entry
            self._dirty("script", auth_code, entry)
            self.flush()
        return entry

    def _buyer(self, auth_code: str) -> tuple[str, str]:
        script = self.scripts.get(auth_code) or {}
        uid = script.get("buyer_user_id")
        digest = hashlib.sha256(auth_code.encode()).hexdigest()
        if not uid:
            uid = "2088" + str(int(digest[:16], 16))[-12:].rjust(12, "0")
        logon = "138****" + str(int(digest[16:24], 16))[-4:].rjust(4, "0")
        return uid, logon

    # --- trades ----------------------------------------------------------------------------

    def _tkey(self, app_id: str, out_trade_no: str) -> str:
        return f"{app_id}/{out_trade_no}"

    def _find_trade(self, app_id: str, biz: Mapping[str, Any]) -> dict[str, Any] | None:
        trade_no = biz.get("trade_no")
        if isinstance(trade_no, str) and trade_no:
            for t in self.trades.values():
                if t["trade_no"] == trade_no and t["app_id"] == app_id:
                    return self._refresh(t)
            return None
        out = biz.get("out_trade_no")
        if not isinstance(out, str) or not out:
            return None
        t = self.trades.get(self._tkey(app_id, out))
        return self._refresh(t) if t is not None else None

    def _save_trade(self, t: dict[str, Any]) -> None:
        self._dirty("trade", self._tkey(t["app_id"], t["out_trade_no"]), t)

    def _mark_paid(self, t: dict[str, Any], when: dt.datetime | None = None) -> None:
        t["status"] = "TRADE_SUCCESS"
        t["gmt_payment"] = (when or self.now()).strftime(TS_FMT)
        t["charges"].append({"kind": "charge", "fen": t["total_fen"], "at": t["gmt_payment"]})
        self._save_trade(t)

    def _refresh(self, t: dict[str, Any]) -> dict[str, Any]:
        """Apply time-driven transitions (delayed payment, timeout close, refund deadline)."""
        now = self.now()
        if t["status"] == "WAIT_BUYER_PAY":
            pay_at = _parse_ts(t.get("pay_at"))
            expire = _parse_ts(t.get("time_expire"))
            if pay_at is not None and now >= pay_at and (expire is None or pay_at < expire):
                self._mark_paid(t, pay_at)
            elif expire is not None and now >= expire:
                t["status"] = "TRADE_CLOSED"
                t["gmt_close"] = expire.strftime(TS_FMT)
                self._save_trade(t)
        deadline = self.meta["config"].get("refund_deadline_s")
        if t["status"] == "TRADE_SUCCESS" and deadline is not None:
            paid = _parse_ts(t.get("gmt_payment"))
            if paid is not None and (now - paid).total_seconds() >= float(deadline):
                t["status"] = "TRADE_FINISHED"
                self._save_trade(t)
        return t

    def _trade_fields(self, t: dict[str, Any], *, zero_amounts: bool = False) -> dict[str, Any]:
        paid = t["status"] in ("TRADE_SUCCESS", "TRADE_FINISHED") or (t["status"] == "TRADE_CLOSED" and t.get("gmt_payment"))
        amount = "0.00" if zero_amounts or not paid else format_gateway(t["total_fen"])
        return {
            "trade_no": t["trade_no"],
            "out_trade_no": t["out_trade_no"],
            "buyer_logon_id": t["buyer_logon_id"],
            "buyer_user_id": t["buyer_user_id"],
            "total_amount": format_gateway(t["total_fen"]),
            "receipt_amount": amount,
            "buyer_pay_amount": amount,
            "point_amount": "0.00",
            "invoice_amount": amount,
        }

    def _timeout_s(self, biz: Mapping[str, Any]) -> float:
        text = biz.get("timeout_express")
        if isinstance(text, str):
            m = re.fullmatch(r"(\d+)([mhd])", text)
            if m:
                return int(m.group(1)) * {"m": 60, "h": 3600, "d": 86400}[m.group(2)]
        return DEFAULT_TIMEOUT_EXPRESS_S

    def pay(self, app_id: str, biz: Mapping[str, Any]) -> Reply:
        """alipay.trade.pay."""
        out = biz.get("out_trade_no")
        auth_code = biz.get("auth_code")
        subject = biz.get("subject")
        total = _money(biz.get("total_amount"))
        if not isinstance(out, str) or not re.fullmatch(r"[A-Za-z0-9_\-]{1,64}", out):
            return fail("ACQ.INVALID_PARAMETER", "参数无效：out_trade_no")
        if not isinstance(auth_code, str) or not auth_code:
            return fail("ACQ.INVALID_PARAMETER", "参数无效：auth_code")
        if not isinstance(subject, str) or not subject:
            return fail("ACQ.INVALID_PARAMETER", "参数无效：subject")
        if total is None or total <= 0:
            return fail("ACQ.INVALID_PARAMETER", "参数无效：订单总金额格式错误")
        key = self._tkey(app_id, out)
        existing = self.trades.get(key)
        if existing is not None:
            t = self._refresh(existing)
            if t["total_fen"] != total or t["subject"] != subject:
                return fail("ACQ.CONTEXT_INCONSISTENT", "交易信息被篡改")
            if self._buyer(auth_code)[0] != t["buyer_user_id"]:
                return fail("ACQ.TRADE_BUYER_NOT_MATCH", "交易买家不匹配")
            if t["status"] in ("TRADE_SUCCESS", "TRADE_FINISHED"):
                return fail("ACQ.TRADE_HAS_SUCCESS", "交易已被支付")
            if t["status"] == "TRADE_CLOSED":
                return fail("ACQ.TRADE_HAS_CLOSE", "交易已经关闭")
            return {"code": "10003", "msg": " order success pay inprocess", **self._trade_fields(t, zero_amounts=True)}
        if not AUTH_CODE_RE.match(auth_code):
            return fail("ACQ.PAYMENT_AUTH_CODE_INVALID", "支付失败，获取顾客账户信息失败，请顾客刷新付款码后重新收款")
        if self.meta["config"].get("single_use_codes") and auth_code in self.meta.get("used_codes", {}):
            return fail("ACQ.PAYMENT_AUTH_CODE_INVALID", "付款码已使用，请顾客刷新付款码后重新收款")
        script = self.scripts.get(auth_code) or {"behaviour": "success"}
        behaviour = script["behaviour"]
        if behaviour == "invalid":
            return fail("ACQ.PAYMENT_AUTH_CODE_INVALID", "支付失败，获取顾客账户信息失败，请顾客刷新付款码后重新收款")
        if behaviour == "balance_not_enough":
            return fail("ACQ.BUYER_BALANCE_NOT_ENOUGH", "买家余额不足")
        if behaviour == "refuse":
            return fail(script.get("sub_code") or "ACQ.PAYMENT_REQUEST_HAS_RISK", script.get("sub_msg") or "支付存在风险")
        uid, logon = self._buyer(auth_code)
        now = self.now()
        seq = self._next_seq("trade_seq")
        t: dict[str, Any] = {
            "app_id": app_id, "out_trade_no": out, "trade_no": f"{now:%Y%m%d}2200{seq:016d}",
            "status": "WAIT_BUYER_PAY", "total_fen": total, "subject": subject,
            "auth_code_tail": auth_code[-4:], "buyer_user_id": uid, "buyer_logon_id": logon,
            "store_id": biz.get("store_id"), "terminal_id": biz.get("terminal_id"), "operator_id": biz.get("operator_id"),
            "gmt_create": now.strftime(TS_FMT), "gmt_payment": None, "gmt_close": None,
            "time_expire": (now + dt.timedelta(seconds=self._timeout_s(biz))).strftime(TS_FMT),
            "queries_left": None, "pay_at": None, "refunds": {}, "refund_fen": 0, "cancel_action": None,
            "charges": [], "behaviour": behaviour,
        }
        self.trades[key] = t
        if self.meta["config"].get("single_use_codes"):
            used = dict(self.meta.get("used_codes", {}))
            used[auth_code] = out
            self._meta("used_codes", used)
        if behaviour == "success":
            self._mark_paid(t)
            return ok(**self._trade_fields(t), gmt_payment=t["gmt_payment"],
                      fund_bill_list=[{"fund_channel": "ALIPAYACCOUNT", "amount": format_gateway(total)}])
        if behaviour == "wait_then_success":
            t["queries_left"] = max(1, int(script.get("queries") or 1))
            if script.get("after_s") is not None:
                t["pay_at"] = (now + dt.timedelta(seconds=float(script["after_s"]))).strftime(TS_FMT)
                t["queries_left"] = None
        self._save_trade(t)
        return {"code": "10003", "msg": " order success pay inprocess", **self._trade_fields(t, zero_amounts=True)}

    def query(self, app_id: str, biz: Mapping[str, Any]) -> Reply:
        """alipay.trade.query."""
        t = self._find_trade(app_id, biz)
        if t is None or t.get("placeholder"):
            return fail("ACQ.TRADE_NOT_EXIST", "交易不存在")
        if t["status"] == "WAIT_BUYER_PAY" and t.get("queries_left") is not None:
            t["queries_left"] -= 1
            if t["queries_left"] <= 0:
                t["queries_left"] = None
                self._mark_paid(t)
            self._save_trade(t)
        return ok(**self._trade_fields(t), trade_status=t["status"], send_pay_date=t.get("gmt_payment"),
                  store_id=t.get("store_id"), terminal_id=t.get("terminal_id"), subject=t["subject"])

    def cancel(self, app_id: str, biz: Mapping[str, Any]) -> Reply:
        """alipay.trade.cancel: close an unpaid trade, refund a paid one; an unknown trade is closed ahead."""
        t = self._find_trade(app_id, biz)
        out = biz.get("out_trade_no")
        if t is None:
            if not isinstance(out, str) or not out:
                return fail("ACQ.TRADE_NOT_EXIST", "交易不存在", retry_flag="N")
            now = self.now()
            seq = self._next_seq("trade_seq")
            t = {"app_id": app_id, "out_trade_no": out, "trade_no": f"{now:%Y%m%d}2200{seq:016d}",
                 "status": "TRADE_CLOSED", "total_fen": 0, "subject": "", "auth_code_tail": "", "buyer_user_id": "",
                 "buyer_logon_id": "", "gmt_create": now.strftime(TS_FMT), "gmt_payment": None,
                 "gmt_close": now.strftime(TS_FMT), "time_expire": None, "queries_left": None, "pay_at": None,
                 "refunds": {}, "refund_fen": 0, "cancel_action": "", "charges": [], "placeholder": True}
            self.trades[self._tkey(app_id, out)] = t
            self._save_trade(t)
            return ok(out_trade_no=out, retry_flag="N")
        window = self.meta["config"].get("cancel_window_s")
        created = _parse_ts(t.get("gmt_create"))
        if window is not None and created is not None and (self.now() - created).total_seconds() > float(window):
            return fail("ACQ.TRADE_CANCEL_TIME_OUT", "超过撤销时间范围", retry_flag="N")
        now_text = self.now_text()
        if t["status"] == "WAIT_BUYER_PAY":
            t["status"] = "TRADE_CLOSED"
            t["gmt_close"] = now_text
            t["cancel_action"] = "close"
        elif t["status"] == "TRADE_SUCCESS":
            remaining = t["total_fen"] - t["refund_fen"]
            if remaining > 0:
                t["charges"].append({"kind": "cancel_refund", "fen": -remaining, "at": now_text})
            t["refund_fen"] = t["total_fen"]
            t["status"] = "TRADE_CLOSED"
            t["gmt_close"] = now_text
            t["cancel_action"] = "refund"
        elif t["status"] == "TRADE_FINISHED":
            return fail("ACQ.TRADE_STATUS_ERROR", "交易状态不合法", retry_flag="N")
        self._save_trade(t)
        return ok(trade_no=t["trade_no"], out_trade_no=t["out_trade_no"], retry_flag="N",
                  action=t.get("cancel_action") or None,
                  gmt_refund_pay=now_text if t.get("cancel_action") == "refund" else None)

    def refund(self, app_id: str, biz: Mapping[str, Any]) -> Reply:
        """alipay.trade.refund: cumulative, idempotent per out_request_no."""
        amount = _money(biz.get("refund_amount"))
        if amount is None or amount <= 0:
            return fail("ACQ.INVALID_PARAMETER", "参数无效：refund_amount")
        t = self._find_trade(app_id, biz)
        if t is None or t.get("placeholder"):
            return fail("ACQ.TRADE_NOT_EXIST", "交易不存在")
        req_no = biz.get("out_request_no") or t["out_trade_no"]
        fields = {"trade_no": t["trade_no"], "out_trade_no": t["out_trade_no"], "buyer_logon_id": t["buyer_logon_id"],
                  "buyer_user_id": t["buyer_user_id"]}
        prev = t["refunds"].get(req_no)
        if prev is not None:
            if prev["amount_fen"] != amount:
                return fail("ACQ.DISCORDANT_REPEAT_REQUEST", "请求信息不一致")
            return ok(**fields, fund_change="N", refund_fee=format_gateway(t["refund_fen"]),
                      gmt_refund_pay=prev["gmt"])
        if t["status"] == "WAIT_BUYER_PAY":
            return fail("ACQ.TRADE_STATUS_ERROR", "交易状态不合法")
        if t["status"] == "TRADE_FINISHED":
            return fail("ACQ.TRADE_HAS_FINISHED", "交易已完结")
        if t["status"] == "TRADE_CLOSED" and t["refund_fen"] < t["total_fen"] and not t.get("gmt_payment"):
            return fail("ACQ.TRADE_HAS_CLOSE", "交易已经关闭")
        if amount > t["total_fen"] - t["refund_fen"]:
            return fail("ACQ.REFUND_AMT_NOT_EQUAL_TOTAL", "退款金额超限")
        now_text = self.now_text()
        t["refunds"][req_no] = {"amount_fen": amount, "reason": biz.get("refund_reason"), "gmt": now_text}
        t["refund_fen"] += amount
        t["charges"].append({"kind": "refund", "fen": -amount, "at": now_text, "out_request_no": req_no})
        if t["refund_fen"] >= t["total_fen"]:
            t["status"] = "TRADE_CLOSED"
            t["gmt_close"] = now_text
        self._save_trade(t)
        return ok(**fields, fund_change="Y", refund_fee=format_gateway(t["refund_fen"]),
                  send_back_fee=format_gateway(amount), gmt_refund_pay=now_text)

    def refund_query(self, app_id: str, biz: Mapping[str, Any]) -> Reply:
        """alipay.trade.fastpay.refund.query."""
        t = self._find_trade(app_id, biz)
        if t is None or t.get("placeholder"):
            return fail("ACQ.TRADE_NOT_EXIST", "交易不存在")
        req_no = biz.get("out_request_no") or t["out_trade_no"]
        r = t["refunds"].get(req_no)
        if r is None:
            return ok(trade_no=t["trade_no"], out_trade_no=t["out_trade_no"])
        return ok(trade_no=t["trade_no"], out_trade_no=t["out_trade_no"], out_request_no=req_no,
                  refund_status="REFUND_SUCCESS", refund_amount=format_gateway(r["amount_fen"]),
                  total_amount=format_gateway(t["total_fen"]), gmt_refund_pay=r["gmt"])

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
        ext = biz.get("card_ext_info") if isinstance(biz.get("card_ext_info"), Mapping) else {}
        user = biz.get("card_user_info") if isinstance(biz.get("card_user_info"), Mapping) else {}
        member = biz.get("member_ext_info") if isinstance(biz.get("member_ext_info"), Mapping) else {}
        card = self._issue(tpl, ext, user_id=str(user.get("user_uni_id") or ""), name=str(member.get("name") or ""),
                           phone=str(member.get("cell") or ""), out_serial_no=serial)
        return ok(card_info=self._card_info(card))

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
            "out_serial_no": out_serial_no, "last_trade_time": None, "synced_trades": [], "history": [],
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
        return ok(card_info=self._card_info(card), schema_url=f"alipays://platformapi/startapp?card={_mask(card['biz_card_no'])}")

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
        if _parse_ts(occur) is None:
            return fail("INVALID_PARAMETER", "occur_time 格式错误")
        info = biz.get("card_info")
        if not isinstance(info, Mapping):
            return fail("INVALID_PARAMETER", "card_info 不能为空")
        if info.get("point") not in (None, "") and _money(str(info.get("point"))) is None:
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
        trade_time = _parse_ts(biz.get("trade_time"))
        if not isinstance(trade_no, str) or not trade_no:
            return fail("INVALID_PARAMETER", "trade_no 不能为空")
        if trade_time is None:
            return fail("INVALID_PARAMETER", "trade_time 格式错误")
        if not any(t["trade_no"] == trade_no and not t.get("placeholder") for t in self.trades.values()):
            return fail("TRADE_NOT_EXIST", "交易不存在")
        if trade_no in card["synced_trades"]:
            return ok(external_card_no=card["external_card_no"])
        last = _parse_ts(card.get("last_trade_time"))
        applied = last is None or trade_time > last
        info = biz.get("card_info")
        if applied:
            if isinstance(info, Mapping):
                self._apply_card_info(card, info)
            card["last_trade_time"] = biz["trade_time"]
        card["synced_trades"].append(trade_no)
        card["history"].append({"kind": "consume_sync", "at": self.now_text(), "trade_no": trade_no,
                                "trade_time": biz["trade_time"], "applied": applied, "point": card["point"],
                                "balance": card["balance"], "level": card["level"]})
        self._dirty("card", card["biz_card_no"], card)
        return ok(external_card_no=card["external_card_no"])

    # --- demo seeding ----------------------------------------------------------------------

    def seed_demo(self, members_path: Path) -> int:
        """Issue a card per member in ``members_path`` (tolerates a missing file); returns how many exist."""
        try:
            import json

            members = json.loads(members_path.read_text("utf-8"))
        except FileNotFoundError:
            logger.info("no demo members file at %s; nothing seeded", members_path)
            return 0
        except (OSError, ValueError) as exc:
            logger.warning("cannot read demo members %s: %s", members_path, exc)
            return 0
        if isinstance(members, Mapping):
            members = members.get("members", [])
        n = 0
        for m in members if isinstance(members, list) else []:
            if not isinstance(m, Mapping) or not m.get("card_no"):
                continue
            self.issue_card(external_card_no=str(m["card_no"]), name=str(m.get("name") or ""),
                            phone=str(m.get("phone") or ""), level=str(m.get("level") or ""),
                            points=int(m.get("points") or 0))
            n += 1
        return n

    # --- introspection ---------------------------------------------------------------------

    def trade_list(self) -> list[dict[str, Any]]:
        with self.lock:
            return [dict(self._refresh(t)) for t in self.trades.values() if not t.get("placeholder")]

    def card_list(self) -> list[dict[str, Any]]:
        with self.lock:
            return [dict(c) for c in self.cards.values()]

    def monotonic(self) -> float:
        return time.monotonic()
