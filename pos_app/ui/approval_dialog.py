"""Supervisor approval dialog: number (or card scan), masked PIN, reason code and note."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QVBoxLayout,
    QWidget,
)

from pos_app.services.approvals import ACTIONS, Approval, reasons_for
from pos_app.services.errors import ServiceError
from pos_app.services.users import User, UserService

__all__ = ["ApprovalDialog"]

logger = logging.getLogger(__name__)


def _identity(text: str, /, **values: object) -> str:
    return text.format(**values) if values else text


class ApprovalDialog(QDialog):
    """Ask a supervisor to approve ``action`` on ``subject``.

    ``exec()`` returns the recorded Approval, or None when cancelled (``result_approval`` keeps it).
    ``reasons`` are ``(code, label)`` pairs (plain strings are used as both); ``detail`` is shown large
    (the amount of a refund).
    A supervisor card scanned by a wedge scanner lands in the number field and moves focus to the PIN.
    """

    def __init__(self, users_service: UserService, action: str, subject: str,
                 reasons: Sequence[tuple[str, str] | str] | None = None, parent: QWidget | None = None, *,
                 requested_by: User | None = None, tr: Callable[..., str] | None = None, detail: str = "") -> None:
        super().__init__(parent)
        t = tr or _identity
        self.setObjectName("approvalDialog")
        self.setWindowTitle(t("Supervisor approval"))
        self._users = users_service
        self._t = t
        self._action = action
        self._subject = subject
        self._requested_by = requested_by
        self.result_approval: Approval | None = None
        pairs = [(r, t(r)) if isinstance(r, str) else (r[0], t(r[1])) for r in (reasons or reasons_for(action))]
        layout = QVBoxLayout(self)
        what = QLabel(f"{t(ACTIONS.get(action, action))}" + (f": {subject}" if subject else ""))
        what.setObjectName("approvalWhat")
        layout.addWidget(what)
        if detail:  # what the supervisor approves, e.g. the amount of a refund
            shown = QLabel(detail)
            shown.setObjectName("approvalDetail")
            shown.setStyleSheet("font-size: 18px; font-weight: bold")
            layout.addWidget(shown)
        form = QFormLayout()
        self.number = QLineEdit()
        self.number.setObjectName("approvalNumber")
        self.number.setPlaceholderText(t("Supervisor number or scan card"))
        self.pin = QLineEdit()
        self.pin.setObjectName("approvalPin")
        self.pin.setEchoMode(QLineEdit.EchoMode.Password)
        self.pin.setMaxLength(12)   # a PIN is up to 12 digits (services/users.py); 8 cut longer supervisor PINs
        self.reason = QComboBox()
        self.reason.setObjectName("approvalReason")
        for code, label in pairs:
            self.reason.addItem(label, code)
        self.note = QLineEdit()
        self.note.setObjectName("approvalNote")
        form.addRow(t("Supervisor"), self.number)
        form.addRow(t("PIN"), self.pin)
        form.addRow(t("Reason"), self.reason)
        form.addRow(t("Note"), self.note)
        layout.addLayout(form)
        self.error = QLabel("")
        self.error.setObjectName("approvalError")
        self.error.setStyleSheet("color: #b00020")
        layout.addWidget(self.error)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        ok = buttons.button(QDialogButtonBox.StandardButton.Ok)
        ok.setText(t("OK"))
        # Enter belongs to the fields (number -> PIN -> approve), never to a default button: an Enter after
        # the supervisor number must not submit an empty PIN (a false wrong-PIN strike in the audit log)
        ok.setAutoDefault(False)
        ok.setDefault(False)
        buttons.button(QDialogButtonBox.StandardButton.Cancel).setText(t("Cancel"))
        buttons.accepted.connect(self._approve)
        buttons.rejected.connect(self.reject)
        self.buttons = buttons
        layout.addWidget(buttons)
        self.number.returnPressed.connect(self.pin.setFocus)
        self.pin.returnPressed.connect(self._approve)
        self.number.setFocus(Qt.FocusReason.OtherFocusReason)

    def approval(self) -> Approval | None:
        return self.result_approval

    def fill_card(self, card_code: str) -> None:
        """A scanned supervisor card: fill the number and move on to the PIN."""
        self.number.setText(card_code)
        self.pin.setFocus()

    def _approve(self) -> None:
        if not self.number.text().strip():
            self.number.setFocus()
            return
        if not self.pin.text():
            self.pin.setFocus()
            return
        code = self.reason.currentData()
        try:
            self.result_approval = self._users.approve(
                self._action, self._subject, self.number.text().strip(), self.pin.text(),
                str(code or ""), self.note.text().strip(), requested_by=self._requested_by)
        except ServiceError as exc:
            self.pin.clear()
            self.error.setText(self._t(str(exc)))
            return
        self.accept()

    def exec(self) -> Approval | None:  # type: ignore[override]
        """Run the dialog modally; the recorded Approval, or None if cancelled."""
        code = super().exec()
        return self.result_approval if code == QDialog.DialogCode.Accepted.value else None
