"""Supervisor report screen: X figures, a chart of sales per hour and tender, past Z reports (reprint, export)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from pathlib import Path

import shiboken6
from PySide6.QtCharts import QBarCategoryAxis, QBarSeries, QBarSet, QChart, QChartView, QValueAxis
from PySide6.QtCore import QAbstractTableModel, QModelIndex, QObject, QPersistentModelIndex, Qt, Signal
from PySide6.QtGui import QPainter
from PySide6.QtWidgets import (
    QDialog,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QTableView,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from pos_app.domain.money import format_ui
from pos_app.services.errors import ServiceError
from pos_app.services.ports.clock import BEIJING
from pos_app.services.reports import Report, ReportService, StoredZ

from .qtcompat import emit
from .report_export import Figures, localized_rows
from .workers import TaskRunner

__all__ = ["FigureTableModel", "ZListModel", "ReportsView", "sales_chart"]

logger = logging.getLogger(__name__)

_Index = QModelIndex | QPersistentModelIndex


def _identity(text: str, /, **values: object) -> str:
    return text.format(**values) if values else text


class FigureTableModel(QAbstractTableModel):
    """Read-only table over an immutable list of (section, figure, value) rows."""

    HEADERS = ("Section", "Figure", "Value")

    def __init__(self, rows: Sequence[tuple[str, str, str, str]] = (), parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._rows: tuple[tuple[str, str, str, str], ...] = tuple(rows)

    def set_rows(self, rows: Sequence[tuple[str, str, str, str]]) -> None:
        """Show ``rows``. The X report is rebuilt every few seconds with the same rows most of the time: an
        unchanged report changes nothing, a changed figure repaints its rows only (and the list keeps its
        scroll position); a different number of rows resets the table."""
        new = tuple(rows)
        old = self._rows
        if new == old:
            return
        if len(new) == len(old):
            self._rows = new
            changed = [i for i, (a, b) in enumerate(zip(old, new, strict=True)) if a != b]
            emit(self.dataChanged, self.index(changed[0], 0), self.index(changed[-1], 2))
            return
        self.beginResetModel()
        self._rows = new
        self.endResetModel()

    def rowCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008 - Qt's signature
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else 3

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole) -> object:
        if not index.isValid() or not 0 <= index.row() < len(self._rows) or not 0 <= index.column() < 3:
            return None
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.ToolTipRole):
            return self._rows[index.row()][index.column()]
        if role == Qt.ItemDataRole.TextAlignmentRole and index.column() == 2:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None

    def headerData(self, section: int, orientation: Qt.Orientation,
                   role: int = Qt.ItemDataRole.DisplayRole) -> object:
        if role == Qt.ItemDataRole.DisplayRole and orientation == Qt.Orientation.Horizontal and 0 <= section < 3:
            return self.HEADERS[section]
        return None


def figure_table(t: Callable[..., str], object_name: str, *, section_width: int, value_width: int,
                 parent: QObject | None = None) -> tuple[FigureTableModel, QTableView]:
    """A (section, figure, value) table as the X reports show it: translated headers, a fixed value column (a
    long value, such as the last receipt's hash, is elided with the full text in the tooltip, so the amounts
    never scroll out of sight), no horizontal scrolling."""
    model = FigureTableModel(parent=parent)
    model.HEADERS = tuple(t(h) for h in FigureTableModel.HEADERS)  # type: ignore[assignment]
    table = QTableView()
    table.setObjectName(object_name)
    table.setModel(model)
    header = table.horizontalHeader()
    header.setSectionResizeMode(0, QHeaderView.ResizeMode.Interactive)
    header.resizeSection(0, section_width)
    header.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
    header.setSectionResizeMode(2, QHeaderView.ResizeMode.Fixed)
    header.resizeSection(2, value_width)
    table.setTextElideMode(Qt.TextElideMode.ElideMiddle)
    table.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
    table.verticalHeader().setVisible(False)
    return model, table


class ZListModel(QAbstractTableModel):
    """Past Z reports (newest first): number, shift, closed at, net, cash difference, intact."""

    HEADERS = ("Z", "Shift", "Closed", "Net", "Cash diff.", "Hash OK")

    def __init__(self, items: Sequence[StoredZ] = (), parent: QObject | None = None,
                 tr: Callable[..., str] | None = None) -> None:
        super().__init__(parent)
        self._tr = tr or _identity
        self._items: tuple[StoredZ, ...] = tuple(items)

    def set_items(self, items: Sequence[StoredZ]) -> None:
        self.beginResetModel()
        self._items = tuple(items)
        self.endResetModel()

    def item(self, row: int) -> StoredZ:
        return self._items[row]

    def rowCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._items)

    def columnCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.HEADERS)

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole) -> object:
        if not index.isValid() or not 0 <= index.row() < len(self._items) or role != Qt.ItemDataRole.DisplayRole:
            return None
        z = self._items[index.row()]
        f = z.figures
        cash = (f.get("count") or {}).get("cash", {})
        values = (str(z.number), str(z.shift_number), f"{z.created_at.astimezone(BEIJING):%Y-%m-%d %H:%M}",
                  format_ui(int(f.get("net_fen", 0))), format_ui(int(cash.get("difference_fen", 0))),
                  self._tr("yes") if z.intact else self._tr("NO"))
        return values[index.column()] if 0 <= index.column() < len(values) else None

    def headerData(self, section: int, orientation: Qt.Orientation,
                   role: int = Qt.ItemDataRole.DisplayRole) -> object:
        if role == Qt.ItemDataRole.DisplayRole and orientation == Qt.Orientation.Horizontal \
                and 0 <= section < len(self.HEADERS):
            return self.HEADERS[section]
        return None


def sales_chart(figures: Figures, tr: Callable[..., str] = _identity) -> QChart:
    """Stacked-by-tender bars of sales per hour (yuan)."""
    chart = QChart()
    chart.setTitle(tr("Sales per hour and tender"))
    hours = list(figures.get("hours") or [])
    cash, alipay = QBarSet(tr("Cash")), QBarSet(tr("Alipay"))
    for h in hours:
        cash.append(h["cash_fen"] / 100)
        alipay.append(h["alipay_fen"] / 100)
    series = QBarSeries()
    series.append(cash)
    series.append(alipay)
    chart.addSeries(series)
    axis_x = QBarCategoryAxis()
    axis_x.append([f"{h['hour']:02d}" for h in hours] or ["-"])
    chart.addAxis(axis_x, Qt.AlignmentFlag.AlignBottom)
    series.attachAxis(axis_x)
    axis_y = QValueAxis()
    top = max([max(h["cash_fen"], h["alipay_fen"]) for h in hours] or [0]) / 100
    axis_y.setRange(0, max(10.0, top * 1.1))
    axis_y.setTickCount(6)
    axis_y.setLabelFormat("%.0f")
    chart.addAxis(axis_y, Qt.AlignmentFlag.AlignLeft)
    series.attachAxis(axis_y)
    return chart


class ReportsView(QDialog):
    """The report screen.

    Signals: ``print_requested(str)`` — the text of a report to print on the receipt printer (also
    sent to ``printer`` if given).
    """

    print_requested = Signal(str)

    def __init__(self, reports: ReportService, parent: QWidget | None = None, *, printed_by: str = "",
                 printer: Callable[[str], object] | None = None, tr: Callable[..., str] | None = None,
                 tasks: TaskRunner | None = None) -> None:
        super().__init__(parent)
        # with ``tasks`` the X report is built off the GUI thread (the terminal hands it to a report
        # process): the screen shows the previous figures until the new ones arrive (issue 18)
        self._tasks = tasks
        self._x_busy = False
        self._x_again = False
        self._chart_hours: list[object] | None = None      # what the chart shows (None: not drawn yet)
        t = self._t = tr or _identity
        self.setObjectName("reportsView")
        self.setWindowTitle(t("Reports"))
        self.resize(900, 640)
        self._reports = reports
        self._printed_by = printed_by
        self._printer = printer
        self.x_figures: Figures = {}
        self.x_text = ""
        layout = QVBoxLayout(self)
        self.tabs = QTabWidget()
        layout.addWidget(self.tabs)
        x_page = QWidget()
        xv = QVBoxLayout(x_page)
        self.x_status = QLabel("")
        self.x_status.setObjectName("xStatus")
        xv.addWidget(self.x_status)
        row = QHBoxLayout()
        self.x_model, self.x_table = figure_table(t, "xTable", section_width=140, value_width=185, parent=self)
        row.addWidget(self.x_table, 5)
        self.chart_view = QChartView()
        self.chart_view.setObjectName("salesChart")
        self.chart_view.setRenderHint(QPainter.RenderHint.Antialiasing)
        row.addWidget(self.chart_view, 3)
        xv.addLayout(row)
        xb = QHBoxLayout()
        for name, text, slot in (("xRefresh", "Refresh", self.refresh_x), ("xPrint", "Print X", self._print_x),
                                 ("xPdf", "Export PDF", lambda: self._export_dialog(self.x_figures, "pdf")),
                                 ("xCsv", "Export CSV", lambda: self._export_dialog(self.x_figures, "csv"))):
            b = QPushButton(t(text))
            b.setObjectName(name)
            b.clicked.connect(slot)
            xb.addWidget(b)
        xv.addLayout(xb)
        self.tabs.addTab(x_page, t("X report"))
        z_page = QWidget()
        zv = QVBoxLayout(z_page)
        self.z_model = ZListModel(parent=self, tr=t)
        self.z_model.HEADERS = tuple(t(h) for h in ZListModel.HEADERS)  # type: ignore[assignment]
        self.z_table = QTableView()
        self.z_table.setObjectName("zTable")
        self.z_table.setModel(self.z_model)
        self.z_table.setSelectionBehavior(QTableView.SelectionBehavior.SelectRows)
        zv.addWidget(self.z_table)
        zb = QHBoxLayout()
        for name, text, slot in (("zReprint", "Reprint", self._reprint),
                                 ("zPdf", "Export PDF", lambda: self._export_selected_dialog("pdf")),
                                 ("zCsv", "Export CSV", lambda: self._export_selected_dialog("csv"))):
            b = QPushButton(t(text))
            b.setObjectName(name)
            b.clicked.connect(slot)
            zb.addWidget(b)
        zv.addLayout(zb)
        self.tabs.addTab(z_page, t("Z reports"))
        self.refresh_x()
        self.refresh_z()

    def refresh_x(self) -> None:
        """Rebuild the X report: in the background when the screen has a task runner, else right here."""
        if self._tasks is None:
            try:
                rep = self._reports.x_report(printed_by=self._printed_by)
            except ServiceError as exc:
                self._x_failed(exc)
                return
            self._show_x(rep)
            return
        if self._x_busy:                 # one at a time; a refresh asked for meanwhile follows it
            self._x_again = True
            return
        self._x_busy = True
        reports, printed_by = self._reports, self._printed_by
        self._tasks.submit(lambda: reports.x_report(printed_by=printed_by), self._x_arrived, self._x_error)

    def _x_arrived(self, rep: Report) -> None:
        if not shiboken6.isValid(self):  # closed while the report was being built
            return
        self._x_busy = False
        self._show_x(rep)
        self._follow_up()

    def _x_error(self, exc: BaseException) -> None:
        if not shiboken6.isValid(self):
            return
        self._x_busy = False
        if isinstance(exc, ServiceError):
            self._x_failed(exc)
        else:
            logger.error("X report failed", exc_info=exc)
            self.x_status.setText(self._t("The X report could not be built; please try again"))
        self._follow_up()

    def _follow_up(self) -> None:
        if self._x_again:
            self._x_again = False
            self.refresh_x()

    def _x_failed(self, exc: ServiceError) -> None:
        self.x_status.setText(self._t(str(exc)))
        self.x_model.set_rows([])

    def _show_x(self, rep: Report) -> None:
        self.x_figures, self.x_text = rep.figures, rep.text
        t = self._t
        # labels translated for display only: x_text / stored Z text stay exactly as rendered by the service
        self.x_model.set_rows([(sec_label, label, value, raw)
                               for _s, sec_label, _n, label, value, raw in localized_rows(rep.figures, t)])
        self.x_status.setText(t("Shift {number} — net {amount}", number=rep.figures["shift_number"],
                                amount=format_ui(int(rep.figures["net_fen"]))))
        hours = list(rep.figures.get("hours") or [])
        if hours != self._chart_hours:                  # a new chart only when its figures changed
            self._chart_hours = hours
            old = self.chart_view.chart()
            self.chart_view.setChart(sales_chart(rep.figures, t))
            if old is not None:
                old.deleteLater()

    def refresh_z(self) -> None:
        self.z_model.set_items(self._reports.z_reports())

    def selected_z(self) -> StoredZ | None:
        rows = self.z_table.selectionModel().selectedRows()
        row = rows[0].row() if rows else (0 if self.z_model.rowCount() else -1)
        return self.z_model.item(row) if row >= 0 else None

    def _print_x(self) -> None:
        self._print(self.x_text)

    def _reprint(self) -> None:
        z = self.selected_z()
        if z is not None:
            self._print(z.text)   # exactly what was printed at close

    def _print(self, text: str) -> None:
        if not text:
            return
        self.print_requested.emit(text)
        if self._printer is not None:
            self._printer(text)

    def export(self, figures: Figures, path: Path | str, fmt: str, *, page: str = "a4") -> Path:
        """Write ``figures`` as PDF (``page`` a4/80mm) or CSV, labels in the terminal language."""
        from .report_export import export_csv, export_pdf

        t = self._t
        return export_pdf(figures, path, page=page, tr=t) if fmt == "pdf" else export_csv(figures, path, tr=t)

    def _export_selected_dialog(self, fmt: str) -> None:
        z = self.selected_z()
        if z is not None:
            self._export_dialog(z.figures, fmt)

    def _export_dialog(self, figures: Figures, fmt: str) -> None:
        if not figures:
            return
        path, _ = QFileDialog.getSaveFileName(self, self._t("Export"), f"report.{fmt}", f"{fmt.upper()} (*.{fmt})")
        if path:
            self.export(figures, path, fmt)
