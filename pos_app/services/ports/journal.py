"""The audit log and the outbox, written inside the caller's unit of work."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any, Protocol

__all__ = ["JournalPort", "AuditPort"]


class JournalPort(Protocol):
    """The audit log and the outbox, written inside the caller's unit of work."""

    def audit(self, *, at: dt.datetime, user_id: int | None, user_name: str, action: str, subject: str = "",
              detail: Mapping[str, Any] | None = None) -> int: ...

    def enqueue(self, *, event_id: str, kind: str, card_no: str, method: str, body: Mapping[str, Any],
                created_at: dt.datetime, points_after: int | None = None, sale_id: int | None = None,
                refund_id: int | None = None) -> int:
        """One outbox row: an OutboxRequest's kind, method and body (ports/card_events.py), kept byte for byte."""


class AuditPort(Protocol):
    """Appends to the hash-chained audit log inside the current transaction."""

    def append(self, *, at: dt.datetime, user_id: int | None, user_name: str, action: str, subject: str = "",
               detail: Mapping[str, Any] | None = None) -> int: ...

    def head(self) -> tuple[int, str] | None:
        """The newest entry's id and hash (printed on the Z report)."""

