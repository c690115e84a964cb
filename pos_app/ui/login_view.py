"""Login screen: cashier number and PIN (demo credentials shown in demo mode)."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QFormLayout, QLabel, QLineEdit, QPushButton, QVBoxLayout, QWidget

from .i18n import Translator
from .qtcompat import emit

__all__ = ["LoginView"]


class LoginView(QWidget):
    """Signals:
        login_requested(str number, str pin)
    """

    login_requested = Signal(str, str)

    def __init__(self, tr: Translator, demo_hint: str = "", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._tr = tr
        title = QLabel(tr("Log in"), self)
        title.setObjectName("bigStatus")
        self.number = QLineEdit(self)
        self.number.setObjectName("cashierNumber")
        self.pin = QLineEdit(self)
        self.pin.setObjectName("pin")
        self.pin.setEchoMode(QLineEdit.EchoMode.Password)
        self.error = QLabel(self)
        self.error.setObjectName("notice")
        self.error.setWordWrap(True)
        self.error.hide()
        button = QPushButton(tr("Log in (Enter)"), self)
        button.setObjectName("primary")
        button.clicked.connect(self._submit)
        self.number.returnPressed.connect(self.pin.setFocus)
        self.pin.returnPressed.connect(self._submit)
        form = QFormLayout()
        form.addRow(tr("Cashier number"), self.number)
        form.addRow(tr("PIN"), self.pin)
        box = QWidget(self)
        box.setMaximumWidth(460)
        lay = QVBoxLayout(box)
        lay.addWidget(title)
        lay.addLayout(form)
        lay.addWidget(button)
        lay.addWidget(self.error)
        if demo_hint:
            hint = QLabel(demo_hint, box)
            hint.setObjectName("demoHint")
            hint.setWordWrap(True)
            lay.addWidget(hint)
        outer = QVBoxLayout(self)
        outer.addStretch(1)
        outer.addWidget(box, 0, Qt.AlignmentFlag.AlignHCenter)
        outer.addStretch(2)

    def _submit(self) -> None:
        self.error.hide()
        emit(self.login_requested, self.number.text().strip(), self.pin.text())

    def show_error(self, text: str) -> None:
        self.pin.clear()
        self.error.setText(text)
        self.error.show()
        self.pin.setFocus()

    def reset(self) -> None:
        self.number.clear()
        self.pin.clear()
        self.error.hide()
        self.number.setFocus()
