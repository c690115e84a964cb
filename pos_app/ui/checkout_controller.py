"""The checkout screen's thin controller: scans and intents -> checkout use-cases -> snapshot to the view."""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable
from typing import TypeVar

from PySide6.QtCore import QObject, Qt, QTimer, Signal
from PySide6.QtWidgets import QDialog, QMessageBox, QWidget

from pos_app.domain.codes import ScanCode
from pos_app.domain.errors import DomainError
from pos_app.domain.money import format_ui, parse_yuan
from pos_app.domain.pricing import ManualDiscount
from pos_app.domain.sale import SaleSnapshot
from pos_app.services.approvals import Approval, reasons_for
from pos_app.services.checkout import CommittedSale
from pos_app.services.errors import ServiceError, ServiceUnavailable
from pos_app.services.members import MemberLookup
from pos_app.services.points_hold import OfflineRedeemNeedsApproval, PointsAsk, PointsHold
from pos_app.services.ports.shifts import ShiftRecord
from pos_app.services.routing import Route
from pos_app.services.till import DiscountNeedsApproval, Till, TillSession, TillSnapshot
from pos_app.services.users import User

from .cash_dialog import CashDialog
from .checkout_view import CheckoutView
from .context import TerminalContext
from .messages import error_text
from .prompt_dialog import ask_text, choose
from .qtcompat import emit
from .snapshot_view import LineView, member_view, totals_view
from .workers import TaskRunner

__all__ = ["CheckoutController", "Session", "LOOKUP_NOTICE_MS"]

T = TypeVar("T")

logger = logging.getLogger(__name__)

#: a member lookup that takes longer than this shows "Looking up the member…"
LOOKUP_NOTICE_MS = 250


@dataclasses.dataclass(frozen=True)
class Session:
    """Who is at the till: the logged-in user and the open shift."""

    user_id: int
    user_name: str
    role: str
    shift_id: int
    shift_no: str = ""
    user: User | None = None
    shift: ShiftRecord | None = None


def _error_text(exc: BaseException) -> str:
    return str(exc) or exc.__class__.__name__


class CheckoutController(QObject):
    """Translates keys and scans into till intents (pos_app.services.till), calls, renders the snapshot.

    The till owns the sale and the scan mode; this controller holds no sale state of its own.

    Signals:
        sale_committed(object): a CommittedSale (for receipts and the status bar).
        basket_changed(): the snapshot shown changed (tests and the bench wait on it).
    """

    sale_committed = Signal(object)
    basket_changed = Signal()

    def __init__(self, ctx: TerminalContext, view: CheckoutView, tasks: TaskRunner,
                 on_receipt: Callable[[CommittedSale], None] | None = None) -> None:
        super().__init__(view)
        self.ctx = ctx
        self.view = view
        self.t = ctx.tr
        self.tasks = tasks
        self.till: Till = ctx.till if ctx.till is not None else Till(ctx.checkout, ctx.payment)
        self._session: Session | None = None
        self._on_receipt = on_receipt
        self.payment_dialog: QDialog | None = None
        self.cash_dialog: CashDialog | None = None
        self.refund_dialog: QDialog | None = None
        self.promotions_dialog: QDialog | None = None
        self.last_committed: CommittedSale | None = None
        self.prompt: QDialog | None = None  # the small prompt currently open (void reason, search, price, points)
        self.last_void_approval: Approval | None = None
        #: the intents this screen handles itself (names from checkout_view.ACTIONS); others open via ctx.nav
        self._intents: dict[str, Callable[[], None]] = {
            "void_line": self.do_void_line, "remove_member": self.do_remove_member,
            "open_price": self.do_open_price, "redeem": self.do_redeem,
            "catalogue_search": self.do_catalogue_search, "member_search": self.do_member_search,
            "cash": self.do_cash, "alipay": self.do_alipay,
            "discount": self.do_discount, "sale_discount": self.do_sale_discount, "park": self.do_park,
            "give_back": self.do_give_back, "exchange": self.do_exchange,
        }
        self._lookup_notice = QTimer(self)
        self._lookup_notice.setSingleShot(True)
        self._lookup_notice.setInterval(LOOKUP_NOTICE_MS)
        self._lookup_notice.timeout.connect(self._show_lookup_notice)
        view.intent.connect(self.on_intent)
        view.code_entered.connect(self.on_typed_code)
        view.quantity_step.connect(self.step_quantity)

    # --- life cycle -----------------------------------------------------------------------
    @property
    def session(self) -> Session | None:
        return self._session

    @session.setter
    def session(self, session: Session | None) -> None:
        self._session = session
        if session is not None:
            self.till.start(TillSession(user_id=session.user_id, user_name=session.user_name,
                                        shift_id=session.shift_id, role=session.role))

    @property
    def sale(self) -> SaleSnapshot:
        """The current sale as shown (a frozen SaleSnapshot; the till owns the sale itself)."""
        return self.till.snapshot().sale

    def start(self, session: Session) -> None:
        self.session = session
        self.new_sale()
        r = self.ctx.router
        r.set_handler(Route.PRODUCT, self.on_product_code)
        r.set_handler(Route.MEMBER, self.on_member_code)
        r.set_handler(Route.RECEIPT, self.on_receipt_code)
        r.set_rejected_handler(self.on_rejected)

    def new_sale(self) -> None:
        self.till.new_sale()
        self.refresh()

    @property
    def widget(self) -> QWidget:
        return self.view

    def snapshot(self) -> SaleSnapshot:
        return self.till.snapshot().sale

    def refresh(self, till: TillSnapshot | None = None) -> None:
        till = till or self.till.snapshot()
        snap = till.sale
        if snap.lines or snap.member is not None:
            self.view.sale_done.hide()  # the next customer has started
        self.view.model.set_snapshot(snap)
        self.view.show_totals(totals_view(snap))
        member = snap.member
        if member is None:
            self.view.show_member(None)
        else:
            panel = member_view(till.member or member, till.redeem)
            totals = totals_view(snap)
            if panel is not None and totals.points_redeemed:
                # QA #3: after F6 the panel shows the balance left and what this sale redeems, not the old offer
                panel = dataclasses.replace(panel, points=max(0, panel.points - totals.points_redeemed),
                                            redeemable_points=0, redeemable_fen=0,
                                            redeemed_points=totals.points_redeemed,
                                            redeemed_fen=totals.discount_fen)
            self.view.show_member(panel)
        emit(self.basket_changed)

    def _guard(self, action: Callable[[], T]) -> T | None:
        """Call a till intent; a refusal becomes a notice (the basket is kept), never an escaped exception."""
        try:
            result = action()
        except (DomainError, ServiceError, ServiceUnavailable) as exc:
            self.view.show_notice(error_text(self.t, exc))
            self.refresh()
            return None
        except Exception as exc:  # noqa: BLE001 - nothing escapes a Qt slot: logged, shown, the basket kept
            logger.exception("till intent failed")
            self.view.show_notice(self.t("Something went wrong: {reason}", reason=_error_text(exc)))
            self.refresh()
            return None
        self.refresh(result if isinstance(result, TillSnapshot) else None)
        return result

    # --- scans --------------------------------------------------------------------------
    def on_rejected(self, masked: str, reason: str) -> None:
        self.view.show_notice(self.t("Not recognised: {code} ({reason})", code=masked, reason=self.t(reason)))

    def on_typed_code(self, text: str) -> None:
        """Enter in the code box: a scan from the keyboard (routed like any reader's)."""
        import time

        from drivers.base import ScanEvent

        self.ctx.router.route(ScanEvent(raw=text, text=text, symbology="", source="keyboard://",
                                        at=time.monotonic()))

    def on_product_code(self, code: ScanCode) -> None:
        if self._guard(lambda: self.till.scan_product(code)) is not None:
            self.view.select_row(self.view.model.rowCount() - 1)

    def on_receipt_code(self, code: ScanCode) -> None:
        """A receipt barcode on the checkout screen opens the refund dialog for it."""
        if self.ctx.refunds is None:
            self.view.show_notice(self.t("Refunds are not available on this terminal"))
            return
        from .refund_dialog import open_refund

        open_refund(self.ctx, self, code.text)

    def on_member_code(self, code: ScanCode) -> None:
        members = self.ctx.members
        if members is None:
            self.view.show_notice(self.t("Member lookup is not available"))
            return
        # a card known here is found in a few ms: the "looking up" notice shows only when the lookup takes
        # longer (Alipay asked), so a quick one does not re-lay the screen out twice (issue 18)
        self._lookup_notice.start()
        self.till.expect_member()
        self.tasks.submit(lambda: members.resolve(code), self._member_resolved, self._member_failed)

    def _show_lookup_notice(self) -> None:
        self.view.show_notice(self.t("Looking up the member…"), error=False, seconds=10)

    def _member_resolved(self, lookup: MemberLookup) -> None:
        self._lookup_notice.stop()
        member = lookup.member
        if member is None:
            self.till.member_lookup_ended()
            reason = lookup.message or "member not found"
            self.view.show_notice(self.t(str(reason)))
            return
        if self._guard(lambda: self.till.attach_member(member)) is not None:
            note = lookup.message
            if note:
                self.view.show_notice(self.t(str(note)), error=False)
            else:
                self.view.notice.hide()

    def _member_failed(self, exc: BaseException) -> None:
        self._lookup_notice.stop()
        self.till.member_lookup_ended()
        self.view.show_notice(self.t(_error_text(exc)))

    # --- intents ------------------------------------------------------------------------
    def on_intent(self, name: str) -> None:
        handler = self._intents.get(name)
        if handler is not None:
            handler()
            return
        opener = self.ctx.nav.intents.get(name)
        if opener is not None:
            opener(self)
            return
        self.view.show_notice(self.t("Not available on this terminal yet"))

    def step_quantity(self, step: int) -> None:
        row = self.view.selected_row()
        line = self.view.model.line_at(row)
        if line is None or line.voided or line.weighed:
            return
        if line.quantity + step <= 0:
            self.do_void_line()
            return
        self._guard(lambda: self.till.set_quantity(line.line_id, line.quantity + step))
        self.view.select_row(row)

    def do_void_line(self) -> None:
        row = self.view.selected_row()
        line = self.view.model.line_at(row)
        if line is None or line.voided:
            return
        if self.snapshot().total_shown:
            # QA #6: the supervisor's approval dialog asks for the reason; no free-text prompt first
            self._void_with_reason(line, "")
            return
        self.prompt = ask_text(self.view, self.t("Void line"), self.t("Reason for voiding {name}:", name=line.name),
                               lambda reason: self._void_with_reason(line, reason))

    def _void_with_reason(self, line: LineView, reason: str) -> None:
        self.prompt = None
        reason = reason.strip()
        if self.snapshot().total_shown:
            ask = self.ctx.nav.ask_approval
            if ask is None:
                self.view.show_notice(self.t("A supervisor approval is needed"))
                return
            approval = ask(self.view, "void_line", line.name, None)
            if approval is None:
                self.view.show_notice(self.t("The line was not voided: a supervisor must approve"))
                return
            self.last_void_approval = approval
            approved_by = approval.approved_by
            labels = dict(reasons_for("void_line"))
            code = str(getattr(approval, "reason_code", "") or "")
            note = str(getattr(approval, "note", "") or "").strip()
            label = self.t(labels[code]) if code in labels else code
            reason = "; ".join(part for part in (label, note, reason) if part)
        else:
            approved_by = None
        self._guard(lambda: self.till.void_line(line.line_id, reason, approved_by=approved_by))

    def supervisor_approves(self, action: str, subject: str, reasons: list[str]) -> bool:
        if self.ctx.nav.ask_approval is None:
            self.view.show_notice(self.t("A supervisor approval is needed"))
            return False
        return self.ctx.nav.approve(self.view, action, subject, reasons)

    def do_remove_member(self) -> None:
        if self.snapshot().member is None:
            return
        self._guard(self.till.remove_member)

    def do_open_price(self) -> None:
        self.prompt = ask_text(self.view, self.t("Open price"), self.t("Price (yuan):"), self._open_price)

    def _open_price(self, text: str) -> None:
        """``12.50`` or ``12.50 gift wrap``: the price, then a short description shown on the line and receipt."""
        self.prompt = None
        price_text, _, description = text.strip().partition(" ")
        try:
            fen = parse_yuan(price_text)
        except DomainError as exc:
            self.view.show_notice(self.t(_error_text(exc)))
            return
        name = description.strip()[:40] or self.t("Open-price item")
        self._guard(lambda: self.till.add_open_line(name, fen))

    # --- manual discounts, park and recall (issue 14) ----------------------------------------
    def _discount_from(self, text: str) -> ManualDiscount | None:
        """``10%`` or ``5.00``, then an optional reason code (``10% damaged``); None (and a notice) if unclear."""
        amount, _, reason = text.strip().partition(" ")
        reason = reason.strip() or "other"
        try:
            if amount.endswith("%"):
                return ManualDiscount(reason, percent=int(amount[:-1]))
            return ManualDiscount(reason, amount_fen=parse_yuan(amount, allow_zero=False))
        except (DomainError, ValueError):
            self.view.show_notice(self.t("Type a discount like 10% or 5.00, then a reason"))
            return None

    def _apply_discount(self, apply: Callable[[int | None], TillSnapshot], subject: str) -> None:
        """Give the discount; above the cashier's cap the supervisor approves first (then it is given)."""
        self.prompt = None
        try:
            self.refresh(apply(None))
            return
        except DiscountNeedsApproval as exc:
            ask = self.ctx.nav.ask_approval
            if ask is None:
                self.view.show_notice(self.t(_error_text(exc)))
                return
            approval = ask(self.view, "manual_discount", subject, None)
            if approval is None:
                self.view.show_notice(self.t("The discount was not given: a supervisor must approve"))
                return
        except (DomainError, ServiceError, ServiceUnavailable) as exc:
            self.view.show_notice(self.t(_error_text(exc)))
            return
        self._guard(lambda: apply(approval.approved_by))

    def do_discount(self) -> None:
        line = self.view.model.line_at(self.view.selected_row())
        if line is None or line.voided:
            self.view.show_notice(self.t("Choose a line first"))
            return

        def on_text(text: str) -> None:
            discount = self._discount_from(text)
            if discount is None:
                self.prompt = None
                return
            self._apply_discount(lambda by: self.till.discount_line(line.line_id, discount, approved_by=by),
                                 line.name)

        self.prompt = ask_text(self.view, self.t("Discount line"),
                               self.t("Discount for {name} (10% or 5.00, then a reason):", name=line.name), on_text)

    def do_sale_discount(self) -> None:
        def on_text(text: str) -> None:
            discount = self._discount_from(text)
            if discount is None:
                self.prompt = None
                return
            self._apply_discount(lambda by: self.till.discount_sale(discount, approved_by=by), "")

        self.prompt = ask_text(self.view, self.t("Discount sale"),
                               self.t("Discount on the whole sale (10% or 5.00, then a reason):"), on_text)

    def do_park(self) -> None:
        """Ctrl+H: park the basket under a label, or (empty basket) recall a parked sale."""
        if self.till.snapshot().sale.active_lines:
            self.prompt = ask_text(self.view, self.t("Park sale"), self.t("Label (name or table):"), self._park)
            return
        parked = self.till.parked()
        if not parked:
            self.view.show_notice(self.t("No parked sales"))
            return
        labels = [f"{p.label}  {format_ui(p.total_fen)}  ({p.line_count})" for p in parked]

        def chosen(index: int) -> None:
            self.prompt = None
            self._guard(lambda: self.till.recall(parked[index].id))

        self.prompt = choose(self.view, self.t("Recall a parked sale"), self.t("Choose a parked sale:"), labels,
                             chosen)

    def _park(self, label: str) -> None:
        self.prompt = None
        if self._guard(lambda: self.till.park(label)) is not None:
            self.view.show_notice(self.t("Sale parked: {label}", label=label.strip() or "#"), error=False)

    def do_redeem(self) -> None:
        snap = self.snapshot()
        if snap.member is None:
            self.view.show_notice(self.t("Scan the membership card first"))
            return
        option = self._guard(self.till.redeem_option)
        points = option.max_points if option is not None else 0
        if points <= 0:
            self.view.show_notice(self.t("Nothing to redeem now"))
            return
        if totals_view(snap).points_redeemed:
            self._guard(self.till.clear_redemption)
            return
        self.prompt = ask_text(self.view, self.t("Redeem points"),
                               self.t("Points to redeem (at most {points}):", points=points),
                               lambda text: self._redeem(text, points), text=str(points))

    def _redeem(self, text: str, most: int) -> None:
        self.prompt = None
        if not text.isdigit() or not 0 < int(text) <= most:
            self.view.show_notice(self.t("Points to redeem (at most {points}):", points=most))
            return
        self._guard(lambda: self.till.redeem(int(text)))

    def do_catalogue_search(self) -> None:
        self.prompt = ask_text(self.view, self.t("Search items"), self.t("Name or code:"), self._catalogue_found)

    def _catalogue_found(self, text: str) -> None:
        items = list(self.till.search_catalogue(text))[:50]
        if not items:
            self.prompt = None
            self.view.show_notice(self.t("No item matches {text}", text=text))
            return
        zh = self.t.is_chinese
        labels = [f"{it.display_name('zh' if zh else 'en')}  {format_ui(it.price_fen)}  [{it.code}]"
                  for it in items]

        def chosen(index: int) -> None:
            self.prompt = None
            item = items[index]
            if self._guard(lambda: self.till.add_item(item)) is not None:
                self.view.select_row(self.view.model.rowCount() - 1)

        self.prompt = choose(self.view, self.t("Search items"), self.t("Choose an item:"), labels, chosen)

    def do_member_search(self) -> None:
        if self.ctx.members is None:
            self.view.show_notice(self.t("Member lookup is not available"))
            return
        self.prompt = ask_text(self.view, self.t("Member"), self.t("Phone number (or its last 4 digits) or card number:"),
                               self._members_found)

    def _members_found(self, text: str) -> None:
        found = list(self.ctx.members.search(text))[:30]
        if not found:
            self.prompt = None
            self.view.show_notice(self.t("No member matches {text}", text=text))
            return
        labels = [f"{m.name_masked}  {self.t(m.level)}  ****{m.card_no[-4:]}" for m in found]

        def chosen(index: int) -> None:
            self.prompt = None
            self._member_resolved(MemberLookup("found", found[index], ""))

        self.prompt = choose(self.view, self.t("Member"), self.t("Choose a member:"), labels, chosen)

    # --- payment ------------------------------------------------------------------------
    def _begin_payment(self, then: Callable[[], None]) -> None:
        """Take the total, then ``then()`` (open the payment). In store mode a sale that redeems points first has
        them held by the store: that round trip runs on a worker thread (a stalled store must not freeze the
        till), the cashier sees "Asking the store for the points…", scans go on, and the answer is applied here
        on the GUI thread; payment, cancel and other changes of the points are refused meanwhile."""
        if self.till.asking_points:
            self.view.show_notice(self.t("Asking the store for the points…"), error=False, seconds=30)
            return
        try:
            ask = self.till.ask_before_total()
        except (DomainError, ServiceError, ServiceUnavailable) as exc:
            self.view.show_notice(error_text(self.t, exc))
            self.refresh()
            return
        if ask is None:
            if self._guard(self.till.take_total) is not None:
                then()
            return
        self._ask_points(ask, then, None)

    def _ask_points(self, ask: PointsAsk, then: Callable[[], None], approval: Approval | None) -> None:
        self.view.show_notice(self.t("Asking the store for the points…"), error=False, seconds=30)
        by = approval.approved_by if approval is not None else None
        self.tasks.submit(lambda: self.till.ask_points(ask, approved_by=by),
                          lambda hold: self._points_held(ask, then, hold),
                          lambda exc: self._points_not_held(ask, then, exc))

    def _points_held(self, ask: PointsAsk, then: Callable[[], None], hold: PointsHold) -> None:
        if not self.till.points_answered(ask, hold):
            self.view.show_notice(self.t("The sale changed while the store was asked for the points: take the "
                                         "payment again"))
            self.refresh()
            return
        self.view.notice.hide()
        if not self.view.isVisible():   # the checkout screen was left meanwhile: the hold waits on the sale
            self.refresh()
            return
        if self._guard(self.till.take_total) is not None:
            then()

    def _points_not_held(self, ask: PointsAsk, then: Callable[[], None], exc: BaseException) -> None:
        if not self.till.waits_for(ask):   # its sale was given up meanwhile: nothing was held, nothing to say
            return
        if isinstance(exc, OfflineRedeemNeedsApproval):
            # STORE-MODE §1.4 rule 2: offline, above the threshold, a supervisor approves (the dialog records and
            # audits who); the till keeps waiting for this ask meanwhile
            subject = self.t("{points} points, card ****{card}", points=ask.points, card=ask.card_no[-4:])
            ask_approval = self.ctx.nav.ask_approval
            approval = ask_approval(self.view, "offline_redeem", subject, None) if ask_approval else None
            if approval is not None:
                logger.info("offline redemption of %d points approved by user %d", ask.points, approval.approved_by)
                self._ask_points(ask, then, approval)
                return
            self.till.points_answered(ask, None)
            self._guard(self.till.clear_redemption)   # no points redeemed; the sale goes on without them
            self.view.show_notice(self.t("No points were redeemed: a supervisor must approve redeeming more than "
                                         "{above} points while the store is offline", above=exc.above))
            return
        self.till.points_answered(ask, None)
        self.refresh()
        if isinstance(exc, (DomainError, ServiceError, ServiceUnavailable)):
            self.view.show_notice(error_text(self.t, exc))
        else:
            logger.error("asking the store for the points failed", exc_info=exc)
            self.view.show_notice(self.t("Something went wrong: {reason}", reason=_error_text(exc)))

    def do_cash(self) -> None:
        self._begin_payment(self._open_cash)

    def _open_cash(self) -> None:
        if self.till.snapshot().exchange_covers:
            self._settle_exchange("cash")
            return
        payable = self.till.snapshot().remaining_fen   # a split sale: what is left after the parts
        dialog = CashDialog(self.t, payable, self.view)
        dialog.setWindowModality(Qt.WindowModality.WindowModal)
        dialog.finished.connect(lambda result: self._cash_done(dialog, payable, result))
        self.cash_dialog = dialog
        dialog.open()
        dialog.amount.setFocus()

    def _cash_done(self, dialog: CashDialog, payable: int, result: int) -> None:
        self.cash_dialog = None
        dialog.deleteLater()
        if result != CashDialog.DialogCode.Accepted or dialog.tendered_fen is None:
            back = self._guard(self.till.cancel_payment)
            if back is not None and back.parts:
                self.show_parts("")
            return
        tendered = dialog.tendered_fen
        if dialog.part:
            if self._guard(lambda: self.till.pay_cash_part(tendered)) is not None:
                if self.ctx.printer is not None and self.ctx.drawer:
                    self.ctx.printer.open_drawer()
                self.show_parts(self.t("Cash {amount} taken", amount=format_ui(tendered)))
            return
        committed = self._guard(lambda: self.till.pay_cash(tendered))  # refused: the basket is kept, open
        if committed is None:
            return
        if self.ctx.printer is not None and self.ctx.drawer:
            self.ctx.printer.open_drawer()
        self.finish_sale(committed, self.t("Change {amount}", amount=format_ui(tendered - payable)))

    def do_alipay(self) -> None:
        opener = self.ctx.nav.alipay
        if opener is None or not self.till.alipay_available:
            self.view.show_notice(self.t("Alipay is not configured on this terminal"))
            return
        self._begin_payment(lambda: self._open_alipay(opener))

    def _open_alipay(self, opener: Callable[[CheckoutController], object]) -> None:
        till = self.till.snapshot()
        if till.exchange_covers:
            self._settle_exchange("alipay" if till.exchange is not None and till.exchange.back_method == "alipay"
                                  else "cash")
            return
        opener(self)

    # --- exchange (换货) ----------------------------------------------------------------------
    def do_exchange(self) -> None:
        """Ctrl+E: goods of an earlier sale come back against the new ones (receipt, item, supervisor)."""
        if self.ctx.refunds is None:
            self.view.show_notice(self.t("Refunds are not available on this terminal"))
            return
        till = self.till.snapshot()
        if till.exchange is not None:
            self._guard(self.till.cancel_exchange)
            self.view.show_notice(self.t("The exchange was cancelled"), error=False)
            return
        self.prompt = ask_text(self.view, self.t("Exchange"), self.t("Receipt number of the earlier sale:"),
                               self._exchange_receipt)

    def _exchange_receipt(self, text: str) -> None:
        self.prompt = None
        try:
            detail = self.ctx.refunds.find_sale(text.strip())
        except (DomainError, ServiceError, ServiceUnavailable) as exc:
            self.view.show_notice(error_text(self.t, exc))
            return
        lines = [ln for ln in detail.lines if not ln.voided and detail.refundable_qty.get(ln.line_no, 0) > 0]
        if not lines:
            self.view.show_notice(self.t("Nothing of this sale can come back"))
            return
        labels = [f"{ln.name}  ×{detail.refundable_qty[ln.line_no]}  {format_ui(ln.amount_fen - ln.discount_fen)}"
                  for ln in lines]

        def chosen(index: int) -> None:
            line = lines[index]
            most = detail.refundable_qty[line.line_no]
            if most == 1:
                self._exchange_line(detail.sale.receipt_no, line.line_no, line.name, "1", 1)
                return
            self.prompt = ask_text(self.view, self.t("Exchange"),
                                   self.t("How many come back (at most {n})?", n=most),
                                   lambda q: self._exchange_line(detail.sale.receipt_no, line.line_no, line.name,
                                                                 q, most), text="1")

        self.prompt = choose(self.view, self.t("Exchange"), self.t("Which item comes back?"), labels, chosen)

    def _exchange_line(self, receipt_no: str, line_no: int, name: str, qty_text: str, most: int) -> None:
        self.prompt = None
        if not qty_text.strip().isdigit() or not 0 < int(qty_text) <= most:
            self.view.show_notice(self.t("How many come back (at most {n})?", n=most))
            return
        qty = int(qty_text)
        ask = self.ctx.nav.ask_approval
        if ask is None:
            self.view.show_notice(self.t("A supervisor approval is needed"))
            return
        approval = ask(self.view, "exchange", f"{receipt_no} {name} ×{qty}", None)
        if approval is None:
            self.view.show_notice(self.t("The exchange was not approved"))
            return
        plan = self._guard(lambda: self.till.plan_exchange(receipt_no, {line_no: qty},
                                                           approved_by=approval.approved_by,
                                                           reason=str(getattr(approval, "reason_code", "") or
                                                                      "exchange")))
        if plan is None or self._guard(lambda: self.till.begin_exchange(plan)) is None:
            return
        self.view.show_notice(self.t("Exchange: {name} ×{qty} from {receipt} comes back, worth {amount}. Scan the "
                                     "new goods, then F5 cash or F4 Alipay", name=name, qty=qty, receipt=receipt_no,
                                     amount=format_ui(plan.credit_fen)), error=False, seconds=600)

    def _settle_exchange(self, method: str) -> None:
        """The returned goods pay for all the new ones: commit; give back the rest (cash, or to Alipay)."""
        till = self.till.snapshot()
        back = till.exchange_back_fen
        committed = self._guard(lambda: self.till.settle_exchange(method))
        if committed is None:
            return
        if back and method == "cash" and self.ctx.printer is not None and self.ctx.drawer:
            self.ctx.printer.open_drawer()
        if not back:
            message = self.t("Exchange done: nothing to pay")
        elif method == "cash":
            message = self.t("Exchange done: give back {amount} in cash", amount=format_ui(back))
        else:
            message = self.t("Exchange done: {amount} goes back to Alipay", amount=format_ui(back))
        self.finish_sale(committed, message)
        if back and method == "alipay":
            self.tasks.submit(lambda: self.till.send_exchange_back(committed), self._exchange_back_sent,
                              self._exchange_back_failed)

    def _exchange_back_sent(self, outcome: object) -> None:
        state = str(getattr(outcome, "state", ""))
        if state == "done":
            self.view.show_notice(self.t("Refunded {amount} to Alipay", amount=format_ui(
                int(getattr(outcome, "amount_fen", 0)))), error=False, seconds=30)
        else:
            self.view.show_notice(self.t("The Alipay refund is not confirmed yet: retry it from the refund screen "
                                         "(F8)"), seconds=60)

    def _exchange_back_failed(self, exc: BaseException) -> None:
        logger.error("the Alipay refund of an exchange failed: %s", exc)
        self.view.show_notice(self.t("The Alipay refund is not confirmed yet: retry it from the refund screen (F8)"),
                              seconds=60)

    def show_parts(self, first: str) -> None:
        """A split sale waits for the rest: say what is paid, what is left and the keys."""
        till = self.till.snapshot()
        names = {"cash": self.t("Cash"), "alipay": self.t("Alipay"), "credit": self.t("Exchange credit")}
        paid = " + ".join(f"{names['credit' if p.is_credit else p.kind]} {format_ui(p.amount_fen)}"
                          for p in till.parts)
        text = self.t("Paid {paid}; left to pay {left}: F5 cash or F4 Alipay (Ctrl+G gives the payments back)",
                      paid=paid, left=format_ui(till.remaining_fen))
        self.view.show_notice(f"{first}. {text}" if first else text, error=False, seconds=600)

    def do_give_back(self) -> None:
        """Ctrl+G: give up the payment of a split sale; a supervisor approves, Alipay parts are refunded."""
        till = self.till.snapshot()
        if not till.paid_parts:
            self.view.show_notice(self.t("No part of this sale is paid"))
            return
        ask = self.ctx.nav.ask_approval
        paid = sum(p.amount_fen for p in till.paid_parts)
        if ask is None:
            self.view.show_notice(self.t("A supervisor approval is needed"))
            return
        approval = ask(self.view, "give_back_parts", format_ui(paid), None)
        if approval is None:
            self.show_parts(self.t("The payments were not given back: a supervisor must approve"))
            return
        self.view.show_notice(self.t("Giving the payments back…"), error=False, seconds=60)
        self.tasks.submit(lambda: self.till.give_back_parts(approval.approved_by,
                                                            approver_name=approval.approver_name),
                          self._given_back, self._give_back_failed)

    def _given_back(self, gave: object) -> None:
        from pos_app.services.till import GaveBack

        assert isinstance(gave, GaveBack)
        self.refresh(gave.snapshot)
        if gave.left:
            self.show_parts(self.t("An Alipay part could not be refunded yet: try again (Ctrl+G)"))
            return
        parts = []
        if gave.alipay_refunded_fen:
            parts.append(self.t("{amount} refunded to Alipay", amount=format_ui(gave.alipay_refunded_fen)))
        if gave.cash_fen:
            parts.append(self.t("hand back {amount} in cash", amount=format_ui(gave.cash_fen)))
            if self.ctx.printer is not None and self.ctx.drawer:
                self.ctx.printer.open_drawer()
        self.view.show_notice(self.t("Payments given back: {what}", what=", ".join(parts)), error=False,
                              seconds=30)

    def _give_back_failed(self, exc: BaseException) -> None:
        logger.error("giving the part payments back failed: %s", exc)
        self.refresh()
        self.show_parts(self.t("The payments could not be given back: {reason}", reason=_error_text(exc)))

    def finish_sale(self, committed: CommittedSale, message: str) -> None:
        self.last_committed = committed
        emit(self.sale_committed, committed)
        sync = getattr(self.ctx, "sync", None)
        if sync is not None:
            sync.nudge()  # the sale's outbox rows go out now, not at the worker's next idle poll
        self.refresh()  # the till has started the next sale
        self.view.show_notice(message, error=False, seconds=15)
        self.view.sale_done.setText(self._sale_done_text(committed))
        self.view.sale_done.show()
        if self._on_receipt is not None:
            self._on_receipt(committed)

    def _sale_done_text(self, committed: CommittedSale) -> str:
        """The "sale done" panel: total, tenders, change, points earned and redeemed, new balance, receipt."""
        t = self.t
        snap = committed.snapshot
        parts = [t("Sale done · receipt {no}", no=committed.receipt_no),
                 f"{t('Total')} {format_ui(snap.totals.payable_fen)}"]
        names = {"cash": t("Cash"), "alipay": t("Alipay"), "credit": t("Exchange credit")}
        parts.extend(f"{names['credit' if td.is_credit else td.kind]} {format_ui(td.tendered_fen)}"
                     for td in snap.tenders)
        if committed.change_fen:
            parts.append(f"{t('Change')} {format_ui(committed.change_fen)}")
        if snap.member is not None:
            parts.append(t("Points earned {points}", points=committed.points_earned))
            if snap.totals.points_redeemed:
                parts.append(t("Points redeemed {points}", points=snap.totals.points_redeemed))
            if committed.points_balance is not None:
                parts.append(t("New balance {points}", points=committed.points_balance))
        return "   ".join(parts)

    def cancel_current(self) -> None:
        """Esc on the checkout screen: clear the code box, or hide the notice."""
        if self.view.entry.text():
            self.view.entry.clear()
        else:
            self.view.notice.hide()

    def confirm(self, title: str, text: str) -> bool:
        return QMessageBox.question(self.view, title, text) == QMessageBox.StandardButton.Yes
