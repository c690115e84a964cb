"""Users, their PIN hashes and supervisor approvals."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Protocol

__all__ = ["UserRecord", "ApprovalRecord", "UserRepository"]


@dataclasses.dataclass(frozen=True, slots=True)
class UserRecord:
    """A user as stored (the PIN hash never leaves the users repository except for verification)."""

    id: int
    number: str
    name: str
    role: str                      # cashier | supervisor | admin
    active: bool
    card_code: str | None
    failed_attempts: int
    locked_until: dt.datetime | None
    created_at: dt.datetime


@dataclasses.dataclass(frozen=True, slots=True)
class ApprovalRecord:
    """One supervisor approval: who approved what, for whom, why and when."""

    id: int
    action: str
    subject: str
    shift_id: int | None
    requested_by: int | None
    approved_by: int
    approver_name: str
    reason_code: str
    note: str
    created_at: dt.datetime


class UserRepository(Protocol):
    """Users and their PIN hashes."""

    def add(self, *, number: str, name: str, role: str, pin_hash: str, card_code: str | None,
            created_at: dt.datetime) -> int: ...

    def get(self, user_id: int) -> UserRecord | None: ...

    def find(self, number_or_card: str) -> UserRecord | None: ...

    def pin_hash(self, user_id: int) -> str: ...

    def list(self) -> list[UserRecord]: ...

    def record_failure(self, user_id: int, failed_attempts: int, locked_until: dt.datetime | None) -> None: ...

    def record_success(self, user_id: int) -> None: ...

    def set_active(self, user_id: int, active: bool) -> None: ...

    def set_pin(self, user_id: int, pin_hash: str) -> None: ...

    def add_approval(self, *, action: str, subject: str, shift_id: int | None, requested_by: int | None,
                     approved_by: int, reason_code: str, note: str, created_at: dt.datetime) -> int: ...

    def get_approval(self, approval_id: int) -> ApprovalRecord | None: ...

