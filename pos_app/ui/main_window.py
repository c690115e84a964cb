"""The terminal's main window: login and checkout screens, keys, and the status bar."""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable

import shiboken6
from PySide6.QtCore import QEvent, QObject, Qt, QTimer
from PySide6.QtGui import QCloseEvent, QKeyEvent, QKeySequence, QShortcut
from PySide6.QtWidgets import QLabel, QMainWindow, QStackedWidget, QWidget

from drivers.base import ScanEvent
from pos_app.services.checkout import CommittedSale
from pos_app.services.ports.clock import BEIJING
from pos_app.services.sync import SyncStatus

from .checkout_controller import CheckoutController, Session
from .checkout_view import ACTIONS, CheckoutView
from .context import TerminalContext
from .i18n import Translator
from .login_view import LoginView
from .workers import ScanBridge, TaskRunner

__all__ = ["MainWindow", "tr_n"]

logger = logging.getLogger(__name__)

LoginFn = Callable[[str, str], Session]


def tr_n(tr: Translator, text: str, n: int) -> str:
    return str(tr(text, n=n))


@dataclasses.dataclass(frozen=True)
class StatusFigures:
    """What the status bar shows from the database, read on a worker thread (never the GUI thread)."""

    unknown_payments: int = 0
    orphan_payments: int = 0
    sync: SyncStatus | None = None
    sync_failed: bool = False


class MainWindow(QMainWindow):
    """Owns the scan bridge (readers -> router on the GUI thread), the screens and the status bar."""

    def __init__(self, ctx: TerminalContext, login: LoginFn, demo_hint: str = "",
                 on_receipt: Callable[[CommittedSale], None] | None = None) -> None:
        super().__init__()
        self.ctx = ctx
        tr = ctx.tr
        self._login_fn = login
        self.setObjectName("mainWindow")
        self.setWindowTitle(tr("Cashier terminal") + f" — {ctx.store_id}/{ctx.terminal_id}"
                            + (f"  [{tr('DEMO')}]" if ctx.demo else ""))
        self.tasks = TaskRunner(self)
        self.bridge = ScanBridge(self)
        self.bridge.scanned.connect(self.on_scan)
        self.bridge.state_changed.connect(self._scanner_state)
        self.bridge.notice.connect(self._scanner_notice)
        self.stack = QStackedWidget(self)
        self.login_view = LoginView(tr, demo_hint, self)
        self.login_view.login_requested.connect(self.try_login)
        self.checkout_view = CheckoutView(tr, self)
        self.controller = CheckoutController(ctx, self.checkout_view, self.tasks, on_receipt)
        self.stack.addWidget(self.login_view)
        self.stack.addWidget(self.checkout_view)
        self.setCentralWidget(self.stack)
        self._scanner_states: dict[str, str] = {s.url: s.state.value for s in ctx.scanners}
        self._build_status_bar()
        self._bind_keys()
        self.checkout_view.installEventFilter(self)
        self.checkout_view.entry.installEventFilter(self)
        self.checkout_view.table.installEventFilter(self)
        self._figures = StatusFigures()
        self._figures_in_flight = False
        self._status_timer = QTimer(self)
        self._status_timer.setObjectName("statusRefresh")
        self._status_timer.timeout.connect(self.refresh_status)
        self._status_timer.start(2000)
        self.resize(1280, 800)
        self.refresh_status()

    # --- scans ------------------------------------------------------------------------------
    def on_scan(self, event: ScanEvent) -> None:
        """GUI thread: one scan from any reader."""
        if self.stack.currentWidget() is not self.checkout_view and not self.ctx.router.payment_waiting:
            logger.debug("scan ignored: not on the checkout screen")
            return
        try:
            self.ctx.router.route(event)
        except Exception:
            logger.exception("scan handler failed")
            self.checkout_view.show_notice(self.ctx.tr("That scan could not be handled; please try again"))

    def _scanner_state(self, url: str, state: str, message: str) -> None:
        self._scanner_states[url] = state
        if message and state in ("failed", "reconnecting"):
            self.checkout_view.show_notice(f"{url}: {message}")
        self.refresh_status()

    def _scanner_notice(self, url: str, message: str) -> None:
        self.checkout_view.show_notice(f"{self.ctx.tr('Scanner')}: {message}")

    # --- login ------------------------------------------------------------------------------
    def try_login(self, number: str, pin: str) -> None:
        try:
            session = self._login_fn(number, pin)
        except Exception as exc:
            if exc.__class__.__module__.startswith(("pos_app.services", "pos_app.domain")) \
                    or isinstance(exc, ValueError | PermissionError):
                self.login_view.show_error(self.ctx.tr(str(exc) or "Wrong cashier number or PIN"))
                return
            raise
        self.start_session(session)

    def start_session(self, session: Session) -> None:
        self.controller.start(session)
        self.stack.setCurrentWidget(self.checkout_view)
        self.checkout_view.entry.setFocus()
        self.refresh_status()

    @property
    def session(self) -> Session | None:
        return self.controller.session

    # --- keys -------------------------------------------------------------------------------
    def _bind_keys(self) -> None:
        for name, key, _text in ACTIONS:
            if key == "Del":
                continue  # handled in eventFilter so Del in the code box still deletes text
            sc = QShortcut(QKeySequence(key), self)
            sc.setContext(Qt.ShortcutContext.WindowShortcut)
            sc.activated.connect(lambda n=name: self._intent(n))

    def keyPressEvent(self, event: QKeyEvent) -> None:
        """Qt gives a window that is not active no shortcuts (a counter PC without a window manager: after a
        dialog closes nothing gives the focus back), and the key then arrives here: run the window's own
        shortcut for it — the action keys, Ctrl+P, and those other parts add (store mode's Shift+F9, the
        kiosk's Ctrl+Alt+Q). Only the window's direct children: a dialog's shortcuts stay the dialog's."""
        pressed = QKeySequence(event.keyCombination())
        for shortcut in self.findChildren(QShortcut, options=Qt.FindChildOption.FindDirectChildrenOnly):
            if shortcut.isEnabled() and shortcut.key() == pressed:
                shortcut.activated.emit()
                return
        super().keyPressEvent(event)

    def _intent(self, name: str) -> None:
        if self.stack.currentWidget() is self.checkout_view:
            self.controller.on_intent(name)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.KeyPress and self.stack.currentWidget() is self.checkout_view:
            assert isinstance(event, QKeyEvent)
            key = event.key()
            entry_empty = not self.checkout_view.entry.text()
            if key == Qt.Key.Key_Delete and entry_empty:
                self.controller.on_intent("void_line")
                return True
            if key in (Qt.Key.Key_Plus, Qt.Key.Key_Minus) and entry_empty:
                self.controller.step_quantity(1 if key == Qt.Key.Key_Plus else -1)
                return True
            if key in (Qt.Key.Key_Up, Qt.Key.Key_Down):
                row = self.checkout_view.selected_row() + (-1 if key == Qt.Key.Key_Up else 1)
                self.checkout_view.select_row(row)
                return True
            if key == Qt.Key.Key_Escape:
                self.controller.cancel_current()
                return True
        return super().eventFilter(watched, event)

    # --- status bar -------------------------------------------------------------------------
    def _build_status_bar(self) -> None:
        bar = self.statusBar()
        self.status_labels: dict[str, QLabel] = {}
        for name in ("store", "cashier", "shift", "payments", "scanner", "camera", "printer", "gateway", "sync",
                     "storelink"):
            label = QLabel(self)
            label.setObjectName(f"status_{name}")
            bar.addPermanentWidget(label) if name != "store" else bar.addWidget(label)
            self.status_labels[name] = label
        self.status_labels["store"].setToolTip(self.ctx.tr("Database: {path}", path=self.ctx.db_path))

    def refresh_status(self) -> None:
        """Show what is known now and fetch the database figures on a worker thread (shown when they come)."""
        self._render_status()
        self._fetch_figures()

    def _fetch_figures(self) -> None:
        if self._figures_in_flight:
            return
        payment, sync = self.ctx.payment, self.ctx.sync

        def fetch() -> StatusFigures:  # a worker thread: its own connection, read-only queries
            unknown = len(payment.unknown()) if payment is not None else 0
            orphans = len(payment.orphans()) if payment is not None else 0
            status, failed = None, False
            if sync is not None:
                try:
                    status = sync.status()
                except Exception:  # noqa: BLE001 - informational: shown as "unknown"
                    logger.debug("sync status failed", exc_info=True)
                    failed = True
            return StatusFigures(unknown, orphans, status, failed)

        def done(figures: StatusFigures) -> None:
            self._figures_in_flight = False
            if not shiboken6.isValid(self.status_labels["store"]):  # the window closed meanwhile
                return
            self._figures = figures
            self._render_status()

        def failed(exc: BaseException) -> None:  # informational; never break the status bar
            self._figures_in_flight = False
            logger.debug("status figures failed: %r", exc)

        self._figures_in_flight = True
        self.tasks.submit(fetch, done, failed)

    def _render_status(self) -> None:
        tr = self.ctx.tr
        s = self.status_labels
        s["store"].setText(f"{tr('Store')} {self.ctx.store_id} · {tr('Terminal')} {self.ctx.terminal_id}")
        session = self.controller.session
        s["cashier"].setText(f"{tr('Cashier')}: {session.user_name if session else '—'}")
        s["shift"].setText(f"{tr('Shift')}: {session.shift_no or session.shift_id if session else '—'}")
        readers = [u for u in self._scanner_states if not u.startswith(("camera", "virtual"))]
        cams = [u for u in self._scanner_states if u.startswith(("camera", "virtual"))]
        s["scanner"].setText(f"{tr('Scanner')}: " + (", ".join(
            f"{tr(u.split(':')[0])} {tr(self._scanner_states[u])}" for u in readers) or tr("none")))  # wedge: 键盘口
        s["camera"].setText(f"{tr('Camera')}: " + (", ".join(
            f"{u.split('?')[0]} {tr(self._scanner_states[u])}" for u in cams) or tr("none")))
        printer = self.ctx.printer
        s["printer"].setText(f"{tr('Printer')}: {tr(printer.status_text()) if printer else tr('none')}")
        s["gateway"].setText(f"{tr('Gateway')}: " + (tr("sandbox") if self.ctx.demo and self.ctx.gateway_url
                                                    else tr("configured") if self.ctx.gateway_url
                                                    else tr("not configured")))
        s["gateway"].setToolTip(self.ctx.gateway_url)
        s["sync"].setText(f"{tr('Sync')}: {self._sync_text()}")
        link = self.ctx.store_link
        s["storelink"].setVisible(link is not None)
        if link is not None:
            template, values = link.status()
            s["storelink"].setText(tr(template, **values))
        banner = self.payments_banner()
        s["payments"].setText(banner)
        s["payments"].setVisible(bool(banner))
        s["payments"].setStyleSheet("background: #b00020; color: white; font-weight: bold; padding: 0 6px"
                                    if banner else "")

    def payments_banner(self) -> str:
        """'needs a supervisor' text while Alipay attempts are in 'unknown' or paid without a sale."""
        if self.ctx.payment is None:
            return ""
        unknown, orphans = self._figures.unknown_payments, self._figures.orphan_payments
        parts = []
        if unknown:
            parts.append(tr_n(self.ctx.tr, "{n} Alipay payment(s) with unknown outcome", unknown))
        if orphans:
            parts.append(tr_n(self.ctx.tr, "{n} paid without a sale", orphans))
        if not parts:
            return ""
        return "⚠ " + " · ".join(parts) + " — " + self.ctx.tr("needs a supervisor (F12)")

    def _sync_text(self) -> str:
        tr = self.ctx.tr
        if self.ctx.sync is None:
            return tr("off")
        st = self._figures.sync
        if st is None:
            return tr("unknown") if self._figures.sync_failed else "…"
        if st.offline_since is not None:
            text = tr("offline since {time}", time=f"{st.offline_since.astimezone(BEIJING):%H:%M}")
        elif st.up_to_date:
            text = tr("up to date")
        else:
            text = tr("running")
        if st.pending:
            text += f" · {tr('pending')} {st.pending}"
        if st.dead:
            text += f" · {tr('dead')} {st.dead}"
        return text

    def closeEvent(self, event: QCloseEvent) -> None:
        self._status_timer.stop()
        self.tasks.wait_idle(3000)
        super().closeEvent(event)

    def screen_widget(self) -> QWidget | None:
        return self.stack.currentWidget()
