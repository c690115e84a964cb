"""The supervisor's promotions screen: every stored promotion, on or off; Space switches the selected one (audited
under the approving supervisor), applied from the next sale. Import and export stay `pos-app promotions`."""

from __future__ import annotations

import logging

from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import QDialog, QLabel, QListWidget, QListWidgetItem, QVBoxLayout, QWidget

from pos_app.services.errors import ServiceError, ServiceUnavailable
from pos_app.services.promotions import PromotionRow, PromotionsService

from .i18n import Translator

__all__ = ["PromotionsDialog"]

logger = logging.getLogger(__name__)


class PromotionsDialog(QDialog):
    """Up/Down choose, Space switches on/off, Esc closes."""

    def __init__(self, service: PromotionsService, tr: Translator, *, user_id: int | None, user_name: str,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("promotionsDialog")
        self.setWindowTitle(tr("Promotions"))
        self._service = service
        self._t = tr
        self._user_id = user_id
        self._user_name = user_name
        self.rows: list[PromotionRow] = []
        self.list = QListWidget(self)
        self.list.setObjectName("promotions")
        self.status = QLabel(tr("Space switches the chosen promotion on or off; it applies from the next sale"), self)
        self.status.setWordWrap(True)
        lay = QVBoxLayout(self)
        lay.addWidget(self.list)
        lay.addWidget(self.status)
        self.list.installEventFilter(self)
        self.resize(820, 460)
        self.reload()
        self.list.setFocus()

    def reload(self) -> None:
        row = max(self.list.currentRow(), 0)
        self.list.clear()
        try:
            self.rows = self._service.rows()
        except (ServiceError, ServiceUnavailable) as exc:
            self.status.setText(str(exc))
            self.rows = []
        for r in self.rows:
            mark = self._t("on") if r.active else self._t("off")
            text = f"[{mark}]  {r.id}  {r.name}  ({r.kind}; {r.scope})"
            if r.window:
                text += f"  {r.window}"
            if r.flags:
                text += f"  {r.flags}"
            item = QListWidgetItem(text)
            item.setData(Qt.ItemDataRole.UserRole, r.id)
            self.list.addItem(item)
        if self.rows:
            self.list.setCurrentRow(min(row, len(self.rows) - 1))
        else:
            self.status.setText(self._t("No promotions are stored: import a promotions file (pos-app promotions "
                                        "import)"))

    def toggle(self) -> None:
        row = self.list.currentRow()
        if not 0 <= row < len(self.rows):
            return
        r = self.rows[row]
        try:
            self._service.set_active(r.id, not r.active, user_id=self._user_id, user_name=self._user_name)
        except (ServiceError, ServiceUnavailable) as exc:
            self.status.setText(str(exc))
            return
        self.reload()
        self.status.setText(self._t("{id} is now {state}: it applies from the next sale", id=r.id,
                                    state=self._t("off") if r.active else self._t("on")))

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        # the list would take Space to select: here Space switches the promotion
        if watched is self.list and event.type() == QEvent.Type.KeyPress and isinstance(event, QKeyEvent) \
                and event.key() == Qt.Key.Key_Space:
            self.toggle()
            return True
        return super().eventFilter(watched, event)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() == Qt.Key.Key_Space:
            self.toggle()
            return
        super().keyPressEvent(event)
