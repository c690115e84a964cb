"""What Alipay's answer codes mean: the one table of sub-codes (services see the classification only).

``classify(code, sub_code)`` -> (FailureKind, reason): the kind says what to do (a definite refusal, try
again later, or the terminal's configuration is wrong); the reason is a stable code the UI turns into
the cashier's message (pos_app/ui/messages.py), empty when Alipay's answer has no specific meaning.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pos_app.services.ports.gateway import FailureKind, GatewayBusinessFailure, Refusal

__all__ = ["classify", "refusal", "business_failure", "SYSTEM_ERROR_SUB_CODES", "NO_SUCH_TRADE_SUB_CODES", "PAYMENT_REFUSALS", "TRANSIENT_SUB_CODES", "CONFIG_SUB_CODES",
           "CONFIG_CODES", "RATE_LIMIT_SUB_CODES"]

SYSTEM_ERROR_SUB_CODES = frozenset({"ACQ.SYSTEM_ERROR", "AQC.SYSTEM_ERROR"})
"""Alipay had a system error: the outcome of the call is not known (the client answers GatewayUnknown)."""
NO_SUCH_TRADE_SUB_CODES = frozenset({"ACQ.TRADE_NOT_EXIST"})
ALREADY_PAID_SUB_CODES = frozenset({"ACQ.TRADE_HAS_SUCCESS"})
UNAVAILABLE_CODE = "20000"   # the service is unavailable: the gateway cannot be used now (reason "service_unavailable")

TRANSIENT_SUB_CODES = frozenset({
    "ACQ.SYSTEM_ERROR", "AQC.SYSTEM_ERROR", "isv.service-busy", "isp.unknow-error", "aop.unknow-error",
    "isp.service-not-available", "isp.gateway-response-timeout",
})
# Problems of the terminal's configuration (keys, app id, clock), not of the request: a retry after the
# configuration is fixed succeeds.
CONFIG_SUB_CODES = frozenset({
    "isv.invalid-signature", "isv.invalid-app-id", "isv.invalid-timestamp", "isv.invalid-signature-type",
    "isv.invalid-charset", "isv.missing-signature-config", "isv.invalid-encrypt-type", "isv.invalid-encrypt",
    "isv.not-support-app-auth", "isv.insufficient-isv-permissions", "isv.insufficient-user-permissions",
})
CONFIG_CODES = frozenset({"20001", "40001", "40006"})
# Alipay asking the app to call less often (reason "rate_limited": a batch sender slows down). 20000
# isv.service-busy is the throttling code of alipay-api.md 2.3 [community] and the sandbox's "throttle"
# fault; Alipay publishes no numeric limits, and the access/call-limit business codes are the ones
# gateways use for a per-app or per-method quota [assumption: not in the shared notes].
RATE_LIMIT_SUB_CODES = frozenset({
    "isv.service-busy", "aop.ACCESS_LIMITED", "aop.access-limited", "isv.app-call-limited",
    "isv.method-call-limited", "isp.call-limited", "ACQ.ACCESS_LIMITED",
})

#: alipay.trade.pay refusals -> the reason code of the cashier's message
PAYMENT_REFUSALS: Mapping[str, str] = {
    "ACQ.BUYER_BALANCE_NOT_ENOUGH": "balance_not_enough",
    "ACQ.BUYER_BANKCARD_BALANCE_NOT_ENOUGH": "bankcard_balance_not_enough",
    "ACQ.PAYMENT_AUTH_CODE_INVALID": "auth_code_invalid",
    "ACQ.TRADE_HAS_CLOSE": "trade_closed",
    "ACQ.CONTEXT_INCONSISTENT": "context_inconsistent",
    "ACQ.TRADE_BUYER_NOT_MATCH": "buyer_not_match",
    "ACQ.ERROR_BALANCE_PAYMENT_DISABLE": "balance_payment_disabled",
    "ACQ.PULL_MOBILE_CASHIER_FAIL": "mobile_cashier_failed",
    "ACQ.MOBILE_PAYMENT_SWITCH_OFF": "mobile_payment_off",
    "ACQ.PAYMENT_FAIL": "payment_failed",
    "ACQ.PAYMENT_REQUEST_HAS_RISK": "risky",
    "ACQ.NO_PAYMENT_INSTRUMENTS_AVAILABLE": "no_instruments",
    "ACQ.USER_FACE_PAYMENT_SWITCH_OFF": "face_payment_off",
    "ACQ.BUYER_SELLER_EQUAL": "buyer_is_seller",
    "ACQ.BUYER_ENABLE_STATUS_FORBID": "buyer_restricted",
    "ACQ.BUYER_PAYMENT_AMOUNT_DAY_LIMIT_ERROR": "day_limit",
    "ACQ.BUYER_PAYMENT_AMOUNT_MONTH_LIMIT_ERROR": "month_limit",
    "ACQ.BEYOND_PAY_RESTRICTION": "beyond_pay_restriction",
    "ACQ.BEYOND_PER_RECEIPT_RESTRICTION": "beyond_receipt_restriction",
    "ACQ.TOTAL_FEE_EXCEED": "total_fee_exceed",
    "ACQ.SELLER_BEEN_BLOCKED": "seller_blocked",
    "ACQ.ACCESS_FORBIDDEN": "access_forbidden",
    "ACQ.INVALID_STORE_ID": "invalid_store_id",
    "ACQ.PARTNER_ERROR": "partner_error",
    "ACQ.INVALID_PARAMETER": "invalid_parameter",
    "ACQ.ERROR_BUYER_CERTIFY_LEVEL_LIMIT": "certify_level_limit",
    "ACQ.EXIST_FORBIDDEN_WORD": "forbidden_word",
    "isv.invalid-signature": "invalid_signature",
    "isv.invalid-timestamp": "invalid_timestamp",
    "isv.invalid-app-id": "invalid_app_id",
}


def classify(code: str, sub_code: str) -> tuple[FailureKind, str]:
    """The kind of a business failure and its reason code ("" when Alipay's answer has no specific meaning)."""
    reason = PAYMENT_REFUSALS.get(sub_code, "")
    if sub_code in RATE_LIMIT_SUB_CODES:
        return FailureKind.TRANSIENT, "rate_limited"
    if code == UNAVAILABLE_CODE:
        return FailureKind.TRANSIENT, reason or "service_unavailable"
    if sub_code in TRANSIENT_SUB_CODES:
        return FailureKind.TRANSIENT, reason
    if code in CONFIG_CODES or sub_code in CONFIG_SUB_CODES:
        return FailureKind.CONFIGURATION, reason
    return FailureKind.DEFINITE, reason


def refusal(sub_code: str, body: Mapping[str, Any]) -> Refusal:
    """What a refusal says about the request (a cancel carrying ``retry_flag`` "Y" asks to be sent again)."""
    if body.get("retry_flag") == "Y":
        return Refusal.RETRY_LATER
    if sub_code in NO_SUCH_TRADE_SUB_CODES:
        return Refusal.NO_SUCH_TRADE
    if sub_code in ALREADY_PAID_SUB_CODES:
        return Refusal.ALREADY_PAID
    return Refusal.OTHER


def business_failure(code: str, sub_code: str, sub_msg: str, body: Mapping[str, Any],
                     verified: bool = True) -> GatewayBusinessFailure:
    """A GatewayBusinessFailure with its classification filled in (the client and tests build them so)."""
    kind, reason = classify(code, sub_code)
    about = body.get("out_trade_no")
    # an invalid-signature answer's sub_msg echoes the whole signed request: keep it out of logs and screens
    detail = f"{code} {sub_code}" if sub_code == "isv.invalid-signature" else ""
    return GatewayBusinessFailure(code, sub_code, sub_msg, body, verified, kind=kind, reason=reason,
                                  refusal=refusal(sub_code, body), about=about if isinstance(about, str) else "",
                                  detail=detail)
