"""A member as a shop's members file carries it (import from another system, export)."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["MemberRow"]


@dataclass(frozen=True, slots=True)
class MemberRow:
    """One member of the file.

    ``card_no``: the static card number (``external_card_no``); ``opening_points``: the balance brought
    from the old system (one ``opening`` ledger entry); ``biz_card_no``: the Alipay card number when
    known; ``has_card``: the member holds the shop's Alipay card, so their points are synced to it.
    """

    card_no: str
    phone: str
    name: str
    level: str
    opening_points: int
    biz_card_no: str = ""
    has_card: bool = False
