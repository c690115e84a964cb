"""Alipay barcode payment with write-ahead: pay, wait for the buyer, query, cancel, recover after a crash.

The state machine is DESIGN.md "The correctness core, precisely" (alipay-api.md §4.2). Every state
change is committed to SQLite before the next request is sent, so a crash at any point leaves an
attempt that :meth:`PaymentService.recover` can settle by query (then cancel).
"""

from __future__ import annotations

import dataclasses
import enum
import json
import logging
import re
import threading
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from pos_app.domain.codes import mask_code
from pos_app.domain.money import format_ui

from .errors import PaymentError, PaymentsBlocked
from .gateway_trust import TrustedTradeGateway
from .ports.clock import Clock, IdSource
from .ports.gateway import (
    CancelResult,
    FailureKind,
    GatewayBusinessFailure,
    GatewayInProgress,
    GatewaySuccess,
    GatewayUnknown,
    PayResult,
    QueryResult,
    RefundQueryResult,
    RefundResult,
    Refusal,
    TradeGateway,
)
from .ports.payments import PaymentAttempt
from .ports.uow import UnitOfWork
from .reasons import Reason

if TYPE_CHECKING:
    from .checkout import CheckoutService, CommittedSale

__all__ = [
    "AttemptState",
    "Attempt",
    "PaymentConfig",
    "PaymentProgress",
    "PaymentOutcome",
    "PaymentService",
    "OPEN_STATES",
    "FINAL_STATES",
    "reason_for_sub_code",
]

logger = logging.getLogger(__name__)

Attempt = PaymentAttempt
"""A stored payment attempt (see :class:`pos_app.services.ports.payments.PaymentAttempt`)."""


class AttemptState(enum.StrEnum):
    """The states of a payment attempt (stored as their value)."""

    CREATED = "created"
    SENDING = "sending"
    WAITING = "waiting"
    CHECKING = "checking"
    CANCELLING = "cancelling"
    PAID = "paid"
    FAILED = "failed"
    CANCELLED = "cancelled"
    CANCELLED_REFUNDED = "cancelled_refunded"
    UNKNOWN = "unknown"


OPEN_STATES: tuple[str, ...] = ("created", "sending", "waiting", "checking", "cancelling")
"""States whose outcome this terminal does not know yet; they block new payments until recovered."""

FINAL_STATES: tuple[str, ...] = ("paid", "failed", "cancelled", "cancelled_refunded", "unknown")

_PAYMENT_CODE_RE = re.compile(r"(2[5-9]|30)[0-9]{14,22}")
_FACE_CODE_RE = re.compile(r"fp.{33}", re.DOTALL)

def reason_for_sub_code(code: str, sub_code: str, sub_msg: str = "") -> str:
    """The English line stored with a refused attempt (logs, audit); the cashier's words come from the
    reason code (pos_app/alipay/subcodes.py classifies, pos_app/ui/messages.py words it)."""
    detail = f" ({sub_code})" if sub_code else f" (code {code})"
    return f"Alipay refused the payment{detail}"


@dataclasses.dataclass(frozen=True, slots=True)
class PaymentConfig:
    """Polling and cancel timing (defaults from the official F2F demo) and the ids sent with pay."""

    query_max: int = 5
    query_interval_s: float = 5.0
    cancel_max: int = 3
    cancel_interval_s: float = 2.0
    store_id: str = ""
    terminal_id: str = ""


@dataclasses.dataclass(frozen=True, slots=True)
class PaymentProgress:
    """What the payment dialog shows while the algorithm runs.

    ``stage`` is one of sending, waiting, checking, cancelling, recovering, done; ``poll``/``polls_max``
    count queries while waiting for the buyer; ``message`` is the text for the cashier.
    """

    attempt_id: int
    stage: str
    seconds_waited: float
    poll: int
    polls_max: int
    message: str
    reason: Reason = Reason("")


@dataclasses.dataclass(frozen=True, slots=True)
class PaymentOutcome:
    """The end of :meth:`PaymentService.run` (or of one recovered attempt)."""

    state: str
    attempt: Attempt
    trade_no: str
    message: str
    reason: Reason = Reason("")

    @property
    def paid(self) -> bool:
        """True if the customer paid (the sale may be committed)."""
        return self.state == AttemptState.PAID


ProgressCallback = Callable[[PaymentProgress], None]

_MSG_SENDING = "sending the payment to Alipay…"
_MSG_CHECKING = "the result is not known yet — do not hand over goods; checking…"
_MSG_CANCELLING = "cancelling the payment with Alipay — do not hand over goods…"
_MSG_CANCELLED = "the payment was cancelled; no money was taken: scan a new payment code or ask for cash"
_MSG_CANCELLED_REFUNDED = "the payment was cancelled and the money was returned to the customer: scan a new payment code or ask for cash"
_MSG_UNKNOWN = ("the result is not known — do not hand over goods; a supervisor must check this payment "
                "(it will be checked again automatically)")


_UNKNOWN = Reason("payment.unknown")


def _noop(_: PaymentProgress) -> None:
    return None


def _about(att: Attempt, answer: PayResult | QueryResult | CancelResult | None, *, amount: bool = True) -> bool:
    """True if a typed answer is about this attempt: a validly signed answer of ANOTHER call (replayed,
    renamed from another method, or a gateway answering with another trade's data) must not settle it.

    The answer must name this attempt's out_trade_no and, for pay and query answers (``amount``), carry
    its total. An answer the gateway could not read (None) is not about this attempt (pos_app.alipay
    already refuses such answers; this is the second line, for any other TradeGateway)."""
    other = answer.out_trade_no if answer is not None else ""
    if other != att.out_trade_no:
        logger.error("payment attempt %d: the answer does not name this payment (%s); ignored", att.id,
                     other or "no out_trade_no")
        return False
    if not amount:
        return True
    total = answer.total_fen if isinstance(answer, PayResult | QueryResult) else -1
    if total != att.amount_fen:
        logger.error("payment attempt %d: the answer is for another amount (or none); ignored", att.id)
        return False
    return True


def _pay(res: GatewaySuccess | GatewayInProgress) -> PayResult | None:
    return res.answer if isinstance(res.answer, PayResult) else None


def _query(res: GatewaySuccess) -> QueryResult | None:
    return res.answer if isinstance(res.answer, QueryResult) else None


class PaymentService:
    """Runs Alipay barcode payments for one terminal.

    Args:
        uow_factory: a new unit of work on this thread's connection for each call.
        gateway: the trade calls (never raise for network or gateway problems).
        clock, ids: time and identifiers.
        config: timing and ids.
        sleep: how to pause between polls; default waits on the ``give_up`` event (so giving up is
            immediate). Tests pass a no-op or a tiny sleep.
        checkout: used by :meth:`resolve_orphan` to complete a sale from its stored basket.
    """

    def __init__(self, uow_factory: Callable[[], UnitOfWork], gateway: TradeGateway, clock: Clock,
                 ids: IdSource, config: PaymentConfig, sleep: Callable[[float], None] | None = None,
                 *, checkout: CheckoutService | None = None) -> None:
        self._uow = uow_factory
        self._gateway: TradeGateway = TrustedTradeGateway(gateway)
        self._clock = clock
        self._ids = ids
        self._config = config
        self._sleep = sleep
        self.checkout = checkout

    # --- public API ---------------------------------------------------------------------

    def pending(self) -> list[Attempt]:
        """Attempts whose outcome is not known yet (they block new payments)."""
        with self._uow().read() as uow:
            return uow.payments.in_states(OPEN_STATES)

    def get(self, attempt_id: int) -> Attempt:
        """One attempt; :class:`PaymentError` if there is none."""
        with self._uow().read() as uow:
            att = uow.payments.get(attempt_id)
        if att is None:
            raise PaymentError(f"payment attempt {attempt_id} does not exist")
        return att

    def begin(self, amount_fen: int, auth_code: str, subject: str, *, shift_id: int, cashier_id: int,
              basket: Mapping[str, Any]) -> Attempt:
        """Record a new attempt in state ``sending`` (committed) before anything is sent.

        Raises :class:`PaymentsBlocked` while earlier attempts are unsettled, :class:`PaymentError`
        for a code that is not an Alipay payment code or a bad amount.
        """
        if isinstance(amount_fen, bool) or not isinstance(amount_fen, int) or amount_fen <= 0:
            raise PaymentError("the amount to pay must be more than zero")
        code = auth_code.strip()
        if not (_PAYMENT_CODE_RE.fullmatch(code) or _FACE_CODE_RE.fullmatch(code)):
            raise PaymentError("this is not an Alipay payment code: ask the customer to show the payment code")
        out_trade_no = self._ids.new_id("P")
        now = self._clock.now()
        with self._uow() as uow:
            if uow.payments.in_states(OPEN_STATES):
                raise PaymentsBlocked("an earlier payment is not settled yet: wait for the check to finish")
            attempt_id = uow.payments.add(
                out_trade_no=out_trade_no, shift_id=shift_id, cashier_id=cashier_id, amount_fen=amount_fen,
                subject=subject, auth_code_masked=mask_code(code), state=AttemptState.SENDING,
                basket_json=json.dumps(dict(basket), ensure_ascii=False, sort_keys=True), at=now)
            att = uow.payments.get(attempt_id)
        assert att is not None
        logger.info("payment attempt %d (%s) recorded for %s", attempt_id, out_trade_no, format_ui(amount_fen))
        return att

    def run(self, attempt_id: int, auth_code: str, *, on_progress: ProgressCallback | None = None,
            give_up: threading.Event | None = None) -> PaymentOutcome:
        """Send the pay and follow the state machine to a final state; blocking (run it off the GUI thread).

        Setting ``give_up`` while waiting for the buyer cancels the payment properly.
        """
        progress = on_progress or _noop
        stop = give_up or threading.Event()
        att = self.get(attempt_id)
        if att.state != AttemptState.SENDING:
            raise PaymentError(f"payment attempt {attempt_id} is {att.state}, not ready to send")
        start = self._clock.monotonic()
        progress(PaymentProgress(att.id, "sending", 0.0, 0, self._config.query_max, _MSG_SENDING,
                                 Reason("payment.sending")))
        scene = "security_code" if auth_code.startswith("fp") else "bar_code"
        res = self._gateway.pay(att.out_trade_no, auth_code.strip(), att.amount_fen, att.subject,
                                store_id=self._config.store_id or None,
                                terminal_id=self._config.terminal_id or None,
                                operator_id=str(att.cashier_id), scene=scene)
        if isinstance(res, GatewaySuccess):
            paid = _pay(res)
            if paid is None or not _about(att, paid):
                return self._check(att, start, progress)
            return self._paid(att, paid.trade_no, paid.buyer_logon_id, paid.buyer_user_id, paid.gmt_payment)
        if isinstance(res, GatewayInProgress):
            waiting = _pay(res)
            if waiting is None or not _about(att, waiting, amount=False):
                return self._check(att, start, progress)
            att = self._set(att, AttemptState.WAITING, trade_no=waiting.trade_no,
                            buyer_logon_id=waiting.buyer_logon_id, buyer_user_id=waiting.buyer_user_id)
            return self._wait_for_buyer(att, start, progress, stop)
        if isinstance(res, GatewayBusinessFailure):
            if (res.about or att.out_trade_no) != att.out_trade_no:
                return self._check(att, start, progress)
            if res.refusal is Refusal.ALREADY_PAID:
                # the same out_trade_no was already paid: believe it only after a query confirms the amount
                return self._check(att, start, progress)
            if res.kind is FailureKind.TRANSIENT:  # Alipay unavailable or a system error: the outcome is open
                return self._check(att, start, progress)
            reason = reason_for_sub_code(res.code, res.sub_code, res.sub_msg)
            return self._failed(att, res.code, res.sub_code, reason, Reason.of(res.reason or "refused", code=res.label))
        logger.warning("pay %s: outcome unknown (%s)", att.out_trade_no, res.cause)
        return self._check(att, start, progress)

    def recover(self, on_progress: ProgressCallback | None = None) -> list[PaymentOutcome]:
        """Settle every attempt whose outcome is not known (open states and ``unknown``), by query then cancel.

        Call at start-up before taking payments. An attempt found paid with no sale becomes an orphan
        (see :meth:`orphans`). An ``unknown`` attempt that still cannot be checked stays ``unknown``.
        """
        progress = on_progress or _noop
        with self._uow() as uow:
            # parts of a split tender held by a sale that did not survive the stop: a supervisor decides
            for att in uow.payments.held():
                logger.warning("payment attempt %d was a part of a sale that was not finished: now unsettled", att.id)
                uow.payments.update(att.id, at=self._clock.now(), resolution="")
            todo = uow.payments.in_states((*OPEN_STATES, AttemptState.UNKNOWN))
        outcomes = []
        for att in todo:
            outcomes.append(self._settle(att, progress))
        return outcomes

    def unknown(self) -> list[Attempt]:
        """Attempts whose outcome could not be checked (state ``unknown``): a supervisor must look at them."""
        with self._uow().read() as uow:
            return uow.payments.in_states((AttemptState.UNKNOWN,))

    def open_attempts(self) -> list[Attempt]:
        """Attempts with no sale and no decision yet: in flight, unknown, paid (orphans) or held parts."""
        with self._uow().read() as uow:
            found = uow.payments.in_states((*OPEN_STATES, AttemptState.UNKNOWN, AttemptState.PAID))
        return [a for a in found if a.sale_id is None and a.resolution in ("", "held")]

    def orphans(self) -> list[Attempt]:
        """Paid attempts with no committed sale and no decision yet (complete or refund them)."""
        with self._uow().read() as uow:
            return uow.payments.orphans()

    def hold(self, attempt_id: int) -> Attempt:
        """A paid attempt became a part of the sale at the till (split tender): not an orphan while it is held.
        Start-up recovery releases a held part whose sale did not survive a stop (it becomes an orphan)."""
        with self._uow() as uow:
            att = uow.payments.get(attempt_id)
            if att is None or att.state != AttemptState.PAID or att.sale_id is not None or att.resolution:
                raise PaymentError("this payment cannot be held as a part of the sale")
            uow.payments.update(attempt_id, at=self._clock.now(), resolution="held")
            new = uow.payments.get(attempt_id)
        assert new is not None
        return new

    def give_back(self, attempt_id: int, by_user_id: int, *, by_user_name: str = "") -> PaymentOutcome:
        """Refund a held part of a split tender whose sale is given up (the supervisor approved); audited.
        An unconfirmed refund raises :class:`PaymentError` and is retried with the same out_request_no."""
        att = self.get(attempt_id)
        if att.state != AttemptState.PAID or att.sale_id is not None or att.resolution == "refunded" or not (
                att.resolution == "held" or att.resolution.startswith("refund_pending:")):
            raise PaymentError("this payment is not a part of the sale at the till")
        return self._refund_orphan(att, by_user_id, by_user_name, action="payment.part_refunded",
                                   why="split payment given back: the sale was not completed")

    def resolve_orphan(self, attempt_id: int, decision: str, by_user_id: int, *,
                       by_user_name: str = "") -> CommittedSale | PaymentOutcome:
        """Complete the sale from the stored basket (``"complete"``) or refund the money (``"refund"``); audited.

        Returns the committed sale, or for a refund the attempt's outcome (state stays ``paid`` with
        resolution ``refunded``; a refund that could not be confirmed raises :class:`PaymentError` and can
        be retried with the same stored out_request_no).
        """
        if decision not in ("complete", "refund"):
            raise PaymentError("decide either 'complete' or 'refund'")
        att = self.get(attempt_id)
        if att.state != AttemptState.PAID or att.sale_id is not None or att.resolution in ("completed", "refunded",
                                                                                            "held"):
            raise PaymentError("this payment is not waiting for a decision")
        if decision == "complete":
            if self.checkout is None:
                raise PaymentError("completing a sale needs the checkout service")
            committed = self.checkout.complete_from_attempt(att, by_user_id=by_user_id, by_user_name=by_user_name)
            cash_rest = sum(t.amount_fen for t in committed.snapshot.tenders if t.kind == "cash")
            with self._uow() as uow:
                uow.payments.update(att.id, at=self._clock.now(), resolution="completed", resolved_by=by_user_id)
                uow.journal.audit(at=self._clock.now(), user_id=by_user_id, user_name=by_user_name,
                                  action="payment.orphan_completed", subject=att.out_trade_no,
                                  detail={"attempt_id": att.id, "sale_id": committed.sale_id,
                                          "amount_fen": att.amount_fen,
                                          **({"cash_fen": cash_rest} if cash_rest else {})})
            return committed
        return self._refund_orphan(att, by_user_id, by_user_name)

    # --- the state machine ----------------------------------------------------------------

    def _set(self, att: Attempt, state: str, **fields: Any) -> Attempt:
        with self._uow() as uow:
            uow.payments.update(att.id, at=self._clock.now(), state=str(state), **fields)
            new = uow.payments.get(att.id)
        assert new is not None
        logger.info("payment attempt %d: %s -> %s", att.id, att.state, state)
        return new

    def _paid(self, att: Attempt, trade_no: str, buyer_logon_id: str, buyer_user_id: str,
              gmt_payment: str) -> PaymentOutcome:
        att = self._set(att, AttemptState.PAID, trade_no=trade_no or att.trade_no,
                        buyer_logon_id=buyer_logon_id or att.buyer_logon_id,
                        buyer_user_id=buyer_user_id or att.buyer_user_id,
                        gmt_payment=gmt_payment or att.gmt_payment or
                        self._clock.now().isoformat())
        return PaymentOutcome(AttemptState.PAID, att, att.trade_no,
                              f"paid {format_ui(att.amount_fen)} with Alipay",
                              Reason.of("payment.paid", amount=format_ui(att.amount_fen)))

    def _failed(self, att: Attempt, code: str, sub_code: str, reason: str, why: Reason) -> PaymentOutcome:
        """``why``: the refusal's own reason (a code from pos_app/alipay/subcodes.py or one of this module)."""
        att = self._set(att, AttemptState.FAILED, fail_code=code, fail_sub_code=sub_code, fail_message=reason)
        return PaymentOutcome(AttemptState.FAILED, att, att.trade_no, f"payment failed: {reason}",
                              Reason.of("payment.failed", refusal=why.code, **why.values))

    def _pause(self, seconds: float, stop: threading.Event) -> None:
        if seconds <= 0:
            return
        if self._sleep is not None:
            self._sleep(seconds)
        else:
            stop.wait(seconds)

    def _wait_for_buyer(self, att: Attempt, start: float, progress: ProgressCallback,
                        stop: threading.Event) -> PaymentOutcome:
        cfg = self._config
        for n in range(1, cfg.query_max + 1):
            # wait the interval in slices of at most a second so the dialog can count seconds
            remaining = cfg.query_interval_s
            while remaining > 0 and not stop.is_set():
                step = min(1.0, remaining)
                waited = self._clock.monotonic() - start
                progress(PaymentProgress(att.id, "waiting", waited, n, cfg.query_max,
                                         f"waiting for the customer to confirm in Alipay — {int(waited)} s",
                                         Reason.of("payment.waiting", seconds=int(waited))))
                self._pause(step, stop)
                remaining -= step
            if stop.is_set():
                logger.info("payment attempt %d: the cashier gave up waiting", att.id)
                break
            att = self._set(att, AttemptState.WAITING, polls=n)
            res = self._gateway.query(att.out_trade_no)
            q = _query(res) if isinstance(res, GatewaySuccess) else None
            if q is not None and _about(att, q):
                if q.is_paid:
                    return self._paid(att, q.trade_no, q.buyer_logon_id, q.buyer_user_id, q.gmt_payment)
                if q.is_closed:
                    return self._failed(att, "", f"trade {q.status.value}",
                                        "the payment was closed before the customer confirmed it: scan a new payment code",
                                        Reason("closed_before_confirmed"))
            elif isinstance(res, GatewayBusinessFailure) and res.refusal is not Refusal.NO_SUCH_TRADE \
                    and res.kind is not FailureKind.TRANSIENT:
                logger.warning("payment attempt %d: query refused (%s)", att.id, res.label)
        return self._cancel(att, start, progress)

    def _check(self, att: Attempt, start: float, progress: ProgressCallback) -> PaymentOutcome:
        att = self._set(att, AttemptState.CHECKING)
        progress(PaymentProgress(att.id, "checking", self._clock.monotonic() - start, 0, self._config.query_max,
                                 _MSG_CHECKING, Reason("payment.checking")))
        res = self._gateway.query(att.out_trade_no)
        q = _query(res) if isinstance(res, GatewaySuccess) else None
        if q is not None and _about(att, q, amount=False):
            if q.is_paid:
                if q.total_fen != att.amount_fen:
                    logger.error("payment attempt %d: Alipay shows %s paid, expected %s", att.id,
                                 format_ui(q.total_fen), format_ui(att.amount_fen))
                    att = self._set(att, AttemptState.UNKNOWN, trade_no=q.trade_no,
                                    fail_message="Alipay shows a different amount paid")
                    return PaymentOutcome(AttemptState.UNKNOWN, att, att.trade_no, _MSG_UNKNOWN, _UNKNOWN)
                return self._paid(att, q.trade_no, q.buyer_logon_id, q.buyer_user_id, q.gmt_payment)
            if q.trade_no and not att.trade_no:
                att = self._set(att, AttemptState.CHECKING, trade_no=q.trade_no)
        return self._cancel(att, start, progress)

    def _cancel(self, att: Attempt, start: float, progress: ProgressCallback) -> PaymentOutcome:
        cfg = self._config
        att = self._set(att, AttemptState.CANCELLING)
        tries = 0
        while True:
            tries += 1
            progress(PaymentProgress(att.id, "cancelling", self._clock.monotonic() - start, 0, cfg.query_max,
                                     _MSG_CANCELLING, Reason("payment.cancelling")))
            att = self._set(att, AttemptState.CANCELLING, cancel_tries=att.cancel_tries + 1)
            res = self._gateway.cancel(att.out_trade_no)
            cancelled = res.answer if isinstance(res, GatewaySuccess) and isinstance(res.answer, CancelResult) \
                else None
            if isinstance(res, GatewaySuccess) and (cancelled is None or not _about(att, cancelled, amount=False)):
                res = GatewayUnknown("the cancel answer is about another payment", "binding")
            if isinstance(res, GatewaySuccess) and cancelled is not None:
                if cancelled.refunded:
                    att = self._set(att, AttemptState.CANCELLED_REFUNDED)
                    return PaymentOutcome(AttemptState.CANCELLED_REFUNDED, att, att.trade_no,
                                          _MSG_CANCELLED_REFUNDED, Reason("payment.cancelled_refunded"))
                att = self._set(att, AttemptState.CANCELLED)
                return PaymentOutcome(AttemptState.CANCELLED, att, att.trade_no, _MSG_CANCELLED,
                                      Reason("payment.cancelled"))
            retry = False
            if isinstance(res, GatewayBusinessFailure):
                if res.refusal is Refusal.RETRY_LATER:
                    retry = True
                elif res.refusal is Refusal.NO_SUCH_TRADE:
                    return self._failed(att, res.code, res.sub_code,
                                        "Alipay has no record of this payment; no money was taken: scan the payment code again or ask for cash",
                                        Reason("no_record"))
                else:
                    reason = f"Alipay refused to cancel ({res.label})"
                    att = self._set(att, AttemptState.UNKNOWN, fail_code=res.code, fail_sub_code=res.sub_code,
                                    fail_message=reason)
                    return PaymentOutcome(AttemptState.UNKNOWN, att, att.trade_no, f"{_MSG_UNKNOWN}: {reason}",
                                          Reason.of("payment.unknown_cancel_refused", code=res.sub_code or res.code))
            elif tries > 1:
                retry = True  # a missing answer after a retry_flag=Y: keep retrying
            if not retry or tries > cfg.cancel_max:
                reason = "no answer from Alipay to the cancel" if isinstance(res, GatewayUnknown) \
                    else "Alipay kept asking to retry the cancel"
                att = self._set(att, AttemptState.UNKNOWN, fail_message=reason)
                return PaymentOutcome(AttemptState.UNKNOWN, att, att.trade_no, _MSG_UNKNOWN, _UNKNOWN)
            self._pause(cfg.cancel_interval_s, threading.Event())

    def _settle(self, att: Attempt, progress: ProgressCallback) -> PaymentOutcome:
        """Recovery of one attempt: query; paid -> paid; closed -> cancelled; else cancel."""
        start = self._clock.monotonic()
        progress(PaymentProgress(att.id, "recovering", 0.0, 0, 0,
                                 "checking an earlier payment that was not finished…", Reason("payment.recovering")))
        res = self._gateway.query(att.out_trade_no)
        q = _query(res) if isinstance(res, GatewaySuccess) else None
        if q is not None and _about(att, q):
            if q.is_paid and q.total_fen == att.amount_fen:
                logger.warning("recovered payment attempt %d: it was paid", att.id)
                return self._paid(att, q.trade_no, q.buyer_logon_id, q.buyer_user_id, q.gmt_payment)
            if q.is_closed:
                state = AttemptState.CANCELLED
                att = self._set(att, state, trade_no=q.trade_no or att.trade_no)
                return PaymentOutcome(state, att, att.trade_no, "the payment was closed; no money was kept: scan a new payment code or ask for cash",
                                      Reason("payment.closed"))
        elif isinstance(res, GatewayUnknown) and att.state == AttemptState.UNKNOWN:
            return PaymentOutcome(AttemptState.UNKNOWN, att, att.trade_no, _MSG_UNKNOWN, _UNKNOWN)
        return self._cancel(att, start, progress)

    def _refund_orphan(self, att: Attempt, by_user_id: int, by_user_name: str, *,
                       action: str = "payment.orphan_refunded",
                       why: str = "sale not completed after a terminal failure") -> PaymentOutcome:
        prefix = "refund_pending:"
        if att.resolution.startswith(prefix):
            out_request_no = att.resolution[len(prefix):]
        else:
            out_request_no = self._ids.new_id("RO")
            with self._uow() as uow:
                uow.payments.update(att.id, at=self._clock.now(), resolution=prefix + out_request_no,
                                    resolved_by=by_user_id)
        res = self._gateway.refund(att.out_trade_no, out_request_no, att.amount_fen, why)
        done = False
        if isinstance(res, GatewaySuccess) and isinstance(res.answer, RefundResult) and res.answer.money_moved:
            done = True
        else:
            rq = self._gateway.refund_query(att.out_trade_no, out_request_no)
            done = isinstance(rq, GatewaySuccess) and isinstance(rq.answer, RefundQueryResult) and rq.answer.succeeded
        if not done:
            raise PaymentError("the refund could not be confirmed yet: try again when Alipay can be reached")
        now = self._clock.now()
        with self._uow() as uow:
            uow.payments.update(att.id, at=now, resolution="refunded", resolved_by=by_user_id)
            uow.journal.audit(at=now, user_id=by_user_id, user_name=by_user_name, action=action,
                              subject=att.out_trade_no, detail={"attempt_id": att.id, "amount_fen": att.amount_fen,
                                                                "out_request_no": out_request_no})
            new = uow.payments.get(att.id)
        assert new is not None
        return PaymentOutcome(AttemptState.PAID, new, new.trade_no,
                              f"{format_ui(att.amount_fen)} was refunded to the customer",
                              Reason.of("payment.orphan_refunded", amount=format_ui(att.amount_fen)))

