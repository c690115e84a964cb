"""Store X and store Z for a supervisor at any lane (store mode, issue 13, STORE-MODE.md §1.6).

The figures come from the store server through :class:`StoreReportsPort`; what a supervisor does with them
(close the store day, with or without an override; mark a lane notice reviewed) is also written to this
lane's own audit log. :func:`store_rows` turns the figures into report rows (section, label, value, raw):
the screen, the CSV and the PDF all show the same rows. Money is integer fen.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
from collections.abc import Callable, Mapping

from pos_app.domain.money import format_ui

from .errors import ServiceError
from .ports.clock import BEIJING, Clock
from .ports.store_reports import (
    IncompleteLane,
    StoreCloseRefused,
    StoreFigures,
    StoreNotAnswering,
    StoreReportError,
    StoreReportsPort,
    StoreSaidNo,
)
from .ports.uow import UnitOfWork
from .reports import DEFAULT_WIDTH, display_width

__all__ = ["StoreReportService", "StoreRow", "store_rows", "StoreNotAnswering", "StoreSaidNo", "StoreCloseRefused",
           "StoreReportError", "StoreFigures", "SECTION_TITLES", "NOTICE_LABELS", "MAX_DAYS", "lane_names",
           "notice_label", "store_text"]

logger = logging.getLogger(__name__)

MAX_DAYS = 366
#: section key -> English title (the catalogue key)
SECTION_TITLES: dict[str, str] = {
    "header": "Store report", "store": "Store sales", "tenders": "Tenders", "lanes": "Per lane",
    "cashiers": "Per cashier", "members": "Members and points", "sync": "Lane sync",
    "incomplete": "Not complete on the server", "exceptions": "Exceptions", "notices": "Lane notices",
}
_TENDERS = {"cash": "Cash", "alipay": "Alipay"}
NOTICE_LABELS = {"new_epoch": "Lane {lane} restored from an older copy (new epoch)",
            "clock_skew": "Lane {lane} clock differs from the store's",
            "late_after_close": "Lane {lane} sent events after the day was closed"}


@dataclasses.dataclass(frozen=True, slots=True)
class StoreRow:
    """One report row. ``label`` is a catalogue key with ``params`` (``label.format(**params)`` is the English);
    params named in ``WORDS`` are words too (a tender's name); ``value_words`` says the value is a word."""

    section: str
    label: str
    params: Mapping[str, str]
    value: str
    raw: str
    value_words: bool = False

    WORDS = ("tender",)

    @property
    def english(self) -> str:
        return self.label.format(**self.params) if self.params else self.label


def notice_label(kind: str) -> str:
    """The catalogue key naming a lane notice of ``kind`` (params: lane, kind)."""
    return NOTICE_LABELS.get(kind, "Lane {lane}: {kind}")


def lane_names(lanes: tuple[IncompleteLane, ...]) -> str:
    return ", ".join(m.lane for m in lanes)


def _span(fig: StoreFigures) -> str:
    return fig.first.isoformat() if fig.first == fig.last else f"{fig.first.isoformat()} .. {fig.last.isoformat()}"


def _local(at: dt.datetime | None) -> str:
    return f"{at.astimezone(BEIJING):%m-%d %H:%M:%S}" if at is not None else "never"


def store_rows(fig: StoreFigures) -> list[StoreRow]:
    """Every figure as a row, in the order shown, printed and exported."""
    rows: list[StoreRow] = []

    def add(section: str, label: str, value: object, *, money: bool = False, words: bool = False,
            **params: object) -> None:
        raw = str(value)
        shown = format_ui(int(str(value))) if money else raw
        rows.append(StoreRow(section, label, {k: str(v) for k, v in params.items()}, shown, raw, words))

    h = "header"
    add(h, "Report", "Store Z" if fig.closed else "Store X", words=True)
    add(h, "Business date", _span(fig))
    if fig.provisional:
        add(h, "PROVISIONAL: lanes missing", lane_names(fig.missing_lanes))
        add(h, "Override reason", fig.override_reason)
    if fig.closed:
        add(h, "Day closed by", fig.closed_by)
    if fig.closed_at is not None:
        add(h, "Day closed at", f"{fig.closed_at.astimezone(BEIJING):%Y-%m-%d %H:%M:%S}")
    add("store", "Sales", fig.sales)
    add("store", "Total", fig.total_fen, money=True)
    add("store", "Refunds", fig.refunds_fen, money=True)
    add("store", "Net", fig.total_fen - fig.refunds_fen, money=True)
    for kind, fen in fig.tenders:
        add("tenders", "Tender: {tender}", fen, money=True, tender=_TENDERS.get(kind, kind))
    for ln in fig.lanes:
        add("lanes", "Lane {lane}: {count} sales", ln.total_fen, money=True, lane=ln.lane, count=ln.sales)
        if ln.refunds_fen:
            add("lanes", "Lane {lane}: refunds", ln.refunds_fen, money=True, lane=ln.lane)
        for kind, fen in ln.tenders:
            add("lanes", "Lane {lane}: {tender}", fen, money=True, lane=ln.lane, tender=_TENDERS.get(kind, kind))
    for c in fig.cashiers:
        add("cashiers", "Cashier {cashier}: {count} sales", c.total_fen, money=True, cashier=c.cashier,
            count=c.sales)
    add("members", "Members who bought", fig.members.count)
    add("members", "Points earned", fig.members.points_earned)
    add("members", "Points redeemed", fig.members.points_redeemed)
    for s in fig.lanes_state:
        add("sync", "Lane {lane}: synced up to event {seq}, {waiting} waiting", _local(s.last_seen_at),
            words=s.last_seen_at is None, lane=s.lane, seq=s.acked_seq, waiting=s.backlog)
    for m in fig.incomplete_lanes:
        add("incomplete", "Lane {lane}: day not complete on the server", "" if m.acked_seq is None else
            f"{m.acked_seq}/{m.last_seq_of_day}", lane=m.lane)
    for e in fig.exceptions:
        label = "Offline overdraft: member …{tail}" if e.kind == "overdraft" else "Points exception: member …{tail}"
        add("exceptions", label, e.balance_after, tail=e.member_id[-4:])
    for n in fig.notices:
        add("notices", notice_label(n.kind), _local(n.at), lane=n.lane, kind=n.kind)
    return rows


def store_text(fig: StoreFigures, *, width: int = DEFAULT_WIDTH) -> str:
    """The store report as plain text ``width`` columns wide, for the receipt printer (labels in English, as
    the lane's printed X; a value that does not fit goes on its own line, right-aligned)."""
    out: list[str] = []
    section = None
    for row in store_rows(fig):
        if row.section != section:
            section = row.section
            out.append("=" * width if section == "header" else "-" * width)
            out.append(SECTION_TITLES[section].upper() if section == "header" else SECTION_TITLES[section])
        label, value = row.english, row.value
        gap = width - display_width(label) - display_width(value)
        out.extend([label + " " * gap + value] if gap >= 1
                   else [label, " " * max(0, width - display_width(value)) + value])
    out.append("=" * width)
    return "\n".join(out) + "\n"


class StoreReportService:
    """Store X / Z through the port; the lane's audit log records store Z and notice reviews."""

    def __init__(self, port: StoreReportsPort, uow_factory: Callable[[], UnitOfWork], clock: Clock, *,
                 terminal_id: str = "") -> None:
        self._port = port
        self._uow = uow_factory
        self._clock = clock
        self._terminal_id = terminal_id

    def today(self) -> dt.date:
        """The store's business date now (GMT+8)."""
        return self._clock.now().astimezone(BEIJING).date()

    @property
    def can_review_notices(self) -> bool:
        """Asks the server once (call it off the GUI thread)."""
        return self._port.can_review_notices

    def figures(self, first: dt.date, last: dt.date | None = None) -> StoreFigures:
        last = last or first
        if last < first:
            raise ServiceError("the last day of the report is before its first day")
        if (last - first).days + 1 > MAX_DAYS:
            raise ServiceError(f"a store report covers at most {MAX_DAYS} days")
        return self._port.figures(first, last)

    def close_day(self, day: dt.date, *, closed_by: str, user_id: int | None, override_reason: str = "",
                  approval_id: int | None = None) -> StoreFigures:
        """The store Z for ``day``. Refused (StoreCloseRefused, also audited) while lanes are incomplete and
        no override reason is given; with one, the Z is provisional and lists the missing lanes."""
        if not closed_by.strip():
            raise ServiceError("who closes the store day is required")
        try:
            fig = self._port.close_day(day, closed_by, override_reason.strip())
        except StoreCloseRefused as exc:
            self._audit(user_id, closed_by, "store.close_day_refused", day, {
                "reason": exc.reason, "missing_lanes": [m.lane for m in exc.missing_lanes]})
            raise
        self._audit(user_id, closed_by, "store.close_day", day, {
            "provisional": fig.provisional, "missing_lanes": [m.lane for m in fig.missing_lanes],
            "override_reason": override_reason.strip(), "approval_id": approval_id,
            "sales": fig.sales, "total_fen": fig.total_fen})
        logger.info("store Z for %s recorded by %s%s", day, closed_by,
                    f" PROVISIONAL (missing {lane_names(fig.missing_lanes)})" if fig.provisional else "")
        return fig

    def stored_z(self, day: dt.date) -> StoreFigures | None:
        """The store Z recorded for ``day`` (for a look, a reprint or an export), or None."""
        return self._port.stored_z(day)

    def review_notice(self, notice_id: int, *, reviewed_by: str, user_id: int | None) -> bool:
        done = self._port.review_notice(notice_id, reviewed_by)
        if done:
            self._audit(user_id, reviewed_by, "store.notice_reviewed", None, {"notice_id": notice_id})
        return done

    def _audit(self, user_id: int | None, user_name: str, action: str, day: dt.date | None,
               detail: Mapping[str, object]) -> None:
        with self._uow() as uow:
            uow.audit.append(at=self._clock.now(), user_id=user_id, user_name=user_name, action=action,
                             subject=day.isoformat() if day else "", detail=dict(detail))

    def close(self) -> None:
        self._port.close()
