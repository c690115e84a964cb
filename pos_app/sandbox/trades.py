"""Trade rules of the sandbox: scripted buyers, pay, query, cancel, refund and refund query."""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import re
from collections.abc import Mapping
from typing import Any

from pos_app.domain.money import format_gateway

from .base import AUTH_CODE_RE, BEHAVIOURS, TS_FMT, Reply, SandboxError, StateBase, fail, money, ok, parse_ts

__all__ = ["TradeRules", "DEFAULT_TIMEOUT_EXPRESS_S"]

logger = logging.getLogger(__name__)

DEFAULT_TIMEOUT_EXPRESS_S = 3 * 3600


class TradeRules(StateBase):
    """alipay.trade.* behaviour on top of the shared state."""

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
        found = self.trades.get(self._tkey(app_id, out))
        return self._refresh(found) if found is not None else None

    def _save_trade(self, t: dict[str, Any]) -> None:
        self._dirty("trade", self._tkey(t["app_id"], t["out_trade_no"]), t)

    def _mark_paid(self, t: dict[str, Any], when: dt.datetime | None = None) -> None:
        t["status"] = "TRADE_SUCCESS"
        t["gmt_payment"] = (when or self.now()).strftime(TS_FMT)
        t["charges"].append({"kind": "charge", "fen": t["total_fen"], "at": t["gmt_payment"]})
        self._save_trade(t)
        self._queue_notification(t)

    def _queue_notification(self, t: dict[str, Any]) -> None:
        if t.get("notify_url"):
            self.pending_notifications.append(dict(t))

    def take_notifications(self) -> list[dict[str, Any]]:
        """Trade snapshots whose status change should be notified (drained)."""
        with self.lock:
            out, self.pending_notifications = self.pending_notifications, []
            return out

    def _refresh(self, t: dict[str, Any]) -> dict[str, Any]:
        """Apply time-driven transitions (delayed payment, timeout close, refund deadline)."""
        now = self.now()
        if t["status"] == "WAIT_BUYER_PAY":
            pay_at = parse_ts(t.get("pay_at"))
            expire = parse_ts(t.get("time_expire"))
            if pay_at is not None and now >= pay_at and (expire is None or pay_at < expire):
                self._mark_paid(t, pay_at)
            elif expire is not None and now >= expire:
                t["status"] = "TRADE_CLOSED"
                t["gmt_close"] = expire.strftime(TS_FMT)
                self._save_trade(t)
        deadline = self.meta["config"].get("refund_deadline_s")
        if t["status"] == "TRADE_SUCCESS" and deadline is not None:
            paid = parse_ts(t.get("gmt_payment"))
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

    def pay(self, app_id: str, biz: Mapping[str, Any], *, notify_url: str | None = None) -> Reply:
        """alipay.trade.pay."""
        out = biz.get("out_trade_no")
        auth_code = biz.get("auth_code")
        subject = biz.get("subject")
        total = money(biz.get("total_amount"))
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
            if t.get("placeholder"):
                return fail("ACQ.TRADE_HAS_CLOSE", "交易已经关闭")
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
        t = {
            "app_id": app_id, "out_trade_no": out, "trade_no": f"{now:%Y%m%d}2200{seq:016d}",
            "status": "WAIT_BUYER_PAY", "total_fen": total, "subject": subject,
            "auth_code_tail": auth_code[-4:], "buyer_user_id": uid, "buyer_logon_id": logon,
            "store_id": biz.get("store_id"), "terminal_id": biz.get("terminal_id"), "operator_id": biz.get("operator_id"),
            "gmt_create": now.strftime(TS_FMT), "gmt_payment": None, "gmt_close": None,
            "time_expire": (now + dt.timedelta(seconds=self._timeout_s(biz))).strftime(TS_FMT),
            "queries_left": None, "pay_at": None, "refunds": {}, "refund_fen": 0, "cancel_action": None,
            "charges": [], "behaviour": behaviour, "notify_url": notify_url or None,
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
        created = parse_ts(t.get("gmt_create"))
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
            self._queue_notification(t)
        elif t["status"] == "TRADE_FINISHED":
            return fail("ACQ.TRADE_STATUS_ERROR", "交易状态不合法", retry_flag="N")
        self._save_trade(t)
        return ok(trade_no=t["trade_no"], out_trade_no=t["out_trade_no"], retry_flag="N",
                  action=t.get("cancel_action") or None,
                  gmt_refund_pay=now_text if t.get("cancel_action") == "refund" else None)

    def refund(self, app_id: str, biz: Mapping[str, Any]) -> Reply:
        """alipay.trade.refund: cumulative, idempotent per out_request_no."""
        amount = money(biz.get("refund_amount"))
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
            self._queue_notification(t)
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
