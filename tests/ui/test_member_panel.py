"""The member panel's points: what the member has (the ledger), and the part the Alipay card does not show yet."""

from __future__ import annotations

from pos_app.domain.loyalty import RedeemOption
from pos_app.services.members import MemberView
from pos_app.ui.snapshot_view import member_view

NONE = RedeemOption(0, 0, "")


def test_imported_opening_points_are_the_members_points() -> None:
    """Seen on a real terminal: a member imported with 1200 points showed "Points: 0 (pending sync: +1200)"."""
    imported = MemberView("8800100000000001", "王*明", "GOLD", 0, 1200, 1200, "138****8001", NONE, alipay_card=False)
    panel = member_view(imported)
    assert panel is not None and (panel.points, panel.pending_points) == (1200, 0)   # no Alipay card: nothing to sync


def test_a_card_holders_unsynced_points_are_noted() -> None:
    holder = MemberView("8800100000000002", "李*", "SILVER", 300, 45, 345, "", NONE)   # holds the Alipay card
    panel = member_view(holder)
    assert panel is not None and (panel.points, panel.pending_points) == (345, 45)
