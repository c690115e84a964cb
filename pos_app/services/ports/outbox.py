"""The sync worker's view of the outbox (on a connection of its own)."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Protocol

__all__ = ["OutboxRow", "OutboxOutcome", "OutboxStats", "SyncApprover", "OutboxQueue"]


@dataclasses.dataclass(frozen=True, slots=True)
class OutboxRow:
    """One outbox row as stored; ``body_json`` is the request body fixed at commit time."""

    id: int
    event_id: str
    kind: str                      # card.consume_sync | card.update
    card_no: str                   # external card number (the ordering key)
    method: str
    body_json: str
    points_after: int | None
    state: str                     # pending | done | dead | discarded
    attempts: int
    next_attempt_at: float         # epoch seconds
    last_error: str
    created_at: str
    done_at: str | None = None
    sale_id: int | None = None
    refund_id: int | None = None


@dataclasses.dataclass(frozen=True, slots=True)
class OutboxOutcome:
    """What the worker learned from one send: ``action`` is "done", "retry" or "dead"."""

    row_id: int
    card_no: str
    action: str
    attempts: int
    next_attempt_at: float = 0.0
    error: str = ""
    points_after: int | None = None


@dataclasses.dataclass(frozen=True, slots=True)
class OutboxStats:
    """Queue figures for the status bar and the X/Z reports."""

    pending: int
    oldest_pending_created_at: str | None
    dead: int
    discarded: int = 0


@dataclasses.dataclass(frozen=True, slots=True)
class SyncApprover:
    """The supervisor who approved a dead-letter decision (after a PIN check done by the caller)."""

    user_id: int | None
    name: str


class OutboxQueue(Protocol):
    """The worker's view of the outbox, on a connection of its own (never the GUI's).

    Every write is one short transaction; nothing here is called while a request is in flight.
    """

    def try_lock(self) -> bool:
        """Become the only sync worker of this database (False if another process is one)."""

    def due_heads(self, now: float, limit: int, skip_cards: frozenset[str] = frozenset(), *,
                  ignore_schedule: bool = False) -> list[OutboxRow]:
        """The oldest pending row of each card that is not blocked by a dead row, due at ``now``."""

    def next_head(self, card_no: str) -> OutboxRow | None:
        """The oldest pending row of one card, or None (no pending row, or blocked by a dead row)."""

    def next_due_at(self, now: float) -> float | None:
        """The earliest ``next_attempt_at`` after ``now`` among pending rows (None: nothing waiting)."""

    def coalesce_updates(self, head: OutboxRow, at: dt.datetime) -> tuple[OutboxRow, int]:
        """Fold the run of consecutive pending card.update rows starting at ``head`` into the newest.

        Returns (the row to send, how many older rows were marked done as coalesced).
        """

    def record(self, outcomes: list[OutboxOutcome], at: dt.datetime) -> None:
        """Apply send outcomes in one short transaction (done: also members.points_synced)."""

    def backed_off(self, now: float) -> list[int]:
        """Ids of pending rows waiting for a later ``next_attempt_at``."""

    def make_due(self, row_ids: list[int], now: float) -> None:
        """Make these pending rows due now (the network is back)."""

    def stats(self) -> OutboxStats: ...

    def rows(self, states: tuple[str, ...], limit: int = 500) -> list[OutboxRow]:
        """Rows in the given states, oldest first (for the supervisor screen)."""

    def get(self, row_id: int) -> OutboxRow | None: ...

    def retry_dead(self, row_id: int, *, approver: SyncApprover, at: dt.datetime) -> bool:
        """dead -> pending (due now), audited; False if the row is not dead."""

    def discard_dead(self, row_id: int, *, approver: SyncApprover, reason: str, at: dt.datetime) -> bool:
        """dead -> discarded with the reason, audited; False if the row is not dead."""

    def close(self) -> None: ...
"""The old name ("store" means the shop); kept for branches written against it."""
