"""Store mode (issue 13): the supervisor's store report — store X over a day or a range of days, and the
store day close (store Z) — at any lane. Shift+F9 opens it; F9's report screen has it as its "Store" tab.

Everything the store server is asked runs on a worker thread (TaskRunner): a store that does not answer
costs the supervisor its deadline, never the till. Store Z is refused while lanes are incomplete; a
supervisor may override with a reason (approved with PIN, audited), and the Z then says PROVISIONAL.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import shiboken6
from PySide6.QtCore import QDate, Qt
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QDateEdit,
    QDialog,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QMessageBox,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from pos_app.services.approvals import APPROVER_ROLES, Approval, reasons_for
from pos_app.services.errors import ServiceError
from pos_app.services.ports.clock import BEIJING
from pos_app.services.store_reports import (
    SECTION_TITLES,
    StoreCloseRefused,
    StoreFigures,
    StoreNotAnswering,
    StoreReportService,
    StoreRow,
    StoreSaidNo,
    lane_names,
    notice_label,
    store_rows,
    store_text,
)

from .report_export import PAGE_A4, LocalizedRow, export_rows_pdf, render_rows_csv
from .reports_view import figure_table
from .workers import TaskRunner

if TYPE_CHECKING:
    from .checkout_controller import CheckoutController
    from .context import TerminalContext
    from .main_window import MainWindow
    from .reports_view import ReportsView

__all__ = ["StoreReportPanel", "StoreReportDialog", "install_store_reports", "add_store_tab", "localized_store_rows",
           "STORE_REPORT_KEY"]

logger = logging.getLogger(__name__)

STORE_REPORT_KEY = "Shift+F9"     # F9 is the lane's reports; Shift+F9 the store's
UNAVAILABLE = ("The store server did not answer: store figures are not available now; this lane's X report "
               "still works (F9)")

#: (parent) -> the supervisor's recorded approval of a store Z with lanes missing (None: cancelled)
AskOverride = Callable[[QWidget], "Approval | None"]
#: (parent, question) -> True to go on
Confirm = Callable[[QWidget, str], bool]


def _identity(text: str, /, **values: object) -> str:
    return text.format(**values) if values else text


def localized_store_rows(rows: Sequence[StoreRow], tr: Callable[..., str] = _identity) -> list[LocalizedRow]:
    """(section, section label, English label, label, value shown, raw) in ``tr``'s language."""
    out: list[LocalizedRow] = []
    for r in rows:
        params = {k: tr(v) if k in StoreRow.WORDS else v for k, v in r.params.items()}
        out.append((r.section, tr(SECTION_TITLES[r.section]), r.english, tr(r.label, **params),
                    tr(r.value) if r.value_words else r.value, r.raw))
    return out


def _qdate(day: dt.date) -> QDate:
    return QDate(day.year, day.month, day.day)


def _pydate(q: QDate) -> dt.date:
    return dt.date(q.year(), q.month(), q.day())


def _confirm(parent: QWidget, question: str) -> bool:
    box = QMessageBox(QMessageBox.Icon.Question, parent.windowTitle(), question,
                      QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No, parent)
    box.setObjectName("storeCloseConfirm")
    box.setDefaultButton(QMessageBox.StandardButton.No)
    return box.exec() == QMessageBox.StandardButton.Yes


class StoreReportPanel(QWidget):
    """Store X for a day or a range, store Z for a day, lane notices; exports (PDF, CSV) like the lane's X.

    ``user_name`` / ``user_id``: the supervisor looking (recorded with a store Z and notice reviews).
    """

    def __init__(self, service: StoreReportService, tasks: TaskRunner, *, user_name: str, user_id: int | None,
                 tr: Callable[..., str] | None = None, ask_override: AskOverride | None = None,
                 confirm: Confirm = _confirm, printer: Callable[[str], object] | None = None,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        t = self._t = tr or _identity
        self.setObjectName("storeReportPanel")
        self._svc = service
        self._tasks = tasks
        self._user_name = user_name
        self._user_id = user_id
        self._ask_override = ask_override
        self._confirm = confirm
        self._printer = printer
        self._token = 0
        self.busy = False
        self.loaded = False
        self.figures: StoreFigures | None = None
        self.stored: StoreFigures | None = None       # the store Z recorded for the day looked at, if closed
        self.can_review = False
        self.refused_day: dt.date | None = None      # the day whose store Z was refused (override offered)

        layout = QVBoxLayout(self)
        picker = QHBoxLayout()
        today = service.today()
        self.first = QDateEdit(_qdate(today))
        self.first.setObjectName("storeFirst")
        self.last = QDateEdit(_qdate(today))
        self.last.setObjectName("storeLast")
        for edit in (self.first, self.last):
            edit.setCalendarPopup(True)
            edit.setDisplayFormat("yyyy-MM-dd")
            edit.setMaximumDate(_qdate(today))
        self.first.dateChanged.connect(self._first_changed)
        picker.addWidget(QLabel(t("Store day")))
        picker.addWidget(self.first)
        picker.addWidget(QLabel(t("to")))
        picker.addWidget(self.last)
        self.today_button = QPushButton(t("Today"))
        self.today_button.setObjectName("storeToday")
        self.today_button.clicked.connect(self.show_today)
        self.refresh_button = QPushButton(t("Show"))
        self.refresh_button.setObjectName("storeRefresh")
        self.refresh_button.clicked.connect(self.load)
        picker.addWidget(self.today_button)
        picker.addWidget(self.refresh_button)
        picker.addStretch(1)
        layout.addLayout(picker)

        self.status = QLabel("")
        self.status.setObjectName("storeStatus")
        self.status.setWordWrap(True)
        layout.addWidget(self.status)
        self.banner = QLabel("")
        self.banner.setObjectName("storeBanner")
        self.banner.setWordWrap(True)
        self.banner.setStyleSheet("background: #b00020; color: white; font-weight: bold; padding: 4px")
        self.banner.hide()
        layout.addWidget(self.banner)

        self.model, self.table = figure_table(t, "storeTable", section_width=230, value_width=200, parent=self)
        layout.addWidget(self.table, 1)

        notices = QHBoxLayout()
        self.notices = QListWidget()
        self.notices.setObjectName("storeNotices")
        self.notices.setMaximumHeight(70)
        self.notices.currentRowChanged.connect(lambda _row: self._update_buttons())
        self.review_button = QPushButton(t("Mark reviewed"))
        self.review_button.setObjectName("storeReview")
        self.review_button.clicked.connect(self.review_selected)
        notices.addWidget(self.notices, 1)
        notices.addWidget(self.review_button)
        self.notices_box = QWidget()
        self.notices_box.setLayout(notices)
        self.notices_box.hide()
        layout.addWidget(self.notices_box)

        buttons = QHBoxLayout()
        self.close_button = QPushButton(t("Store Z (close the day)"))
        self.close_button.setObjectName("storeClose")
        self.close_button.clicked.connect(self.close_day)
        self.override_button = QPushButton(t("Close with lanes missing…"))
        self.override_button.setObjectName("storeOverride")
        self.override_button.clicked.connect(self.close_with_override)
        self.override_button.hide()
        self.stored_button = QPushButton(t("Show the recorded store Z"))
        self.stored_button.setObjectName("storeShowZ")
        self.stored_button.clicked.connect(self.show_stored)
        self.stored_button.hide()
        self.pdf_button = QPushButton(t("Export PDF"))
        self.pdf_button.setObjectName("storePdf")
        self.pdf_button.clicked.connect(lambda: self._export_dialog("pdf"))
        self.csv_button = QPushButton(t("Export CSV"))
        self.csv_button.setObjectName("storeCsv")
        self.csv_button.clicked.connect(lambda: self._export_dialog("csv"))
        self.print_button = QPushButton(t("Print"))
        self.print_button.setObjectName("storePrint")
        self.print_button.clicked.connect(self.print_report)
        self.print_button.setVisible(printer is not None)
        for b in (self.close_button, self.override_button, self.stored_button, self.print_button, self.pdf_button,
                  self.csv_button):
            buttons.addWidget(b)
        buttons.addStretch(1)
        layout.addLayout(buttons)
        self._update_buttons()

    # --- what is asked ------------------------------------------------------------------------
    def days(self) -> tuple[dt.date, dt.date]:
        return _pydate(self.first.date()), _pydate(self.last.date())

    def _first_changed(self, q: QDate) -> None:
        self.last.setMinimumDate(q)

    def show_today(self) -> None:
        today = _qdate(self._svc.today())
        self.first.setDate(today)
        self.last.setDate(today)
        self.load()

    def _submit(self, fn: Callable[[], Any], done: Callable[[Any], None], what: str) -> None:
        self._token += 1
        token = self._token
        self.busy = True
        self._update_buttons()

        def arrived(result: Any) -> None:
            if shiboken6.isValid(self) and token == self._token:
                self.busy = False
                done(result)
                self._update_buttons()

        def failed(exc: BaseException) -> None:
            if shiboken6.isValid(self) and token == self._token:
                self.busy = False
                self._failed(exc, what)
                self._update_buttons()

        self._tasks.submit(fn, arrived, failed)

    def load(self) -> None:
        """Store X for the chosen days, fetched on a worker thread."""
        first, last = self.days()
        svc = self._svc
        self.status.setText(self._t("Asking the store server…"))
        self.refused_day = None

        def fetch() -> tuple[StoreFigures, bool, StoreFigures | None]:
            return svc.figures(first, last), svc.can_review_notices, svc.stored_z(first) if first == last else None

        self._submit(fetch, self._loaded, "store X")

    def _loaded(self, result: tuple[StoreFigures, bool, StoreFigures | None]) -> None:
        figures, self.can_review, self.stored = result
        self.loaded = True
        self._show(figures)
        t = self._t
        at = dt.datetime.now(BEIJING)
        text = t("Store figures for {span}, read at {time}", span=self._span(figures), time=f"{at:%H:%M:%S}")
        if self.stored is not None:
            text += " · " + self._recorded(self.stored)
        self.status.setText(text)
        if figures.incomplete_lanes:
            self._set_banner(t("Not complete on the server yet: {lanes}", lanes=lane_names(figures.incomplete_lanes)))
        else:
            self._set_banner("")

    def _recorded(self, z: StoreFigures) -> str:
        at = f"{z.closed_at.astimezone(BEIJING):%m-%d %H:%M}" if z.closed_at is not None else ""
        text = self._t("Store Z recorded {time} by {user}", time=at, user=z.closed_by)
        return f"{text} ({self._t('PROVISIONAL')})" if z.provisional else text

    def show_stored(self) -> None:
        """The store Z recorded for the day, as recorded (to look at, print or export again)."""
        z = self.stored
        if z is None:
            return
        self._show(z)
        self.status.setText(self._recorded(z))
        self._set_banner(self._t("PROVISIONAL store Z for {day}: lanes missing: {lanes}", day=z.first.isoformat(),
                                 lanes=lane_names(z.missing_lanes)) if z.provisional else "")
        self._update_buttons()

    def _failed(self, exc: BaseException, what: str) -> None:
        t = self._t
        if isinstance(exc, StoreCloseRefused):
            self._refused(exc)
            return
        self.figures = self.stored = None
        self.model.set_rows([])
        self.notices.clear()
        self.notices_box.hide()
        if isinstance(exc, StoreNotAnswering):
            logger.warning("%s: the store server did not answer: %s", what, exc)
            self.status.setText(t(UNAVAILABLE))
        elif isinstance(exc, StoreSaidNo):
            logger.warning("%s: the store server refused: %s", what, exc)
            self.status.setText(t("The store server refused: {reason}", reason=str(exc)))
        elif isinstance(exc, ServiceError):
            self.status.setText(t(str(exc)))
        else:
            logger.error("%s failed", what, exc_info=exc)
            self.status.setText(t("The store report could not be built; please try again"))
        self._set_banner("")

    def _show(self, figures: StoreFigures) -> None:
        self.figures = figures
        self.model.set_rows([(sec_label, label, value, raw)
                             for _s, sec_label, _n, label, value, raw in self.localized_rows()])
        self.notices.clear()
        for n in () if figures.closed else figures.notices:    # a Z's notices are history: reviewed on the X
            item = QListWidgetItem(self._t(notice_label(n.kind), lane=n.lane, kind=n.kind)
                                   + f" — {n.at.astimezone(BEIJING):%m-%d %H:%M}  {n.detail}")
            item.setData(Qt.ItemDataRole.UserRole, n.id)
            self.notices.addItem(item)
        self.notices_box.setVisible(self.notices.count() > 0)
        if figures.notices and not self.can_review:
            self.review_button.setToolTip(self._t("This store server cannot mark notices reviewed: they are listed only"))

    def _span(self, figures: StoreFigures) -> str:
        return figures.first.isoformat() if figures.first == figures.last else \
            f"{figures.first.isoformat()} – {figures.last.isoformat()}"

    def _set_banner(self, text: str) -> None:
        self.banner.setText(text)
        self.banner.setVisible(bool(text))

    def _update_buttons(self) -> None:
        self.refresh_button.setEnabled(True)
        self.close_button.setEnabled(not self.busy and self.stored is None)
        self.stored_button.setVisible(self.stored is not None and self.figures is not self.stored)
        self.override_button.setVisible(self.refused_day is not None and self._ask_override is not None)
        self.override_button.setEnabled(not self.busy)
        has = self.figures is not None
        self.pdf_button.setEnabled(has)
        self.csv_button.setEnabled(has)
        self.print_button.setEnabled(has)
        self.review_button.setEnabled(self.can_review and not self.busy and self.notices.currentRow() >= 0)

    # --- store Z ------------------------------------------------------------------------------
    def close_day(self) -> None:
        """Store Z for the chosen day (one day: the first and last day the same)."""
        t = self._t
        first, last = self.days()
        if first != last:
            self.status.setText(t("The store Z closes one day: choose the same first and last day"))
            return
        if not self._confirm(self, t("Close the store day {day}? A store Z cannot be undone.", day=first.isoformat())):
            return
        self._close(first, self._user_name, self._user_id, "", None)

    def close_with_override(self) -> None:
        """The supervisor closes the refused day over its missing lanes: PIN, reason and note, audited."""
        day = self.refused_day
        if day is None or self._ask_override is None:
            return
        approval = self._ask_override(self)
        if approval is None:
            return
        labels = dict(reasons_for("store_close_override"))
        reason = self._t(labels.get(approval.reason_code, approval.reason_code))
        if approval.note.strip():
            reason = f"{reason}: {approval.note.strip()}"
        self._close(day, approval.approver_name, approval.approved_by, reason, approval.id)

    def _close(self, day: dt.date, by: str, user_id: int | None, reason: str, approval_id: int | None) -> None:
        svc = self._svc
        self.status.setText(self._t("Closing the store day {day}…", day=day.isoformat()))

        def close() -> StoreFigures:
            return svc.close_day(day, closed_by=by, user_id=user_id, override_reason=reason, approval_id=approval_id)

        self._submit(close, self._closed, "store Z")

    def _closed(self, figures: StoreFigures) -> None:
        t = self._t
        self.refused_day = None
        self.stored = figures
        self._show(figures)
        day = figures.first.isoformat()
        self.status.setText(t("Store Z for {day} recorded by {user}", day=day, user=figures.closed_by))
        if figures.provisional:
            self._set_banner(t("PROVISIONAL store Z for {day}: lanes missing: {lanes}", day=day,
                               lanes=lane_names(figures.missing_lanes))
                             + f" — {t('Override reason')}: {figures.override_reason}")
        else:
            self._set_banner("")

    def _refused(self, exc: StoreCloseRefused) -> None:
        t = self._t
        day = self.days()[0]
        if exc.reason == "incomplete":
            self.refused_day = day
            self.status.setText(t("Store Z for {day} refused", day=day.isoformat()))
            self._set_banner(t("These lanes are not complete on the server: {lanes}. Close their shifts and let "
                               "them sync, or close with lanes missing and a reason.",
                               lanes=lane_names(exc.missing_lanes)))
        elif exc.reason == "already_closed":   # closed meanwhile (another lane): look again, the Z is there
            self.load()
            self.status.setText(t("The store day {day} is already closed", day=day.isoformat()))
        else:
            self.status.setText(t("The store server refused: {reason}", reason=str(exc)))

    # --- notices ------------------------------------------------------------------------------
    def review_selected(self) -> None:
        item = self.notices.currentItem()
        if item is None or not self.can_review:
            return
        notice_id = int(item.data(Qt.ItemDataRole.UserRole))
        svc, by, uid = self._svc, self._user_name, self._user_id

        def review() -> bool:
            return svc.review_notice(notice_id, reviewed_by=by, user_id=uid)

        def done(_ok: bool) -> None:
            self.load()

        self._submit(review, done, "lane notice")

    # --- printing and exports -----------------------------------------------------------------
    def print_report(self) -> None:
        """The figures shown, as text, on the receipt printer (a worker thread: printing blocks)."""
        if self.figures is None or self._printer is None:
            return
        text, printer = store_text(self.figures), self._printer

        def failed(exc: BaseException) -> None:
            logger.error("printing the store report failed", exc_info=exc)
            if shiboken6.isValid(self):
                self.status.setText(self._t("The store report could not be printed; check the printer"))

        self._tasks.submit(lambda: printer(text), None, failed)


    def localized_rows(self) -> list[LocalizedRow]:
        return localized_store_rows(store_rows(self.figures), self._t) if self.figures is not None else []

    def title(self) -> str:
        f = self.figures
        if f is None:
            return ""
        text = self._t("Store {kind} {span}", kind="Z" if f.closed else "X", span=self._span(f))
        return f"{text} — {self._t('PROVISIONAL')}" if f.provisional else text

    def export(self, path: Path | str, fmt: str, *, page: str = PAGE_A4) -> Path:
        """Write the figures shown as PDF or CSV (the lane's X export format), labels in the terminal language."""
        if self.figures is None:
            raise ServiceError("no store figures to export")
        if fmt == "pdf":
            return export_rows_pdf(self.localized_rows(), path, title=self.title(), page=page)
        csv_rows = [(r.section, r.english, r.value, r.raw, sec_label, label)
                    for r, (_s, sec_label, _n, label, _v, _raw) in zip(store_rows(self.figures), self.localized_rows(),
                                                                        strict=True)]
        out = Path(path)
        out.write_bytes(render_rows_csv(csv_rows))
        return out

    def _export_dialog(self, fmt: str) -> None:
        if self.figures is None:
            return
        first, last = self.figures.first, self.figures.last
        name = f"store-{'z' if self.figures.closed else 'x'}-{first}" + (f"-{last}" if last != first else "")
        path, _ = QFileDialog.getSaveFileName(self, self._t("Export"), f"{name}.{fmt}", f"{fmt.upper()} (*.{fmt})")
        if path:
            self.export(path, fmt)


class StoreReportDialog(QDialog):
    """Shift+F9: the store report in a window of its own (fits a 1024x768 counter screen)."""

    def __init__(self, panel_args: dict[str, Any], tr: Callable[..., str], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("storeReportDialog")
        self.setWindowTitle(tr("Store report"))
        self.panel = StoreReportPanel(tr=tr, parent=self, **panel_args)
        lay = QVBoxLayout(self)
        lay.addWidget(self.panel)
        self.resize(980, 680)
        self.panel.load()


def _is_supervisor(controller: CheckoutController) -> bool:
    session = controller.session
    return session is not None and session.role in APPROVER_ROLES


def _who(ctx: TerminalContext, window: QWidget, controller: CheckoutController) -> tuple[str, int | None] | None:
    """The supervisor at the till, or the one who approves a cashier's look (audited); None: not approved."""
    session = controller.session
    if session is not None and _is_supervisor(controller):
        return session.user_name, session.user_id
    ask = ctx.nav.ask_approval
    approval = ask(window, "store_reports", ctx.tr("Store report"), [ctx.tr("View store reports")]) \
        if ask is not None else None
    return (approval.approver_name, approval.approved_by) if approval is not None else None


def _panel_args(ctx: TerminalContext, window: MainWindow, who: tuple[str, int | None]) -> dict[str, Any]:
    assert ctx.store_reports is not None

    def ask_override(parent: QWidget) -> Approval | None:
        ask = ctx.nav.ask_approval
        return ask(parent, "store_close_override", ctx.tr("Store Z"), None) if ask is not None else None

    printer = None
    if ctx.printer is not None and ctx.printer.configured and hasattr(ctx.printer, "print_text"):
        printer = ctx.printer.print_text
    return {"service": ctx.store_reports, "tasks": window.tasks, "user_name": who[0], "user_id": who[1],
            "ask_override": ask_override, "printer": printer}


def install_store_reports(ctx: TerminalContext, window: MainWindow) -> None:
    """Store mode: the ``store_report`` intent and its key (Shift+F9). A standalone lane never calls this."""
    def open_store_report(controller: CheckoutController) -> None:
        if ctx.store_reports is None:
            controller.view.show_notice(ctx.tr("Store reports are not available on this terminal"))
            return
        who = _who(ctx, window, controller)
        if who is None:
            return
        StoreReportDialog(_panel_args(ctx, window, who), ctx.tr, window).exec()

    ctx.nav.intents["store_report"] = open_store_report
    shortcut = QShortcut(QKeySequence(STORE_REPORT_KEY), window)
    shortcut.setObjectName("storeReportShortcut")
    shortcut.setContext(Qt.ShortcutContext.WindowShortcut)

    def pressed() -> None:
        if window.stack.currentWidget() is window.checkout_view:
            window.controller.on_intent("store_report")

    shortcut.activated.connect(pressed)   # also from MainWindow.keyPressEvent when the window is not active


def add_store_tab(view: ReportsView, ctx: TerminalContext, window: MainWindow, user_name: str,
                  user_id: int | None) -> StoreReportPanel | None:
    """F9's report screen in store mode: a "Store" tab, loaded the first time it is shown."""
    if ctx.store_reports is None:
        return None
    panel = StoreReportPanel(tr=ctx.tr, parent=view, **_panel_args(ctx, window, (user_name, user_id)))
    index = view.tabs.addTab(panel, ctx.tr("Store"))

    def shown(i: int) -> None:
        if i == index and not panel.loaded and not panel.busy:
            panel.load()

    view.tabs.currentChanged.connect(shown)
    return panel
