"""Every answer is bound to what was asked: per-method response validation.

Alipay signs the *content* of the ``*_response`` object, not its name. A validly signed answer of one
call (a ``card.update`` the sync worker sends all day, a ``trade.query`` of the same trade while the
buyer is confirming) can therefore be renamed and fed back as the answer to another call. The
signature alone proves only "Alipay said this once". An answer is believed here only when

* it carries the fields its method must return (a pay: ``out_trade_no``, ``trade_no``,
  ``total_amount``; a cancel: ``out_trade_no``, ``retry_flag``; ...),
* those fields name the request that was sent (same ``out_trade_no``; for pay the same
  ``total_amount``; for a refund query the same ``out_request_no``; for a card query the card asked
  about; for consume.sync the card's ``external_card_no``), and
* it carries no field that is the fingerprint of another method's answer (``trade_status`` is a
  query's, ``retry_flag``/``action`` a cancel's, ``fund_change`` a refund's, ``card_info`` a card
  query's, ``result_code`` a card update's, ...).

Anything else becomes :class:`GatewayUnknown` (cause ``binding``): the payment state machine then
queries and cancels; it never ends "paid", "failed" or "cancelled" on such an answer.

Definite failures are bound as far as Alipay's error bodies allow: a failure that names another
trade, carries another method's fields, or has a sub_code the method cannot return (a pay answered
``ACQ.TRADE_NOT_EXIST``, a card call answered with an ``ACQ.*`` trade code, a cancel failure without
its ``retry_flag``) is unknown too.

Card issuing (issue 15) is bound the same way: an image upload must answer an ``image_id``; a template
modify/query must name the template asked about; the activation URL must not name another template; an
oauth token must carry a token and a user; the activation form must carry ``infos``; and none of them may
carry another method's fingerprint (``image_id`` is an upload's, ``apply_card_url`` an activation URL's,
``access_token`` a token's, ``infos`` a form's, ``template_style_info`` a template query's).

Residual (documented, not fixable from the answer alone): ``card.update`` answers only
``result_code``, so one card's update answer cannot be told from another's (the update carries absolute
values and is resent until confirmed, so the worst case is a card showing stale points until the next
update); a dynamic member code (``D_QR_CODE``/``D_BAR_CODE``) is not echoed by ``card.query``. Of the issuing
calls, ``formtemplate.set`` answers nothing but its code (only a foreign field can give a renamed answer
away; the form is set again by the next run), an upload does not echo the image, an oauth token does not
echo the auth code and the activation form does not echo its request id: a genuine answer of the *same*
method for another request cannot be told apart (each is used once, at once, by the supervisor or the
opening endpoint, and the card opened is bound by ``card.open``'s ``external_card_no``).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from pos_app.domain.errors import MoneyError
from pos_app.domain.money import parse_gateway_amount
from pos_app.services.ports.gateway import (
    GatewayBusinessFailure,
    GatewayInProgress,
    GatewayResult,
    GatewaySuccess,
    GatewayUnknown,
)

__all__ = ["DISTINCT_FIELDS", "ALLOWED_FIELDS", "bind_answer"]

logger = logging.getLogger(__name__)

DISTINCT_FIELDS = frozenset({
    "out_trade_no", "trade_no", "total_amount", "trade_status", "retry_flag", "action", "fund_change",
    "refund_fee", "send_back_fee", "refund_status", "refund_amount", "out_request_no", "card_info",
    "schema_url", "result_code", "external_card_no", "template_id", "gmt_payment", "fund_bill_list",
    "image_id", "apply_card_url", "access_token", "infos", "template_style_info",
})
"""Top-level answer fields that identify which method an answer belongs to."""

_PAY = "alipay.trade.pay"
_QUERY = "alipay.trade.query"
_CANCEL = "alipay.trade.cancel"
_REFUND = "alipay.trade.refund"
_REFUND_QUERY = "alipay.trade.fastpay.refund.query"
_CARD_QUERY = "alipay.marketing.card.query"
_CARD_OPEN = "alipay.marketing.card.open"
_CARD_UPDATE = "alipay.marketing.card.update"
_CONSUME_SYNC = "alipay.marketing.card.consume.sync"
_TEMPLATE_CREATE = "alipay.marketing.card.template.create"
_TEMPLATE_MODIFY = "alipay.marketing.card.template.modify"
_TEMPLATE_QUERY = "alipay.marketing.card.template.query"
_IMAGE_UPLOAD = "alipay.offline.material.image.upload"
_FORM_SET = "alipay.marketing.card.formtemplate.set"
_ACTIVATE_URL = "alipay.marketing.card.activateurl.apply"
_OAUTH_TOKEN = "alipay.system.oauth.token"
_ACTIVATE_FORM = "alipay.marketing.card.activateform.query"

ALLOWED_FIELDS: Mapping[str, frozenset[str]] = {
    _PAY: frozenset({"out_trade_no", "trade_no", "total_amount", "gmt_payment", "fund_bill_list"}),
    _QUERY: frozenset({"out_trade_no", "trade_no", "total_amount", "trade_status", "gmt_payment", "fund_bill_list"}),
    _CANCEL: frozenset({"out_trade_no", "trade_no", "retry_flag", "action"}),
    _REFUND: frozenset({"out_trade_no", "trade_no", "fund_change", "refund_fee", "send_back_fee", "out_request_no"}),
    _REFUND_QUERY: frozenset({"out_trade_no", "trade_no", "out_request_no", "refund_status", "refund_amount",
                              "total_amount"}),
    _CARD_QUERY: frozenset({"card_info", "schema_url"}),
    _CARD_OPEN: frozenset({"card_info", "schema_url"}),
    _CARD_UPDATE: frozenset({"result_code"}),
    _CONSUME_SYNC: frozenset({"external_card_no"}),
    _TEMPLATE_CREATE: frozenset({"template_id"}),
    _TEMPLATE_MODIFY: frozenset({"template_id"}),
    _TEMPLATE_QUERY: frozenset({"template_id", "template_style_info"}),
    _IMAGE_UPLOAD: frozenset({"image_id"}),
    _FORM_SET: frozenset(),
    _ACTIVATE_URL: frozenset({"apply_card_url"}),
    _OAUTH_TOKEN: frozenset({"access_token"}),
    _ACTIVATE_FORM: frozenset({"infos"}),
}
"""Per method: which of the DISTINCT_FIELDS its answer may carry (any other one is another method's)."""

_PAY_FAILURES = frozenset({
    "ACQ.BUYER_BALANCE_NOT_ENOUGH", "ACQ.BUYER_BANKCARD_BALANCE_NOT_ENOUGH", "ACQ.PAYMENT_AUTH_CODE_INVALID",
    "ACQ.TRADE_HAS_CLOSE", "ACQ.CONTEXT_INCONSISTENT", "ACQ.TRADE_BUYER_NOT_MATCH",
    "ACQ.ERROR_BALANCE_PAYMENT_DISABLE", "ACQ.PULL_MOBILE_CASHIER_FAIL", "ACQ.MOBILE_PAYMENT_SWITCH_OFF",
    "ACQ.PAYMENT_FAIL", "ACQ.PAYMENT_REQUEST_HAS_RISK", "ACQ.NO_PAYMENT_INSTRUMENTS_AVAILABLE",
    "ACQ.USER_FACE_PAYMENT_SWITCH_OFF", "ACQ.BUYER_SELLER_EQUAL", "ACQ.BUYER_ENABLE_STATUS_FORBID",
    "ACQ.BUYER_PAYMENT_AMOUNT_DAY_LIMIT_ERROR", "ACQ.BUYER_PAYMENT_AMOUNT_MONTH_LIMIT_ERROR",
    "ACQ.BEYOND_PAY_RESTRICTION", "ACQ.BEYOND_PER_RECEIPT_RESTRICTION", "ACQ.TOTAL_FEE_EXCEED",
    "ACQ.SELLER_BEEN_BLOCKED", "ACQ.ACCESS_FORBIDDEN", "ACQ.INVALID_STORE_ID", "ACQ.PARTNER_ERROR",
    "ACQ.INVALID_PARAMETER", "ACQ.ERROR_BUYER_CERTIFY_LEVEL_LIMIT", "ACQ.EXIST_FORBIDDEN_WORD",
    "ACQ.TRADE_HAS_SUCCESS", "ACQ.SYSTEM_ERROR",
})
"""The refusals a pay can answer and the terminal acts on; any other failure of a pay (``isv.*`` included,
``ACQ.TRADE_NOT_EXIST`` of a query renamed, a card error) is an unknown outcome: query, then cancel."""

_TRADE_METHODS = frozenset({_PAY, _QUERY, _CANCEL, _REFUND, _REFUND_QUERY})
_ISSUING_METHODS = frozenset({_TEMPLATE_CREATE, _TEMPLATE_MODIFY, _TEMPLATE_QUERY, _IMAGE_UPLOAD, _FORM_SET,
                              _ACTIVATE_URL, _OAUTH_TOKEN, _ACTIVATE_FORM})
_CARD_METHODS = frozenset({_CARD_QUERY, _CARD_OPEN, _CARD_UPDATE, _CONSUME_SYNC, *_ISSUING_METHODS})


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _fen(value: Any) -> int | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        return parse_gateway_amount(value)
    except MoneyError:
        return None


def _foreign(method: str, body: Mapping[str, Any]) -> list[str]:
    allowed = ALLOWED_FIELDS.get(method, frozenset())
    return sorted(k for k in body if k in DISTINCT_FIELDS and k not in allowed)


def _success_problem(method: str, biz: Mapping[str, Any], body: Mapping[str, Any]) -> str:
    """Why a 10000/10003 answer is not about this request ("" when it is)."""
    foreign = _foreign(method, body)
    if foreign:
        return f"carries fields of another method's answer ({', '.join(foreign)})"
    if method in _TRADE_METHODS:
        sent = _text(biz.get("out_trade_no"))
        got = _text(body.get("out_trade_no"))
        if not got:
            return "has no out_trade_no"
        if got != sent:
            return "names another out_trade_no"
    if method == _PAY:
        if not _text(body.get("trade_no")):
            return "has no trade_no"
        if _fen(body.get("total_amount")) is None:
            return "has no total_amount"
        if body.get("code") == "10000" and _fen(body.get("total_amount")) != _fen(biz.get("total_amount")):
            return "names another total_amount"
    elif method == _QUERY:
        if _text(body.get("trade_status")) not in ("WAIT_BUYER_PAY", "TRADE_CLOSED", "TRADE_SUCCESS",
                                                   "TRADE_FINISHED"):
            return "has no valid trade_status"
        if _fen(body.get("total_amount")) is None:
            return "has no total_amount"
    elif method == _CANCEL:
        if _text(body.get("retry_flag")) not in ("Y", "N"):
            return "has no retry_flag"
    elif method == _REFUND:
        if _text(body.get("fund_change")) not in ("Y", "N"):
            return "has no fund_change"
        fee = _fen(body.get("refund_fee"))
        asked = _fen(biz.get("refund_amount"))
        if fee is None or asked is None or fee < asked:
            return "has no refund_fee covering the amount asked"
        if "out_request_no" in body and _text(body.get("out_request_no")) != _text(biz.get("out_request_no")):
            return "names another out_request_no"
        if "send_back_fee" in body and body.get("fund_change") == "Y" and _fen(body.get("send_back_fee")) != asked:
            return "names another refund amount"
    elif method == _REFUND_QUERY:
        status = _text(body.get("refund_status"))
        if status or "out_request_no" in body:
            if _text(body.get("out_request_no")) != _text(biz.get("out_request_no")):
                return "names another out_request_no"
        if status == "REFUND_SUCCESS" and _fen(body.get("refund_amount")) is None:
            return "has no refund_amount"
    elif method in (_CARD_QUERY, _CARD_OPEN):
        card = body.get("card_info")
        if not isinstance(card, Mapping) or not _text(card.get("biz_card_no")):
            return "has no card_info with a biz_card_no"
        if method == _CARD_QUERY:
            kind = _text(biz.get("target_card_no_type"))
            target = _text(biz.get("target_card_no"))
            if kind == "BIZ_CARD" and _text(card.get("biz_card_no")) != target:
                return "is about another card"
            if kind == "EXTERNAL_CARD" and _text(card.get("external_card_no")) != target:
                return "is about another card"
        else:
            ext = biz.get("card_ext_info")
            sent = _text(ext.get("external_card_no")) if isinstance(ext, Mapping) else ""
            if sent and _text(card.get("external_card_no")) != sent:
                return "is about another card"
    elif method == _CARD_UPDATE:
        if not _text(body.get("result_code")):
            return "has no result_code"
    elif method == _CONSUME_SYNC:
        info = biz.get("card_info")
        sent = _text(info.get("external_card_no")) if isinstance(info, Mapping) else ""
        got = _text(body.get("external_card_no"))
        if not got:
            return "has no external_card_no"
        if sent and got != sent:
            return "is about another card"
    elif method == _TEMPLATE_CREATE:
        if not _text(body.get("template_id")):
            return "has no template_id"
    elif method in (_TEMPLATE_MODIFY, _TEMPLATE_QUERY):
        asked_tid = _text(biz.get("template_id"))
        if _text(body.get("template_id")) != asked_tid:
            return "names another template" if body.get("template_id") else "has no template_id"
        if method == _TEMPLATE_QUERY and not isinstance(body.get("template_style_info"), Mapping):
            return "has no template_style_info"
    elif method == _IMAGE_UPLOAD:
        if not _text(body.get("image_id")):
            return "has no image_id"
    elif method == _ACTIVATE_URL:
        problem = _activation_url_problem(_text(body.get("apply_card_url")), _text(biz.get("template_id")))
        if problem:
            return problem
    elif method == _OAUTH_TOKEN:
        if not _text(body.get("access_token")) or not (_text(body.get("user_id")) or _text(body.get("open_id"))):
            return "has no access_token and user"
    elif method == _ACTIVATE_FORM:
        if "infos" not in body:
            return "has no infos"
    return ""


def _activation_url_problem(raw: str, template_id: str) -> str:
    """Why an ``apply_card_url`` is not the activation URL of ``template_id`` ("" when it is)."""
    import urllib.parse

    if not raw:
        return "has no apply_card_url"
    url = urllib.parse.unquote(raw) if raw[:12].upper().find("%3A") >= 0 else raw
    if not url.startswith(("http://", "https://", "alipays://")):
        return "has an apply_card_url that is not a URL"
    named = urllib.parse.parse_qs(urllib.parse.urlsplit(url).query).get("template_id")
    if named and named[0] != template_id:   # the sources do not say Alipay's URL always names it
        return "is the activation URL of another template"
    return ""


def _failure_problem(method: str, biz: Mapping[str, Any], res: GatewayBusinessFailure) -> str:
    """Why a definite failure cannot be believed as this request's answer ("" when it can)."""
    body = res.body
    foreign = _foreign(method, body)
    if foreign:
        return f"carries fields of another method's answer ({', '.join(foreign)})"
    other = _text(body.get("out_trade_no"))
    if method in _TRADE_METHODS and other and other != _text(biz.get("out_trade_no")):
        return "names another out_trade_no"
    sub = res.sub_code
    if method in _CARD_METHODS and sub.startswith(("ACQ.", "AQC.")):
        return f"a card call cannot answer the trade code {sub}"
    if method == _PAY and sub not in _PAY_FAILURES:
        return f"a pay cannot be refused with {sub or res.code}"
    if method == _CANCEL and _text(body.get("retry_flag")) not in ("Y", "N"):
        return "a cancel answer without retry_flag"
    if method in _TRADE_METHODS and method != _PAY and sub and not sub.startswith(("ACQ.", "AQC.", "isv.", "isp.",
                                                                                  "aop.")):
        return f"a trade call cannot answer {sub}"
    return ""


def bind_answer(method: str, biz: Mapping[str, Any] | None, result: GatewayResult) -> GatewayResult:
    """``result``, or :class:`GatewayUnknown` (cause ``binding``) when it is not an answer to this request.

    Methods this module does not know (the ``gateway call`` CLI can send anything) are returned unchanged.
    """
    if method not in ALLOWED_FIELDS:
        return result
    sent = biz or {}
    if isinstance(result, GatewaySuccess | GatewayInProgress):
        problem = _success_problem(method, sent, result.body)
    elif isinstance(result, GatewayBusinessFailure):
        problem = _failure_problem(method, sent, result)
    else:
        return result
    if not problem:
        return result
    logger.error("%s: the answer is not about this request (%s); outcome unknown", method, problem)
    return GatewayUnknown(f"answer not about this request: {problem}", "binding")
