"""The Qt shell: builds the windows around the container (pos_app.bootstrap), starts readers, the sync
worker and payment recovery, and shuts everything down. Demo scripting lives in pos_app.demo.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pos_app.bootstrap import (
    AlipayClient,
    Container,
    KeyConfigError,
    LoyaltyConfigError,
    ServiceUnavailable,
    ThreadConnections,
    build_container,
    build_held_baskets,
    discount_caps,
    items_service,
)
from pos_app.demo import (
    DEMO_CASHIER,
    DEMO_FLOAT_FEN,
    DEMO_SUPERVISOR,
    DEMO_WALLET_CAMERA,
    open_wallet,
    place_beside,
    prepare_demo,
    seed_demo,
)
from pos_app.services.bundle import ServiceBundle
from pos_app.settings import Settings, SettingsError, load_settings
from pos_app.start_checks import StartRefused

if TYPE_CHECKING:
    from pos_app.ui.kiosk import KioskGuard

__all__ = ["run_terminal", "kiosk", "Terminal", "build_terminal", "serial_qt_painting", "ThreadConnections", "DEMO_CASHIER", "DEMO_SUPERVISOR",
           "DEMO_WALLET_CAMERA", "EXIT_SETTINGS", "EXIT_STORAGE"]

logger = logging.getLogger(__name__)

EXIT_SETTINGS = 2
EXIT_STORAGE = 3
SHUTDOWN_TIMEOUT_S = 3.0


@dataclasses.dataclass
class Terminal:
    """Everything built for one run; ``shutdown()`` stops it all cooperatively."""

    settings: Settings
    demo: bool
    container: Container
    services: ServiceBundle
    ctx: Any
    window: Any
    scanners: list[Any]
    printer: Any
    sandbox: Any = None
    sync: Any = None
    report_worker: Any = None
    store_link: Any = None
    wallet: Any = None
    wedge_filter: Any = None
    reconcile: Any = None  # card: the morning Alipay reconciliation thread
    customer_display: Any = None  # card: the customer window and pole display
    card_desk: Any = None  # card: the supervisor's card template / join QR desk (Ctrl+J)
    exporter: Any = None
    jobs: Any = None  # export, morning reconciliation, housekeeping: pos_app.background.jobs
    recovery_done: threading.Event = dataclasses.field(default_factory=threading.Event)

    @property
    def conns(self) -> ThreadConnections:
        return self.container.conns

    @property
    def gateway(self) -> AlipayClient | None:
        return self.container.gateway

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
        till = getattr(self.ctx, "till", None)
        if till is not None:   # the open basket's writer thread
            till.close(SHUTDOWN_TIMEOUT_S)
        if self.sync is not None:
            self.sync.stop(timeout=SHUTDOWN_TIMEOUT_S)
        if self.reconcile is not None:
            self.reconcile.stop(timeout=SHUTDOWN_TIMEOUT_S)
        if self.card_desk is not None:
            self.card_desk.close()
        if self.customer_display is not None:
            if self.customer_display.pole is not None:
                self.customer_display.pole.close()
            if self.customer_display.window is not None:
                self.customer_display.window.close()
        if self.exporter is not None:
            self.exporter.stop(timeout=SHUTDOWN_TIMEOUT_S)
        if self.jobs is not None:
            self.jobs.stop(timeout=SHUTDOWN_TIMEOUT_S)
        if self.report_worker is not None:
            self.report_worker.stop(timeout=SHUTDOWN_TIMEOUT_S)
        if self.store_link is not None:
            self.store_link.stop(timeout=SHUTDOWN_TIMEOUT_S)
        store_reports = getattr(self.ctx, "store_reports", None)
        if store_reports is not None:   # store mode: the supervisor's store report connection
            store_reports.close()
        gate = getattr(self.services.checkout, "points_gate", None)
        if gate is not None:   # store mode: the till's connection for redemptions
            gate.close()
        if self.printer is not None:
            self.printer.close()
        if self.container.gateway is not None:
            self.container.gateway.close()
        if self.sandbox is not None:
            self.sandbox.stop()
        self.container.conns.close_mine()


def build_terminal(settings: Settings, *, demo: bool = False, scanner_urls: tuple[str, ...] | None = None,
                   printer_url: str | None = None, show_wallet: bool = True,
                   payment_sleep: Callable[[float], None] | None = None, housekeeping: bool = False) -> Terminal:
    """Wire the windows around the container (a QApplication must exist). ``housekeeping``: this till runs the
    nightly backup and pruning (the running terminal does; tests and screenshots do not).

    Raises ServiceUnavailable for an unusable database and KeyConfigError for bad gateway keys.
    """
    serial_qt_painting()
    from PySide6.QtWidgets import QApplication, QDialog

    from drivers import open_scanner
    from pos_app.printing import PrintAdapter, render_barcode_png
    from pos_app.services.routing import ScanRouter
    from pos_app.services.till import Till
    from pos_app.ui import dialogs_wiring
    from pos_app.ui.checkout_controller import Session
    from pos_app.ui.context import TerminalContext
    from pos_app.ui.i18n import Translator
    from pos_app.ui.main_window import MainWindow
    from pos_app.ui.shift_dialogs import OpenShiftDialog
    from pos_app.ui.style import apply_style

    sandbox = None
    if demo:
        settings, sandbox = prepare_demo(settings)
    if settings.store.dsn:   # store mode (issue 13): the store's settings as last pulled
        from pos_app.store_wiring import apply_store_settings

        settings = apply_store_settings(settings)
    from pos_app.loyalty_setup import loyalty_rules

    try:  # data (issue 12): a real terminal runs on its own loyalty rules, never on the demo's
        rules, rules_error = loyalty_rules(settings, demo=demo), None
    except LoyaltyConfigError as exc:
        rules, rules_error = None, exc
    try:
        container = build_container(settings, payment_sleep=payment_sleep, rules=rules)  # key problems first
    except Exception:
        if sandbox is not None:
            sandbox.stop()
        raise
    if rules_error is not None:
        container.close()
        raise rules_error
    services = container.services
    if demo:
        seed_demo(container)

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
            scanners.append(open_scanner(url, **settings.scanners.reader_defaults(url)))
        except Exception as exc:  # noqa: BLE001 - a bad reader must not stop the till: shown in the status bar
            logger.error("scanner %s cannot be opened: %s", url, exc)
    tr = Translator(settings.language)
    recovery_done = threading.Event()  # set when start-up recovery has checked earlier payments
    till = Till(services.checkout, services.payment, payments_ready=recovery_done,
                held=build_held_baskets(container), discount_caps=discount_caps(settings))
    report_worker = _start_report_worker(container)   # X reports built in their own process (issue 18)
    ctx = TerminalContext(
        tr=tr, store_id=settings.store.store_id, terminal_id=settings.store.terminal_id,
        db_path=str(settings.db_path), router=router, checkout=services.checkout,
        payment=services.payment, members=services.members, refunds=services.refunds,
        users=services.users, shifts=services.shifts, reports=report_worker,
        printer=printer, barcode=render_barcode_png, scanners=scanners,
        gateway_url=settings.gateway.url, demo=demo, drawer=settings.printer.drawer, till=till,
        store_name=settings.store.name, store_address=settings.store.address,
        promotions=services.promotions,
    )
    window: MainWindow | None = None

    def open_shift(user: Any) -> Any:
        """The first login of a shift: the demo scripts its float; a real counter counts it in the dialog."""
        if demo:
            return services.shifts.open_shift(user, float_fen=DEMO_FLOAT_FEN)
        dialog = OpenShiftDialog(services.shifts, user, window, tr=tr)
        if dialog.exec() != QDialog.DialogCode.Accepted or dialog.shift is None:
            raise PermissionError("Count the opening float to open the shift")
        return dialog.shift

    def login(number: str, pin: str) -> Session:
        user = services.users.authenticate(number, pin)
        shift = services.shifts.current_shift()
        if shift is None:
            shift = open_shift(user)
        return Session(user_id=user.id, user_name=user.name, role=user.role, shift_id=shift.id,
                       shift_no=str(shift.number or shift.id), user=user)

    demo_hint = ""
    if demo:
        demo_hint = tr("Demo mode. Cashier {c} PIN {cp}; supervisor {s} PIN {sp}.", c=DEMO_CASHIER[0],
                       cp=DEMO_CASHIER[1], s=DEMO_SUPERVISOR[0], sp=DEMO_SUPERVISOR[1])
    app = QApplication.instance()
    if isinstance(app, QApplication):
        apply_style(app, tr.language)
    window = MainWindow(ctx, login, demo_hint)
    dialogs_wiring.install(ctx, window)  # the dialogs the checkout screen opens for F4/F8/F9/F10/F11 and approvals
    from pos_app.ui.items_view import open_items  # data (issue 12): the supervisor's Items screen (Ctrl+I)

    ctx.nav.intents["items"] = open_items(ctx, window, items_service(settings))
    terminal = Terminal(settings=settings, demo=demo, container=container, services=services, ctx=ctx,
                        window=window, scanners=scanners, printer=printer, sandbox=sandbox,
                        recovery_done=recovery_done, report_worker=report_worker)
    terminal.sync = _start_sync(container)
    ctx.sync = terminal.sync
    terminal.store_link = ctx.store_link = _start_store_link(settings)
    if terminal.store_link is not None:   # store mode: points are redeemed through the store (issue 13)
        from pos_app.store_wiring import points_gate

        services.checkout.points_gate = points_gate(settings)
        ctx.store_reports = _store_reports(settings, container)
        if ctx.store_reports is not None:
            from pos_app.ui.store_report_view import install_store_reports

            install_store_reports(ctx, window)
    _start_recovery(terminal)
    terminal.customer_display = _start_customer_display(settings, window)
    if terminal.customer_display is not None:
        ctx.nav.payment_watchers.append(terminal.customer_display.watch_payment)
    _install_card_desk(terminal, sandbox)
    # scheduled chores in their own supervised process (issue 18): the daily sales-journal export (data,
    # issue 12), the morning Alipay reconciliation (card) and, for a running till, backups and pruning
    from pos_app.background.jobs import JobsSupervisor

    terminal.jobs = JobsSupervisor(settings, export=bool(settings.export.folder),
                                   reconcile=not demo and container.gateway is not None and settings.reconcile.auto,
                                   housekeeping=housekeeping).start()
    if demo:
        window.try_login(DEMO_CASHIER[0], DEMO_CASHIER[1])
        if show_wallet and sandbox is not None:
            terminal.wallet = open_wallet(terminal)
    # readers last: the virtual://wallet camera finds its frame source already registered
    _start_readers(terminal)
    return terminal


def _install_card_desk(t: Terminal, sandbox: Any) -> None:
    """Ctrl+J: the card template and join poster (card, issue 15); the demo serves its opening endpoint."""
    from pos_app.card_desk import CardDesk
    from pos_app.demo import card_desk
    from pos_app.ui.card_desk_dialog import open_card_desk

    receipts = t.ctx.nav.receipts
    if receipts is not None:   # non-members' receipts end with the join QR
        receipts.join_url = t.settings.card.join_url
    if t.container.gateway is None:
        return
    t.card_desk = card_desk(t.settings, sandbox) if sandbox is not None else CardDesk(t.settings)

    def ready(url: str) -> None:
        if t.customer_display is not None:
            t.customer_display.set_join_url(url)
        if receipts is not None:
            receipts.join_url = url

    t.ctx.nav.intents["card_join"] = open_card_desk(t.ctx, t.window, t.card_desk, on_ready=ready)


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


def serial_qt_painting() -> None:
    """Keep Qt's painting on the GUI thread (before the first paint; a value set outside is kept).

    Qt's raster engine hands every fill taller than about 96 lines to a pool of threads and waits for them.
    On the till's 2 cores, with the sync worker and the gateway busy, the GUI thread then waited for those
    threads to be scheduled: bench_ui_load, terminal as shipped, scan-to-screen p99 36.8 -> 22.3 ms and loop
    stalls over 50 ms 2 -> 0 with the pool off (issue 18)."""
    os.environ.setdefault("QT_NO_GUI_THREADPOOL", "1")


def _start_store_link(settings: Settings) -> Any:
    """Store mode (``[store] dsn``): the uplink and pull in their own supervised process (issue 18: as threads
    here they took the GIL from the GUI thread); None for a standalone lane."""
    if not settings.store.dsn:
        return None
    from pos_app.background.store import StoreLinkSupervisor
    from pos_app.store.errors import StoreError

    link = StoreLinkSupervisor(settings)
    try:
        link.start()
    except StoreError as exc:   # e.g. an unreadable password file: the lane still sells, the log says why
        logger.error("store mode not started: %s", exc)
        return None
    return link


def _store_reports(settings: Settings, container: Container) -> Any:
    """Store mode: store X / Z for a supervisor at this lane (issue 13); None when the store is not set up."""
    from pos_app.services.store_reports import StoreReportService
    from pos_app.store.errors import StoreError
    from pos_app.store_wiring import store_reports

    try:
        port = store_reports(settings)
    except StoreError as exc:
        logger.error("store reports not available: %s", exc)
        return None
    if port is None:
        return None
    return StoreReportService(port, container.conns.uow, container.clock, terminal_id=settings.store.terminal_id)


def _start_sync(container: Container) -> Any:
    """The outbox worker in its own process, supervised (issue 18: threads here would take the GIL from the GUI)."""
    if container.gateway is None:
        return None
    from pos_app.background.sync import SyncSupervisor

    worker = SyncSupervisor(container.settings)
    worker.start()
    return worker


def _start_report_worker(container: Container) -> Any:
    """ReportService's API with the X report built by a child process (the report screen never waits)."""
    from pos_app.background.reports import ProcessReports

    worker = ProcessReports(container.services.reports, container.settings)
    worker.start()
    return worker


def _start_recovery(t: Terminal) -> None:
    """Settle unknown payment attempts on a worker thread before new payments are taken."""
    payment = t.services.payment
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
        show = t.ctx.nav.show_orphans
        if orphans and show is not None:
            show()

    t.window.tasks.submit(recover, done)


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


def kiosk(terminal: Terminal) -> KioskGuard:
    """Full screen without a frame; Alt+F4 or Ctrl+Alt+Q asks for a supervisor's number and PIN."""
    from pos_app.ui.kiosk import enter_kiosk

    ctx = terminal.ctx
    return enter_kiosk(terminal.window, lambda: ctx.nav.approve(
        terminal.window, "leave_kiosk", ctx.tr("Leave the till"), [ctx.tr("Leave kiosk mode")]))


def run_terminal(config: Path | str | None, data_dir: Path | str | None, demo: bool,
                 screenshot: Path | None) -> int:
    """Start the terminal; returns the process exit code (2 settings, 3 storage)."""
    try:
        settings = load_settings(config, data_dir=data_dir)
    except SettingsError as exc:
        return _fatal("settings", exc.problems, EXIT_SETTINGS)
    from pos_app.bootstrap import RunLock

    run_lock = RunLock.for_database(settings.db_path)  # `pos-app db restore` refuses while this is held
    if not run_lock.acquire(shared=True):
        return _fatal("database", [f"{settings.db_path} is being restored; start again when that is done"],
                      EXIT_STORAGE)
    try:
        return _run_locked(settings, demo, screenshot)
    finally:
        run_lock.release()


def _run_locked(settings: Settings, demo: bool, screenshot: Path | None) -> int:
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    from pos_app.bootstrap import BackupError, premigrate_backup

    try:  # an upgrade migrates the file at start: keep a copy of it as the older version left it
        premigrate_backup(settings.db_path, settings.backup_dir)
    except BackupError as exc:
        return _fatal("database", [f"not started: the backup before migrating failed: {exc}"], EXIT_STORAGE)
    serial_qt_painting()
    app = QApplication.instance() or QApplication(sys.argv[:1])
    assert isinstance(app, QApplication)
    app.setApplicationName("pos-app")
    try:
        terminal = build_terminal(settings, demo=demo, housekeeping=screenshot is None)
    except StartRefused as exc:  # damaged file, broken chain, database older than its anchor, lost secret
        return _fatal("start", exc.problems, EXIT_STORAGE)
    except ServiceUnavailable as exc:
        return _fatal("database", [str(exc)], EXIT_STORAGE)
    except KeyConfigError as exc:  # a wrong or unreadable key file is a settings problem, not a crash
        return _fatal("settings", [f"gateway keys: {exc}"], EXIT_SETTINGS)
    except LoyaltyConfigError as exc:
        return _fatal("settings", [str(exc)], EXIT_SETTINGS)
    if settings.kiosk.enabled:  # full screen, no frame; leaving asks a supervisor
        kiosk(terminal)
    else:
        terminal.window.show()
    if terminal.wallet is not None:
        place_beside(terminal.wallet, terminal.window)
    if screenshot is not None:
        def grab() -> None:
            terminal.window.grab().save(str(screenshot), "PNG")
            app.quit()
        QTimer.singleShot(500, grab)
    try:
        return int(app.exec())
    finally:
        terminal.shutdown()


def _qr_matrix(text: str) -> list[list[bool]]:
    import qrcode
    from qrcode.constants import ERROR_CORRECT_M

    qr = qrcode.QRCode(error_correction=ERROR_CORRECT_M, border=0)
    qr.add_data(text)
    qr.make(fit=True)
    return [[bool(v) for v in row] for row in qr.get_matrix()]


def _start_customer_display(settings: Settings, window: Any) -> Any:
    """The customer window (second screen) and the pole display, fed from the till (card, issue 15)."""
    from pos_app.ui.customer_display import CustomerDisplay, CustomerWindow, target_screen_geometry

    geometry = target_screen_geometry(settings.display.window)
    customer_window = None
    if geometry is not None:
        customer_window = CustomerWindow(qr_matrix=_qr_matrix)
        customer_window.setGeometry(geometry)
        customer_window.showFullScreen()
    pole = None
    if not settings.display.pole_url.startswith("none://"):
        from drivers.pole_display import open_pole_display

        try:
            pole = open_pole_display(settings.display.pole_url)
        except Exception as exc:  # noqa: BLE001 - a missing pole display must not stop the till
            logger.warning("pole display %s not opened: %s", settings.display.pole_url, exc)
    if customer_window is None and pole is None:
        return None
    return CustomerDisplay(window.controller, window=customer_window, pole=pole, join_url=settings.card.join_url)
