"""The explicit way from the checkout screen to the other screens and dialogs.

``dialogs_wiring.install`` fills it once at start-up; the controller and the dialogs call it. It replaces
the bag of string keys ``ctx.extras`` had become: every way out of the checkout screen is a typed
attribute here, and an intent the checkout screen does not handle itself is in ``intents``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from PySide6.QtWidgets import QWidget

from pos_app.services.approvals import Approval

if TYPE_CHECKING:
    from .checkout_controller import CheckoutController
    from .receipt_dialog import ReceiptFlow

__all__ = ["Navigator", "AskApproval", "ScreenOpener"]

#: (parent, action, subject, reasons) -> the recorded Approval, or None when cancelled
AskApproval = Callable[[QWidget, str, str, "list[str] | None"], "Approval | None"]
#: opens a screen for an intent of the checkout screen (F8 refund, F9 reports, ...)
ScreenOpener = Callable[["CheckoutController"], None]


class Navigator:
    """Where the checkout screen goes: receipts, the Alipay dialog, approvals and the supervisor screens."""

    def __init__(self) -> None:
        self.receipts: ReceiptFlow | None = None
        self.alipay: Callable[[CheckoutController], object] | None = None
        self.ask_approval: AskApproval | None = None
        self.intents: dict[str, ScreenOpener] = {}
        self.show_orphans: Callable[[], None] | None = None
        #: told of every Alipay payment dialog as it opens (the customer display follows its progress)
        self.payment_watchers: list[Callable[[QWidget], None]] = []

    def approve(self, parent: QWidget, action: str, subject: str, reasons: list[str]) -> bool:
        """A supervisor approves (True) or not (False, also when no approval dialog is wired)."""
        ask = self.ask_approval
        return ask is not None and ask(parent, action, subject, reasons) is not None
