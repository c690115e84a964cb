"""Paid Alipay attempts with no sale (orphans) and attempts in 'unknown': a supervisor completes or refunds."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from pos_app.domain.money import format_ui
from pos_app.services.approvals import Approval
from pos_app.services.checkout import CommittedSale
from pos_app.services.payment import PaymentOutcome

from .context import TerminalContext
from .messages import format_reason
from .workers import TaskRunner

__all__ = ["OrphansDialog", "AskApproval"]

logger = logging.getLogger(__name__)

AskApproval = Callable[[QWidget, str, str, "list[str] | None"], "Approval | None"]
"""``ask(parent, action, subject, reasons)`` -> the recorded Approval or None."""


class OrphansDialog(QDialog):
    """Lists PaymentService.orphans() (and the 'unknown' attempts, read-only); C completes, R refunds.

    Each decision is approved by a supervisor (ApprovalDialog, action ``resolve_orphan``) and carried
    out by ``PaymentService.resolve_orphan`` on a worker thread (it may call the gateway); the service
    audits it. ``last_result`` holds what the last decision returned (a CommittedSale or an outcome).
    """

    def __init__(self, ctx: TerminalContext, tasks: TaskRunner, ask: AskApproval,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        t = self._t = ctx.tr
        self.ctx, self.tasks, self._ask = ctx, tasks, ask
        if ctx.payment is None:
            raise ValueError("unsettled payments need the Alipay payment service")
        self._payment = ctx.payment
        self.setObjectName("orphansDialog")
        self.setWindowTitle(t("Unsettled Alipay payments"))
        self.last_result: CommittedSale | PaymentOutcome | None = None
        self.busy = False
        lay = QVBoxLayout(self)
        intro = QLabel(t("Paid in Alipay, but the sale was never saved. If the customer is still here, complete "
                         "the sale; otherwise refund the money."))
        intro.setWordWrap(True)
        lay.addWidget(intro)
        self.list = QListWidget(self)
        self.list.setObjectName("orphanList")
        self.list.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        lay.addWidget(self.list, 1)
        self.unknown_label = QLabel(self)
        self.unknown_label.setObjectName("unknownPayments")
        self.unknown_label.setWordWrap(True)
        self.unknown_label.setStyleSheet("color: #b00020; font-weight: bold")
        lay.addWidget(self.unknown_label)
        self.status = QLabel(self)
        self.status.setObjectName("orphanStatus")
        self.status.setWordWrap(True)
        lay.addWidget(self.status)
        row = QHBoxLayout()
        self.complete_button = QPushButton(t("C  Complete the sale (customer still here)"), self)
        self.complete_button.setObjectName("orphanComplete")
        self.complete_button.clicked.connect(lambda: self.decide("complete"))
        self.refund_button = QPushButton(t("R  Refund"), self)
        self.refund_button.setObjectName("orphanRefund")
        self.refund_button.clicked.connect(lambda: self.decide("refund"))
        close = QPushButton(t("Close (Esc)"), self)
        close.clicked.connect(self.reject)
        for b in (self.complete_button, self.refund_button):
            b.setAutoDefault(False)
            row.addWidget(b)
        row.addStretch(1)
        row.addWidget(close)
        lay.addLayout(row)
        self.resize(720, 420)
        self.reload()

    def keyPressEvent(self, event: QKeyEvent) -> None:
        """C completes, R refunds the selected payment (also when the window is not active)."""
        if event.key() == Qt.Key.Key_C:
            self.decide("complete")
        elif event.key() == Qt.Key.Key_R:
            self.decide("refund")
        else:
            super().keyPressEvent(event)

    def reload(self) -> None:
        payment = self._payment
        self.list.clear()
        for att in payment.orphans():
            text = f"{att.out_trade_no}   {format_ui(att.amount_fen)}   {att.subject}"
            rest = self._rest_of_split(att)
            if rest:
                text += "   " + self._t("part of a split payment: completing records the other {amount} as cash",
                                        amount=format_ui(rest))
            item = QListWidgetItem(text)
            item.setData(Qt.ItemDataRole.UserRole, att.id)
            self.list.addItem(item)
        if self.list.count():
            self.list.setCurrentRow(0)
        unknown = payment.unknown()
        self.unknown_label.setText(
            self._t("Outcome not known (needs a supervisor; check in the Alipay merchant portal): {items}",
                    items=", ".join(f"{a.out_trade_no} {format_ui(a.amount_fen)}" for a in unknown))
            if unknown else "")
        has = self.list.count() > 0
        self.complete_button.setEnabled(has and not self.busy)
        self.refund_button.setEnabled(has and not self.busy)
        if not has and not self.busy:
            self.status.setText(self._t("No payment is waiting for a decision"))

    def _rest_of_split(self, att: Any) -> int:
        """The fen its sale still lacked after this payment (a part of a split tender), 0 if it paid the rest."""
        checkout = getattr(self._payment, "checkout", None)
        if checkout is None:
            return 0
        try:
            return int(checkout.part_of_split(att))
        except Exception:  # noqa: BLE001 - an unreadable stored basket: the list still shows the payment
            logger.exception("the basket of payment %s does not read", att.out_trade_no)
            return 0

    def selected_id(self) -> int | None:
        item = self.list.currentItem()
        return int(item.data(Qt.ItemDataRole.UserRole)) if item is not None else None

    def decide(self, decision: str) -> None:
        attempt_id = self.selected_id()
        if attempt_id is None or self.busy:
            return
        item = self.list.currentItem()
        subject = item.text().split()[0] if item is not None else str(attempt_id)
        label = self._t("Complete the sale") if decision == "complete" else self._t("Refund")
        approval = self._ask(self, "resolve_orphan", f"{label}: {subject}", [label])
        if approval is None:
            self.status.setText(self._t("Not approved"))
            return
        payment = self._payment
        self.busy = True
        self.complete_button.setEnabled(False)
        self.refund_button.setEnabled(False)
        self.status.setText(self._t("Working…"))
        self.tasks.submit(lambda: payment.resolve_orphan(attempt_id, decision, approval.approved_by,
                                                         by_user_name=approval.approver_name),
                          lambda result: self._done(decision, result), self._failed)

    def _done(self, decision: str, result: CommittedSale | PaymentOutcome) -> None:
        self.busy = False
        self.last_result = result
        if isinstance(result, CommittedSale):
            self.status.setText(self._t("Sale completed: receipt {no}", no=result.receipt_no))
            receipts = self.ctx.nav.receipts
            if receipts is not None:
                receipts.after_commit(result)
        else:
            self.status.setText(self._t("Refunded: {message}", message=format_reason(self._t, result.reason)))
        self.reload()

    def _failed(self, exc: BaseException) -> None:
        self.busy = False
        self.status.setText(self._t(str(exc) or exc.__class__.__name__))
        self.reload()
