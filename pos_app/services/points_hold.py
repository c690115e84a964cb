"""Points redeemed at the till, held at the store before the sale is paid (store mode, issue 13).

In store mode several lanes spend the same member's points. So before a sale that redeems points is paid,
the checkout asks a :class:`PointsGate` to hold them: online, the store server takes them from its balance
(two lanes cannot spend the same points); offline, the lane allows a capped amount per member per day. The
sale's redeem ledger entry carries the hold's ``entry_id``, so the store counts it once. A sale given up
releases its hold. A standalone lane has no gate and redeems against its own ledger, as before.
"""

from __future__ import annotations

import dataclasses
from typing import Protocol

from .errors import CheckoutError

__all__ = ["PointsHold", "PointsGate", "RedemptionRefused"]


@dataclasses.dataclass(frozen=True)
class PointsHold:
    entry_id: str      # the redeem entry's key at the store (a UUID made by the lane)
    card_no: str
    points: int
    online: bool       # True: the store confirmed it; False: the lane's own offline redemption (within the cap)


class RedemptionRefused(CheckoutError):
    """The points cannot be redeemed: the store's balance does not cover them, or the store is offline and the
    lane's offline cap or cached balance does not allow it. The message says which, for the cashier."""

    reason = "redemption_refused"


class PointsGate(Protocol):
    def hold(self, card_no: str, points: int) -> PointsHold:
        """Hold ``points`` of the member for a sale about to be paid; raises RedemptionRefused."""
        ...

    def release(self, hold: PointsHold) -> None:
        """The sale was given up (or its redemption changed): give the points back."""
        ...

    def adopt(self, entry_id: str) -> PointsHold | None:
        """The hold made before a restart (a paid attempt completed after a crash), if it is still open."""
        ...
