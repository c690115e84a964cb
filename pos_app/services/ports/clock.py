"""Time and identifiers: nothing in domain/ or services/ calls time.time() or uuid directly."""

from __future__ import annotations

import datetime as dt
from typing import Protocol

__all__ = ["BEIJING", "Clock", "IdSource"]


BEIJING = dt.timezone(dt.timedelta(hours=8), "GMT+8")


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

