"""The member cache and the points ledger."""

from __future__ import annotations

import dataclasses
from typing import Protocol

__all__ = ["MemberRecord", "MemberRepository"]


@dataclasses.dataclass(frozen=True, slots=True)
class MemberRecord:
    """A cached member (``card_no`` = external card number); ``points_balance`` is the ledger balance."""

    card_no: str
    biz_card_no: str | None
    name: str
    phone: str
    level: str
    points_synced: int
    points_balance: int
    user_id: str = ""
    refreshed_at: str | None = None
    alipay_card: bool = True       # holds the shop's Alipay card (False: points kept here only, nothing synced)


class MemberRepository(Protocol):
    """The member cache and the points ledger (the only writer of points)."""

    def get(self, card_no: str) -> MemberRecord | None: ...

    def by_biz_card_no(self, biz_card_no: str) -> MemberRecord | None: ...

    def search(self, text: str, limit: int = 20) -> list[MemberRecord]: ...

    def upsert(self, *, card_no: str, biz_card_no: str | None, name: str, phone: str, level: str,
               points_synced: int | None, user_id: str, refreshed_at: str | None, updated_at: str) -> bool: ...

    def add_ledger(self, card_no: str, *, kind: str, points: int, sale_id: int | None, refund_id: int | None,
                   reason: str, at: str, entry_id: str | None = None) -> int: ...

    def balance(self, card_no: str) -> int: ...

    def ledger_for_sale(self, sale_id: int) -> list[tuple[str, int]]: ...

