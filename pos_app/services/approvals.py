"""Supervisor approvals: which actions need one, the reason codes offered, and the check a use-case runs."""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging

from .errors import ServiceError

__all__ = [
    "ACTIONS",
    "REASONS",
    "APPROVER_ROLES",
    "Approval",
    "ApprovalRequired",
    "ApprovalInvalid",
    "require_approval",
    "reasons_for",
]

logger = logging.getLogger(__name__)

APPROVER_ROLES = ("supervisor", "admin")

ACTIONS: dict[str, str] = {
    "refund": "Refund",
    "void_sale": "Void a paid sale",
    "void_line": "Void a line after the total was shown",
    "no_sale": "Open the drawer without a sale",
    "pay_in": "Pay in",
    "pay_out": "Pay out",
    "drop": "Cash drop",
    "close_difference": "Close a shift with a cash difference",
    "escalate_payments": "Close with unresolved Alipay payments",
    "discard_dead_letter": "Discard a dead-letter sync row",
    "settings": "Change settings",
    "users": "Manage users",
    "manual_discount": "Give a discount above the cap",
    "discard_parked": "Discard a parked sale",
    "reports": "View the X/Z reports",
    "items": "Change the catalogue",
    "card_join": "Card template and join poster",
    "resolve_orphan": "Resolve a payment without a sale",
    "leave_kiosk": "Leave the till",
    "give_back_parts": "Give back the part payments of an unfinished sale",
    "exchange": "Exchange goods",
    "promotions": "Switch promotions on or off",
    "store_reports": "View the store reports",
    "store_close_override": "Close the store day with lanes missing",
    "offline_redeem": "Redeem points while the store is offline",
}

_COMMON = [("other", "Other (see note)")]
REASONS: dict[str, list[tuple[str, str]]] = {
    "refund": [("customer_return", "Customer returned goods"), ("wrong_item", "Wrong item charged"),
               ("damaged", "Damaged goods"), *_COMMON],
    "void_sale": [("customer_cancel", "Customer cancelled"), ("cashier_error", "Cashier error"), *_COMMON],
    "void_line": [("customer_cancel", "Customer changed mind"), ("cashier_error", "Cashier error"), *_COMMON],
    "no_sale": [("change_request", "Change for a customer"), ("check_drawer", "Check drawer"), *_COMMON],
    "pay_in": [("float_top_up", "Float top-up"), ("petty_cash_return", "Petty cash returned"), *_COMMON],
    "pay_out": [("supplier", "Supplier paid"), ("petty_cash", "Petty cash"), *_COMMON],
    "drop": [("safe_drop", "Safe drop"), ("bank_deposit", "Bank deposit"), *_COMMON],
    "close_difference": [("miscount", "Miscount confirmed"), ("short_unexplained", "Short, unexplained"),
                         ("over_unexplained", "Over, unexplained"), *_COMMON],
    "escalate_payments": [("gateway_down", "Gateway unreachable"), ("will_resolve_later", "Resolve later"),
                          *_COMMON],
    "manual_discount": [("damaged", "Damaged goods"), ("price_match", "Price match"),
                        ("loyal_customer", "Loyal customer"), *_COMMON],
    "give_back_parts": [("customer_cancel", "Customer cancelled"), ("cashier_error", "Cashier error"), *_COMMON],
    "exchange": [("wrong_size", "Wrong size or colour"), ("damaged", "Damaged goods"),
                 ("customer_return", "Customer changed mind"), *_COMMON],
    "store_close_override": [("lane_broken", "A lane is out of order"),
                             ("lane_offline", "A lane cannot reach the store server"), *_COMMON],
    "offline_redeem": [("known_customer", "Known customer"), ("balance_checked", "Balance checked on the card"),
                       *_COMMON],
}


def reasons_for(action: str) -> list[tuple[str, str]]:
    """The (code, label) reasons offered when approving ``action``."""
    return REASONS.get(action, list(_COMMON))


@dataclasses.dataclass(frozen=True, slots=True)
class Approval:
    """A recorded approval: ``approved_by`` is the supervisor, ``requested_by`` the user who asked."""

    id: int
    action: str
    subject: str
    approved_by: int
    approver_name: str
    approver_role: str
    requested_by: int | None
    reason_code: str
    note: str
    at: dt.datetime
    shift_id: int | None = None


class ApprovalRequired(ServiceError):
    """The action needs a supervisor approval (``action`` names it)."""

    def __init__(self, action: str, message: str = "") -> None:
        super().__init__(message or f"a supervisor must approve: {ACTIONS.get(action, action)}")
        self.action = action


class ApprovalInvalid(ServiceError):
    """The approval given does not cover this action."""


def require_approval(approval: Approval | None, action: str) -> Approval:
    """Return ``approval`` if it covers ``action`` and came from a supervisor/admin; raise otherwise."""
    if approval is None:
        raise ApprovalRequired(action)
    if approval.action != action:
        raise ApprovalInvalid(f"the approval was given for {approval.action!r}, not {action!r}")
    if approval.approver_role not in APPROVER_ROLES:
        raise ApprovalInvalid("only a supervisor or an admin may approve")
    return approval
