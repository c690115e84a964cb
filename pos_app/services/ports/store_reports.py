"""Store-wide figures across lanes (store mode, issue 13, STORE-MODE.md §1.6): the port a lane's supervisor
screen reads them through. Implemented by ``pos_app.store.report_port.StoreReportsClient`` over the store's
PostgreSQL; a standalone lane has none. Money is integer fen; days are the store's business dates (GMT+8).

Every call runs under the store's client-side deadline: no answer in time raises :class:`StoreNotAnswering`
(the store layer's ``StoreUnavailable`` is one), an answer that says no raises :class:`StoreSaidNo`.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Protocol

__all__ = ["StoreReportError", "StoreNotAnswering", "StoreSaidNo", "StoreCloseRefused", "LaneFigures",
           "CashierFigures", "MemberFigures", "LaneSyncState", "IncompleteLane", "PointsException",
           "LaneNotice", "StoreFigures", "StoreReportsPort"]


class StoreReportError(Exception):
    """Base of what the store report port raises."""


class StoreNotAnswering(StoreReportError):
    """The store server did not answer within its deadline (down, frozen, network cut)."""


class StoreSaidNo(StoreReportError):
    """The store server answered, and refused (bad credentials, not a lane, a function it does not have)."""


class StoreCloseRefused(StoreSaidNo):
    """The store day close was refused: ``reason`` is ``incomplete`` (``missing_lanes`` lists the lanes whose
    day is not complete on the server) or ``already_closed``."""

    def __init__(self, message: str, reason: str, missing_lanes: tuple[IncompleteLane, ...] = ()) -> None:
        super().__init__(message)
        self.reason = reason
        self.missing_lanes = missing_lanes


@dataclasses.dataclass(frozen=True, slots=True)
class LaneFigures:
    lane: str
    sales: int
    total_fen: int
    refunds_fen: int
    tenders: tuple[tuple[str, int], ...]     # (tender kind, fen), sorted by kind


@dataclasses.dataclass(frozen=True, slots=True)
class CashierFigures:
    cashier: str
    sales: int
    total_fen: int


@dataclasses.dataclass(frozen=True, slots=True)
class MemberFigures:
    count: int              # distinct members who bought
    points_earned: int
    points_redeemed: int


@dataclasses.dataclass(frozen=True, slots=True)
class LaneSyncState:
    """How far the server has a lane: events up to ``acked_seq``, ``backlog`` waiting at its last heartbeat."""

    lane: str
    acked_seq: int
    backlog: int
    last_seen_at: dt.datetime | None
    clock_skew_ms: int | None


@dataclasses.dataclass(frozen=True, slots=True)
class IncompleteLane:
    """A lane that traded on the day and whose day is not complete on the server (shift open or not synced)."""

    lane: str
    acked_seq: int | None
    last_seq_of_day: int | None


@dataclasses.dataclass(frozen=True, slots=True)
class PointsException:
    """An offline redemption that took a member's store balance below zero (not resolved yet)."""

    member_id: str
    kind: str
    balance_after: int
    at: dt.datetime


@dataclasses.dataclass(frozen=True, slots=True)
class LaneNotice:
    """Something about a lane a supervisor must look at, e.g. ``new_epoch``: restored from an old backup."""

    id: int
    lane: str
    kind: str
    detail: str
    at: dt.datetime


@dataclasses.dataclass(frozen=True, slots=True)
class StoreFigures:
    """Store X (or the store Z when ``closed``) for business dates ``first``..``last``."""

    first: dt.date
    last: dt.date
    lanes: tuple[LaneFigures, ...]
    sales: int
    total_fen: int
    refunds_fen: int
    tenders: tuple[tuple[str, int], ...]
    cashiers: tuple[CashierFigures, ...]
    members: MemberFigures
    lanes_state: tuple[LaneSyncState, ...]
    incomplete_lanes: tuple[IncompleteLane, ...]
    exceptions: tuple[PointsException, ...]
    notices: tuple[LaneNotice, ...]
    closed: bool = False                          # True: this is the store Z just recorded
    provisional: bool = False                     # a Z closed over incomplete lanes (supervisor's override)
    missing_lanes: tuple[IncompleteLane, ...] = ()
    closed_by: str = ""
    override_reason: str = ""
    closed_at: dt.datetime | None = None          # a stored store Z: when it was recorded


class StoreReportsPort(Protocol):
    @property
    def can_review_notices(self) -> bool:
        """The store server has the function that marks a lane notice reviewed."""

    def figures(self, first: dt.date, last: dt.date) -> StoreFigures:
        """Store X over business dates first..last (inclusive), in one snapshot."""

    def close_day(self, day: dt.date, closed_by: str, override_reason: str = "") -> StoreFigures:
        """Store Z: raises StoreCloseRefused while lanes are incomplete and no override reason is given."""

    def stored_z(self, day: dt.date) -> StoreFigures | None:
        """The store Z recorded for ``day``, as recorded (never recomputed); None if the day is not closed."""

    def review_notice(self, notice_id: int, reviewed_by: str) -> bool:
        """Mark a lane notice reviewed; False if it was already (or does not exist)."""

    def close(self) -> None:
        """Let go of the connection (the terminal is shutting down)."""
