"""A small non-blocking prompt: a text box, and optionally a list of choices (Enter picks, Esc cancels)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import QDialog, QLabel, QLineEdit, QListWidget, QVBoxLayout, QWidget

__all__ = ["PromptDialog", "ask_text", "choose"]

logger = logging.getLogger(__name__)


class PromptDialog(QDialog):
    """Window-modal, opened with ``open()``; ``on_done(text_or_index)`` runs on Enter, never on Esc.

    With ``choices`` it shows a list (Up/Down move, Enter picks) and reports the chosen index.
    """

    def __init__(self, parent: QWidget, title: str, label: str, on_done: Callable[[str | int], None], *,
                 text: str = "", choices: Sequence[str] | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("promptDialog")
        self.setWindowTitle(title)
        self.setWindowModality(Qt.WindowModality.WindowModal)
        self._on_done = on_done
        self._finished = False
        lay = QVBoxLayout(self)
        lay.addWidget(QLabel(label, self))
        self.edit = QLineEdit(self)
        self.edit.setObjectName("promptText")
        self.list = QListWidget(self)
        self.list.setObjectName("promptChoices")
        if choices is None:
            self.edit.setText(text)
            self.edit.selectAll()
            lay.addWidget(self.edit)
            self.edit.returnPressed.connect(self._enter)
            self.list.hide()
        else:
            self.edit.hide()
            self.list.addItems(list(choices))
            self.list.setCurrentRow(0)
            lay.addWidget(self.list)
            self.list.itemActivated.connect(lambda _item: self._enter())
        self.resize(520, 120 if choices is None else 360)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            self._enter()
            return
        super().keyPressEvent(event)

    def focus_widget(self) -> QWidget:
        return self.list if self.edit.isHidden() else self.edit

    def _enter(self) -> None:
        if self._finished:
            return
        if self.edit.isHidden():
            row = self.list.currentRow()
            if row < 0:
                return
            value: str | int = row
        else:
            value = self.edit.text().strip()
            if not value:
                return
        self._finished = True
        self.accept()
        # After the key event that got here is delivered: on_done may open a modal dialog (a nested
        # event loop), and this dialog must not be deleted under the key event.
        QTimer.singleShot(0, lambda: self._finish(value))

    def _finish(self, value: str | int) -> None:
        try:
            self._on_done(value)
        finally:
            self.deleteLater()

    def reject(self) -> None:
        super().reject()
        self.deleteLater()


def ask_text(parent: QWidget, title: str, label: str, on_done: Callable[[str], None], text: str = "") -> PromptDialog:
    dialog = PromptDialog(parent, title, label, lambda value: on_done(str(value)), text=text)
    dialog.open()
    dialog.focus_widget().setFocus()
    return dialog


def choose(parent: QWidget, title: str, label: str, choices: Sequence[str],
           on_done: Callable[[int], None]) -> PromptDialog:
    dialog = PromptDialog(parent, title, label, lambda value: on_done(int(value)), choices=choices)
    dialog.open()
    dialog.focus_widget().setFocus()
    return dialog
