"""Ports: the Protocols the services need from the outside world (storage, gateway, clock, ids).

Adapters (pos_app.storage, pos_app.alipay) implement these; tests may use hand-written fakes.
Each section below is owned by one part of the system; keep additions inside your section.
"""

from __future__ import annotations

import datetime as dt
from typing import Protocol

__all__ = [
    "Clock",
    "IdSource",
    "BEIJING",
]

BEIJING = dt.timezone(dt.timedelta(hours=8), "GMT+8")


# --- time and ids ------------------------------------------------------------------------


class Clock(Protocol):
    """Wall and monotonic time; nothing in domain/ or services/ calls time.time() directly."""

    def now(self) -> dt.datetime:
        """The current time as an aware datetime (UTC)."""

    def monotonic(self) -> float:
        """Seconds from an arbitrary start, never going backwards."""


class IdSource(Protocol):
    """Unique identifiers (out_trade_no, out_request_no, event ids)."""

    def new_id(self, prefix: str = "") -> str:
        """A new identifier: letters, digits and underscore, at most 64 characters."""


# --- gateway (owned by the Alipay client; see pos_app/alipay) ----------------------------


# --- storage (owned by pos_app/storage) --------------------------------------------------
