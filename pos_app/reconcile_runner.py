"""Composition for the daily Alipay reconciliation: one run (CLI and terminal) and the automatic morning run."""

from __future__ import annotations

import datetime as dt
import logging
import sqlite3
import threading
from pathlib import Path
from typing import Any

from pos_app.domain.reconcile import BillFormatError, BillUnavailable
from pos_app.runtime import SystemClock
from pos_app.services.ports.clock import BEIJING, Clock
from pos_app.services.reconcile import AutoReconcile, ReconcileOutcome, ReconcileService
from pos_app.settings import Settings
from pos_app.storage.db import connect, migrate
from pos_app.storage.errors import StorageError
from pos_app.storage.reconcile import SqliteReconcileStore

__all__ = ["reconcile_dir", "run_reconcile", "MorningReconcile", "stored_run", "latest_run"]

logger = logging.getLogger(__name__)

RETRY_NOT_READY_S = 30 * 60


def reconcile_dir(settings: Settings) -> Path:
    return settings.data_dir / "reconcile"


def run_reconcile(settings: Settings, day: dt.date, *, data: bytes | None = None,
                  clock: Clock | None = None) -> ReconcileOutcome:
    """One reconciliation with the configured gateway (or the zip bytes ``data``).

    Raises BillUnavailable / BillFormatError / KeyConfigError / StorageUnavailable.
    """
    from pos_app.alipay.bill import AlipayBillSource, parse_bill_zip
    from pos_app.alipay.client import AlipayClient
    from pos_app.domain.reconcile import AlipayBill
    from pos_app.gateway_setup import gateway_config

    the_clock = clock or SystemClock()

    def parse(raw: bytes, d: dt.date, account: str | None) -> AlipayBill:
        return parse_bill_zip(raw, d, expected_account=account)

    conn = connect(settings.db_path)
    try:
        migrate(conn)
        service = ReconcileService(lambda: SqliteReconcileStore(conn), the_clock, reconcile_dir(settings),
                                   partner_id=settings.reconcile.partner_id)
        if data is not None:
            return service.run(day, parse, data=data)
        service.check_date(day)
        cfg = gateway_config(settings)
        if cfg is None:
            return service.run(day, parse, source=None)
        with AlipayClient(cfg, clock=the_clock) as client:
            source = AlipayBillSource(client)
            try:
                return service.run(day, parse, source=source)
            finally:
                source.close()
    finally:
        conn.close()


class MorningReconcile:
    """A daemon thread that reconciles yesterday once its bill is ready (``reconcile.run_after``).

    A bill that is not ready is asked again every 30 minutes; a bad bill is not asked again that day
    (the supervisor runs ``pos-app reconcile alipay`` after looking). Nothing here touches the till.
    """

    def __init__(self, settings: Settings, clock: Clock | None = None, *, interval_s: float = 300.0) -> None:
        hour, minute = (int(x) for x in settings.reconcile.run_after.split(":"))
        self._settings = settings
        self._clock = clock or SystemClock()
        self._rule = AutoReconcile(run_after=dt.time(hour, minute))
        self._interval = interval_s
        self._blocked: dict[dt.date, dt.datetime] = {}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def check_once(self) -> ReconcileOutcome | None:
        """Reconcile the day that is due now, if any (the thread calls this every ``interval_s``)."""
        now = self._clock.now()
        today = now.astimezone(BEIJING).date()
        try:
            conn = connect(self._settings.db_path)
            try:
                migrate(conn)
                done = SqliteReconcileStore(conn).done_dates(today - dt.timedelta(days=7))
            finally:
                conn.close()
        except StorageError as exc:
            logger.warning("morning reconcile: database not usable: %s", exc)
            return None
        blocked = {d for d, until in self._blocked.items() if until > now}
        day = self._rule.due(now, done | blocked)
        if day is None:
            return None
        try:
            outcome = run_reconcile(self._settings, day, clock=self._clock)
        except BillUnavailable as exc:
            wait = RETRY_NOT_READY_S if exc.retry_later else 86400
            self._blocked[day] = now + dt.timedelta(seconds=wait)
            logger.info("morning reconcile %s: %s", day, exc)
            return None
        except BillFormatError as exc:
            self._blocked[day] = now + dt.timedelta(days=1)
            logger.error("morning reconcile %s: bad bill, nothing changed: %s", day, exc)
            return None
        except Exception:  # a key or database problem must not kill the thread: logged, tried later
            self._blocked[day] = now + dt.timedelta(seconds=RETRY_NOT_READY_S)
            logger.exception("morning reconcile %s failed", day)
            return None
        return outcome

    def _loop(self) -> None:
        while not self._stop.wait(self._interval):
            self.check_once()

    def start(self) -> MorningReconcile:
        self._thread = threading.Thread(target=self._loop, name="morning-reconcile", daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None


def stored_run(settings: Settings, run_id: int) -> dict[str, Any] | None:
    """One stored reconciliation with its differences (read-only)."""
    conn = connect(settings.db_path, readonly=True)
    try:
        return SqliteReconcileStore(conn).run(run_id)
    finally:
        conn.close()


def latest_run(settings: Settings, day: dt.date | None = None) -> dict[str, Any] | None:
    """The newest stored reconciliation (of ``day``), or None (also for a database without the tables)."""
    if not settings.db_path.exists():
        return None
    conn = connect(settings.db_path, readonly=True)
    try:
        return SqliteReconcileStore(conn).latest(day)
    except sqlite3.Error:
        return None
    finally:
        conn.close()
