"""Typed domain errors: every rule violation is one of these, with a message for people."""

from __future__ import annotations

__all__ = [
    "DomainError",
    "MoneyError",
    "CodeError",
    "SaleStateError",
    "SaleRuleError",
    "LoyaltyError",
    "CatalogueError",
    "ShiftError",
    "PricingError",
]


class DomainError(ValueError):
    """Base of every business-rule error. ``str(err)`` is safe to show to a cashier."""


class MoneyError(DomainError):
    """Text that is not an amount of money, or an amount out of range."""


class CodeError(DomainError):
    """A scanned code that is not recognised (the message says why)."""


class SaleStateError(DomainError):
    """An action that is not allowed in the sale's current state."""


class SaleRuleError(DomainError):
    """An action that breaks a basket rule (bad quantity, unknown line, ...)."""


class LoyaltyError(DomainError):
    """A points redemption that the loyalty rules do not allow."""


class CatalogueError(DomainError):
    """A catalogue record that is not valid (bad code, price, unit, ...)."""


class ShiftError(DomainError):
    """Cash figures or a cash count that do not make sense (unknown denomination, negative count)."""


class PricingError(DomainError):
    """A promotion, special price or basket to price that is not valid (the message names the record)."""
