"""Refund dialog: find the sale by receipt code, choose lines or an amount, supervisor approval, refund in a worker."""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QDialog,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from drivers.base import ScanEvent
from pos_app.domain.codes import ScanCode
from pos_app.domain.errors import DomainError
from pos_app.domain.money import format_ui, parse_yuan
from pos_app.services.approvals import Approval
from pos_app.services.receipts import ReceiptContent
from pos_app.services.refunds import RefundOutcome, SaleDetail
from pos_app.services.routing import Route

from .context import TerminalContext
from .qtcompat import emit

if TYPE_CHECKING:
    from .checkout_controller import CheckoutController

__all__ = ["RefundDialog", "open_refund"]

logger = logging.getLogger(__name__)

_REFUND_REASONS = (("goods_returned", "Goods returned"), ("wrong_price", "Wrong price"),
                   ("customer_complaint", "Customer complaint"))


class RefundDialog(QDialog):
    """Signals: refunded(RefundOutcome)."""

    refunded = Signal(object)

    def __init__(self, ctx: TerminalContext, controller: CheckoutController, parent: QWidget | None = None,
                 receipt_code: str = "") -> None:
        super().__init__(parent)
        tr = ctx.tr
        self.ctx = ctx
        self.controller = controller
        self.detail: SaleDetail | None = None
        self.quoted_fen: int | None = None   # what the chosen lines or amount refund (shown to the approver)
        self.approval_dialog: QDialog | None = None
        self.outcome: RefundOutcome | None = None
        self.refund_lines: list[tuple[int, int]] | None = None
        self.receipt: ReceiptContent | None = None
        self.setObjectName("refundDialog")
        self.setWindowTitle(tr("Refund"))
        self.code = QLineEdit(self)
        self.code.setObjectName("receiptCode")
        self.code.setPlaceholderText(tr("Scan the receipt barcode or type the receipt number, Enter"))
        self.code.returnPressed.connect(self._typed)
        self.summary = QLabel(self)
        self.summary.setWordWrap(True)
        self.lines = QListWidget(self)
        self.lines.setObjectName("refundLines")
        self.amount = QLineEdit(self)
        self.amount.setObjectName("refundAmount")
        self.amount.setPlaceholderText(tr("or an amount (yuan) instead of lines"))
        self.reason = QLineEdit(self)
        self.reason.setObjectName("refundReason")
        self.reason.setPlaceholderText(tr("Reason"))
        # keyboard only: Enter in the amount goes on to the reason, Enter in the reason asks for the supervisor
        self.amount.returnPressed.connect(self.reason.setFocus)
        self.reason.returnPressed.connect(self._reason_entered)
        self.status = QLabel(self)
        self.status.setObjectName("refundStatus")
        self.status.setWordWrap(True)
        self.go = QPushButton(tr("Refund (needs a supervisor)"), self)
        self.go.setObjectName("primary")
        self.go.setEnabled(False)
        self.go.clicked.connect(self.request_refund)
        close = QPushButton(tr("Close (Esc)"), self)
        close.clicked.connect(self.reject)
        for b in (self.go, close):
            b.setAutoDefault(False)
        row = QHBoxLayout()
        row.addWidget(self.go)
        row.addWidget(close)
        lay = QVBoxLayout(self)
        for w in (self.code, self.summary, self.lines, self.amount, self.reason, self.status):
            lay.addWidget(w)
        lay.addLayout(row)
        self.resize(620, 520)
        # the status line says "Ctrl+P to preview or reprint" the refund slip: it works here too, not only
        # on the checkout screen behind this dialog (a real till's Ctrl+P did nothing in the refund dialog)
        self.preview_shortcut = QShortcut(QKeySequence("Ctrl+P"), self)
        self.preview_shortcut.activated.connect(self._preview_slip)
        ctx.router.set_handler(Route.RECEIPT, self._scanned)
        if receipt_code:
            self.find_sale(receipt_code)

    def _reason_entered(self) -> None:
        if self.go.isEnabled():
            self.request_refund()

    def _preview_slip(self) -> None:
        receipts = self.ctx.nav.receipts
        if receipts is not None:
            receipts.show_last()

    def _scanned(self, code: ScanCode) -> None:
        self.find_sale(code.text)

    def _typed(self) -> None:
        text = self.code.text().strip()
        if text:
            self.ctx.router.route(ScanEvent(raw=text, text=text, symbology="", source="keyboard://",
                                            at=time.monotonic()))

    def find_sale(self, receipt_code: str) -> None:
        tr = self.ctx.tr
        self.code.setText(receipt_code)
        self._receipt_code = receipt_code
        try:
            detail = self.ctx.refunds.find_sale(receipt_code)
        except Exception as exc:
            if exc.__class__.__module__.startswith("pos_app.services"):
                self.status.setText(tr(str(exc)))
                return
            raise
        self.detail = detail
        sale = detail.sale
        self.summary.setText(tr("Sale {no}: {total}, refundable {left}{member}",
                                no=getattr(sale, "receipt_no", receipt_code), total=format_ui(sale.total_fen),
                                left=format_ui(detail.refundable_fen),
                                member=f" · {tr('Member')} {detail.member_masked}" if detail.member_masked else ""))
        self.lines.clear()
        for line in detail.lines:
            left = detail.refundable_qty.get(line.line_no, 0)
            if line.voided or left <= 0:
                continue
            # what the customer paid for the line (member price, promotions), not the shelf price
            # ... for what is left of it (a line partly refunded before shows the rest)
            paid = (line.amount_fen - line.discount_fen) * left // line.quantity if line.quantity else 0
            item = QListWidgetItem(f"{line.name}  ×{left}  {format_ui(paid)}")
            item.setData(Qt.ItemDataRole.UserRole, (line.line_no, left))
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            item.setCheckState(Qt.CheckState.Checked)
            self.lines.addItem(item)
        self.go.setEnabled(detail.refundable_fen > 0)
        self.reason.setFocus()

    def chosen_lines(self) -> list[tuple[int, int]]:
        out = []
        for i in range(self.lines.count()):
            item = self.lines.item(i)
            if item.checkState() == Qt.CheckState.Checked:
                line_no, qty = item.data(Qt.ItemDataRole.UserRole)
                out.append((int(line_no), int(qty)))
        return out

    def request_refund(self) -> None:
        tr = self.ctx.tr
        if self.detail is None:
            return
        amount_fen: int | None = None
        lines: list[tuple[int, int]] | None = None
        if self.amount.text().strip():
            try:
                amount_fen = parse_yuan(self.amount.text())
            except DomainError as exc:
                self.status.setText(tr(str(exc)))
                return
        else:
            lines = self.chosen_lines()
            if not lines:
                self.status.setText(tr("Choose the lines to refund, or an amount"))
                return
        reason = self.reason.text().strip() or tr("Goods returned")
        try:   # the amount first: the supervisor approves a figure, not only a receipt number
            self.quoted_fen = self.ctx.refunds.quote(self.detail.sale.id, lines, amount_fen)
        except Exception as exc:
            if exc.__class__.__module__.startswith("pos_app.services"):
                self.status.setText(tr(str(exc)))
                return
            raise
        approval = self.ask_approval(reason)
        if approval is None:
            self.status.setText(tr("The refund was not approved"))
            return
        session = self.controller.session
        if session is None:
            return
        method = "alipay" if self.detail.out_trade_no else "cash"
        sale_id = self.detail.sale.id
        refunds = self.ctx.refunds
        self.go.setEnabled(False)
        self.status.setText(tr("Refunding…"))
        self.refund_lines = lines
        self.controller.tasks.submit(
            lambda: refunds.refund(sale_id, lines, amount_fen, method=method, reason=reason,
                                   cashier_id=session.user_id, approved_by=approval.approved_by,
                                   shift_id=session.shift_id, cashier_name=session.user_name),
            self._done, self._failed)

    def ask_approval(self, reason: str) -> Approval | None:
        from .approval_dialog import ApprovalDialog

        receipt_no = self.detail.sale.receipt_no if self.detail is not None else ""
        quoted = self.quoted_fen
        dialog = ApprovalDialog(self.ctx.users, "refund", receipt_no,
                                list(_REFUND_REASONS), self,
                                requested_by=getattr(self.controller.session, "user", None), tr=self.ctx.tr,
                                detail=self.ctx.tr("Refund {amount}", amount=format_ui(quoted))
                                if quoted is not None else "")
        self.approval_dialog = dialog
        try:
            return dialog.exec()
        finally:
            self.approval_dialog = None

    def _done(self, outcome: RefundOutcome) -> None:
        tr = self.ctx.tr
        self.outcome = outcome
        if outcome.state == "done":
            self.status.setText(tr("Refunded {amount} ({method})", amount=format_ui(outcome.amount_fen),
                                   method=tr(outcome.method)))
            receipts = self.ctx.nav.receipts
            if receipts is not None and self.detail is not None:
                session = self.controller.session
                self.receipt = receipts.after_refund(self.detail, outcome, self.refund_lines,
                                                     getattr(session, "user_name", ""))
                self.status.setText(self.status.text() + "  ·  " + tr("Refund slip ready (Ctrl+P to preview or reprint)"))
            self._reload()
            emit(self.refunded, outcome)
        else:
            self.status.setText(tr("Refund not completed: {reason}", reason=tr(outcome.message)))
            self.go.setEnabled(True)

    def _reload(self) -> None:
        """After a refund: read the sale again so the refundable amount and lines are the new ones (QA #2)."""
        code = getattr(self, "_receipt_code", "")
        if not code:
            return
        self.amount.clear()
        self.find_sale(code)

    def _failed(self, exc: BaseException) -> None:
        self.status.setText(self.ctx.tr(str(exc)))
        self.go.setEnabled(True)

    def done(self, result: int) -> None:
        self.ctx.router.set_handler(Route.RECEIPT, self.controller.on_receipt_code)
        super().done(result)


def open_refund(ctx: TerminalContext, controller: CheckoutController, receipt_code: str = "") -> RefundDialog:
    dialog = RefundDialog(ctx, controller, controller.view, receipt_code)
    dialog.setWindowModality(Qt.WindowModality.WindowModal)
    controller.refund_dialog = dialog
    dialog.finished.connect(lambda _r: setattr(controller, "refund_dialog", None))
    dialog.open()
    return dialog
