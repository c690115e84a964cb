"""Receipts show the store's wall-clock time (GMT+8), the same as the X/Z reports, not UTC."""

from __future__ import annotations

from pos_app.services.receipts import local_time_text


def test_stored_utc_time_prints_as_beijing_time() -> None:
    assert local_time_text("2026-11-25T16:30:05.123456+00:00") == "2026-11-26 00:30:05"


def test_unparsable_time_is_printed_as_stored() -> None:
    assert local_time_text("not a time at all") == "not a time at all"[:19]
