"""Composition root: settings -> storage, gateway client, drivers, services, windows; demo mode; clean shutdown.

The ONLY module that imports concrete adapters (storage, alipay, sandbox, drivers.*) and wires them.
"""

from __future__ import annotations

import dataclasses
import inspect
import logging
import sqlite3
import sys
import threading
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

from pos_app.gateway_setup import gateway_config
from pos_app.settings import Settings, SettingsError, load_settings

__all__ = ["run_terminal", "Terminal", "build_terminal", "ThreadConnections", "DEMO_CASHIER", "DEMO_SUPERVISOR",
           "EXIT_SETTINGS", "EXIT_STORAGE"]

logger = logging.getLogger(__name__)

EXIT_SETTINGS = 2
EXIT_STORAGE = 3
DEMO_CASHIER = ("1001", "1234", "演示收银员 Demo Cashier")
DEMO_SUPERVISOR = ("9001", "9999", "演示主管 Demo Supervisor")
DEMO_FLOAT_FEN = 50_000
RESOURCES = Path(__file__).resolve().parents[1] / "resources"
SHUTDOWN_TIMEOUT_S = 3.0
DEMO_WALLET_CAMERA = "virtual://wallet?fps=15"
"""Added to the demo's readers: the wallet window seen by a virtual camera."""


class ThreadConnections:
    """One SQLite connection per thread (connections are never shared across threads)."""

    def __init__(self, path: Path) -> None:
        from pos_app.storage.db import connect

        self._connect = connect
        self.path = path
        self._local = threading.local()
        self._lock = threading.Lock()
        self._opened: list[tuple[int, sqlite3.Connection]] = []

    def get(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._connect(self.path)
            self._local.conn = conn
            with self._lock:
                self._opened.append((threading.get_ident(), conn))
        return conn

    def uow(self) -> Any:
        from pos_app.storage.uow import SqliteUnitOfWork

        return SqliteUnitOfWork(self.get())

    def close_mine(self) -> None:
        """Close this thread's connection (others close with their threads / the process)."""
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None


def _construct(cls: Any, available: dict[str, Any], **explicit: Any) -> Any:
    """Build ``cls`` passing, by name, the collaborators its constructor asks for.

    Wiring by parameter name keeps this root working while the services' signatures settle;
    a required parameter that is not available raises TypeError naming it.
    """
    params = inspect.signature(cls).parameters
    kwargs: dict[str, Any] = {}
    args: list[Any] = []
    for name, p in params.items():
        if p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
            continue
        if name in explicit:
            value = explicit[name]
        elif name in available:
            value = available[name]
        else:
            if p.default is inspect.Parameter.empty:
                raise TypeError(f"cannot build {cls.__name__}: no value for {name!r}")
            continue
        if p.kind is p.POSITIONAL_ONLY:
            args.append(value)
        else:
            kwargs[name] = value
    return cls(*args, **kwargs)


def _optional(module: str, name: str) -> Any:
    """A class from a module another engineer may not have delivered yet (None if absent)."""
    import importlib

    try:
        mod = importlib.import_module(module)
    except ImportError as exc:
        logger.warning("%s is not available (%s)", module, exc)
        return None
    return getattr(mod, name, None)


def _wire_items(settings: Settings, ctx: Any, window: Any, services: dict[str, Any]) -> None:
    """data (issue 12): the supervisor's Items screen (Ctrl+I) on the catalogue import code of the CLI."""
    from pos_app.cli.catalogue import SqliteItemsReader, import_file
    from pos_app.services.items import ImportOutcome, ItemsService
    from pos_app.ui.items_view import open_items

    def run_import(path: str, full: bool, dry_run: bool, by_user: str) -> ImportOutcome:
        ok, lines = import_file(settings.db_path, Path(path), full=full, dry_run=dry_run, by_user=by_user)
        return ImportOutcome(ok, lines)

    services["items"] = ItemsService(SqliteItemsReader(settings.db_path), run_import)
    ctx.extras["intent:items"] = open_items(ctx, window, services["items"])


@dataclasses.dataclass
class Terminal:
    """Everything built for one run; ``shutdown()`` stops it all cooperatively."""

    settings: Settings
    demo: bool
    conns: ThreadConnections
    services: dict[str, Any]
    ctx: Any
    window: Any
    scanners: list[Any]
    printer: Any
    sandbox: Any = None
    gateway: Any = None
    sync: Any = None
    wallet: Any = None
    wedge_filter: Any = None
    exporter: Any = None
    recovery_done: threading.Event = dataclasses.field(default_factory=threading.Event)

    def fake_scanner(self) -> Any:
        """The first fake:// reader (tests feed scans through it)."""
        return next(s for s in self.scanners if s.url.startswith("fake://"))

    def shutdown(self) -> None:
        """Stop readers, the sync worker, the sandbox; close what this thread opened."""
        for scanner in self.scanners:
            try:
                scanner.stop(timeout=SHUTDOWN_TIMEOUT_S)
            except Exception:  # shutting down: log and keep going
                logger.exception("stopping %s failed", scanner.url)
        if self.wedge_filter is not None:
            self.wedge_filter.uninstall()
            self.wedge_filter.deleteLater()
        if self.wallet is not None:
            self.wallet.close()
            from drivers.virtual import unregister_frame_source

            unregister_frame_source("wallet")
        if self.window is not None:
            self.window.tasks.wait_idle(int(SHUTDOWN_TIMEOUT_S * 1000))
        if self.sync is not None:
            self.sync.stop(timeout=SHUTDOWN_TIMEOUT_S)
        if self.exporter is not None:
            self.exporter.stop(timeout=SHUTDOWN_TIMEOUT_S)
        if self.printer is not None:
            self.printer.close()
        if self.gateway is not None:
            self.gateway.close()
        if self.sandbox is not None:
            self.sandbox.stop()
        self.conns.close_mine()


def _prepare_demo(settings: Settings) -> tuple[Settings, Any]:
    """Start the sandbox gateway in a data sub-folder and point the settings at it."""
    from pos_app.sandbox import SandboxServer

    sandbox = SandboxServer(settings.data_dir / "sandbox", seed_demo=True).start()
    gateway = dataclasses.replace(settings.gateway, url=sandbox.gateway_url, app_id=sandbox.app_id,
                                  app_private_key=str(sandbox.app_private_key_path),
                                  alipay_public_key=str(sandbox.alipay_public_key_path))
    payment = dataclasses.replace(settings.payment, query_interval_s=min(settings.payment.query_interval_s, 2.0))
    return dataclasses.replace(settings, gateway=gateway, payment=payment), sandbox


def _seed_demo(settings: Settings, conns: ThreadConnections, users: Any) -> None:
    seed = _optional("pos_app.storage.seed", "seed_demo")
    if seed is not None:
        seed(conns.get(), RESOURCES)
    if users is not None:
        from pos_app.runtime import SystemClock
        from pos_app.services.users import hash_pin

        existing = {u.number for u in users.list_users()}
        for (number, pin, name), role in ((DEMO_CASHIER, "cashier"), (DEMO_SUPERVISOR, "supervisor")):
            if number in existing:
                continue
            # the demo PINs are fixed by the brief (9999 would fail the "weak PIN" rule of add_user)
            with conns.uow() as uow:
                uow.users.add(number=number, name=name, role=role, pin_hash=hash_pin(pin), card_code=None,
                              created_at=SystemClock().now())


def build_terminal(settings: Settings, *, demo: bool = False, scanner_urls: tuple[str, ...] | None = None,
                   printer_url: str | None = None, show_wallet: bool = True,
                   payment_sleep: Callable[[float], None] | None = None) -> Terminal:
    """Wire everything (a QApplication must exist). Raises StorageUnavailable for an unusable database."""
    from drivers import open_scanner
    from pos_app.printing import PrintAdapter, render_barcode_png
    from pos_app.runtime import RandomIds, SystemClock
    from pos_app.services.routing import ScanRouter
    from pos_app.storage.db import Database
    from pos_app.ui.checkout_controller import Session
    from pos_app.ui.context import TerminalContext
    from pos_app.ui.i18n import Translator
    from pos_app.ui.main_window import MainWindow

    sandbox = None
    if demo:
        settings, sandbox = _prepare_demo(settings)
    try:
        Database(settings.db_path).open_and_migrate().close()
        conns = ThreadConnections(settings.db_path)
        conns.get()
    except Exception:
        if sandbox is not None:
            sandbox.stop()
        raise
    clock = SystemClock()
    ids = RandomIds(f"{settings.store.store_id}{settings.store.terminal_id}")
    gateway = None
    cfg = gateway_config(settings)
    from pos_app.loyalty_setup import loyalty_rules  # data (issue 12): a real terminal needs its own rules

    rules = loyalty_rules(settings, demo=demo)
    if cfg is not None:
        from pos_app.alipay.client import AlipayClient

        gateway = AlipayClient(cfg, clock=clock)
    available: dict[str, Any] = {
        "uow_factory": conns.uow, "clock": clock, "ids": ids, "rules": rules, "loyalty_rules": rules,
        "gateway": gateway, "card_gateway": gateway, "trade_gateway": gateway, "settings": settings,
        "terminal_id": settings.store.terminal_id, "store_id": settings.store.store_id,
        "terminal_no": settings.store.terminal_no, "receipt_prefix": settings.scanners.receipt_prefix,
        "max_failures": settings.shift.pin_max_failures, "lock_minutes": settings.shift.pin_lock_minutes,
    }
    services: dict[str, Any] = {}
    from pos_app.services.checkout import CheckoutConfig, CheckoutService
    from pos_app.services.shifts import ShiftService
    from pos_app.services.users import UserService

    services["users"] = UserService(conns.uow, clock, terminal_id=settings.store.terminal_id,
                                    max_failures=settings.shift.pin_max_failures,
                                    lock_minutes=settings.shift.pin_lock_minutes)
    services["shifts"] = ShiftService(conns.uow, clock, terminal_id=settings.store.terminal_id,
                                      close_difference_threshold_fen=settings.shift.close_difference_threshold_fen,
                                      report_width=settings.printer.width_chars)
    services["checkout"] = CheckoutService(conns.uow, clock, ids, CheckoutConfig(
        store_id=settings.store.store_id, terminal_id=settings.store.terminal_id,
        terminal_no=settings.store.terminal_no, receipt_prefix=settings.scanners.receipt_prefix,
        store_name=settings.store.name, loyalty=rules, language="en" if settings.language == "en" else "zh",
        member_pattern=settings.scanners.member_pattern))
    from pos_app.services.members import MemberConfig, MemberService
    from pos_app.services.refunds import RefundService

    services["members"] = MemberService(conns.uow, gateway, clock, MemberConfig(loyalty=rules))
    services["refunds"] = RefundService(conns.uow, gateway, clock, ids, store_id=settings.store.store_id,
                                        store_name=settings.store.name)
    report_cls = _optional("pos_app.services.reports", "ReportService")
    if report_cls is not None:
        try:
            services["reports"] = _construct(report_cls, available)
        except TypeError as exc:
            logger.warning("ReportService not wired: %s", exc)
    from pos_app.services.payment import PaymentConfig, PaymentService

    if gateway is not None:
        p = settings.payment
        pconfig = PaymentConfig(query_max=p.query_max, query_interval_s=p.query_interval_s,
                                cancel_max=p.cancel_max, cancel_interval_s=p.cancel_interval_s,
                                store_id=settings.store.store_id, terminal_id=settings.store.terminal_id)
        services["payment"] = PaymentService(conns.uow, gateway, clock, ids, pconfig, payment_sleep,
                                             checkout=services["checkout"])
    if demo:
        _seed_demo(settings, conns, services.get("users"))

    printer = PrintAdapter.open(printer_url or settings.printer.url, width_chars=settings.printer.width_chars,
                                drawer=settings.printer.drawer)
    router = ScanRouter(member_pattern=settings.scanners.member_pattern,
                        receipt_prefix=settings.scanners.receipt_prefix,
                        supervisor_pattern=settings.scanners.supervisor_pattern)
    urls = list(scanner_urls if scanner_urls is not None else settings.scanners.urls)
    # In demo mode the wallet window is also a virtual camera, so a newcomer sees the camera path
    # work: "Send to terminal" holds the code up to it instead of typing it. Stable with PySide6 6.11.3
    # (tests/ui/test_wallet_camera.py); 6.12.0 aborted in none_dealloc and is excluded by the pin.
    if demo and show_wallet and scanner_urls is None and not any(u.startswith("virtual://wallet") for u in urls):
        urls.append(DEMO_WALLET_CAMERA)
    scanners = []
    for url in urls:
        try:
            scanners.append(open_scanner(url))
        except Exception as exc:  # noqa: BLE001 - a bad reader must not stop the till: shown in the status bar
            logger.error("scanner %s cannot be opened: %s", url, exc)
    tr = Translator(settings.language)
    ctx = TerminalContext(
        tr=tr, store_id=settings.store.store_id, terminal_id=settings.store.terminal_id,
        db_path=str(settings.db_path), router=router, checkout=services.get("checkout"),
        payment=services.get("payment"), members=services.get("members"), refunds=services.get("refunds"),
        users=services.get("users"), shifts=services.get("shifts"), reports=services.get("reports"),
        printer=printer, barcode=render_barcode_png, scanners=scanners,
        gateway_url=settings.gateway.url, demo=demo, drawer=settings.printer.drawer,
    )
    ctx.extras["receipt_text"] = _optional("pos_app.services.receipts", "receipt_text")
    ctx.extras["build_receipt"] = _optional("pos_app.services.receipts", "build_receipt")
    ctx.extras["store"] = settings.store

    def login(number: str, pin: str) -> Session:
        users = services.get("users")
        if users is None:
            raise PermissionError("user service is not available")
        user = users.authenticate(number, pin)
        shift_id, shift_no = 0, ""
        shifts = services.get("shifts")
        if shifts is not None:
            shift = shifts.current_shift()
            if shift is None:
                shift = _open_shift(shifts, user)
            shift_id = int(getattr(shift, "id", 0) or 0)
            shift_no = str(getattr(shift, "number", "") or shift_id)
        return Session(user_id=user.id, user_name=user.name, role=user.role, shift_id=shift_id,
                       shift_no=shift_no, user=user)

    demo_hint = ""
    if demo:
        demo_hint = tr("Demo mode. Cashier {c} PIN {cp}; supervisor {s} PIN {sp}.", c=DEMO_CASHIER[0],
                       cp=DEMO_CASHIER[1], s=DEMO_SUPERVISOR[0], sp=DEMO_SUPERVISOR[1])
    from PySide6.QtWidgets import QApplication

    from pos_app.ui.style import apply_style

    app = QApplication.instance()
    if isinstance(app, QApplication):
        apply_style(app)
    window = MainWindow(ctx, login, demo_hint)
    _wire_dialogs(ctx, window, services)
    _wire_items(settings, ctx, window, services)
    terminal = Terminal(settings=settings, demo=demo, conns=conns, services=services, ctx=ctx, window=window,
                        scanners=scanners, printer=printer, sandbox=sandbox, gateway=gateway)
    if settings.export.folder:  # data (issue 12): the daily sales-journal export, on its own thread
        from pos_app.daily_export import DailyExporter

        terminal.exporter = DailyExporter(settings).start()
    terminal.sync = _start_sync(settings, conns, clock, gateway, window)
    ctx.sync = terminal.sync
    _start_recovery(terminal)
    if demo:
        window.try_login(DEMO_CASHIER[0], DEMO_CASHIER[1])
        if show_wallet and sandbox is not None:
            terminal.wallet = _open_wallet(terminal)
    # readers last: the virtual://wallet camera finds its frame source already registered
    _start_readers(terminal)
    return terminal


def _open_shift(shifts: Any, user: Any) -> Any:
    """Until the shift dialogs take over, the first login opens a shift with the default float."""
    return shifts.open_shift(user, float_fen=DEMO_FLOAT_FEN)


def _wire_dialogs(ctx: Any, window: Any, services: dict[str, Any]) -> None:
    """Register the dialogs the checkout screen opens for F4/F8/F9/F10/F11 and approvals."""
    from pos_app.ui import dialogs_wiring

    dialogs_wiring.install(ctx, window)


def _start_readers(t: Terminal) -> None:
    window = t.window
    bridge = window.bridge
    for scanner in t.scanners:
        if scanner.url.startswith("wedge://"):
            from PySide6.QtWidgets import QApplication

            from drivers.wedge_qt import install_wedge

            app = QApplication.instance()
            assert app is not None
            t.wedge_filter = install_wedge(app, scanner)
            t.ctx.wedge_filter = t.wedge_filter
        try:
            scanner.start(bridge.deliver, bridge.state_callback(scanner.url), bridge.notice_callback(scanner.url))
        except Exception as exc:  # noqa: BLE001 - shown in the status bar; the till keeps working
            logger.error("scanner %s failed to start: %s", scanner.url, exc)


def _start_sync(settings: Settings, conns: ThreadConnections, clock: Any, gateway: Any, window: Any) -> Any:
    """The outbox worker: its own thread, its own SQLite connection and its own gateway client."""
    if gateway is None:
        return None
    from pos_app.alipay.client import AlipayClient
    from pos_app.services.sync import SyncConfig, SyncWorker
    from pos_app.storage.outbox import SqliteSyncStore

    s = settings.sync
    config = SyncConfig(max_in_flight=s.max_in_flight, backoff_base_s=s.backoff_base_s,
                        backoff_cap_s=s.backoff_cap_s, probe_interval_s=s.probe_interval_s)
    gateway_config = gateway.config
    worker = SyncWorker(lambda: SqliteSyncStore.open(settings.db_path),
                        lambda: AlipayClient(gateway_config, clock=clock), clock, config)
    worker.start()
    return worker


def _start_recovery(t: Terminal) -> None:
    """Settle unknown payment attempts on a worker thread before new payments are taken."""
    payment = t.services.get("payment")
    if payment is None:
        t.recovery_done.set()
        return

    def recover() -> Any:
        try:
            return payment.recover()
        finally:
            t.recovery_done.set()

    def done(outcomes: Any) -> None:
        unknown = [o for o in outcomes or () if getattr(o, "state", "") == "unknown"]
        if unknown:
            t.window.checkout_view.show_notice(t.ctx.tr(
                "{n} earlier payment(s) could not be checked: a supervisor must resolve them", n=len(unknown)))
        t.window.refresh_status()
        try:
            orphans = payment.orphans()
        except Exception:  # noqa: BLE001 - the banner and F12 still offer it
            logger.exception("listing orphaned payments failed")
            return
        show = t.ctx.extras.get("show_orphans")
        if orphans and show is not None:
            show()

    t.ctx.extras["recovery_done"] = t.recovery_done
    t.window.tasks.submit(recover, done)


def _open_wallet(t: Terminal) -> Any:
    from drivers.virtual import register_frame_source
    from pos_app.printing import render_barcode_png
    from pos_app.ui.wallet_window import WalletWindow

    sandbox = t.sandbox
    # the demo member with the most points, so that redeeming points can be tried at once
    cards = sorted((c for c in sandbox.cards() if c.get("biz_card_no")),
                   key=lambda c: -Decimal(str(c.get("point") or 0)))

    def member_code(dynamic: bool) -> str:
        if not cards:
            return ""
        card = cards[0]
        if dynamic:
            return str(sandbox.mint_member_code(card["biz_card_no"])["code"])
        return str(card.get("external_card_no") or card["biz_card_no"])

    def payment_code(behaviour: str) -> str:
        import secrets

        code = "28" + "".join(secrets.choice("0123456789") for _ in range(16))
        scripted = {"pays": ("success", 1), "password": ("wait_then_success", 1),
                    "balance": ("balance_not_enough", 1), "never": ("wait_forever", 1)}[behaviour]
        sandbox.script_auth_code(code, scripted[0], queries=scripted[1])
        return code

    wallet = WalletWindow(t.ctx.tr, member_code, payment_code, render_barcode_png, t.wedge_filter)
    wallet.via_camera = any(s.url.startswith("virtual://wallet") for s in t.scanners)
    register_frame_source("wallet", _wallet_frames(wallet))
    wallet.show()
    return wallet


def _wallet_frames(wallet: Any) -> Callable[[], Any]:
    """The frame source of virtual://wallet, called on the camera thread: it reads the bytes the
    wallet rendered on the GUI thread and touches no Qt object (an empty grey view when no code
    is held up, so the camera's "gone for 0.5 s" guard sees the phone go away)."""
    import numpy as np

    from pos_app.ui.wallet_window import CAMERA_FRAME

    empty = np.full((CAMERA_FRAME[1], CAMERA_FRAME[0], 3), 150, np.uint8)

    def read() -> Any:
        raw = wallet.latest_frame()
        if raw is None:
            return empty
        data, w, h, bpl = raw
        bgra = np.frombuffer(data, np.uint8, count=bpl * h).reshape(h, bpl)[:, : w * 4].reshape(h, w, 4)
        return np.ascontiguousarray(bgra[:, :, :3])

    return read


def _fatal(title: str, lines: list[str], code: int) -> int:
    for line in lines:
        print(f"{title}: {line}", file=sys.stderr)
    try:
        from PySide6.QtGui import QGuiApplication
        from PySide6.QtWidgets import QApplication, QMessageBox

        if QGuiApplication.platformName() not in ("", "offscreen") or QApplication.instance() is not None:
            app = QApplication.instance() or QApplication(sys.argv[:1])
            if QGuiApplication.platformName() != "offscreen":
                QMessageBox.critical(None, title, "\n".join(lines))
            del app
    except Exception:  # the message on stderr is what matters; a dialog is a courtesy
        logger.debug("no dialog for the fatal message", exc_info=True)
    return code


def _place_beside(side: Any, main: Any) -> None:
    """Put the demo wallet to the right of the terminal when the screen has room, and in front of it."""
    screen = main.screen().availableGeometry()
    room = screen.width() - side.width() - 8
    if main.frameGeometry().width() > room >= main.minimumSizeHint().width():
        main.resize(room - (main.frameGeometry().width() - main.width()), main.height())  # make room: no overlap
    main.move(screen.left(), screen.top())
    frame = main.frameGeometry()
    x = min(frame.right() + 8, screen.right() - side.width())
    side.move(max(screen.left(), x), frame.top())
    side.raise_()


def run_terminal(config: Path | str | None, data_dir: Path | str | None, demo: bool,
                 screenshot: Path | None) -> int:
    """Start the terminal; returns the process exit code (2 settings, 3 storage)."""
    try:
        settings = load_settings(config, data_dir=data_dir)
    except SettingsError as exc:
        return _fatal("settings", exc.problems, EXIT_SETTINGS)
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    from pos_app.alipay.errors import KeyConfigError
    from pos_app.loyalty_setup import LoyaltyConfigError
    from pos_app.storage.errors import StorageUnavailable

    app = QApplication.instance() or QApplication(sys.argv[:1])
    assert isinstance(app, QApplication)
    app.setApplicationName("pos-app")
    try:
        terminal = build_terminal(settings, demo=demo)
    except StorageUnavailable as exc:
        return _fatal("database", [str(exc)], EXIT_STORAGE)
    except KeyConfigError as exc:  # a wrong or unreadable key file is a settings problem, not a crash
        return _fatal("settings", [f"gateway keys: {exc}"], EXIT_SETTINGS)
    except LoyaltyConfigError as exc:
        return _fatal("settings", [str(exc)], EXIT_SETTINGS)
    terminal.window.show()
    if terminal.wallet is not None:
        _place_beside(terminal.wallet, terminal.window)
    if screenshot is not None:
        def grab() -> None:
            terminal.window.grab().save(str(screenshot), "PNG")
            app.quit()
        QTimer.singleShot(500, grab)
    try:
        return int(app.exec())
    finally:
        terminal.shutdown()
