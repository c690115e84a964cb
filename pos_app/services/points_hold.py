"""Points redeemed at the till, held at the store before the sale is paid (store mode, issue 13).

In store mode several lanes spend the same member's points. So before a sale that redeems points is paid,
the checkout asks a :class:`PointsGate` to hold them: online, the store server takes them from its balance
(two lanes cannot spend the same points); offline, the lane allows a capped amount per member per day. The
sale's redeem ledger entry carries the hold's ``entry_id``, so the store counts it once. A sale given up
releases its hold. A standalone lane has no gate and redeems against its own ledger, as before.

Asking the store takes a round trip (a stalled store: up to its deadline), so the till splits it (issue 13):
:meth:`CheckoutService.points_to_ask` says what must be asked (GUI thread, reads the sale), ``ask_points`` asks
(any thread, no sale state: a :class:`PointsAsk` in, a :class:`PointsHold` out) and ``keep_points`` puts the
answer on the sale (GUI thread) or gives it back when the sale changed meanwhile.
"""

from __future__ import annotations

import dataclasses
from typing import Protocol

from .errors import CheckoutError

__all__ = ["PointsAsk", "PointsHold", "PointsGate", "RedemptionRefused", "OfflineRedeemNeedsApproval",
           "PointsBeingAsked"]


@dataclasses.dataclass(frozen=True, eq=False)
class PointsAsk:
    """What the store is asked to hold for a sale: the member's card and the points (one object per ask: the
    till knows an answer is about the ask it is waiting for by identity)."""

    card_no: str
    points: int


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

    def __init__(self, message: str, *, code: str = "", **params: object) -> None:
        super().__init__(message)
        if code:     # a reason the UI words in the cashier's language (pos_app/ui/messages.py MESSAGES)
            self.reason = code
        self.params: dict[str, object] = dict(params)


class OfflineRedeemNeedsApproval(RedemptionRefused):
    """Offline, more points than ``[store] offline_redeem_supervisor_above`` need a supervisor's approval
    (STORE-MODE.md §1.4 rule 2): ask one, then ask the gate again with ``approved_by``. Nothing is held."""

    reason = "offline_redeem_needs_approval"

    def __init__(self, points: int, above: int) -> None:
        super().__init__("The store is offline: a supervisor must approve redeeming more than "
                         f"{above} points ({points} asked)", code="points.offline_needs_supervisor",
                         points=points, above=above)
        self.points = points
        self.above = above


class PointsBeingAsked(CheckoutError):
    """The store is being asked for the points of this sale: paying, cancelling and changing the sale's member
    or points wait for its answer (a few seconds at most: the store call has a deadline)."""

    reason = "points_being_asked"

    def __init__(self) -> None:
        super().__init__("The store is being asked for the points: wait for its answer")


class PointsGate(Protocol):
    def hold(self, card_no: str, points: int, *, approved_by: int | None = None) -> PointsHold:
        """Hold ``points`` of the member for a sale about to be paid; raises RedemptionRefused
        (OfflineRedeemNeedsApproval: offline above the threshold, ask again with the supervisor's ``approved_by``).
        Safe on any thread: it reads no sale."""
        ...

    def release(self, hold: PointsHold) -> None:
        """The sale was given up (or its redemption changed): give the points back."""
        ...

    def adopt(self, entry_id: str) -> PointsHold | None:
        """The hold made before a restart (a paid attempt completed after a crash), if it is still open."""
        ...
