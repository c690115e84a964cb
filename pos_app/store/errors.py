"""Store-mode errors with messages a supervisor can act on.

They are also the store report port's errors (pos_app.services.ports.store_reports), so the supervisor's
screen can tell "no answer" from "said no" without importing this layer."""

from __future__ import annotations

from pos_app.services.ports.store_reports import IncompleteLane, StoreNotAnswering, StoreSaidNo
from pos_app.services.ports.store_reports import StoreCloseRefused as _PortCloseRefused

__all__ = ["StoreError", "StoreUnavailable", "StoreRefused", "StoreCloseRefused"]


class StoreError(Exception):
    """Base class."""


class StoreUnavailable(StoreError, StoreNotAnswering):
    """The store server did not answer within its deadline (down, frozen, network cut)."""


class StoreRefused(StoreError, StoreSaidNo):
    """The store server answered no (bad credentials, not a registered lane, refused close)."""


class StoreCloseRefused(StoreRefused, _PortCloseRefused):
    """The store day close was refused (``reason``: incomplete / already_closed; ``missing_lanes``)."""

    def __init__(self, message: str, reason: str, missing_lanes: tuple[IncompleteLane, ...] = ()) -> None:
        _PortCloseRefused.__init__(self, message, reason, missing_lanes)
