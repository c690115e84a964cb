"""Connect the checkout screen's intents to the dialogs (payment, refund, reports, shift, sync, approval, orphans)."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialog, QVBoxLayout, QWidget

from pos_app.services.ports.outbox import SyncApprover

from .context import TerminalContext
from .sync_view import Approve

if TYPE_CHECKING:
    from pos_app.services.approvals import Approval
    from pos_app.services.users import User

    from .checkout_controller import CheckoutController
    from .main_window import MainWindow

__all__ = ["install", "SyncDialog"]

logger = logging.getLogger(__name__)


class SyncDialog(QDialog):
    """The sync queue screen (pos_app.ui.sync_view.SyncView, a plain widget) in a dialog of its own."""

    def __init__(self, ctx: TerminalContext, approve: Approve, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        from .sync_view import SyncView

        self.setObjectName("syncDialog")
        self.setWindowTitle(ctx.tr("Sync queue"))
        if ctx.sync is None:
            raise ValueError("the sync queue screen needs the sync worker")
        self.view = SyncView(ctx.sync, approve, self, tr=ctx.tr)
        lay = QVBoxLayout(self)
        lay.addWidget(self.view)
        self.resize(900, 520)


def install(ctx: TerminalContext, window: MainWindow) -> None:
    """Fill ``ctx.nav``: receipts, the Alipay dialog, approvals and the screens opened by intent name."""
    from .approval_dialog import ApprovalDialog
    from .payment_dialog import open_alipay_payment
    from .receipt_dialog import ReceiptFlow

    receipts = ReceiptFlow(ctx, window)
    window.controller._on_receipt = receipts.after_commit  # noqa: SLF001 - wiring the flow once
    ctx.nav.receipts = receipts
    if ctx.payment is not None:
        ctx.nav.alipay = lambda controller: open_alipay_payment(ctx, controller)

    def requester() -> User | None:
        session = window.controller.session
        return getattr(session, "user", None) if session is not None else None

    def ask(parent: QWidget, action: str, subject: str, reasons: list[str] | None = None) -> Approval | None:
        """The recorded Approval, or None (cancelled / no user service)."""
        if ctx.users is None:
            return None
        dialog = ApprovalDialog(ctx.users, action, subject, reasons or None, parent, requested_by=requester(),
                                tr=ctx.tr)
        return dialog.exec()

    ctx.nav.ask_approval = ask

    def refund(controller: CheckoutController) -> None:
        from .refund_dialog import open_refund

        if ctx.refunds is None:
            controller.view.show_notice(ctx.tr("Refunds are not available on this terminal"))
            return
        open_refund(ctx, controller)

    ctx.nav.intents["refund"] = refund

    def is_supervisor(controller: CheckoutController) -> bool:
        session = controller.session
        return session is not None and session.role in ("supervisor", "admin")

    def reports(controller: CheckoutController) -> None:
        if ctx.reports is None:
            controller.view.show_notice(ctx.tr("Reports are not available on this terminal"))
            return
        printed_by = controller.session.user_name if controller.session else ""
        user_id = controller.session.user_id if controller.session else None
        if not is_supervisor(controller):
            approval = ask(window, "reports", ctx.tr("X/Z reports"), [ctx.tr("View reports")])
            if approval is None:
                return
            printed_by, user_id = approval.approver_name, approval.approved_by
        from .reports_view import ReportsView

        printer = None
        if ctx.printer is not None and ctx.printer.configured and hasattr(ctx.printer, "print_text"):
            printer = ctx.printer.print_text
        dialog = ReportsView(ctx.reports, window, printed_by=printed_by, printer=printer, tr=ctx.tr,
                             tasks=window.tasks)
        if ctx.store_reports is not None:   # store mode: a "Store" tab (store X / Z), as Shift+F9 opens it
            from .store_report_view import add_store_tab

            add_store_tab(dialog, ctx, window, printed_by, user_id)
        dialog.exec()

    ctx.nav.intents["reports"] = reports

    def sync(controller: CheckoutController) -> None:
        if ctx.sync is None:
            controller.view.show_notice(ctx.tr("The sync queue is not available"))
            return

        def sync_approve(action: str, subject: str) -> SyncApprover | None:
            approval = ask(window, action, subject)
            if approval is None:
                return None
            return SyncApprover(user_id=approval.approved_by, name=approval.approver_name)

        SyncDialog(ctx, sync_approve, window).exec()

    ctx.nav.intents["sync"] = sync

    def shift(controller: CheckoutController) -> None:
        from .shift_dialogs import ShiftDialog

        if controller.session is None or controller.session.user is None:
            controller.view.show_notice(ctx.tr("Shift functions are not available"))
            return
        dialog = ShiftDialog(ctx.shifts, controller.session.user, window, users=ctx.users, tr=ctx.tr)
        dialog.exec()
        current = ctx.shifts.current_shift()
        session = controller.session
        if current is None:
            controller.view.show_notice(ctx.tr("The shift is closed. Open a new shift (F10) to sell."), seconds=30)
        elif session is not None and session.shift_id != current.id:
            import dataclasses

            controller.session = dataclasses.replace(session, shift_id=current.id, shift_no=str(current.number))
        window.refresh_status()

    ctx.nav.intents["shift"] = shift

    def orphans(controller: CheckoutController) -> None:
        from .orphans_dialog import OrphansDialog

        if ctx.payment is None:
            controller.view.show_notice(ctx.tr("Alipay is not configured on this terminal"))
            return
        OrphansDialog(ctx, window.tasks, ask, window).exec()
        window.refresh_status()

    ctx.nav.intents["orphans"] = orphans

    def promotions(controller: CheckoutController) -> None:
        """Ctrl+R: the supervisor's promotions screen (a cashier asks a supervisor first)."""
        from .promotions_view import PromotionsDialog

        if ctx.promotions is None:
            controller.view.show_notice(ctx.tr("Promotions are not available on this terminal"))
            return
        session = controller.session
        user_id, user_name = (session.user_id, session.user_name) if session is not None else (None, "")
        if not is_supervisor(controller):
            approval = ask(window, "promotions", ctx.tr("Promotions"), None)
            if approval is None:
                return
            user_id, user_name = approval.approved_by, approval.approver_name
        dialog = PromotionsDialog(ctx.promotions, ctx.tr, user_id=user_id, user_name=user_name, parent=window)
        controller.promotions_dialog = dialog
        dialog.exec()
        controller.promotions_dialog = None

    ctx.nav.intents["promotions"] = promotions

    def show_orphans() -> None:
        """At start-up after recovery: the list opens without blocking (a supervisor decides)."""
        from .orphans_dialog import OrphansDialog

        dialog = OrphansDialog(ctx, window.tasks, ask, window)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.finished.connect(lambda _r: window.refresh_status())
        dialog.open()

    ctx.nav.show_orphans = show_orphans
