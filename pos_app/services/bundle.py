"""The frozen bundle of services the terminal's UI and the command line receive (built by pos_app.bootstrap)."""

from __future__ import annotations

import dataclasses

from .checkout import CheckoutService
from .members import MemberService
from .payment import PaymentService
from .promotions import PromotionsService
from .refunds import RefundService
from .reports import ReportService
from .shifts import ShiftService
from .users import UserService

__all__ = ["ServiceBundle"]


@dataclasses.dataclass(frozen=True)
class ServiceBundle:
    """One of each service; ``payment`` is None on a cash-only terminal (no gateway configured)."""

    users: UserService
    shifts: ShiftService
    reports: ReportService
    checkout: CheckoutService
    members: MemberService
    refunds: RefundService
    payment: PaymentService | None = None
    promotions: PromotionsService | None = None   # counter (issue 14): the promotions screen, live pricing
