"""The one composition root, without Qt: settings -> storage, the gateway client and the services.

``build_container(settings, **overrides)`` is used by the terminal (pos_app.app, the Qt shell) and by
every command line tool (pos_app.cli): it is the only place that builds storage and Alipay adapters,
and the command line reaches storage and Alipay only through the functions below
(tests/test_architecture.py). Tests override any collaborator by keyword (clock, ids, gateway, ...).
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import os
import sqlite3
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from pos_app.alipay.card_requests import AlipayCardRequests
from pos_app.alipay.client import AlipayClient, GatewayConfig, load_gateway_config
from pos_app.alipay.errors import AlipayError, KeyConfigError
from pos_app.alipay.keys import generate_private_key, public_key_base64, write_private_key, write_public_key
from pos_app.domain.errors import PricingError
from pos_app.domain.loyalty import LoyaltyRules
from pos_app.domain.promotions import PriceBook
from pos_app.domain.sale import SalePricing
from pos_app.gateway_setup import gateway_config
from pos_app.loyalty_setup import LoyaltyConfigError
from pos_app.loyalty_setup import loyalty_rules as configured_loyalty_rules
from pos_app.runtime import RandomIds, SystemClock
from pos_app.services.bundle import ServiceBundle
from pos_app.services.checkout import CheckoutConfig, CheckoutService
from pos_app.services.held import HeldBaskets
from pos_app.services.members import MemberConfig, MemberService
from pos_app.services.payment import PaymentConfig, PaymentService
from pos_app.services.ports.card_events import CardRequests
from pos_app.services.ports.clock import Clock, IdSource
from pos_app.services.ports.errors import ServiceUnavailable
from pos_app.services.ports.gateway import CardGateway
from pos_app.services.ports.uow import UnitOfWork
from pos_app.services.refunds import RefundService
from pos_app.services.reports import ReportService
from pos_app.services.shifts import ShiftService
from pos_app.services.sync import SyncConfig, SyncWorker
from pos_app.services.till import DiscountCaps
from pos_app.services.users import UserService
from pos_app.settings import Settings
from pos_app.start_checks import integrity_gate, terminal_secret
from pos_app.storage.audit import AuditBreak, audit_entries, verify_chain
from pos_app.storage.backup import (
    BackupError,
    backup_name,
    integrity_problems,
    lower_priority,
    newest_backup,
    online_backup,
    premigrate_backup,
    restore,
    rotate,
)
from pos_app.storage.catalogue_import import apply_catalogue, price_history, read_records, search_records
from pos_app.storage.db import SCHEMA_VERSION, Database, connect, migrate, schema_version
from pos_app.storage.errors import StorageError
from pos_app.storage.held import SqliteHeldBaskets
from pos_app.storage.housekeeping import prune_outbox
from pos_app.storage.journal_export import COLUMNS as JOURNAL_COLUMNS
from pos_app.storage.journal_export import journal_rows
from pos_app.storage.members_import import apply_members, read_members
from pos_app.storage.outbox import SqliteOutboxQueue, outbox_stats
from pos_app.storage.pricing import SqlitePriceItems
from pos_app.storage.promotions import apply_price_book, export_price_book, load_price_book
from pos_app.storage.runlock import RunLock
from pos_app.storage.uow import SqliteUnitOfWork
from pos_app.storage.users_import import UsersRefused, apply_users

__all__ = [
    "Container", "ThreadConnections", "build_container", "loyalty_rules", "RESOURCES", "card_requests",
    # the command line's door to storage and Alipay
    "SCHEMA_VERSION", "AlipayError", "KeyConfigError", "ServiceUnavailable", "AuditBreak", "GatewayConfig",
    "AlipayClient", "load_gateway_config", "gateway_config", "migrate_database", "database_info",
    "connect_database", "audit_verify", "audit_tail", "outbox_status", "sync_config", "build_sync_worker",
    "open_container", "seed_demo_data",
    "generate_private_key", "public_key_base64", "write_private_key", "write_public_key",
    "open_database", "StorageError", "apply_catalogue", "read_records",
    "SqlitePriceItems", "apply_price_book", "export_price_book", "load_price_book",
    # shop data in and out (issue 12)
    "LoyaltyConfigError", "configured_loyalty_rules", "apply_members", "read_members", "apply_users",
    "UsersRefused", "JOURNAL_COLUMNS", "journal_rows", "price_history", "search_records", "items_service",
    "run_catalogue_import",
    # backups, restore, pruning (issue 17)
    "BackupError", "backup_name", "integrity_problems", "lower_priority", "newest_backup", "online_backup",
    "premigrate_backup", "restore", "rotate", "prune_outbox", "RunLock",
]

logger = logging.getLogger(__name__)

RESOURCES = Path(__file__).resolve().parent / "resources"  # a link to the repo's resources/, packaged in the wheel
_DEFAULT: Any = object()


class ThreadConnections:
    """One SQLite connection per OS thread (a connection is never used by two threads at once).

    Keyed by the thread's identity, not by ``threading.local``: a Qt pool thread runs each task under a fresh
    Python thread state, so a thread-local is empty at every task, and a connection kept only there (and in a
    list for shutdown) was opened again by every background task and never closed: the terminal leaked one
    database descriptor a second from the status bar alone, until "too many open files" (1 024 is the usual
    limit) after a quarter of an hour. A pool thread now keeps its connection from task to task; a connection
    whose thread has ended is closed when a new one is opened.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._by_thread: dict[int, tuple[int, sqlite3.Connection]] = {}   # ident -> (native id, connection)

    def get(self) -> sqlite3.Connection:
        ident, native = threading.get_ident(), threading.get_native_id()
        with self._lock:
            known = self._by_thread.get(ident)
        if known is not None and known[0] == native:
            return known[1]
        # connections are handed out per thread by this map, so SQLite's same-thread check is not needed (and
        # it would refuse to close a connection of a thread that has ended)
        conn = connect(self.path, shared=True)
        with self._lock:
            stale = [known[1]] if known is not None else []   # this ident's earlier thread has ended
            self._by_thread[ident] = (native, conn)
            stale += self._ended()
        for old in stale:
            _close_quietly(old)
        return conn

    def _ended(self) -> list[sqlite3.Connection]:
        """Connections of threads that no longer exist (Linux: /proc/self/task; elsewhere none)."""
        try:
            alive = {int(t) for t in os.listdir("/proc/self/task")}
        except OSError:
            return []
        gone = [ident for ident, (native, _c) in self._by_thread.items() if native not in alive]
        return [self._by_thread.pop(ident)[1] for ident in gone]

    def open_count(self) -> int:
        with self._lock:
            return len(self._by_thread)

    def uow(self) -> UnitOfWork:
        return SqliteUnitOfWork(self.get())

    def close_mine(self) -> None:
        """Close this thread's connection and those of threads that have ended (the others close when their
        thread has ended and a connection is opened or closed here again, or with the process)."""
        with self._lock:
            known = self._by_thread.pop(threading.get_ident(), None)
            ended = self._ended()
        for conn in ([known[1]] if known is not None else []) + ended:
            _close_quietly(conn)


def _close_quietly(conn: sqlite3.Connection) -> None:
    try:
        conn.close()
    except sqlite3.Error:
        logger.warning("closing a database connection failed", exc_info=True)


def loyalty_rules(settings: Settings) -> LoyaltyRules:
    """The configured rules ([loyalty] or the file it names); without any, the demo rules. A real terminal
    refuses to start without rules (pos_app.loyalty_setup, checked by the shell and `config check`)."""
    return configured_loyalty_rules(settings, demo=True)


@dataclasses.dataclass(frozen=True)
class Container:
    """Everything built from the settings for one process; ``services`` is what the UI receives."""

    settings: Settings
    conns: ThreadConnections
    clock: Clock
    ids: IdSource
    rules: LoyaltyRules
    gateway: AlipayClient | None
    services: ServiceBundle

    @property
    def users(self) -> UserService:
        return self.services.users

    @property
    def shifts(self) -> ShiftService:
        return self.services.shifts

    @property
    def reports(self) -> ReportService:
        return self.services.reports

    @property
    def checkout(self) -> CheckoutService:
        return self.services.checkout

    @property
    def members(self) -> MemberService:
        return self.services.members

    @property
    def refunds(self) -> RefundService:
        return self.services.refunds

    @property
    def payment(self) -> PaymentService | None:
        return self.services.payment

    def close(self) -> None:
        """Close the gateway client and this thread's database connection."""
        if self.gateway is not None:
            self.gateway.close()
        self.conns.close_mine()


def build_container(settings: Settings, *, clock: Clock | None = None, ids: IdSource | None = None,
                    gateway: AlipayClient | None = _DEFAULT, conns: ThreadConnections | None = None,
                    rules: LoyaltyRules | None = None, payment_sleep: Callable[[float], None] | None = None,
                    migrate_db: bool = True, start_gate: bool = True) -> Container:
    """Open (and migrate) the database and build every service on it.

    Raises ServiceUnavailable (StorageUnavailable) for an unusable database and KeyConfigError for bad
    gateway keys. ``gateway=None`` builds a cash-only terminal; by default the client follows the settings.
    """
    if migrate_db:
        Database(settings.db_path).open_and_migrate().close()
    # issue 16: the terminal secret (PIN and audit keys, outside the database) and, unless a supervisor is
    # about to accept a refused state (`audit accept`), the integrity gate; both raise StartRefused
    secret = terminal_secret(settings)
    if start_gate:
        integrity_gate(settings, secret)
    conns = conns or ThreadConnections(settings.db_path)
    conns.get()
    clock = clock or SystemClock()
    ids = ids or RandomIds(f"{settings.store.store_id}{settings.store.terminal_id}")
    rules = rules or loyalty_rules(settings)
    if gateway is _DEFAULT:
        cfg = gateway_config(settings)
        gateway = AlipayClient(cfg, clock=clock) if cfg is not None else None
    store, shift = settings.store, settings.shift
    pricing = sale_pricing(settings, conns.get())
    checkout = CheckoutService(conns.uow, clock, ids, CheckoutConfig(
        store_id=store.store_id, terminal_id=store.terminal_id, terminal_no=store.terminal_no,
        receipt_prefix=settings.scanners.receipt_prefix, store_name=store.name, loyalty=rules,
        language="en" if settings.language == "en" else "zh", member_pattern=settings.scanners.member_pattern,
        pricing=pricing), card_requests=card_requests())
    payment = None
    if gateway is not None:
        p = settings.payment
        payment = PaymentService(conns.uow, gateway, clock, ids, PaymentConfig(
            query_max=p.query_max, query_interval_s=p.query_interval_s, cancel_max=p.cancel_max,
            cancel_interval_s=p.cancel_interval_s, store_id=store.store_id, terminal_id=store.terminal_id),
            payment_sleep, checkout=checkout)
    services = ServiceBundle(
        users=UserService(conns.uow, clock, terminal_id=store.terminal_id, max_failures=shift.pin_max_failures,
                          lock_minutes=shift.pin_lock_minutes, pin_key=secret.key("pin"),
                          min_pin_length=shift.pin_min_length,
                          supervisor_min_pin_length=shift.supervisor_pin_min_length,
                          store_pin_key=store_pin_key(settings)),
        shifts=ShiftService(conns.uow, clock, terminal_id=store.terminal_id,
                            close_difference_threshold_fen=shift.close_difference_threshold_fen,
                            report_width=settings.printer.width_chars),
        reports=ReportService(conns.uow, clock, terminal_id=store.terminal_id, width=settings.printer.width_chars),
        checkout=checkout,
        members=MemberService(conns.uow, gateway, clock, MemberConfig(loyalty=rules)),
        refunds=RefundService(conns.uow, gateway, clock, ids, card_requests=card_requests(), store_id=store.store_id,
                              store_name=store.name),
        payment=payment,
    )
    from pos_app.services.exchange import ExchangeService  # counter (issue 14): exchanges commit with sales
    from pos_app.services.promotions import PromotionsService
    from pos_app.storage.promotions import SqlitePromotionStore

    checkout.exchange_writer = ExchangeService(conns.uow, services.refunds, clock, ids)
    # promotions changed by the screen or an import apply from the next sale (no restart)
    promotions = PromotionsService(SqlitePromotionStore(conns.get, lambda conn: sale_pricing(settings, conn),
                                                        clock.now))
    promotions.mark_loaded()
    checkout.pricing_refresh = promotions.refresh
    services = dataclasses.replace(services, promotions=promotions)
    return Container(settings=settings, conns=conns, clock=clock, ids=ids, rules=rules, gateway=gateway,
                     services=services)


def card_requests() -> CardRequests:
    """How card events become the outbox's Alipay requests (pos_app.alipay.card_requests)."""
    return AlipayCardRequests()


def store_pin_key(settings: Settings) -> bytes | None:
    """Store mode: the store's PIN key, to verify the PINs of users pulled from the store (None: none set;
    an unreadable file is logged and those users cannot log in here, the lane's own users still can)."""
    if not settings.store.dsn or not settings.store.pin_key_file:
        return None
    from pos_app.store.pinkey import PinKeyError, read_pin_key

    try:
        return read_pin_key(settings.store.pin_key_file)
    except PinKeyError as exc:
        logger.error("store.pin_key_file: %s; users from the store cannot log in on this lane", exc)
        return None


def sale_pricing(settings: Settings, conn: sqlite3.Connection) -> SalePricing:
    """Promotions, special prices and per-level member prices as stored, and the cash rounding setting
    (read at start: a promotions import takes effect at the next start of the terminal)."""
    try:
        book = load_price_book(conn)
    except PricingError:
        logger.exception("the stored promotions do not read: selling without promotions")
        book = PriceBook()
    levels: dict[str, dict[str, int]] = {}
    for code, level, fen in conn.execute("SELECT item_code, level, price_fen FROM item_level_prices"):
        levels.setdefault(str(code), {})[str(level).upper()] = int(fen)
    return SalePricing(book=book, level_prices=levels, cash_rounding=settings.counter.cash_rounding)


def build_held_baskets(container: Container) -> HeldBaskets:
    """Park/recall and the crash-safe open basket of this terminal, priced like its sales."""
    store = SqliteHeldBaskets(container.conns.get, container.settings.store.terminal_id)
    return HeldBaskets(store, container.clock, container.rules, container.checkout.config.pricing, background=True)


def discount_caps(settings: Settings) -> DiscountCaps:
    """The manual-discount caps per role from the settings."""
    c = settings.counter
    return DiscountCaps(c.cashier_discount_max_pct, c.supervisor_discount_max_pct)


@contextlib.contextmanager
def open_container(settings: Settings, **overrides: Any) -> Iterator[Container]:
    """``build_container`` for a command: closed on leaving the block. Gateway off unless asked for."""
    overrides.setdefault("gateway", None)
    container = build_container(settings, **overrides)
    try:
        yield container
    finally:
        container.close()


def seed_demo_data(container: Container) -> tuple[int, int]:
    """The demo catalogue and members from resources/demo (the demo's users are added by pos_app.demo)."""
    from pos_app.storage.seed import seed_demo

    return seed_demo(container.conns.get(), RESOURCES)


# --- the command line's door to storage -------------------------------------------------------


def open_database(settings: Settings) -> sqlite3.Connection:
    """The terminal's database, migrated, on a new connection (the caller closes it)."""
    return Database(settings.db_path).open_and_migrate()


def connect_database(settings: Settings, *, readonly: bool = False) -> sqlite3.Connection:
    """A connection to the terminal's database (for a command's own read-only queries)."""
    return connect(settings.db_path, readonly=readonly)


def migrate_database(settings: Settings) -> list[int]:
    """Apply pending migrations; returns the versions applied."""
    conn = connect(settings.db_path)
    try:
        return migrate(conn)
    finally:
        conn.close()


def database_info(settings: Settings) -> dict[str, Any]:
    """Schema version, row counts and file size (read-only)."""
    path = settings.db_path
    conn = connect(path, readonly=True)
    try:
        version = schema_version(conn)
        tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table' ORDER BY name")]
        counts = {t: conn.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0] for t in tables}
    finally:
        conn.close()
    size = sum(p.stat().st_size for p in path.parent.glob(path.name + "*") if p.is_file())
    return {"path": str(path), "schema_version": version, "code_schema_version": SCHEMA_VERSION,
            "size_bytes": size, "rows": counts}


def audit_verify(settings: Settings) -> tuple[int, AuditBreak | None]:
    """Walk the audit hash chain (read-only): entries read, and the first break or None."""
    conn = connect(settings.db_path, readonly=True)
    try:
        return verify_chain(conn)
    finally:
        conn.close()


def audit_tail(settings: Settings, limit: int) -> list[dict[str, Any]]:
    """The newest audit entries, newest first (read-only)."""
    conn = connect(settings.db_path, readonly=True)
    try:
        return audit_entries(conn, limit=limit)
    finally:
        conn.close()


def outbox_status(settings: Settings, dead_limit: int = 50) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Queue figures and the first dead letters (read-only; card numbers as stored: mask before showing)."""
    conn = connect(settings.db_path, readonly=True)
    try:
        stats = outbox_stats(conn)
        dead = [dict(r) for r in conn.execute(
            "SELECT id, kind, card_no, attempts, last_error FROM outbox WHERE state = 'dead' ORDER BY id LIMIT ?",
            (dead_limit,))]
    finally:
        conn.close()
    return stats, dead


# --- the sync worker ------------------------------------------------------------------------------


def sync_config(settings: Settings) -> SyncConfig:
    """The worker configuration from ``settings.sync``."""
    s = settings.sync
    return SyncConfig(max_in_flight=s.max_in_flight, backoff_base_s=s.backoff_base_s,
                      backoff_cap_s=s.backoff_cap_s, probe_interval_s=s.probe_interval_s)


def build_sync_worker(settings: Settings, clock: Clock | None = None,
                      config: GatewayConfig | None = None) -> SyncWorker | None:
    """The outbox worker on its own connection and its own gateway client (None: no gateway configured).

    Raises KeyConfigError for bad gateway keys.
    """
    cfg = config if config is not None else gateway_config(settings)
    if cfg is None:
        return None
    the_clock = clock or SystemClock()
    db_path = settings.db_path

    def gateway() -> CardGateway:
        return AlipayClient(cfg, clock=the_clock)

    return SyncWorker(lambda: SqliteOutboxQueue.open(db_path), gateway, the_clock, sync_config(settings))


# --- shop data in and out (issue 12) -----------------------------------------------------------


def run_catalogue_import(settings: Settings, path: Path, *, full: bool, dry_run: bool,
                         by_user: str) -> tuple[bool, list[str]]:
    """Validate then apply a catalogue file (the Items screen's import): (applied or valid, lines to show)."""
    import datetime as dt
    import hashlib

    from pos_app.dataio.catalogue import parse_catalogue
    from pos_app.dataio.tables import TableError, read_table

    try:
        table = read_table(path)
    except TableError as exc:
        return False, [p.line() for p in exc.problems]
    records, problems = parse_catalogue(table)
    if problems:
        return False, [p.line() for p in problems[:1000]] + [f"{len(problems)} problem(s); nothing was written"]
    try:
        conn = open_database(settings)
        try:
            summary = apply_catalogue(conn, records, full=full, by_user=by_user, source=path.name,
                                      sha256=hashlib.sha256(path.read_bytes()).hexdigest(),
                                      at=dt.datetime.now(dt.UTC), dry_run=dry_run)
        finally:
            conn.close()
    except StorageError as exc:
        return False, [f"database: {exc}; nothing was written"]
    return True, [("dry run, nothing written: would have " if dry_run else "") + summary.line()]


class _SqliteItemsReader:
    """The Items screen's reads, each on its own short-lived read-only connection (any thread)."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings

    def search(self, text: str, limit: int) -> list[Any]:
        conn = connect(self._settings.db_path, readonly=True)
        try:
            return search_records(conn, text, limit)
        finally:
            conn.close()

    def history(self, item_code: str) -> list[Any]:
        conn = connect(self._settings.db_path, readonly=True)
        try:
            return price_history(conn, item_code)
        finally:
            conn.close()


def items_service(settings: Settings) -> Any:
    """The supervisor's Items screen service (search, price history, approved import)."""
    from pos_app.services.items import ImportOutcome, ItemsService

    def run_import(path: str, full: bool, dry_run: bool, by_user: str) -> ImportOutcome:
        ok, lines = run_catalogue_import(settings, Path(path), full=full, dry_run=dry_run, by_user=by_user)
        return ImportOutcome(ok, lines)

    return ItemsService(_SqliteItemsReader(settings), run_import)
