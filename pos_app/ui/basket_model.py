"""BasketModel: the basket table's model, built from the immutable SaleSnapshot's lines.

The cells are kept by Qt (a QStandardItemModel): painting the table reads them without calling into Python.
A Python ``data()`` was called for every visible cell and role at each repaint, about 800 calls a scan with a
screenful of lines, and that was a third of the GUI thread's time while ringing up (issue 18 profile).
``set_snapshot`` changes only the rows whose line changed and appends new ones.
"""

from __future__ import annotations

import logging

from PySide6.QtCore import QModelIndex, QObject, QPersistentModelIndex, Qt
from PySide6.QtGui import QBrush, QColor, QFont, QStandardItem, QStandardItemModel

from pos_app.domain.money import format_ui
from pos_app.domain.sale import SaleSnapshot

from .i18n import Translator
from .snapshot_view import LineView, line_views

__all__ = ["BasketModel", "LineRole", "VoidedRole"]

logger = logging.getLogger(__name__)

LineRole = int(Qt.ItemDataRole.UserRole) + 1
"""The LineView of a row."""
VoidedRole = int(Qt.ItemDataRole.UserRole) + 2
"""True when the row's line was voided."""

_Index = QModelIndex | QPersistentModelIndex
_VOIDED_COLOUR = "#9e9e9e"
_LEFT = Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter
_RIGHT = Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
_FLAGS = Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable


class BasketModel(QStandardItemModel):
    """Columns: #, item, quantity, unit price, amount. ``set_snapshot`` shows a new snapshot."""

    COLUMNS = ("#", "Item", "Qty", "Price", "Amount")

    def __init__(self, tr: Translator, parent: QObject | None = None) -> None:
        super().__init__(0, len(self.COLUMNS), parent)
        self._tr = tr
        self._lines: tuple[LineView, ...] = ()
        self._struck = QFont()
        self._struck.setStrikeOut(True)      # QA #4: a voided line reads as crossed out
        self._grey = QBrush(QColor(_VOIDED_COLOUR))

    def set_snapshot(self, snapshot: SaleSnapshot | None) -> None:
        """Show ``snapshot`` (None: an empty basket). Appends are row inserts; a changed line changes its row."""
        new = line_views(snapshot, self._tr.is_chinese) if snapshot is not None else ()
        old = self._lines
        self._lines = new
        common = min(len(old), len(new))
        for row in range(common):
            if old[row] != new[row]:
                for col, item in enumerate(self._row_items(row, new[row])):
                    self.setItem(row, col, item)
        if len(new) > len(old):
            for row in range(len(old), len(new)):
                self.appendRow(self._row_items(row, new[row]))
        elif len(new) < len(old):
            self.removeRows(len(new), len(old) - len(new))

    def _row_items(self, row: int, line: LineView) -> list[QStandardItem]:
        texts = (
            str(row + 1),
            line.name + (f"  ({self._tr('void')}: {line.void_reason})" if line.voided else ""),
            line.quantity_text,
            format_ui(line.unit_price_fen),
            format_ui(0 if line.voided else line.amount_fen),
        )
        tip = f"{line.code}  {self._tr('void')}: {line.void_reason}" if line.voided else line.code
        items = []
        for col, text in enumerate(texts):
            item = QStandardItem(text)
            item.setFlags(_FLAGS)
            item.setTextAlignment(_RIGHT if col >= 2 else _LEFT)
            item.setToolTip(tip)
            item.setData(line, LineRole)
            item.setData(line.voided, VoidedRole)
            if line.voided:
                item.setFont(self._struck)
                item.setForeground(self._grey)
            items.append(item)
        return items

    def line_at(self, row: int) -> LineView | None:
        return self._lines[row] if 0 <= row < len(self._lines) else None

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole) -> object:
        if role == Qt.ItemDataRole.DisplayRole and orientation == Qt.Orientation.Horizontal \
                and 0 <= section < len(self.COLUMNS):
            return self._tr(self.COLUMNS[section])
        return None
