"""Service errors: every use-case failure the UI may show; ``str(err)`` is for the cashier."""

from __future__ import annotations

from .ports.errors import ServiceUnavailable

__all__ = [
    "ServiceError",
    "ServiceUnavailable",
    "CheckoutError",
    "UnknownProduct",
    "PaymentError",
    "PaymentsBlocked",
    "MemberError",
    "RefundError",
]


class ServiceError(Exception):
    """Base of every service error; the message is safe to show to a cashier."""


class CheckoutError(ServiceError):
    """A sale cannot be committed or changed as asked."""


class UnknownProduct(CheckoutError):
    """A scanned or keyed product code is not in the catalogue."""

    reason = "unknown_product"

    def __init__(self, code: str) -> None:
        super().__init__(f"product {code} is not in the catalogue: key the price as an open-price line, "
                         "or call a supervisor")
        self.code = code
        self.params = {"code": code}


class PaymentError(ServiceError):
    """A payment cannot be started or continued (bad code, wrong state)."""


class PaymentsBlocked(PaymentError):
    """Earlier payments are not settled yet; recover() must run before a new payment."""


class MemberError(ServiceError):
    """A member cannot be found or changed as asked."""


class RefundError(ServiceError):
    """A refund is not allowed or could not be completed."""
