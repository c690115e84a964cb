"""Alipay payment dialog: waits for the payment code, runs the till's write-ahead payment in a QThread, shows
each stage. The sequence itself (record the attempt, pay/query/cancel, commit) is Till.pay_alipay."""

from __future__ import annotations

import logging
import threading
import time
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Qt, QThread, QTimer, Signal
from PySide6.QtGui import QKeyEvent, QKeySequence, QShortcut
from PySide6.QtWidgets import QDialog, QLabel, QLineEdit, QPushButton, QVBoxLayout, QWidget

from pos_app.domain.codes import ScanCode
from pos_app.domain.errors import DomainError
from pos_app.domain.money import format_ui, parse_yuan
from pos_app.services.errors import ServiceError, ServiceUnavailable
from pos_app.services.payment import PaymentOutcome, PaymentProgress
from pos_app.services.reasons import Reason
from pos_app.services.routing import Route
from pos_app.services.till import AlipayResult, PaidNotSaved, Till

from .context import TerminalContext
from .messages import error_text, format_reason
from .qtcompat import emit

if TYPE_CHECKING:
    from .checkout_controller import CheckoutController

__all__ = ["PaymentDialog", "PaymentWorker", "open_alipay_payment"]

logger = logging.getLogger(__name__)


class PaymentWorker(QObject):
    """Runs Till.pay_alipay on its own QThread.

    Signals: progress(PaymentProgress), finished(AlipayResult), failed(BaseException).
    """

    progress = Signal(object)
    finished = Signal(object)
    failed = Signal(object)

    def __init__(self, till: Till, auth_code: str, subject: str, give_up: threading.Event,
                 amount_fen: int | None = None) -> None:
        super().__init__()
        self._till = till
        self._auth_code = auth_code
        self._subject = subject
        self._give_up = give_up
        self._amount_fen = amount_fen

    def run(self) -> None:
        try:
            result = self._till.pay_alipay(self._auth_code, subject=self._subject,
                                           on_progress=lambda p: emit(self.progress, p), give_up=self._give_up,
                                           amount_fen=self._amount_fen)
        except (DomainError, ServiceError, ServiceUnavailable) as exc:  # refused, or paid but not saved
            emit(self.failed, exc)
            return
        except Exception as exc:  # noqa: BLE001 - shown to the cashier; an attempt stays recorded for recovery
            logger.exception("payment run failed")
            emit(self.failed, exc)
            return
        emit(self.finished, result)


class PaymentDialog(QDialog):
    """States: waiting for code -> running -> done (paid: accept(); anything else: stays open to retry/close).

    Signals:
        paid(object outcome)
        customer_progress(str state): the payment as the customer display shows it: sending, waiting (the
            customer confirms in Alipay), paid, failed (services.customer_display.PAYMENT_STATES).
    """

    paid = Signal(object)
    customer_progress = Signal(str)

    def __init__(self, ctx: TerminalContext, controller: CheckoutController, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        tr = ctx.tr
        self.ctx = ctx
        self.controller = controller
        self.setObjectName("paymentDialog")
        self.setWindowTitle(tr("Alipay payment"))
        self.till: Till = controller.till
        self.payable_fen = self.till.snapshot().remaining_fen   # what is left (a split sale has parts paid)
        self.outcome: PaymentOutcome | None = None
        self.alipay_result: AlipayResult | None = None
        self.error: BaseException | None = None
        self.part_fen: int | None = None
        self._give_up = threading.Event()
        self._thread: QThread | None = None
        self._worker: PaymentWorker | None = None
        self._started_at = 0.0
        self._stage = ""
        self._message = ""
        amount = QLabel(tr("To pay") + f"  {format_ui(self.payable_fen)}", self)
        amount.setObjectName("bigStatus")
        # split tender: F2 keys a smaller amount for Alipay (the rest is paid afterwards, in cash or Alipay)
        self.amount = QLineEdit(self)
        self.amount.setObjectName("alipayAmount")
        self.amount.setPlaceholderText(tr("Amount by Alipay (F2), empty = all {amount}",
                                          amount=format_ui(self.payable_fen)))
        self.amount.returnPressed.connect(self._amount_keyed)
        amount_key = QShortcut(QKeySequence(Qt.Key.Key_F2), self)
        amount_key.activated.connect(self._key_amount)
        self.status = QLabel(tr("Scan the customer's Alipay payment code"), self)
        self.status.setObjectName("paymentStatus")
        self.status.setWordWrap(True)
        self.status.setMinimumHeight(80)
        self.code = QLineEdit(self)
        self.code.setObjectName("paymentCode")
        self.code.setPlaceholderText(tr("or type the payment code and press Enter"))
        self.code.returnPressed.connect(self._typed)
        self.give_up_button = QPushButton(tr("Give up (Esc)"), self)
        self.give_up_button.setObjectName("giveUp")
        self.give_up_button.clicked.connect(self.reject)
        self.give_up_button.setAutoDefault(False)
        lay = QVBoxLayout(self)
        lay.addWidget(amount)
        lay.addWidget(self.amount)
        lay.addWidget(self.status)
        lay.addWidget(self.code)
        lay.addWidget(self.give_up_button)
        self.resize(560, 300)
        self._tick = QTimer(self)
        self._tick.setObjectName("paymentSeconds")
        self._tick.timeout.connect(self._show_seconds)
        ctx.router.set_handler(Route.PAYMENT, self._scanned)
        if not self.till.payments_ready:
            self.status.setText(tr("Checking earlier payments first…"))

    # --- code in --------------------------------------------------------------------------
    def _scanned(self, code: ScanCode) -> None:
        self.start(code.text)

    def _typed(self) -> None:
        text = self.code.text().strip()
        self.code.clear()
        if text:
            from drivers.base import ScanEvent

            self.ctx.router.route(ScanEvent(raw=text, text=text, symbology="", source="keyboard://",
                                            at=time.monotonic()))

    def _amount_keyed(self) -> None:
        self.code.setFocus()

    def keyPressEvent(self, event: QKeyEvent) -> None:
        """F2 also when the window is not active (shortcuts need an active window)."""
        if event.key() == Qt.Key.Key_F2:
            self._key_amount()
            return
        super().keyPressEvent(event)

    def _key_amount(self) -> None:
        if not self.running:
            self.amount.setFocus()
            self.amount.selectAll()

    def amount_fen(self) -> int | None:
        """The amount keyed for Alipay (None: all that is left); raises MoneyError for a bad amount."""
        text = self.amount.text().strip()
        if not text:
            return None
        fen = parse_yuan(text, allow_zero=False)
        return None if fen == self.payable_fen else fen

    @property
    def running(self) -> bool:
        return self._thread is not None

    def start(self, auth_code: str) -> None:
        """Run the till's write-ahead payment on a worker thread (the GUI thread writes nothing)."""
        tr = self.ctx.tr
        if self.running:
            return
        if not self.till.payments_ready:
            self.status.setText(tr("Earlier payments are still being checked; scan again in a moment"))
            return
        try:
            amount_fen = self.amount_fen()
        except DomainError:
            self.status.setText(tr("Type the amount by Alipay like 10.00 (at most {amount})",
                                   amount=format_ui(self.payable_fen)))
            return
        if amount_fen is not None and amount_fen > self.payable_fen:
            self.status.setText(tr("Type the amount by Alipay like 10.00 (at most {amount})",
                                   amount=format_ui(self.payable_fen)))
            return
        self.part_fen = amount_fen
        self.ctx.router.set_handler(Route.PAYMENT, None)
        self.code.setEnabled(False)
        self.amount.setEnabled(False)
        self.status.setText(format_reason(tr, Reason("payment.sending")))
        emit(self.customer_progress, "sending")
        self._started_at = time.monotonic()
        thread = QThread(self)
        thread.setObjectName("payment")
        worker = PaymentWorker(self.till, auth_code, tr("Purchase"), self._give_up, amount_fen)
        worker.moveToThread(thread)
        thread.started.connect(worker.run)
        worker.progress.connect(self._progress)
        worker.finished.connect(self._finished)
        worker.failed.connect(self._failed)
        self._thread, self._worker = thread, worker
        self._tick.start(500)
        thread.start()

    # --- progress out ---------------------------------------------------------------------
    def _progress(self, progress: PaymentProgress) -> None:
        stage = str(getattr(progress, "stage", ""))
        if stage == "waiting" and self._stage != "waiting":
            emit(self.customer_progress, "waiting")
        self._stage = stage
        self._message = format_reason(self.ctx.tr, progress.reason)
        self._show_seconds()

    def _show_seconds(self) -> None:
        tr = self.ctx.tr
        seconds = int(time.monotonic() - self._started_at)
        if self._stage == "waiting":
            self.status.setText(tr("Waiting for the customer to confirm in Alipay — {s} s", s=seconds))
        elif self._message:
            self.status.setText(f"{self._message} ({seconds} s)")

    def _stop_thread(self) -> None:
        self._tick.stop()
        if self._thread is not None:
            self._thread.quit()
            self._thread.wait(5000)
            self._thread = None
            self._worker = None

    def _finished(self, result: AlipayResult) -> None:
        self._stop_thread()
        self.alipay_result = result
        outcome = self.outcome = result.outcome
        tr = self.ctx.tr
        if result.committed is not None or result.part is not None:
            self.status.setText(tr("Paid"))
            emit(self.customer_progress, "paid")
            emit(self.paid, outcome)
            self.accept()
            return
        reason = format_reason(tr, outcome.reason)
        emit(self.customer_progress, "failed")
        self.status.setText(tr("Payment not completed: {reason}", reason=reason))
        self.give_up_button.setText(tr("Close (Esc)"))
        self.code.setEnabled(True)
        self.amount.setEnabled(True)
        self.ctx.router.set_handler(Route.PAYMENT, self._scanned)
        self.code.setFocus()

    def _failed(self, exc: BaseException) -> None:
        self._stop_thread()
        tr = self.ctx.tr
        if isinstance(exc, PaidNotSaved):  # the customer paid: the dialog closes, the cashier calls a supervisor
            emit(self.customer_progress, "paid")
            self.error = exc
            self.outcome = exc.outcome
            self.accept()
            return
        if isinstance(exc, DomainError | ServiceError | ServiceUnavailable):  # nothing was sent: scan again
            emit(self.customer_progress, "failed")
            self.status.setText(error_text(tr, exc))
            self.code.setEnabled(True)
            self.amount.setEnabled(True)
            self.ctx.router.set_handler(Route.PAYMENT, self._scanned)
            self.code.setFocus()
            return
        emit(self.customer_progress, "failed")
        self.status.setText(tr("The payment could not be run: {reason}", reason=str(exc)))
        self.give_up_button.setText(tr("Close (Esc)"))

    # --- giving up ------------------------------------------------------------------------
    def reject(self) -> None:
        """Esc / Give up: while running, ask the service to cancel and wait for its outcome."""
        if self.running:
            self._give_up.set()
            self.status.setText(self.ctx.tr("Cancelling the payment with Alipay — do not hand over goods…"))
            self.give_up_button.setEnabled(False)
            return
        self.ctx.router.set_handler(Route.PAYMENT, None)
        super().reject()

    def done(self, result: int) -> None:
        self.ctx.router.set_handler(Route.PAYMENT, None)
        super().done(result)


def open_alipay_payment(ctx: TerminalContext, controller: CheckoutController) -> PaymentDialog:
    """F4: the sale is awaiting payment; on paid commit it, else return the sale to the basket."""
    dialog = PaymentDialog(ctx, controller, controller.view)
    dialog.setWindowModality(Qt.WindowModality.WindowModal)
    controller.payment_dialog = dialog
    for watch in ctx.nav.payment_watchers:   # e.g. the customer display follows the payment's progress
        watch(dialog)

    def finished(result: int) -> None:
        controller.payment_dialog = None
        dialog.deleteLater()
        _after_payment(ctx, controller, dialog, result == QDialog.DialogCode.Accepted)

    dialog.finished.connect(finished)
    dialog.open()
    dialog.code.setFocus()
    return dialog


def _after_payment(ctx: TerminalContext, controller: CheckoutController, dialog: PaymentDialog, accepted: bool) -> None:
    """Render the end of the payment: the committed sale, or the basket back with the reason."""
    if isinstance(dialog.error, PaidNotSaved):
        controller.refresh()
        controller.view.show_notice(ctx.tr("The customer paid but the sale could not be saved: call a supervisor"),
                                    seconds=60)
        return
    result = dialog.alipay_result
    if accepted and result is not None and result.part is not None:   # a part of a split tender: the rest next
        controller.show_parts(ctx.tr("Paid by Alipay {amount}", amount=format_ui(result.part.amount_fen)))
        return
    if not accepted or result is None or result.committed is None:
        back = controller.till.cancel_payment()   # with parts paid the sale keeps waiting for the rest
        controller.refresh()
        outcome = dialog.outcome
        why = format_reason(ctx.tr, outcome.reason) if outcome is not None else ""
        if back.parts:
            controller.show_parts(why)
        elif why:
            controller.view.show_notice(why)
        return
    controller.finish_sale(result.committed, ctx.tr("Paid by Alipay {amount}", amount=format_ui(dialog.payable_fen)))
