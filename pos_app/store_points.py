"""Store mode: the till's points gate (issue 13, STORE-MODE.md §1.4).

Online (the lane's link is up and the store answers within its deadline): ``pos.redeem_points`` takes the points
from the store balance or refuses, so two lanes cannot spend the same points. Offline: the lane allows a
redemption only against a store balance it pulled less than ``[store] offline_redeem_max_age_h`` ago, and only up
to ``[store] offline_redeem_cap`` points per member per store day on this lane; the entry travels in the journal
marked offline, and the store applies it on arrival even below zero, listing an ``overdraft`` exception for the
supervisor (store X/Z). The worst case is lanes × cap per member per day. An offline redemption of more than
``[store] offline_redeem_supervisor_above`` points (0: never) needs a supervisor's approval; the hold records who.

``hold`` makes a round trip to the store (up to its deadline): the till calls it off the GUI thread.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
import uuid
from collections.abc import Callable
from pathlib import Path

from pos_app.services.points_hold import OfflineRedeemNeedsApproval, PointsHold, RedemptionRefused
from pos_app.storage.lane_redeem import SqliteRedeemHolds
from pos_app.store.errors import StoreRefused, StoreUnavailable
from pos_app.store.redeem import StoreRedeemer

__all__ = ["StorePointsGate"]

logger = logging.getLogger(__name__)
QUIET_AFTER_FAILURE_S = 15.0   # after a redemption call without an answer, holds use the offline rules this long


class StorePointsGate:
    def __init__(self, db_path: Path | str, redeemer: StoreRedeemer, *, online: Callable[[], bool],
                 offline_cap: int = 500, offline_max_age_h: float = 24.0, supervisor_above: int = 0,
                 clock: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC)) -> None:
        self._holds = SqliteRedeemHolds(db_path)
        self._redeemer = redeemer
        self._online = online
        self._cap = offline_cap
        self._max_age = dt.timedelta(hours=offline_max_age_h)
        self._supervisor_above = supervisor_above
        self._clock = clock
        self._quiet_until = 0.0

    def hold(self, card_no: str, points: int, *, approved_by: int | None = None) -> PointsHold:
        now = self._clock()
        entry = str(uuid.uuid4())
        asked = False
        if self._online() and time.monotonic() >= self._quiet_until:
            asked = True
            self._holds.add(entry, card_no, points, state="asking", asked=True, at=now)
            try:
                answer = self._redeemer.redeem(card_no, points, entry)
            except (StoreUnavailable, StoreRefused) as exc:
                # the next holds go straight to the offline rules for a while: a cashier waits for a dead store once
                self._quiet_until = time.monotonic() + QUIET_AFTER_FAILURE_S
                logger.warning("store did not answer the redemption of %d points (%s): offline rules apply",
                               points, exc)
            else:
                if answer.ok:
                    self._holds.set_state(entry, "held", online=True, store_balance=answer.balance)
                    logger.info("store holds %d points (balance now %d)", points, answer.balance)
                    return PointsHold(entry, card_no, points, True)
                self._holds.set_state(entry, "refused", store_balance=answer.balance)
                raise RedemptionRefused(f"The store has only {answer.balance} points for this member: {points} "
                                        "cannot be redeemed (another lane may have used them)",
                                        code="points.store_short", balance=answer.balance, points=points)
        refusal = self._offline_refusal(card_no, points, now)
        needs_approval = bool(refusal is None and self._supervisor_above and points > self._supervisor_above
                              and approved_by is None)
        if refusal is not None or needs_approval:
            if asked:
                # the store may have taken the points before its answer was lost: give them back (journaled as a
                # reverse the store applies only if it holds this entry)
                self._holds.release(entry, str(uuid.uuid4()), now)
            if needs_approval:
                logger.info("offline redemption of %d points needs a supervisor (above %d)", points,
                            self._supervisor_above)
                raise OfflineRedeemNeedsApproval(points, self._supervisor_above)
            assert refusal is not None
            logger.warning("offline redemption of %d points refused: %s", points, refusal)
            raise refusal
        if asked:
            self._holds.set_state(entry, "offline", online=False, approved_by=approved_by)
        else:
            self._holds.add(entry, card_no, points, state="offline", asked=False, at=now, approved_by=approved_by)
        if approved_by is not None:
            logger.info("store offline: %d points redeemed with supervisor %d's approval", points, approved_by)
        else:
            logger.info("store offline: %d points redeemed within this lane's offline cap", points)
        return PointsHold(entry, card_no, points, False)

    def _offline_refusal(self, card_no: str, points: int, now: dt.datetime) -> RedemptionRefused | None:
        snap = self._holds.store_snapshot(card_no)
        if snap is None:
            return RedemptionRefused("Store offline: this lane has no store balance for this member, points cannot "
                                     "be redeemed now", code="points.offline_no_balance")
        _balance, read_at = snap
        if now - read_at > self._max_age:
            hours = f"{(now - read_at).total_seconds() / 3600:.0f}"
            return RedemptionRefused(f"Store offline: this lane's store balance for this member is {hours} h old, "
                                     "points cannot be redeemed now", code="points.offline_stale", hours=hours)
        used = self._holds.offline_used(card_no, self._holds.day(now))
        if used + points > self._cap:
            return RedemptionRefused(f"Store offline: at most {self._cap} points per member per day can be redeemed "
                                     f"offline ({used} already today)", code="points.offline_cap", cap=self._cap,
                                     used=used)
        shown = self._holds.shown_balance(card_no)
        if points > shown:
            return RedemptionRefused(f"Store offline: this member has {shown} points on this lane",
                                     code="points.offline_shown", shown=shown)
        return None

    def release(self, hold: PointsHold) -> None:
        if self._holds.release(hold.entry_id, str(uuid.uuid4()), self._clock()):
            logger.info("points hold given back (%d points)", hold.points)

    def adopt(self, entry_id: str) -> PointsHold | None:
        row = self._holds.get(entry_id)
        if row is None or row.state not in ("held", "offline", "asking"):
            return None
        return PointsHold(row.entry_id, row.card_no, row.points, row.online)

    def release_orphans(self) -> int:
        """At the start: give back holds whose sale was lost in a stop (see SqliteRedeemHolds.release_orphans)."""
        n = self._holds.release_orphans(self._clock())
        if n:
            logger.warning("%d points hold(s) from before the last stop given back (their sales were not paid)", n)
        return n

    def close(self) -> None:
        self._redeemer.close()
