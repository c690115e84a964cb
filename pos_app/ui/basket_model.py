"""BasketModel: a read-only QAbstractTableModel over the immutable SaleSnapshot's lines."""

from __future__ import annotations

import logging

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QObject, QPersistentModelIndex, Qt
from PySide6.QtGui import QBrush, QColor, QFont

from pos_app.domain.money import format_ui
from pos_app.domain.sale import SaleSnapshot

from .i18n import Translator
from .qtcompat import emit
from .snapshot_view import LineView, line_views

__all__ = ["BasketModel", "LineRole", "VoidedRole"]

logger = logging.getLogger(__name__)

LineRole = int(Qt.ItemDataRole.UserRole) + 1
"""The LineView of a row."""
VoidedRole = int(Qt.ItemDataRole.UserRole) + 2
"""True when the row's line was voided."""

_Index = QModelIndex | QPersistentModelIndex
_VOIDED_COLOUR = "#9e9e9e"


class BasketModel(QAbstractTableModel):
    """Columns: #, item, quantity, unit price, amount. ``set_snapshot`` replaces everything at once."""

    COLUMNS = ("#", "Item", "Qty", "Price", "Amount")

    def __init__(self, tr: Translator, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._tr = tr
        self._lines: tuple[LineView, ...] = ()

    def set_snapshot(self, snapshot: SaleSnapshot | None) -> None:
        """Show ``snapshot`` (None: an empty basket). Appends are signalled as row inserts."""
        new = line_views(snapshot, self._tr.is_chinese) if snapshot is not None else ()
        old = self._lines
        if len(new) > len(old) and new[: len(old)] == old:
            self.beginInsertRows(QModelIndex(), len(old), len(new) - 1)
            self._lines = new
            self.endInsertRows()
            return
        if len(new) == len(old) and len(new) > 0:
            self._lines = new
            changed = [i for i, (a, b) in enumerate(zip(old, new, strict=True)) if a != b]
            if changed:
                emit(self.dataChanged, self.index(min(changed), 0), self.index(max(changed), len(self.COLUMNS) - 1))
            return
        self.beginResetModel()
        self._lines = new
        self.endResetModel()

    def line_at(self, row: int) -> LineView | None:
        return self._lines[row] if 0 <= row < len(self._lines) else None

    def rowCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008 (Qt signature)
        return 0 if parent.isValid() else len(self._lines)

    def columnCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.COLUMNS)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole) -> object:
        if role == Qt.ItemDataRole.DisplayRole and orientation == Qt.Orientation.Horizontal \
                and 0 <= section < len(self.COLUMNS):
            return self._tr(self.COLUMNS[section])
        return None

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole) -> object:
        if not index.isValid() or not 0 <= index.row() < len(self._lines):
            return None
        line = self._lines[index.row()]
        col = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            if col == 0:
                return str(index.row() + 1)
            if col == 1:
                return line.name + (f"  ({self._tr('void')}: {line.void_reason})" if line.voided else "")
            if col == 2:
                return line.quantity_text
            if col == 3:
                return format_ui(line.unit_price_fen)
            if col == 4:
                return format_ui(0 if line.voided else line.amount_fen)
            return None
        if role == Qt.ItemDataRole.FontRole and line.voided:
            font = QFont()
            font.setStrikeOut(True)      # QA #4: a voided line reads as crossed out
            return font
        if role == Qt.ItemDataRole.ForegroundRole and line.voided:
            return QBrush(QColor(_VOIDED_COLOUR))
        if role == Qt.ItemDataRole.TextAlignmentRole:
            if col >= 2:
                return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            return int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
        if role == Qt.ItemDataRole.ToolTipRole:
            if line.voided:
                return f"{line.code}  {self._tr('void')}: {line.void_reason}"
            return line.code
        if role == LineRole:
            return line
        if role == VoidedRole:
            return line.voided
        return None

    def flags(self, index: _Index) -> Qt.ItemFlag:
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        return Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable
