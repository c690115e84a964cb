"""Store-mode errors with messages a supervisor can act on."""

from __future__ import annotations

__all__ = ["StoreError", "StoreUnavailable", "StoreRefused"]


class StoreError(Exception):
    """Base class."""


class StoreUnavailable(StoreError):
    """The store server did not answer within its deadline (down, frozen, network cut)."""


class StoreRefused(StoreError):
    """The store server answered no (bad credentials, not a registered lane, refused close)."""
