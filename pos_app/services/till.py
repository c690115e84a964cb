"""The till: the checkout use-case of one counter. It owns the current sale and the scan mode.

Every intent of the cashier is a method here: it changes the sale through the domain and the
services and returns an immutable :class:`TillSnapshot` (or a committed sale). Refusals are typed
errors (DomainError for a basket rule, ServiceError for a use-case refusal, ServiceUnavailable for the
environment); the sale is left as it was. The UI translates a key or scan into a call, calls, and
renders what comes back (pos_app/ui/checkout_controller.py).

The write-ahead Alipay sequence lives in :meth:`Till.pay_alipay`: record the attempt (committed) ->
pay / wait for the buyer / query / cancel (PaymentService.run) -> commit the sale with the paid attempt in
one transaction. It runs on a worker thread; the GUI thread never writes to the database for it.

Extending (the till is built to take these without reshaping it):

* park/recall (not built yet): ``basket()`` gives the sale as JSON (the same basket a payment attempt
  stores); a ``park()`` intent stores it and calls ``new_sale()``, ``recall()`` rebuilds it with
  ``checkout.basket_to_sale`` and installs it with ``load_sale()``;
* promotions and prices: the Sale's totals come from the domain (pos_app/domain); the till only
  passes intents through, so a pricing engine plugs in below ``Sale`` without touching this class;
* split tender: :meth:`Till.pay_cash_part` and ``pay_alipay(amount_fen=...)`` record a tender that covers
  less than what is left and keep the mode AWAITING_PAYMENT; ``pay_cash``/``pay_alipay`` then cover the rest and
  commit the sale with every tender in one transaction. A confirmed Alipay part is *held* (not an orphan) while
  the till keeps its sale; the sale cannot be dropped while a part is paid: :meth:`Till.give_back_parts`
  (supervisor) refunds the Alipay parts through the orphan-refund path first. After a crash, start-up recovery
  turns a held part into an orphan (complete: the rest was cash; or refund).
"""

from __future__ import annotations

import dataclasses
import enum
import json
import logging
import threading
from collections.abc import Callable
from typing import Any

from pos_app.domain.catalogue import CatalogueItem
from pos_app.domain.codes import ScanCode
from pos_app.domain.errors import DomainError
from pos_app.domain.exchange import ExchangePlan
from pos_app.domain.held import HeldRecord
from pos_app.domain.loyalty import RedeemOption
from pos_app.domain.money import format_ui
from pos_app.domain.pricing import ManualDiscount
from pos_app.domain.sale import MemberRef, Sale, SaleSnapshot, SaleState, Tender

from .checkout import CheckoutService, CommittedSale
from .errors import CheckoutError, PaymentError, ServiceError
from .held import HeldBaskets
from .members import MemberView
from .payment import PaymentOutcome, PaymentProgress, PaymentService
from .points_hold import PointsAsk, PointsBeingAsked, PointsHold

__all__ = ["Till", "DiscountCaps", "DiscountNeedsApproval", "TillSession", "TillSnapshot", "ScanMode", "AlipayResult",
           "PaidNotSaved", "PaymentsNotReady", "PartsPaid", "GaveBack"]

logger = logging.getLogger(__name__)


class ScanMode(enum.Enum):
    """What a scan at the counter means now."""

    PRODUCT = "product"                    # ringing up: products (and member cards, receipts)
    MEMBER = "member"                      # a member lookup is running
    AWAITING_PAYMENT = "awaiting_payment"  # the total is taken: a payment code is expected


@dataclasses.dataclass(frozen=True)
class TillSession:
    """Who is at the till: the logged-in user and the open shift."""

    user_id: int
    user_name: str
    shift_id: int
    role: str = "cashier"


@dataclasses.dataclass(frozen=True)
class TillSnapshot:
    """What the checkout screen shows: the sale, the member panel's data, the scan mode."""

    sale: SaleSnapshot
    member: MemberView | None
    redeem: RedeemOption | None
    mode: ScanMode
    exchange: ExchangePlan | None = None

    @property
    def payable_fen(self) -> int:
        return self.sale.totals.payable_fen

    @property
    def parts(self) -> tuple[Tender, ...]:
        """The parts of a split tender paid so far (empty unless the sale awaits the rest)."""
        return self.sale.tenders if self.sale.state is SaleState.AWAITING_PAYMENT else ()

    @property
    def remaining_fen(self) -> int:
        """What is still to pay: the payable less the parts paid so far (an exchange's credit among them)."""
        return self.sale.totals.payable_fen - sum(t.amount_fen for t in self.parts)

    @property
    def paid_parts(self) -> tuple[Tender, ...]:
        """The parts where money moved (not an exchange's credit)."""
        return tuple(t for t in self.parts if not t.is_credit)

    @property
    def exchange_back_fen(self) -> int:
        """An exchange whose returned goods are worth at least the new ones: what goes back to the customer."""
        if self.exchange is None or any(t.is_credit for t in self.parts):
            return 0
        return max(0, self.exchange.credit_fen - self.sale.totals.payable_fen)

    @property
    def exchange_covers(self) -> bool:
        """True when the exchange's credit pays the whole new sale (settle it: :meth:`Till.settle_exchange`)."""
        return (self.exchange is not None and not self.parts
                and self.exchange.credit_fen >= self.sale.totals.payable_fen)


@dataclasses.dataclass(frozen=True)
class AlipayResult:
    """The end of :meth:`Till.pay_alipay`: ``committed`` is the saved sale when the customer paid the rest;
    ``part`` is the tender when the payment was a part of a split tender (the sale waits for the rest)."""

    outcome: PaymentOutcome
    committed: CommittedSale | None
    part: Tender | None = None

    @property
    def paid(self) -> bool:
        return self.committed is not None or self.part is not None


class PartsPaid(CheckoutError):
    """Part of the sale is paid (split tender): take the rest, or give the parts back (supervisor) first."""

    reason = "parts_paid"

    def __init__(self, paid_fen: int) -> None:
        super().__init__(f"{format_ui(paid_fen)} of this sale is paid already: take the rest, or give the part "
                         "payments back (a supervisor approves)")
        self.paid_fen = paid_fen


@dataclasses.dataclass(frozen=True)
class GaveBack:
    """The end of :meth:`Till.give_back_parts`: Alipay parts refunded, cash to hand back, parts not yet refunded."""

    alipay_refunded_fen: int
    cash_fen: int
    left: tuple[Tender, ...]
    snapshot: TillSnapshot


class PaymentsNotReady(PaymentError):
    """Earlier payments are still being checked (start-up recovery): scan again in a moment."""

    reason = "recovery_running"

    def __init__(self) -> None:
        super().__init__("Earlier payments are still being checked; scan again in a moment")


class PaidNotSaved(ServiceError):
    """The customer paid but the sale could not be saved: the paid attempt waits for a supervisor."""

    reason = "paid_not_saved"

    def __init__(self, outcome: PaymentOutcome, cause: BaseException) -> None:
        super().__init__("The customer paid but the sale could not be saved: call a supervisor")
        self.outcome = outcome
        self.cause = cause


class DiscountNeedsApproval(ServiceError):
    """A manual discount above the cashier's cap: a supervisor approves it (then call again with approved_by)."""

    reason = "discount_needs_approval"

    def __init__(self, pct: int, cap: int) -> None:
        super().__init__(f"a discount of {pct}% is above the {cap}% you may give: a supervisor must approve")
        self.pct = pct
        self.cap = cap


@dataclasses.dataclass(frozen=True)
class DiscountCaps:
    """The most a manual discount may take without a supervisor, per role (percent of the line or sale)."""

    cashier_max_pct: int = 10
    supervisor_max_pct: int = 100

    def cap(self, role: str) -> int:
        return self.supervisor_max_pct if role in ("supervisor", "admin") else self.cashier_max_pct


class Till:
    """One counter's checkout. Intents are called on the GUI thread except :meth:`pay_alipay`
    (a worker thread); the sale is guarded by a lock so a snapshot is never torn."""

    def __init__(self, checkout: CheckoutService, payment: PaymentService | None = None, *,
                 payments_ready: threading.Event | None = None, held: HeldBaskets | None = None,
                 discount_caps: DiscountCaps | None = None) -> None:
        self._checkout = checkout
        self._payment = payment
        self._ready = payments_ready
        self._held = held
        self._caps = discount_caps or DiscountCaps()
        self._lock = threading.RLock()
        self._session: TillSession | None = None
        self._sale: Sale = checkout.new_sale()
        self._member: MemberView | None = None
        self._mode = ScanMode.PRODUCT
        self._asking: PointsAsk | None = None   # store mode: the store is being asked for this sale's points
        if held is not None:
            restored = held.restore_open()
            if restored is not None and self._paying_for(restored):
                # the terminal stopped while this basket was being paid: the payment (recovered at start, then
                # F12 "paid without a sale") owns it; selling it again would charge the customer twice
                logger.warning("the open basket from before the last stop is the one of a payment that was "
                               "under way; it is not put back (see F12 for that payment)")
                held.keep_open(None, cashier_id=None)
            elif restored is not None:
                logger.info("the open basket from before the last stop is back (%d lines)",
                            len(restored.snapshot().active_lines))
                self._sale = restored

    def _paying_for(self, sale: Sale) -> bool:
        """Whether a payment without a sale yet (in flight, unknown, paid or held) was for this basket."""
        if self._payment is None:
            return False
        want = sorted((ln.code, ln.quantity) for ln in sale.snapshot().active_lines)
        try:
            attempts = [*self._payment.open_attempts()]
        except Exception:  # noqa: BLE001 - a basket is not lost for a read that failed: it is put back
            logger.exception("could not read the unsettled payments at start")
            return False
        for att in attempts:
            try:
                lines = json.loads(att.basket_json or "{}").get("lines") or []
                got = sorted((str(ln["code"]), int(ln["quantity"])) for ln in lines if not ln.get("voided"))
            except (ValueError, KeyError, TypeError, AttributeError):
                continue
            if got == want:
                return True
        return False

    # --- life cycle ---------------------------------------------------------------------

    @property
    def session(self) -> TillSession | None:
        return self._session

    @property
    def alipay_available(self) -> bool:
        return self._payment is not None

    @property
    def payments_ready(self) -> bool:
        """False while start-up recovery still checks earlier payments (a new one must wait)."""
        return self._ready is None or self._ready.is_set()

    def start(self, session: TillSession) -> TillSnapshot:
        """A cashier logged in (or the shift changed): keep the basket, change who sells."""
        with self._lock:
            self._session = session
            return self.snapshot()

    def new_sale(self) -> TillSnapshot:
        """Start a new sale; a sale with part payments taken is kept (it must be finished or given back)."""
        with self._lock:
            if self._paid_parts():
                logger.warning("a new sale was asked for while %d part payment(s) are on the current sale: kept",
                               len(self._paid_parts()))
                return self.snapshot()
            self._replace_sale(self._checkout.new_sale(), None)
            return self.snapshot()

    def load_sale(self, sale: Sale, member: MemberView | None = None) -> TillSnapshot:
        """Make ``sale`` the current sale (a recalled basket); the current one is dropped."""
        with self._lock:
            self._refuse_if_asking()
            self._refuse_if_parts()
            self._replace_sale(sale, member)
            return self.snapshot()

    def _paid_parts(self) -> tuple[Tender, ...]:
        return tuple(t for t in self._sale.parts if not t.is_credit)

    def _refuse_if_parts(self) -> None:
        parts = self._paid_parts()
        if parts:
            raise PartsPaid(sum(t.amount_fen for t in parts))

    def _refuse_if_asking(self) -> None:
        if self._asking is not None:
            raise PointsBeingAsked()

    def _replace_sale(self, sale: Sale, member: MemberView | None) -> None:
        if sale is not self._sale:
            self._asking = None   # the sale is given up: the store's answer is given back when it comes
        if sale is not self._sale and self._sale.state != SaleState.PAID:
            self._checkout.release_points(self._sale)   # store mode: a sale given up gives its points back
        self._sale = sale
        self._member = member
        self._mode = ScanMode.AWAITING_PAYMENT if sale.state == SaleState.AWAITING_PAYMENT else ScanMode.PRODUCT
        self._keep()

    def _keep(self) -> None:
        """Keep the open basket safe across a crash (one short write; a failure is logged, selling goes on)."""
        if self._held is None:
            return
        try:
            self._held.keep_open(self._sale if self._sale.snapshot().active_lines else None,
                                 cashier_id=self._session.user_id if self._session else None)
        except Exception:  # noqa: BLE001 - losing the safety copy must not stop the sale in front of the cashier
            logger.exception("could not keep the open basket")

    def close(self, timeout_s: float = 5.0) -> None:
        """The terminal is shutting down: write the open basket and stop its background writer."""
        if self._held is not None and not self._held.close(timeout_s):
            logger.warning("the open-basket writer did not stop within %.1f s", timeout_s)

    def _settle_keeper(self) -> None:
        """Before a commit: let the open-basket write in flight finish (a commit that met it would wait in
        SQLite's busy handler, which sleeps 1, 2, 5... ms, instead of being woken when it is done)."""
        if self._held is not None and not self._held.flush(1.0):
            logger.warning("the open basket is still being written; committing anyway")

    def snapshot(self) -> TillSnapshot:
        with self._lock:
            sale = self._sale.snapshot()
            redeem = None
            if sale.member is not None:
                try:
                    redeem = self._sale.redeem_option()
                except DomainError:
                    redeem = None
            member = self._member if sale.member is not None else None
            return TillSnapshot(sale=sale, member=member, redeem=redeem, mode=self._mode,
                                exchange=self._checkout.exchange_of(self._sale))

    def basket(self) -> dict[str, Any]:
        """The sale as JSON (stored with a payment attempt; what park/recall would store)."""
        with self._lock:
            return self._checkout.basket_of(self._sale)

    def _change(self, action: Callable[[], Any]) -> TillSnapshot:
        with self._lock:
            action()
            self._keep()
            return self.snapshot()

    def _change_points(self, action: Callable[[], Any]) -> TillSnapshot:
        """A change that may alter the points redeemed: refused while the store is asked for them."""
        with self._lock:
            self._refuse_if_asking()
            return self._change(action)

    # --- manual discounts, open prices, park and recall ----------------------------------

    def _check_cap(self, pct: int, approved_by: int | None) -> None:
        who = self._who()
        cap = self._caps.cap(who.role)
        if pct > cap and approved_by is None:
            raise DiscountNeedsApproval(pct, cap)

    @staticmethod
    def _pct_of(discount: ManualDiscount, base_fen: int) -> int:
        if discount.percent:
            return discount.percent
        return 100 if base_fen <= 0 else -(-discount.amount_fen * 100 // base_fen)

    def discount_line(self, line_no: int, discount: ManualDiscount | None, *,
                      approved_by: int | None = None) -> TillSnapshot:
        """A manual discount on a line (None removes it); above the role's cap only with a supervisor's approval."""
        with self._lock:
            self._refuse_if_asking()
            if discount is not None:
                line = next((ln for ln in self._sale.snapshot().active_lines if ln.line_no == line_no), None)
                if line is None:
                    raise CheckoutError(f"no line {line_no}")
                self._check_cap(self._pct_of(discount, line.amount_fen), approved_by)
                if approved_by is not None:
                    discount = dataclasses.replace(discount, approved_by=approved_by)
            return self._change(lambda: self._sale.discount_line(line_no, discount))

    def discount_sale(self, discount: ManualDiscount | None, *, approved_by: int | None = None) -> TillSnapshot:
        """A manual discount on the whole sale (None removes it); above the cap only with approval."""
        with self._lock:
            self._refuse_if_asking()
            if discount is not None:
                self._check_cap(self._pct_of(discount, self._sale.totals().gross_fen), approved_by)
                if approved_by is not None:
                    discount = dataclasses.replace(discount, approved_by=approved_by)
            return self._change(lambda: self._sale.discount_sale(discount))

    def override_price(self, line_no: int, price_fen: int, description: str | None = None) -> TillSnapshot:
        """Key the price (and short description) of an open-price line."""
        return self._change_points(lambda: self._sale.override_price(line_no, price_fen, description))

    def park(self, label: str) -> TillSnapshot:
        """Park the current sale under ``label`` (挂单) and start a new one."""
        if self._held is None:
            raise CheckoutError("parking sales is not available on this terminal")
        with self._lock:
            self._refuse_if_asking()
            who = self._who()
            self._held.park(self._sale, label, shift_id=who.shift_id, user_id=who.user_id, user_name=who.user_name)
            self._replace_sale(self._checkout.new_sale(), None)
            return self.snapshot()

    def parked(self) -> list[HeldRecord]:
        """The parked sales waiting, oldest first."""
        return self._held.parked() if self._held is not None else []

    def recall(self, held_id: int) -> TillSnapshot:
        """Recall a parked sale (取单); refused while the till has a basket of its own."""
        if self._held is None:
            raise CheckoutError("parking sales is not available on this terminal")
        with self._lock:
            self._refuse_if_asking()
            who = self._who()
            self._refuse_if_parts()
            sale = self._held.recall(held_id, current=self._sale, user_id=who.user_id, user_name=who.user_name)
            self._sale = sale
            self._member = None
            self._mode = ScanMode.PRODUCT
            return self.snapshot()

    def discard_parked(self, held_id: int, reason: str, *, approved_by: int | None = None) -> None:
        """Give up a parked sale with the reason (audited under the approver when one approved)."""
        if self._held is None:
            raise CheckoutError("parking sales is not available on this terminal")
        who = self._who()
        self._held.discard(held_id, reason, user_id=approved_by or who.user_id, user_name=who.user_name)

    # --- ringing up ---------------------------------------------------------------------

    def scan_product(self, code: ScanCode) -> TillSnapshot:
        """A product code (UnknownProduct / CheckoutError refuse it; the basket is unchanged)."""
        return self._change(lambda: self._checkout.add_scan(self._sale, code))

    def add_item(self, item: CatalogueItem) -> TillSnapshot:
        return self._change(lambda: self._sale.add_item(item))

    def add_open_line(self, name: str, price_fen: int) -> TillSnapshot:
        return self._change(lambda: self._sale.add_open_line(name, price_fen))

    def set_quantity(self, line_no: int, quantity: int) -> TillSnapshot:
        return self._change_points(lambda: self._sale.set_quantity(line_no, quantity))

    def void_line(self, line_no: int, reason: str, *, approved_by: int | None = None) -> TillSnapshot:
        return self._change_points(lambda: self._sale.void_line(line_no, reason, approved_by=approved_by))

    def search_catalogue(self, text: str, limit: int = 50) -> list[CatalogueItem]:
        return self._checkout.search_catalogue(text, limit)

    # --- member -------------------------------------------------------------------------

    def expect_member(self) -> TillSnapshot:
        """A member lookup started (its result comes to :meth:`attach_member`)."""
        with self._lock:
            if self._mode is ScanMode.PRODUCT:
                self._mode = ScanMode.MEMBER
            return self.snapshot()

    def member_lookup_ended(self) -> TillSnapshot:
        with self._lock:
            if self._mode is ScanMode.MEMBER:
                self._mode = ScanMode.PRODUCT
            return self.snapshot()

    def attach_member(self, member: MemberView | MemberRef) -> TillSnapshot:
        with self._lock:
            self._refuse_if_asking()
            if self._mode is ScanMode.MEMBER:
                self._mode = ScanMode.PRODUCT
            ref = member.ref() if isinstance(member, MemberView) else member
            self._sale.attach_member(ref)
            self._member = member if isinstance(member, MemberView) else None
            return self.snapshot()

    def remove_member(self) -> TillSnapshot:
        with self._lock:
            self._refuse_if_asking()
            self._member = None
            self._sale.detach_member()
            return self.snapshot()

    def redeem_option(self) -> RedeemOption:
        with self._lock:
            return self._sale.redeem_option()

    def redeem(self, points: int) -> TillSnapshot:
        return self._change_points(lambda: self._sale.redeem_points(points))

    def clear_redemption(self) -> TillSnapshot:
        return self._change_points(self._sale.clear_redemption)

    # --- points held at the store before payment (store mode) -----------------------------
    # take_total holds the points at the store, a round trip of up to the store's deadline. The GUI asks first,
    # off its thread: ask_before_total (GUI) -> ask_points (worker) -> points_answered (GUI) -> take_total finds
    # the hold. While asking, changes of the sale's member or points, payment and cancel are refused
    # (PointsBeingAsked); product scans go on. A sale given up meanwhile gets its answer's hold given back.

    @property
    def asking_points(self) -> bool:
        return self._asking is not None

    def waits_for(self, ask: PointsAsk) -> bool:
        """Whether the till still waits for the answer to ``ask`` (not if its sale was given up meanwhile)."""
        with self._lock:
            return self._asking is ask

    def ask_before_total(self) -> PointsAsk | None:
        """What the store must be asked before the total can be taken (None: nothing, take the total). From
        now until :meth:`points_answered` the till waits for the store's answer about it."""
        with self._lock:
            self._refuse_if_asking()
            if self._sale.state is not SaleState.OPEN:
                return None      # the total is taken already (the rest of a split payment): held then
            ask = self._checkout.points_to_ask(self._sale)
            self._asking = ask
            return ask

    def ask_points(self, ask: PointsAsk, *, approved_by: int | None = None) -> PointsHold:
        """Ask the store (or the offline rules) for ``ask`` — on a worker thread; reads no sale state.
        RedemptionRefused / OfflineRedeemNeedsApproval: then :meth:`points_answered` with None (or ask again
        with the supervisor's id)."""
        return self._checkout.ask_points(ask, approved_by=approved_by)

    def points_answered(self, ask: PointsAsk, hold: PointsHold | None) -> bool:
        """The answer to ``ask`` (None: refused or failed), on the GUI thread. The hold goes on the sale if the
        till is still waiting for exactly this ask and the sale still redeems it; otherwise it is given back.
        True if the sale now holds it (take the total next)."""
        with self._lock:
            current = self._asking is ask
            if current:
                self._asking = None
            if hold is None:
                return False
            if not current:
                self._checkout.give_back(hold)
                return False
            return self._checkout.keep_points(self._sale, ask, hold)

    # --- payment ------------------------------------------------------------------------

    def take_total(self) -> TillSnapshot:
        """Show the total (voids now need a supervisor) and wait for a payment (or for the rest of it)."""
        with self._lock:
            self._refuse_if_asking()
            self._sale.mark_total_shown()
            if self._sale.state is not SaleState.AWAITING_PAYMENT:
                self._sale.begin_payment()
                try:
                    self._checkout.hold_points(self._sale)   # store mode: the points are the store's to give
                except BaseException:
                    self._sale.cancel_payment()
                    raise
                plan = self._checkout.exchange_of(self._sale)
                if plan is not None and plan.credit_fen < self._sale.remaining_fen():
                    # the returned goods pay part of the new ones: the customer pays the rest
                    self._sale.add_part(Tender("cash", plan.credit_fen, plan.credit_fen, 0, plan.reference))
            self._mode = ScanMode.AWAITING_PAYMENT
            return self.snapshot()

    def cancel_payment(self) -> TillSnapshot:
        """Back to the basket (the payment was given up or refused); a no-op when not awaiting payment.
        With part payments taken the sale keeps waiting for the rest (see :meth:`give_back_parts`)."""
        with self._lock:
            self._refuse_if_asking()
            if self._paid_parts():
                self._mode = ScanMode.AWAITING_PAYMENT
                return self.snapshot()
            for credit in self._sale.parts:   # an exchange's credit: taken again at the next total
                self._sale.drop_part(credit)
            if self._sale.state == SaleState.AWAITING_PAYMENT:
                self._sale.cancel_payment()
            self._checkout.release_points(self._sale)
            self._mode = ScanMode.PRODUCT
            return self.snapshot()

    def pay_cash_part(self, tendered_fen: int) -> TillSnapshot:
        """Cash that covers part of what is left (split tender); the sale waits for the rest."""
        with self._lock:
            self._refuse_if_asking()
            self._who()
            if self._sale.state is not SaleState.AWAITING_PAYMENT:
                raise CheckoutError("take the total first")
            try:
                self._sale.add_part(self._sale.cash_part(tendered_fen))
            except DomainError as exc:
                raise CheckoutError(str(exc)) from exc
            logger.info("cash part %s taken; %s left", format_ui(tendered_fen), format_ui(self._sale.remaining_fen()))
            return self.snapshot()

    def give_back_parts(self, approved_by: int, *, approver_name: str = "") -> GaveBack:
        """Give up the payment of a split sale (a supervisor approved): every Alipay part is refunded through the
        orphan-refund path, the cash parts are to be handed back; then the sale is back to the basket.

        A refund that cannot be confirmed keeps its part on the sale (retry later; the sale cannot be dropped
        meanwhile): see ``GaveBack.left``."""
        with self._lock:
            self._refuse_if_asking()
            who = self._who()
            parts = self._paid_parts()
            if not parts:
                raise CheckoutError("no part of this sale is paid")
            refunded = cash = 0
            for part in parts:
                if part.kind == "alipay":
                    if self._payment is None or part.attempt_id is None:
                        continue
                    try:
                        self._payment.give_back(part.attempt_id, approved_by, by_user_name=approver_name)
                    except ServiceError:
                        logger.exception("the Alipay part %s could not be refunded yet", part.reference)
                        continue
                    refunded += part.amount_fen
                else:
                    cash += part.amount_fen
                self._sale.drop_part(part)
            self._checkout.audit_given_back(who.user_id, who.user_name, approved_by=approved_by,
                                            alipay_fen=refunded, cash_fen=cash)
            left = self._paid_parts()
            if not left:
                for credit in self._sale.parts:
                    self._sale.drop_part(credit)
                self._sale.cancel_payment()
                self._mode = ScanMode.PRODUCT
            return GaveBack(refunded, cash, left, self.snapshot())

    # --- exchange (换货) -------------------------------------------------------------------

    def plan_exchange(self, receipt_no: str, lines: dict[int, int], *, approved_by: int | None,
                      reason: str = "exchange") -> ExchangePlan:
        """What comes back from the sale with ``receipt_no`` (line_no -> quantity) under the refund rules (a
        supervisor approved: ``approved_by``) and what it is worth; RefundError names what is refused."""
        writer = self._checkout.exchange_writer
        if writer is None:
            raise CheckoutError("exchanges are not available on this terminal")
        return writer.plan(receipt_no, lines, approved_by=approved_by, reason=reason)

    def send_exchange_back(self, committed: CommittedSale) -> Any:
        """After :meth:`settle_exchange` gave a difference back to Alipay: send that refund (a worker thread);
        the RefundOutcome, or None when nothing was pending. An unconfirmed refund is retried like any refund."""
        writer = self._checkout.exchange_writer
        if writer is None or committed.exchange is None:
            return None
        who = self._who()
        return writer.settle(committed.exchange, cashier_id=who.user_id, cashier_name=who.user_name)

    def begin_exchange(self, plan: ExchangePlan) -> TillSnapshot:
        """Goods of an earlier sale come back (the plan: ExchangeService.plan, approved): the current sale
        becomes the new side of the exchange; scan the new goods, take the total, then the customer pays the
        difference (cash, Alipay, or both) or :meth:`settle_exchange` gives it back."""
        with self._lock:
            self._refuse_if_asking()
            if self._sale.state is not SaleState.OPEN:
                raise CheckoutError("finish or cancel the payment first")
            if self._checkout.exchange_of(self._sale) is not None:
                raise CheckoutError("this sale is an exchange already")
            self._checkout.attach_exchange(self._sale, plan)
            return self.snapshot()

    def cancel_exchange(self) -> TillSnapshot:
        """The sale is no longer an exchange (nothing comes back); refused while a part is paid."""
        with self._lock:
            self._refuse_if_asking()
            self._refuse_if_parts()
            self.cancel_payment()
            self._checkout.attach_exchange(self._sale, None)
            return self.snapshot()

    def settle_exchange(self, back_method: str | None = None) -> CommittedSale:
        """Commit an exchange whose returned goods pay the whole new sale; what is left of their worth goes
        back in cash or (``"alipay"``, when the earlier sale was paid by Alipay) to Alipay — an Alipay refund is
        written ahead and sent after the commit (``ExchangeService.settle``)."""
        with self._lock:
            self._refuse_if_asking()
            who = self._who()
            plan = self._checkout.exchange_of(self._sale)
            if plan is None:
                raise CheckoutError("this sale is not an exchange")
            if self._sale.state is not SaleState.AWAITING_PAYMENT:
                raise CheckoutError("take the total first")
            if self._sale.parts:
                raise CheckoutError("the customer pays the difference: take it in cash or by Alipay")
            method = back_method or plan.back_method
            if method not in ("cash", "alipay"):
                raise CheckoutError("the difference goes back in cash or to Alipay")
            if method == "alipay" and plan.back_method != "alipay":
                raise CheckoutError("the earlier sale was not paid by Alipay: give the difference back in cash")
            if method != plan.back_method:
                plan = dataclasses.replace(plan, back_method=method)
                self._checkout.attach_exchange(self._sale, plan)
            payable = self._sale.remaining_fen()
            committed = self._checkout.commit_credit(self._sale, Tender("cash", payable, payable, 0, plan.reference),
                                                     shift_id=who.shift_id, cashier_id=who.user_id,
                                                     cashier_name=who.user_name)
            self._replace_sale(self._checkout.new_sale(), None)
            return committed

    def _who(self) -> TillSession:
        if self._session is None:
            raise CheckoutError("nobody is logged in at this till")
        return self._session

    def pay_cash(self, tendered_fen: int) -> CommittedSale:
        """Take cash and commit. On any refusal (a full disk too) the basket is kept, back to open."""
        with self._lock:
            self._refuse_if_asking()
            who = self._who()
            if self.snapshot().exchange_covers and self._sale.state is SaleState.AWAITING_PAYMENT:
                raise CheckoutError("the returned goods pay for all of it: settle the exchange")
            self._settle_keeper()
            try:
                committed = self._checkout.commit_cash(self._sale, tendered_fen, shift_id=who.shift_id,
                                                       cashier_id=who.user_id, cashier_name=who.user_name)
            except BaseException:
                if self._sale.state == SaleState.AWAITING_PAYMENT and not self._paid_parts():
                    for credit in self._sale.parts:   # an exchange's credit: taken again at the next total
                        self._sale.drop_part(credit)
                    self._sale.cancel_payment()
                    self._mode = ScanMode.PRODUCT
                raise                                 # with parts paid the sale keeps waiting for the rest
            self._replace_sale(self._checkout.new_sale(), None)
            return committed

    def pay_alipay(self, auth_code: str, *, subject: str,
                   on_progress: Callable[[PaymentProgress], None] | None = None,
                   give_up: threading.Event | None = None, amount_fen: int | None = None) -> AlipayResult:
        """The write-ahead Alipay payment of the current sale (call it on a worker thread): what is left, or
        ``amount_fen`` of it (a part of a split tender: held on the sale, which waits for the rest).

        Raises PaymentsNotReady while start-up recovery runs, PaymentError for a code that is not a payment
        code or while an earlier payment is unsettled (nothing sent), PaidNotSaved when the customer paid but
        the commit failed. A payment that ends unpaid leaves the sale awaiting payment (scan another code, or
        :meth:`cancel_payment`).
        """
        payment = self._payment
        if payment is None:
            raise PaymentError("Alipay is not configured on this terminal")
        if self._ready is not None and not self._ready.is_set():
            raise PaymentsNotReady()
        with self._lock:
            self._refuse_if_asking()
            who = self._who()
            if self._sale.state != SaleState.AWAITING_PAYMENT:
                raise CheckoutError("take the total first")
            left = self._sale.remaining_fen()
            amount = left if amount_fen is None else amount_fen
            if isinstance(amount, bool) or not isinstance(amount, int) or not 0 < amount <= left:
                raise CheckoutError(f"the Alipay amount must be more than 0 and at most {format_ui(left)}")
            self._checkout.hold_points(self._sale)   # before the money moves (no-op if held at take_total)
            basket = self._checkout.basket_of(self._sale)
        attempt = payment.begin(amount, auth_code, subject, shift_id=who.shift_id, cashier_id=who.user_id,
                                basket=basket)
        outcome = payment.run(attempt.id, auth_code, on_progress=on_progress, give_up=give_up)
        if not outcome.paid:
            return AlipayResult(outcome, None)
        if amount < left:
            return self._alipay_part(payment, outcome)
        with self._lock:
            self._settle_keeper()
            try:
                committed = self._checkout.commit_alipay(self._sale, outcome.attempt, shift_id=who.shift_id,
                                                         cashier_id=who.user_id, cashier_name=who.user_name)
            except Exception as exc:  # noqa: BLE001 - whatever stopped the commit, the money is taken: say so
                logger.exception("attempt %d paid but the sale was not saved", outcome.attempt.id)
                raise PaidNotSaved(outcome, exc) from exc
            self._replace_sale(self._checkout.new_sale(), None)
            return AlipayResult(outcome, committed)

    def _alipay_part(self, payment: PaymentService, outcome: PaymentOutcome) -> AlipayResult:
        """A confirmed Alipay part: held (no orphan while the sale is here), then recorded on the sale."""
        with self._lock:
            try:
                tender = self._checkout.alipay_part(self._sale, outcome.attempt)
            except Exception as exc:  # noqa: BLE001 - the money is taken: it stays a paid attempt (an orphan)
                logger.exception("attempt %d paid as a part but not recorded on the sale", outcome.attempt.id)
                raise PaidNotSaved(outcome, exc) from exc
            try:
                payment.hold(outcome.attempt.id)
            except Exception as exc:  # noqa: BLE001 - not held: it is an orphan for a supervisor, not a part here
                self._sale.drop_part(tender)
                logger.exception("attempt %d paid as a part but could not be held", outcome.attempt.id)
                raise PaidNotSaved(outcome, exc) from exc
            left = self._sale.remaining_fen()
        logger.info("Alipay part %s taken (attempt %d); %s left", format_ui(tender.amount_fen), outcome.attempt.id,
                    format_ui(left))
        return AlipayResult(outcome, None, tender)
