"""The sandbox's gateway endpoint: request intake and checks, dispatch to the state, signed answers, faults."""

from __future__ import annotations

import collections
import dataclasses
import datetime as dt
import json
import logging
import threading
from collections.abc import Callable, Mapping
from typing import Any

from cryptography.hazmat.primitives.asymmetric import rsa

from pos_app.alipay.envelope import response_node
from pos_app.alipay.signing import sign_content, sign_string, verify_content
from pos_app.services.ports.clock import BEIJING

from .card_issuing import CARD_ISSUING_METHODS
from .faults import Fault, FaultBook
from .state import Reply, SandboxState, fail

__all__ = ["GatewayReply", "GatewayCore", "METHODS"]

logger = logging.getLogger(__name__)
_CALL = threading.local()

METHODS = (
    "alipay.trade.pay",
    "alipay.trade.query",
    "alipay.trade.cancel",
    "alipay.trade.refund",
    "alipay.trade.fastpay.refund.query",
    "alipay.marketing.card.query",
    "alipay.marketing.card.update",
    "alipay.marketing.card.consume.sync",
    "alipay.marketing.card.open",
    "alipay.marketing.card.template.create",
    "alipay.data.dataservice.bill.downloadurl.query",
    *CARD_ISSUING_METHODS,
)
_REQUIRED = (("app_id", "isv.missing-app-id"), ("method", "isv.missing-method"),
             ("sign_type", "isv.missing-signature-type"), ("sign", "isv.missing-signature"),
             ("timestamp", "isv.missing-timestamp"), ("version", "isv.missing-version"))
_CHARSETS = {"utf-8": "utf-8", "gbk": "gbk", "gb2312": "gb2312"}
_SIGN_ERR_PREFIX = "验签出错，建议检查签名字符串或签名私钥与应用公钥是否匹配，网关生成的验签字符串为："


@dataclasses.dataclass(frozen=True)
class _Enc:
    sign_type: str
    charset: str


@dataclasses.dataclass
class GatewayReply:
    """What the HTTP layer sends: ``drop`` closes the socket without an answer."""

    status: int = 200
    body: bytes = b""
    content_type: str = "application/json;charset=utf-8"  # the charset part follows the request's charset
    drop: bool = False
    delay_s: float = 0.0


@dataclasses.dataclass(frozen=True)
class App:
    app_id: str
    public_key: rsa.RSAPublicKey


class GatewayCore:
    """Turns decoded request params into a reply; thread-safe (the state has its own lock)."""

    def __init__(self, state: SandboxState, faults: FaultBook, gateway_key: rsa.RSAPrivateKey,
                 wrong_key: Callable[[], rsa.RSAPrivateKey], apps: Mapping[str, App]) -> None:
        self.state = state
        self.faults = faults
        self._gateway_key = gateway_key
        self._wrong_key = wrong_key
        self.apps = dict(apps)
        self.request_log: collections.deque[dict[str, Any]] = collections.deque(maxlen=2000)
        self._seq = 0

    # --- envelope ----------------------------------------------------------------------------

    def _encode(self, node: str, reply: Reply, enc: _Enc, *, key: rsa.RSAPrivateKey | None = None,
                whitespace: bool = False, sign: bool = True) -> bytes:
        content = json.dumps(reply, ensure_ascii=False, separators=(",", ":")).replace("/", "\\/")
        try:
            content.encode(enc.charset)
        except UnicodeEncodeError:  # text the charset cannot carry (echoed from the request): \\u escapes
            content = json.dumps(reply, ensure_ascii=True, separators=(",", ":")).replace("/", "\\/")
        signature = sign_content(content, key or self._gateway_key, enc.sign_type, enc.charset) if sign else ""
        if whitespace:
            text = f'{{"{node}"\n    :\n    {content} ,\n\n  "sign"  :  "{signature}"}}'
        else:
            text = f'{{"{node}":{content},"sign":"{signature}"}}'
        return text.encode(enc.charset, errors="replace")

    def _log(self, entry: dict[str, Any]) -> None:
        with self.state.lock:
            self._seq += 1
            entry["seq"] = self._seq
            self.request_log.append(entry)

    # --- checks ------------------------------------------------------------------------------

    def _check(self, params: Mapping[str, str]) -> tuple[Reply | None, str]:
        """Protocol checks; returns (error reply or None, the sign string)."""
        for name, sub_code in _REQUIRED:
            if not params.get(name):
                return fail(sub_code, f"缺少必选参数{name}", code="40001"), ""
        app = self.apps.get(params["app_id"])
        if app is None:
            return fail("isv.invalid-app-id", "无效的AppID参数", code="40002"), ""
        if params["method"] not in METHODS:
            return fail("isv.invalid-method", "不存在的方法名", code="40002"), ""
        charset = params.get("charset", "utf-8").lower()
        if charset not in _CHARSETS:
            return fail("isv.invalid-charset", "字符集错误", code="40002"), ""
        sign_type = params["sign_type"]
        if sign_type not in ("RSA2", "RSA"):
            return fail("isv.invalid-signature-type", "无效的签名类型", code="40002"), ""
        try:
            ts = dt.datetime.strptime(params["timestamp"], "%Y-%m-%d %H:%M:%S").replace(tzinfo=BEIJING)
        except ValueError:
            return fail("isv.invalid-timestamp", "非法的时间戳参数", code="40002"), ""
        window = self.state.config.get("timestamp_window_s")
        if window is not None and abs((ts - self.state.now()).total_seconds()) > float(window):
            return fail("isv.invalid-timestamp", "非法的时间戳参数", code="40002"), ""
        content = sign_string(params)
        if not verify_content(content, params["sign"], app.public_key, sign_type, _CHARSETS[charset]):
            return fail("isv.invalid-signature", _SIGN_ERR_PREFIX + content.replace("&", "&amp;"), code="40002"), content
        return None, content

    def _dispatch(self, method: str, app_id: str, biz: Mapping[str, Any], params: Mapping[str, str]) -> Reply:
        s = self.state
        with s.lock:
            try:
                if method == "alipay.trade.pay":
                    return s.pay(app_id, biz, notify_url=params.get("notify_url"))
                if method == "alipay.trade.query":
                    return s.query(app_id, biz)
                if method == "alipay.trade.cancel":
                    return s.cancel(app_id, biz)
                if method == "alipay.trade.refund":
                    return s.refund(app_id, biz)
                if method == "alipay.trade.fastpay.refund.query":
                    return s.refund_query(app_id, biz)
                if method == "alipay.marketing.card.query":
                    return s.card_query(app_id, biz)
                if method == "alipay.marketing.card.update":
                    return s.card_update(app_id, biz)
                if method == "alipay.marketing.card.consume.sync":
                    return s.consume_sync(app_id, biz)
                if method == "alipay.marketing.card.open":
                    return s.card_open(app_id, biz, auth_token=params.get("auth_token"))
                if method == "alipay.data.dataservice.bill.downloadurl.query":
                    return s.bill_download_url(app_id, biz)
                if method in CARD_ISSUING_METHODS:
                    return s.card_issuing(method, app_id, biz, params, getattr(_CALL, "files", {}))
                return s.template_create_checked(app_id, biz)
            finally:
                s.flush()

    # --- the endpoint ------------------------------------------------------------------------

    def handle(self, params: Mapping[str, str], http_method: str, *,
               files: Mapping[str, tuple[str, bytes]] | None = None) -> GatewayReply:
        """Process one gateway request (GET or POST, query merged with body, already form-decoded)."""
        _CALL.files = dict(files or {})  # per request thread (the core is shared by the server's threads)
        reply = self._handle(params, http_method)
        charset = _CHARSETS.get(params.get("charset", "utf-8").lower(), "utf-8")
        if reply.content_type.startswith("application/json"):
            reply.content_type = f"application/json;charset={charset}"
        return reply

    def _handle(self, params: Mapping[str, str], http_method: str) -> GatewayReply:
        method = params.get("method", "")
        fault = self.faults.take(method) if method else None
        entry: dict[str, Any] = {"at": self.state.now_text(), "http_method": http_method, "method": method,
                                 "params": dict(params), "fault": fault.kind if fault else None}
        sign_type = params["sign_type"] if params.get("sign_type") in ("RSA2", "RSA") else "RSA2"
        enc = _Enc(sign_type, _CHARSETS.get(params.get("charset", "utf-8").lower(), "utf-8"))
        node = response_node(method) if method in METHODS else "error_response"  # never echo unknown text as a key
        if fault is not None and fault.kind == "refuse" and not fault.applies_state:
            self._log(entry)
            return GatewayReply(drop=True)
        if fault is not None and not fault.applies_state:
            pre = self._fault_reply(fault, node, enc, None)
            if pre is not None:
                entry.update(code=None, sign_string=None, signature_ok=None)
                self._log(entry)
                return pre
        err, content = self._check(params)
        entry["sign_string"] = content
        entry["signature_ok"] = err is None
        if err is not None:
            reply = err
            if err.get("sub_code") in ("isv.missing-method", "isv.invalid-method"):
                node = "error_response"
        else:
            biz: Any = {}
            if "biz_content" in params:
                try:
                    biz = json.loads(params["biz_content"])
                except ValueError:
                    biz = None
            if not isinstance(biz, dict):
                reply = fail("isv.invalid-parameter", "biz_content不是合法的JSON对象", code="40002")
            else:
                reply = self._dispatch(method, params["app_id"], biz, params)
        entry["code"] = reply.get("code")
        entry["sub_code"] = reply.get("sub_code")
        self._log(entry)
        if fault is not None:
            out = self._fault_reply(fault, node, enc, reply)
            if out is not None:
                return out
        return GatewayReply(body=self._encode(node, reply, enc))

    def _fault_reply(self, fault: Fault, node: str, enc: _Enc, reply: Reply | None) -> GatewayReply | None:
        kind = fault.kind
        if kind == "refuse":
            return GatewayReply(drop=True)
        if kind == "http500":
            return GatewayReply(status=500, body=b"Internal Server Error", content_type="text/plain")
        if kind == "unavailable":
            return GatewayReply(body=self._encode(node, fail("isp.unknow-error", "系统繁忙", code="20000"), enc))
        if kind == "throttle":
            return GatewayReply(body=self._encode(node, fail("isv.service-busy", "服务繁忙，请稍后再试", code="20000"),
                                                  enc))
        if kind == "system_error":
            return GatewayReply(body=self._encode(node, fail("ACQ.SYSTEM_ERROR", "系统错误"), enc))
        if kind == "cancel_retry":
            return GatewayReply(body=self._encode(node, fail("ACQ.SYSTEM_ERROR", "系统错误", retry_flag="Y"), enc))
        if kind == "error_response":
            body = fail("ACQ.SYSTEM_ERROR", "系统错误")
            return GatewayReply(body=self._encode("error_response", body, enc, sign=False))
        if reply is None:
            return None
        if kind == "slow":
            return GatewayReply(body=self._encode(node, reply, enc), delay_s=fault.delay_s)
        if kind == "truncated":
            full = self._encode(node, reply, enc)
            return GatewayReply(body=full[: len(full) // 2])
        if kind == "wrong_key":
            return GatewayReply(body=self._encode(node, reply, enc, key=self._wrong_key()))
        if kind == "tamper_body":
            text = self._encode(node, reply, enc).decode(enc.charset)
            return GatewayReply(body=text.replace('"msg":"', '"msg":"X', 1).encode(enc.charset))
        if kind == "empty_sign":
            return GatewayReply(body=self._encode(node, reply, enc, sign=False))
        if kind == "whitespace":
            return GatewayReply(body=self._encode(node, reply, enc, whitespace=True))
        return None
