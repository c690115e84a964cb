"""The supervisor's Items screen: search the catalogue, an item's price history, import a file (approved)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from PySide6.QtWidgets import (
    QDialog,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from pos_app.domain.items import ItemRecord
from pos_app.services.errors import ServiceError
from pos_app.services.items import IMPORT_ACTION, ItemsService

__all__ = ["ItemsDialog", "open_items"]

logger = logging.getLogger(__name__)


def _yuan(fen: int | None) -> str:
    return "" if fen is None else f"{fen // 100}.{fen % 100:02d}"


class ItemsDialog(QDialog):
    """Search box, the items found, and the selected item's price history; "Import..." asks for approval."""

    def __init__(self, service: ItemsService, ask_approval: Callable[[QWidget, str, str], Any] | None,
                 parent: QWidget | None = None, tr: Callable[..., str] = lambda s, **kw: s) -> None:
        super().__init__(parent)
        self._service = service
        self._ask = ask_approval
        self._tr = tr
        self._items: list[ItemRecord] = []
        self.setObjectName("itemsDialog")
        self.setWindowTitle(tr("Items"))
        self.search = QLineEdit(self)
        self.search.setPlaceholderText(tr("Code, barcode or name"))
        self.search.returnPressed.connect(self.run_search)
        find = QPushButton(tr("Search"), self)
        find.clicked.connect(self.run_search)
        self.import_button = QPushButton(tr("Import catalogue file..."), self)
        self.import_button.setEnabled(service.can_import and ask_approval is not None)
        self.import_button.clicked.connect(self._choose_file)
        top = QHBoxLayout()
        top.addWidget(self.search, 1)
        top.addWidget(find)
        top.addWidget(self.import_button)
        self.table = QTableWidget(0, 7, self)
        self.table.setHorizontalHeaderLabels([tr("Code"), tr("Barcodes"), tr("Name"), tr("Price"),
                                              tr("Member price"), tr("Tax rate"), tr("Active")])
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QTableWidget.SelectionBehavior.SelectRows)
        self.table.horizontalHeader().setSectionResizeMode(2, QHeaderView.ResizeMode.Stretch)
        self.table.itemSelectionChanged.connect(self._show_history)
        self.history = QTableWidget(0, 5, self)
        self.history.setHorizontalHeaderLabels([tr("When (UTC)"), tr("Field"), tr("Old"), tr("New"), tr("By")])
        self.history.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.history.horizontalHeader().setStretchLastSection(True)
        self.status = QLabel("", self)
        self.status.setWordWrap(True)
        lay = QVBoxLayout(self)
        lay.addLayout(top)
        lay.addWidget(self.table, 3)
        lay.addWidget(QLabel(tr("Price history"), self))
        lay.addWidget(self.history, 2)
        lay.addWidget(self.status)
        self.resize(960, 620)

    def run_search(self) -> None:
        self._items = self._service.search(self.search.text())
        self.table.setRowCount(len(self._items))
        for row, it in enumerate(self._items):
            cells = [it.code, " ".join(it.barcodes), it.name_zh or it.name_en, _yuan(it.price_fen),
                     _yuan(it.member_price_fen), f"{it.tax_rate_bp / 100:g}%",
                     self._tr("yes") if it.active else self._tr("no")]
            for col, text in enumerate(cells):
                self.table.setItem(row, col, QTableWidgetItem(text))
        self.status.setText(self._tr("{n} items found", n=len(self._items)))
        self.history.setRowCount(0)
        if self._items:
            self.table.selectRow(0)

    def _show_history(self) -> None:
        rows = {i.row() for i in self.table.selectedIndexes()}
        if not rows:
            return
        changes = self._service.history(self._items[min(rows)].code)
        self.history.setRowCount(len(changes))
        for row, ch in enumerate(changes):
            field = self._tr("Price") if ch.field == "price" else self._tr("Member price")
            for col, text in enumerate((ch.at[:19].replace("T", " "), field, _yuan(ch.old_fen), _yuan(ch.new_fen),
                                        ch.by_user)):
                self.history.setItem(row, col, QTableWidgetItem(text))

    def _choose_file(self) -> None:
        path, _filter = QFileDialog.getOpenFileName(self, self._tr("Catalogue file"), "",
                                                    "Excel / CSV (*.xlsx *.csv)")
        if path:
            self.import_path(path)

    def import_path(self, path: str, *, full: bool = False) -> bool:
        """Ask a supervisor to approve, then validate and apply ``path``; the outcome is shown below."""
        if self._ask is None:
            return False
        approval = self._ask(self, IMPORT_ACTION, path)
        if approval is None:
            self.status.setText(self._tr("Import cancelled"))
            return False
        try:
            outcome = self._service.import_file(path, approver_role=approval.approver_role,
                                                approver_name=approval.approver_name, full=full)
        except ServiceError as exc:
            self.status.setText(str(exc))
            return False
        head = self._tr("Imported") if outcome.ok else self._tr("Nothing was imported")
        self.status.setText(head + ": " + "\n".join(list(outcome.lines)[:20]))
        if outcome.ok and self.search.text().strip():
            self.run_search()
        return outcome.ok


def open_items(ctx: Any, window: Any, service: ItemsService) -> Callable[[Any], None]:
    """The ``intent:items`` handler: supervisors open it directly, a cashier needs an approval."""
    def handler(controller: Any) -> None:
        session = controller.session
        ask = ctx.nav.ask_approval
        if session is None or session.role not in ("supervisor", "admin"):
            if ask is None or ask(window, "items", ctx.tr("Items"), [ctx.tr("View items")]) is None:
                return

        def ask_import(parent: QWidget, action: str, subject: str) -> Any:
            return ask(parent, action, subject, [ctx.tr("Catalogue import")]) if ask is not None else None

        dialog = ItemsDialog(service, ask_import, window, tr=ctx.tr)
        dialog.exec()

    return handler
