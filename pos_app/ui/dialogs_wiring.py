"""Connect the checkout screen's intents to the dialogs (payment, refund, reports, shift, sync, approval)."""

from __future__ import annotations

import importlib
import logging
from typing import Any

from PySide6.QtWidgets import QWidget

from .context import TerminalContext

__all__ = ["install"]

logger = logging.getLogger(__name__)


def _widget(module: str, name: str) -> Any:
    try:
        return getattr(importlib.import_module(f"pos_app.ui.{module}"), name)
    except (ImportError, AttributeError) as exc:
        logger.info("pos_app.ui.%s.%s not available: %s", module, name, exc)
        return None


def install(ctx: TerminalContext, window: Any) -> None:
    """Register openers in ``ctx.extras`` (looked up by the controller by intent name)."""
    from .payment_dialog import open_alipay_payment
    from .receipt_dialog import ReceiptFlow

    receipts = ReceiptFlow(ctx, window)
    window.controller._on_receipt = receipts.after_commit  # noqa: SLF001 - wiring the flow once
    ctx.extras["receipts"] = receipts
    if ctx.payment is not None:
        ctx.extras["alipay_dialog"] = lambda controller: open_alipay_payment(ctx, controller)

    def approve(parent: QWidget, action: str, subject: str, reasons: list[str]) -> bool:
        dialog_cls = _widget("approval_dialog", "ApprovalDialog")
        if dialog_cls is None or ctx.users is None:
            return False
        dialog = dialog_cls(ctx.users, action, subject, reasons, parent)
        return bool(dialog.exec())

    ctx.extras["approve"] = approve

    def refund(controller: Any) -> None:
        from .refund_dialog import open_refund

        if ctx.refunds is None:
            controller.view.show_notice(ctx.tr("Refunds are not available on this terminal"))
            return
        open_refund(ctx, controller)

    ctx.extras["intent:refund"] = refund

    def reports(controller: Any) -> None:
        session = controller.session
        if session is None or session.role not in ("supervisor", "admin"):
            if not approve(window, "reports", "X/Z reports", ["view reports"]):
                return
        view_cls = _widget("reports_view", "ReportsView") or _widget("reports_view", "ReportsDialog")
        if view_cls is None or ctx.reports is None:
            controller.view.show_notice(ctx.tr("Reports are not available on this terminal"))
            return
        try:
            dialog = view_cls(ctx.reports, parent=window)
        except TypeError:
            dialog = view_cls(ctx.reports, window)
        dialog.exec() if hasattr(dialog, "exec") else dialog.show()

    ctx.extras["intent:reports"] = reports

    def sync(controller: Any) -> None:
        view_cls = _widget("sync_view", "SyncView") or _widget("sync_view", "SyncQueueDialog")
        if view_cls is None or ctx.sync is None:
            controller.view.show_notice(ctx.tr("The sync queue is not available"))
            return
        try:
            dialog = view_cls(ctx.sync, parent=window)
        except TypeError:
            dialog = view_cls(ctx.sync, window)
        dialog.exec() if hasattr(dialog, "exec") else dialog.show()

    ctx.extras["intent:sync"] = sync

    def shift(controller: Any) -> None:
        dialog_cls = _widget("shift_dialogs", "ShiftDialog") or _widget("shift_dialogs", "CloseShiftDialog")
        if dialog_cls is None or ctx.shifts is None:
            controller.view.show_notice(ctx.tr("Shift functions are not available"))
            return
        try:
            dialog = dialog_cls(ctx.shifts, controller.session.user, parent=window)
        except TypeError:
            dialog = dialog_cls(ctx.shifts, window)
        dialog.exec() if hasattr(dialog, "exec") else dialog.show()

    ctx.extras["intent:shift"] = shift
