"""Messages by reason code: the English text of every Reason a service sends (the message id that
resources/i18n/zh_CN.json translates) and the one function that words a Reason in the cashier's language.

Services send codes with parameters (pos_app/services/reasons.py); nothing here parses a sentence.
"""

from __future__ import annotations

from collections.abc import Callable

from pos_app.services.reasons import Reason

__all__ = ["REFUSALS", "MESSAGES", "format_reason", "error_text"]

Tr = Callable[..., str]

#: why Alipay refused a payment (reason codes from pos_app/alipay/subcodes.py and services/payment.py)
REFUSALS: dict[str, str] = {
    "balance_not_enough": "the customer's balance is not enough: ask for another payment method or cash",
    "bankcard_balance_not_enough": "the customer's bank card balance is not enough: ask for another payment method or cash",
    "auth_code_invalid": "the payment code has expired: ask the customer to refresh it",
    "trade_closed": "this payment was already closed: scan a new payment code",
    "context_inconsistent": "this payment number was used for another order: start the payment again",
    "buyer_not_match": "this payment belongs to another customer: start the payment again",
    "balance_payment_disabled": "the customer's balance payment is switched off: ask for another payment method or cash",
    "mobile_cashier_failed": "the customer's phone could not confirm the payment: scan the payment code again",
    "mobile_payment_off": "mobile payment is switched off for this customer: ask for another payment method or cash",
    "payment_failed": "Alipay refused the payment: ask for another payment method or cash",
    "risky": "Alipay refused the payment as risky: ask for another payment method or cash",
    "no_instruments": "the customer has no usable payment method in Alipay: ask for cash",
    "face_payment_off": "face payment is switched off for this customer: ask the customer to show the payment code",
    "buyer_is_seller": "the customer and the shop are the same Alipay account: ask for another payment method or cash",
    "buyer_restricted": "the customer's Alipay account is restricted: ask for another payment method or cash",
    "day_limit": "the customer reached the daily payment limit: ask for another payment method or cash",
    "month_limit": "the customer reached the monthly payment limit: ask for another payment method or cash",
    "beyond_pay_restriction": "the amount is above what the customer may pay: ask for another payment method or cash",
    "beyond_receipt_restriction": "the amount is above the limit for one payment: ask for another payment method or cash",
    "total_fee_exceed": "the amount is too large for one payment: ask for another payment method or cash",
    "seller_blocked": "the shop's Alipay account is blocked: call a supervisor",
    "access_forbidden": "the shop's Alipay contract does not allow this: call a supervisor",
    "invalid_store_id": "the store id is not known to Alipay: call a supervisor",
    "partner_error": "the shop's Alipay set-up is wrong: call a supervisor",
    "invalid_parameter": "Alipay rejected the payment request: call a supervisor",
    "certify_level_limit": "the customer's account is not verified enough for this payment: ask for another payment method or cash",
    "forbidden_word": "the sale description was refused by Alipay: call a supervisor",
    "invalid_signature": "the terminal's Alipay key is wrong: call a supervisor",
    "invalid_timestamp": "the terminal's clock is wrong: call a supervisor",
    "invalid_app_id": "the terminal's Alipay app id is wrong: call a supervisor",
    "closed_before_confirmed": "the payment was closed before the customer confirmed it: scan a new payment code",
    "no_record": "Alipay has no record of this payment; no money was taken: scan the payment code again or ask for cash",
    "refused": "Alipay refused the payment ({code}): ask for another payment method",
}

#: every other reason code -> its English template ({name} placeholders are the reason's parameters)
MESSAGES: dict[str, str] = {
    "payment.sending": "sending the payment to Alipay…",
    "payment.waiting": "waiting for the customer to confirm in Alipay — {seconds} s",
    "payment.checking": "the result is not known yet — do not hand over goods; checking…",
    "payment.cancelling": "cancelling the payment with Alipay — do not hand over goods…",
    "payment.cancelled": "the payment was cancelled; no money was taken: scan a new payment code or ask for cash",
    "payment.cancelled_refunded": "the payment was cancelled and the money was returned to the customer: scan a new payment code or ask for cash",
    "payment.unknown": "the result is not known — do not hand over goods; a supervisor must check this payment (it will be checked again automatically)",
    "payment.paid": "paid {amount} with Alipay",
    "payment.recovering": "checking an earlier payment that was not finished…",
    "payment.closed": "the payment was closed; no money was kept: scan a new payment code or ask for cash",
    "payment.orphan_refunded": "{amount} was refunded to the customer",
    "unknown_product": "product {code} is not in the catalogue: key the price as an open-price line, or call a supervisor",
    "disk_full": "the disk is full: the sale was kept; free some space or call a supervisor, then take the payment again",
    "locked": "the database is busy: try again in a moment",
    "read_only": "the data folder cannot be written: call a supervisor",
    "corrupt": "the database is damaged: call a supervisor",
    "too_new": "the database was written by a newer version of the terminal: call a supervisor",
    "unavailable": "the terminal cannot reach its data: call a supervisor",
    "recovery_running": "Earlier payments are still being checked; scan again in a moment",
    "paid_not_saved": "The customer paid but the sale could not be saved: call a supervisor",
    # store mode: points held at the store before payment (pos_app/store_points.py)
    "points.store_short": "The store has only {balance} points for this member: {points} cannot be redeemed "
                          "(another lane may have used them)",
    "points.offline_no_balance": "Store offline: this lane has no store balance for this member, points cannot "
                                 "be redeemed now",
    "points.offline_stale": "Store offline: this lane's store balance for this member is {hours} h old, points "
                            "cannot be redeemed now",
    "points.offline_cap": "Store offline: at most {cap} points per member per day can be redeemed offline "
                          "({used} already today)",
    "points.offline_shown": "Store offline: this member has {shown} points on this lane",
    "points.offline_needs_supervisor": "The store is offline: a supervisor must approve redeeming more than "
                                       "{above} points ({points} asked)",
}


def format_reason(tr: Tr, reason: Reason) -> str:
    """The cashier's text for ``reason`` in the translator's language ("" for an empty reason)."""
    values = reason.values
    if reason.code == "payment.failed":
        refusal = REFUSALS.get(values.get("refusal", ""), REFUSALS["refused"])
        return tr("payment failed: {reason}", reason=tr(refusal, code=values.get("code", "")))
    if reason.code == "payment.unknown_cancel_refused":
        return (
            tr(MESSAGES["payment.unknown"])
            + ": "
            + tr("Alipay refused to cancel ({code})", code=values.get("code", ""))
        )
    if reason.code in REFUSALS:
        return tr(REFUSALS[reason.code], **values)
    template = MESSAGES.get(reason.code)
    return tr(template, **values) if template is not None else ""


def error_text(tr: Tr, exc: BaseException) -> str:
    """A typed error for the cashier: by its reason code when it has a known one, else its own (English) text."""
    code = getattr(exc, "reason", "")
    if isinstance(code, str) and code in MESSAGES:
        params = getattr(exc, "params", None)
        return format_reason(tr, Reason.of(code, **(params if isinstance(params, dict) else {})))
    return tr(str(exc) or exc.__class__.__name__)
