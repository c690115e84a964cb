"""The store report port (pos_app.services.ports.store_reports) over the store's PostgreSQL: store X and store Z
for a supervisor at any lane, read through the lane's own role (a member of the read-only reader group).

One connection, kept between calls and dropped after any failure; every round trip runs under the store's
client-side deadline (connect.deadline), so a stopped, frozen or cut server gives StoreUnavailable in time.
Calls come from the UI's worker threads: a lock makes them take turns on the connection.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from typing import Any

import psycopg

from pos_app.services.ports.store_reports import (
    CashierFigures,
    LaneFigures,
    LaneNotice,
    LaneSyncState,
    MemberFigures,
    PointsException,
    StoreFigures,
)

from . import reports
from .connect import deadline, open_connection, still_open
from .errors import StoreRefused

__all__ = ["StoreReportsClient", "typed_figures"]

logger = logging.getLogger(__name__)


def _at(text: str | None) -> dt.datetime | None:
    return dt.datetime.fromisoformat(text) if text else None


def _notice_detail(detail: Any) -> str:
    if isinstance(detail, dict):
        return ", ".join(f"{k} {v}" for k, v in sorted(detail.items()))
    return "" if detail is None else str(detail)


def typed_figures(fig: dict[str, Any]) -> StoreFigures:
    """The figures of reports.store_figures / close_day (JSON-shaped, as the CLI prints them), typed."""
    missing = reports.incomplete_lanes(list(fig.get("missing_lanes") or []))
    return StoreFigures(
        first=dt.date.fromisoformat(fig["first"]), last=dt.date.fromisoformat(fig["last"]),
        lanes=tuple(LaneFigures(ln["lane"], int(ln["sales"]), int(ln["total_fen"]), int(ln["refunds_fen"]),
                                tuple(sorted((str(k), int(v)) for k, v in ln["tenders"].items())))
                    for ln in fig["lanes"]),
        sales=int(fig["sales"]), total_fen=int(fig["total_fen"]), refunds_fen=int(fig["refunds_fen"]),
        tenders=tuple(sorted((str(k), int(v)) for k, v in fig["tenders"].items())),
        cashiers=tuple(CashierFigures(c["cashier"], int(c["sales"]), int(c["total_fen"])) for c in fig["cashiers"]),
        members=MemberFigures(int(fig["members"]["count"]), int(fig["members"]["points_earned"]),
                              int(fig["members"]["points_redeemed"])),
        lanes_state=tuple(LaneSyncState(s["lane"], int(s["acked_seq"]), int(s["backlog"]), _at(s["last_seen_at"]),
                                        None if s["clock_skew_ms"] is None else int(s["clock_skew_ms"]))
                          for s in fig["lanes_state"]),
        incomplete_lanes=reports.incomplete_lanes(list(fig["incomplete_lanes"] or [])),
        exceptions=tuple(PointsException(str(e["member_id"]), str(e["kind"]), int(e["balance_after"]),
                                         dt.datetime.fromisoformat(e["at"])) for e in fig["exceptions"]),
        notices=tuple(LaneNotice(int(n.get("id", 0)), n["lane"], str(n["kind"]), _notice_detail(n["detail"]),
                                 dt.datetime.fromisoformat(n["at"])) for n in fig["notices"]),
        closed="provisional" in fig, provisional=bool(fig.get("provisional")), missing_lanes=missing,
        closed_by=str(fig.get("closed_by", "")), override_reason=str(fig.get("override_reason", "")),
        closed_at=_at(fig.get("closed_at")),
    )


class StoreReportsClient:
    """StoreReportsPort over PostgreSQL. ``conninfo`` is the lane's (lane_conninfo, password included)."""

    def __init__(self, conninfo: str, *, deadline_s: float) -> None:
        self._info = conninfo
        self._deadline = deadline_s
        self._conn: psycopg.Connection[Any] | None = None
        self._lock = threading.Lock()
        self._can_review: bool | None = None

    def _connection(self) -> psycopg.Connection[Any]:
        if not still_open(self._conn):
            self._drop()
            self._conn = open_connection(self._info, statement_timeout_ms=int(self._deadline * 1000))
        return self._conn

    def _drop(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            try:
                conn.close()
            except psycopg.Error:   # a connection whose socket the deadline shut down
                logger.debug("closing the store report connection failed", exc_info=True)

    def _call(self, what: str, fn: Any) -> Any:
        with self._lock:
            conn = self._connection()
            try:
                with deadline(conn, self._deadline, what):
                    return fn(conn)
            except StoreRefused:
                raise                   # an answer: the connection is still good
            except BaseException:
                self._drop()
                raise

    @property
    def can_review_notices(self) -> bool:
        if self._can_review is None:
            def probe(conn: psycopg.Connection[Any]) -> bool:
                row = conn.execute(b"SELECT to_regprocedure('pos.review_notice(bigint,text)') IS NOT NULL "
                                   b"AND has_function_privilege('pos.review_notice(bigint,text)', 'EXECUTE')"
                                   ).fetchone()
                return bool(row and row[0])
            try:
                self._can_review = bool(self._call("store notices", probe))
            except (StoreRefused, psycopg.Error):
                self._can_review = False
        return self._can_review

    def figures(self, first: dt.date, last: dt.date) -> StoreFigures:
        fig = self._call("store X", lambda conn: reports.store_figures(conn, first, last))
        return typed_figures(fig)

    def close_day(self, day: dt.date, closed_by: str, override_reason: str = "") -> StoreFigures:
        fig = self._call("store Z", lambda conn: reports.close_day(conn, day, closed_by, override_reason))
        logger.info("store Z for %s closed by %s%s", day, closed_by,
                    f" (override: {override_reason})" if override_reason else "")
        return typed_figures({**fig, "closed_by": closed_by, "override_reason": override_reason})

    def stored_z(self, day: dt.date) -> StoreFigures | None:
        fig = self._call("store Z", lambda conn: reports.stored_z(conn, day))
        return typed_figures(fig) if fig is not None else None

    def review_notice(self, notice_id: int, reviewed_by: str) -> bool:
        def review(conn: psycopg.Connection[Any]) -> bool:
            row = conn.execute(b"SELECT pos.review_notice(%s, %s)", (notice_id, reviewed_by)).fetchone()
            return bool(row and row[0])
        return bool(self._call("lane notice", review))

    def close(self) -> None:
        with self._lock:
            self._drop()
