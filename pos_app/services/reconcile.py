"""Daily Alipay reconciliation: get the day's bill, check it, match it with the terminal, keep the result.

Nothing is stored unless the whole bill was read and checked: a bad bill (not a zip, not GBK, truncated,
another merchant's) raises :class:`BillFormatError` and changes nothing.
"""

from __future__ import annotations

import contextlib
import csv
import dataclasses
import datetime as dt
import io
import logging
import os
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Protocol

from pos_app.domain.reconcile import (
    BEIJING,
    AlipayBill,
    BillError,
    BillUnavailable,
    Reconciliation,
    TerminalPayment,
    TerminalRefund,
    day_window,
    match,
)

from .ports.clock import Clock

__all__ = [
    "BillSource",
    "BillParser",
    "ReconcileStore",
    "ReconcileOutcome",
    "ReconcileService",
    "AutoReconcile",
    "beijing_today",
    "CSV_HEADER",
]

logger = logging.getLogger(__name__)

CSV_HEADER = ("kind", "out_trade_no", "trade_no", "out_request_no", "alipay_amount", "terminal_amount", "detail")


class BillSource(Protocol):
    def fetch(self, day: dt.date) -> bytes: ...


BillParser = Callable[[bytes, dt.date, "str | None"], AlipayBill]
"""(zip bytes, bill date, expected account or None) -> the parsed bill; raises BillFormatError."""


class ReconcileStore(Protocol):
    def terminal_records(self, start: dt.datetime, end: dt.datetime, out_trade_nos: Iterable[str],
                         refund_keys: Iterable[tuple[str, str]]
                         ) -> tuple[dict[str, TerminalPayment], dict[tuple[str, str], TerminalRefund]]: ...

    def save(self, rec: Reconciliation, *, account: str, run_at: dt.datetime, csv_path: str) -> int: ...

    def known_account(self) -> str | None: ...


@dataclasses.dataclass(frozen=True)
class ReconcileOutcome:
    run_id: int
    reconciliation: Reconciliation
    account: str
    csv_path: Path

    @property
    def all_matched(self) -> bool:
        return not self.reconciliation.problems


def beijing_today(clock: Clock) -> dt.date:
    return clock.now().astimezone(BEIJING).date()


def _amount(fen: int | None) -> str:
    if fen is None:
        return ""
    sign, fen = ("-", -fen) if fen < 0 else ("", fen)
    return f"{sign}{fen // 100}.{fen % 100:02d}"


def _write_private(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically, owner-only (0600) from the first byte."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise


def findings_csv(rec: Reconciliation) -> bytes:
    """Every finding (problems first, then the matched rows), UTF-8 with a BOM so spreadsheets read Chinese."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n")
    w.writerow(CSV_HEADER)
    for f in sorted(rec.findings, key=lambda f: (f.matched, f.kind.value, f.out_trade_no, f.out_request_no)):
        w.writerow((f.kind.value, f.out_trade_no, f.trade_no, f.out_request_no, _amount(f.alipay_fen),
                    _amount(f.terminal_fen), f.detail))
    return ("\ufeff" + buf.getvalue()).encode("utf-8")


class ReconcileService:
    """One reconciliation run per call; the store factory gives a store on a connection of the calling thread."""

    def __init__(self, store: Callable[[], ReconcileStore], clock: Clock, out_dir: Path, *,
                 partner_id: str = "") -> None:
        self._store = store
        self._clock = clock
        self._out_dir = Path(out_dir)
        self._partner_id = partner_id

    def check_date(self, day: dt.date) -> None:
        today = beijing_today(self._clock)
        if day >= today:
            raise BillUnavailable(f"there is no Alipay bill for {day.isoformat()} yet: bills are made the next "
                                  "morning for days that are over (Beijing time)", retry_later=day == today)

    def run(self, day: dt.date, parse: BillParser, *, source: BillSource | None = None,
            data: bytes | None = None) -> ReconcileOutcome:
        """Reconcile ``day`` with the bill from ``source`` (or the zip bytes ``data``)."""
        if data is None:
            self.check_date(day)
            if source is None:
                raise BillUnavailable("no gateway configured (gateway.url): the bill cannot be downloaded; "
                                      "give the downloaded zip with --file", retry_later=False)
            data = source.fetch(day)
        store = self._store()
        expected = f"{self._partner_id}0156" if self._partner_id else store.known_account()
        try:
            bill = parse(data, day, expected)
        except BillError as exc:
            logger.warning("reconcile %s: bill refused: %s", day, exc)
            raise
        start, end = day_window(day)
        keys = {e.out_trade_no for e in bill.entries}
        refund_keys = {(e.out_trade_no, e.out_request_no) for e in bill.entries if e.out_request_no}
        payments, refunds = store.terminal_records(start, end, keys, refund_keys)
        rec = match(day, bill.entries, payments, refunds)
        run_at = self._clock.now()
        stamp = run_at.astimezone(BEIJING).strftime("%Y%m%dT%H%M%S")
        folder = self._out_dir
        csv_path = folder / f"alipay-{day.isoformat()}-{stamp}.csv"
        _write_private(folder / f"alipay-bill-{day.isoformat()}.csv.zip", data)
        _write_private(csv_path, findings_csv(rec))
        run_id = store.save(rec, account=bill.account, run_at=run_at, csv_path=str(csv_path))
        level = logging.INFO if not rec.problems else logging.WARNING
        logger.log(level, "reconcile %s: %d Alipay trades, %d refunds; %d matched, %d problem(s) %s", day,
                   rec.alipay_trades, rec.alipay_refunds, rec.matched, len(rec.problems),
                   {k: v for k, v in rec.counts().items() if k != "matched"})
        return ReconcileOutcome(run_id, rec, bill.account, csv_path)


class AutoReconcile:
    """Decides when the automatic morning run reconciles yesterday (bills are ready T+1, after ~09:00)."""

    def __init__(self, *, run_after: dt.time, lookback_days: int = 3) -> None:
        self._run_after = run_after
        self._lookback = lookback_days

    def due(self, now: dt.datetime, skip: set[dt.date]) -> dt.date | None:
        """The oldest recent day (yesterday back to ``lookback_days``) not in ``skip``, once it is time."""
        local = now.astimezone(BEIJING)
        if local.time() < self._run_after:
            return None
        for back in range(self._lookback, 0, -1):
            day = local.date() - dt.timedelta(days=back)
            if day not in skip:
                return day
        return None
