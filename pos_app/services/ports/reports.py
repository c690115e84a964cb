"""Report figures and stored Z reports."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any, Protocol

__all__ = ["ZReportRecord", "ReportRepository"]


@dataclasses.dataclass(frozen=True, slots=True)
class ZReportRecord:
    """A stored Z report: figures and text exactly as printed, with the hash over both."""

    id: int
    terminal_id: str
    number: int
    shift_id: int
    created_at: dt.datetime
    figures_json: str
    text: str
    hash: str


class ReportRepository(Protocol):
    """Report figures computed with SQL aggregates, and stored Z reports."""

    def figures(self, shift_id: int, *, now: dt.datetime) -> dict[str, Any]: ...

    def expected_cash(self, shift_id: int) -> int: ...

    def sync_stats(self, *, now: dt.datetime) -> dict[str, Any]: ...

    def add_z_report(self, *, terminal_id: str, shift_id: int, created_at: dt.datetime, figures_json: str,
                     text: str, hash: str, number: int) -> ZReportRecord: ...

    def next_z_number(self, terminal_id: str) -> int: ...

    def z_report(self, terminal_id: str, *, shift_id: int | None = None,
                 number: int | None = None) -> ZReportRecord | None: ...

    def z_reports(self, terminal_id: str, limit: int = 100) -> list[ZReportRecord]: ...

