"""Unit tests for pos_app.domain.events: frozen, and card numbers masked in repr."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest

from pos_app.domain.events import Event, PointsChanged, RefundCompleted, SaleCompleted

AT = dt.datetime(2024, 1, 1, 4, 0, tzinfo=dt.UTC)
CARD = "8800123456789012"


def test_events_are_frozen_and_masked() -> None:
    events = [
        SaleCompleted("e1", AT, "s1", "R0010000000001X", 1000, 100, 900, "cash", card_no=CARD, points_earned=9),
        PointsChanged("e2", AT, CARD, 9, 109, "earn", sale_id="s1"),
        RefundCompleted("e3", AT, "r1", "s1", 300, False, "alipay", out_request_no="o1", card_no=CARD),
    ]
    for event in events:
        assert isinstance(event, Event)
        assert CARD not in repr(event)
        assert "9012" in repr(event)
        with pytest.raises(dataclasses.FrozenInstanceError):
            event.event_id = "x"  # type: ignore[misc]
