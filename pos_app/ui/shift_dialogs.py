"""Shift dialogs: open with a float by denomination, pay-in/out/drop/no-sale, blind-count close."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping

from PySide6.QtCore import QTimer
from PySide6.QtGui import QFocusEvent
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QListWidget,
    QPushButton,
    QSpinBox,
    QStackedWidget,
    QTableWidget,
    QTableWidgetItem,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from pos_app.domain.errors import DomainError
from pos_app.domain.money import format_ui, parse_yuan
from pos_app.domain.shift import DENOMINATIONS_FEN
from pos_app.services.approvals import ACTIONS, Approval, reasons_for
from pos_app.services.errors import ServiceError
from pos_app.services.ports.clock import BEIJING
from pos_app.services.ports.shifts import ShiftRecord
from pos_app.services.shifts import (
    CloseResult,
    DifferenceNeedsApproval,
    ShiftService,
    TenderComparison,
    UnresolvedPayments,
)
from pos_app.services.users import User, UserService

from .report_export import report_html

__all__ = ["Approver", "CountWidget", "OpenShiftDialog", "CashMovementDialog", "CloseShiftDialog", "ShiftDialog"]

logger = logging.getLogger(__name__)

Tr = Callable[..., str]


def _identity(text: str, /, **values: object) -> str:
    return text.format(**values) if values else text

Approver = Callable[[str, str], Approval | None]
"""``approver(action, subject)`` asks a supervisor; returns the Approval or None when cancelled."""


def _dialog_approver(users: UserService | None, parent: QWidget, requested_by: User, tr: Tr = _identity) -> Approver:
    def ask(action: str, subject: str) -> Approval | None:
        if users is None:
            return None
        from .approval_dialog import ApprovalDialog

        return ApprovalDialog(users, action, subject, reasons_for(action), parent, requested_by=requested_by,
                              tr=tr).exec()

    return ask


class _CountSpin(QSpinBox):
    """A count field: focus selects the whole number, so typing 5 into the "0" it shows means 5.

    Qt selects the text only on a Tab focus; on the dialog's first field the cursor sat before the 0 and
    typing 5 gave 50 (a real till opened a ¥5,000 float where the cashier meant ¥500).
    """

    def focusInEvent(self, event: QFocusEvent) -> None:  # noqa: N802 - Qt's name
        super().focusInEvent(event)
        QTimer.singleShot(0, self, self.selectAll)  # the context: no call once the field is gone


class CountWidget(QWidget):
    """One spin box per note/coin; ``counts()`` -> {denomination_fen: pieces}. Emits nothing about expected."""

    def __init__(self, parent: QWidget | None = None, tr: Tr = _identity) -> None:
        super().__init__(parent)
        form = QFormLayout(self)
        self.spins: dict[int, QSpinBox] = {}
        for d in DENOMINATIONS_FEN:
            spin = _CountSpin()
            spin.setObjectName(f"count_{d}")
            spin.setRange(0, 100000)
            spin.valueChanged.connect(self._update)
            self.spins[d] = spin
            form.addRow(format_ui(d), spin)
        self.total = QLabel(format_ui(0))
        self.total.setObjectName("countTotal")
        form.addRow(tr("Total"), self.total)

    def counts(self) -> dict[int, int]:
        return {d: s.value() for d, s in self.spins.items() if s.value()}

    def set_counts(self, counts: Mapping[int, int]) -> None:
        for d, n in counts.items():
            self.spins[d].setValue(n)

    def _update(self) -> None:
        self.total.setText(format_ui(sum(d * n for d, n in self.counts().items())))


class _Base(QDialog):
    def __init__(self, title: str, parent: QWidget | None, tr: Tr = _identity) -> None:
        super().__init__(parent)
        self._t = tr
        self.setWindowTitle(tr(title))
        self.layout_ = QVBoxLayout(self)
        self.error = QLabel("")
        self.error.setObjectName("shiftError")
        self.error.setStyleSheet("color: #b00020")

    def _buttons(self, ok_text: str, on_ok: Callable[[], None]) -> QDialogButtonBox:
        box = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        ok = box.addButton(self._t(ok_text), QDialogButtonBox.ButtonRole.AcceptRole)
        ok.setObjectName("okButton")
        ok.clicked.connect(on_ok)
        box.rejected.connect(self.reject)
        self.layout_.addWidget(self.error)
        self.layout_.addWidget(box)
        return box


class OpenShiftDialog(_Base):
    """Open a shift with the opening float counted by denomination; ``shift`` holds the result."""

    def __init__(self, shifts: ShiftService, user: User, parent: QWidget | None = None, *,
                 tr: Tr = _identity) -> None:
        super().__init__("Open shift", parent, tr)
        self._shifts, self._user = shifts, user
        self.shift: ShiftRecord | None = None
        self.layout_.addWidget(QLabel(tr("Count the opening float")))
        carried = shifts.carried_float()
        if carried is not None:   # counter (issue 14): what the last shift left in the drawer
            note = QLabel(tr("The last shift left {amount} in the drawer", amount=format_ui(carried)))
            note.setObjectName("carriedFloat")
            self.layout_.addWidget(note)
        self.count = CountWidget(tr=tr)
        self.layout_.addWidget(self.count)
        self._buttons("Open shift", self._open)

    def _open(self) -> None:
        try:
            self.shift = self._shifts.open_shift(self._user, self.count.counts())
        except (ServiceError, DomainError) as exc:
            self.error.setText(self._t(str(exc)))
            return
        self.accept()


class CashMovementDialog(_Base):
    """Pay-in, pay-out, drop or no-sale with a reason; a supervisor approves before it is recorded."""

    def __init__(self, shifts: ShiftService, user: User, kind: str, approver: Approver,
                 parent: QWidget | None = None, *, tr: Tr = _identity) -> None:
        super().__init__(ACTIONS.get(kind, kind), parent, tr)
        self._shifts, self._user, self._kind, self._approver = shifts, user, kind, approver
        self.movement_id: int | None = None
        form = QFormLayout()
        self.amount = QLineEdit()
        self.amount.setObjectName("movementAmount")
        self.reason = QLineEdit()
        self.reason.setObjectName("movementReason")
        if kind != "no_sale":
            form.addRow(tr("Amount (¥)"), self.amount)
        form.addRow(tr("Reason"), self.reason)
        self.layout_.addLayout(form)
        self._buttons("Record", self._record)

    def _record(self) -> None:
        try:
            amount = 0 if self._kind == "no_sale" else parse_yuan(self.amount.text(), allow_zero=False)
            if not self.reason.text().strip():
                raise ServiceError("a reason is required")
            approval = self._approver(self._kind, self.reason.text().strip())
            if approval is None:
                self.error.setText(self._t("not approved"))
                return
            self.movement_id = self._shifts.cash_movement(self._kind, amount, self.reason.text(), self._user,
                                                          approval)
        except (ServiceError, DomainError) as exc:
            self.error.setText(self._t(str(exc)))
            return
        self.accept()


def _comparison_table(rows: tuple[TenderComparison, ...], tr: Tr = _identity) -> QTableWidget:
    table = QTableWidget(len(rows), 4)
    table.setObjectName("comparisonTable")
    table.setHorizontalHeaderLabels([tr("Tender"), tr("Expected"), tr("Counted"), tr("Difference")])
    for i, c in enumerate(rows):
        for j, text in enumerate((tr(c.tender), format_ui(c.expected_fen), format_ui(c.counted_fen),
                                  format_ui(c.difference_fen))):
            table.setItem(i, j, QTableWidgetItem(text))
    # every column readable without scrolling sideways (seen clipped in a real terminal's close dialog)
    table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
    table.verticalHeader().setVisible(False)
    table.setFixedHeight(table.horizontalHeader().sizeHint().height() + 32 * max(1, len(rows)) + 4)
    return table


class CloseShiftDialog(_Base):
    """Blind close: the cashier counts first; expected/counted/difference is shown only after the count.

    Pages: 0 count (with what blocks closing), 1 needs a supervisor (difference or unresolved
    payments), 2 result (comparison and Z report text). ``result_`` holds the CloseResult.
    """

    def __init__(self, shifts: ShiftService, user: User, approver: Approver, parent: QWidget | None = None, *,
                 tr: Tr = _identity) -> None:
        super().__init__("Close shift", parent, tr)
        self._shifts, self._user, self._approver = shifts, user, approver
        self.result_: CloseResult | None = None
        self._approval: Approval | None = None
        self._escalation: Approval | None = None
        self.pages = QStackedWidget()
        self.layout_.addWidget(self.pages)
        ready = shifts.begin_close()
        count_page = QWidget()
        v = QVBoxLayout(count_page)
        v.addWidget(QLabel(tr("Shift {number}: count the drawer", number=ready.shift_number)))
        self.blocking = QListWidget()
        self.blocking.setObjectName("blockingPayments")
        for p in ready.blocking_payments:
            self.blocking.addItem(f"{p.out_trade_no}  {p.state}  {format_ui(p.amount_fen)}  {p.cashier}")
        if ready.blocking_payments:
            v.addWidget(QLabel(tr("Alipay payments without a final outcome (block closing):")))
            v.addWidget(self.blocking)
        self.sync_label = QLabel(tr("Loyalty sync rows still pending: {n} (listed on the Z report)", n=ready.pending_sync))
        v.addWidget(self.sync_label)
        self.count = CountWidget(tr=tr)
        v.addWidget(self.count)
        # counter (issue 14): the float that stays in the drawer for the next shift (empty: not said)
        self.float_left = QLineEdit()
        self.float_left.setObjectName("floatLeft")
        self.float_left.setPlaceholderText(tr("Leave in the drawer for the next shift (¥), empty = not said"))
        v.addWidget(self.float_left)
        self.pages.addWidget(count_page)
        need_page = QWidget()
        self.need_layout = QVBoxLayout(need_page)
        self.need_label = QLabel("")
        self.need_label.setObjectName("needLabel")
        self.need_layout.addWidget(self.need_label)
        self.supervisor_button = QPushButton(tr("Supervisor approval"))
        self.supervisor_button.setObjectName("supervisorButton")
        self.supervisor_button.clicked.connect(self._ask_supervisor)
        self.need_layout.addWidget(self.supervisor_button)
        self.pages.addWidget(need_page)
        done_page = QWidget()
        self.done_layout = QVBoxLayout(done_page)
        # the Z in the cashier's language (the stored, printed text is the record: F9 and `pos-app report`)
        self.z_text = QTextBrowser()
        self.z_text.setObjectName("zText")
        self.done_layout.addWidget(self.z_text)
        self.pages.addWidget(done_page)
        self._pending_action = ""
        self.ok = self._buttons("Count done, close", self._close)

    def _close(self) -> None:
        if self.result_ is not None:
            self.accept()
            return
        try:
            left_text = self.float_left.text().strip()
            left = parse_yuan(left_text) if left_text else None
            self.result_ = self._shifts.close_shift(self.count.counts(), self._user, self._approval,
                                                    escalation=self._escalation, float_left_fen=left)
        except UnresolvedPayments as exc:
            self._pending_action = "escalate_payments"
            lines = "\n".join(f"{p.out_trade_no} {p.state} {format_ui(p.amount_fen)}" for p in exc.payments)
            self.need_label.setText(f"{self._t(str(exc))}\n{lines}")
            self.pages.setCurrentIndex(1)
            return
        except DifferenceNeedsApproval as exc:
            self._pending_action = "close_difference"
            self.need_label.setText(self._t(str(exc)))
            self.need_layout.insertWidget(1, _comparison_table(exc.comparison, self._t))
            self.pages.setCurrentIndex(1)
            return
        except (ServiceError, DomainError) as exc:
            self.error.setText(self._t(str(exc)))
            return
        self.done_layout.insertWidget(0, _comparison_table(self.result_.comparison, self._t))
        self.z_text.setHtml(report_html(self.result_.figures, tr=self._t))
        self.pages.setCurrentIndex(2)
        self._grow_within_screen(620, 720)
        for button in self.ok.buttons():
            if button.objectName() == "okButton":
                button.setText(self._t("Done"))
            elif self.ok.buttonRole(button) == QDialogButtonBox.ButtonRole.RejectRole:
                button.hide()   # the shift is closed: nothing left to cancel

    def _grow_within_screen(self, width: int, height: int) -> None:
        """Room for the Z report, on screen: a 1280x800 till cut the Done button off below the screen's edge."""
        screen = self.screen().availableGeometry() if self.screen() is not None else None
        if screen is not None:
            width, height = min(width, screen.width() - 20), min(height, screen.height() - 40)
        self.resize(max(self.width(), width), max(self.height(), height))
        if screen is not None:
            frame = self.frameGeometry()
            frame.moveCenter(screen.center())
            self.move(frame.topLeft())

    def _ask_supervisor(self) -> None:
        approval = self._approver(self._pending_action, f"shift {self._user.name}")
        if approval is None:
            return
        if self._pending_action == "escalate_payments":
            self._escalation = approval
        else:
            self._approval = approval
        self.pages.setCurrentIndex(0)
        self._close()


class ShiftDialog(_Base):
    """The shift hub the terminal opens (F11): open, pay-in/out/drop/no-sale, close."""

    def __init__(self, shifts: ShiftService, user: User, parent: QWidget | None = None, *,
                 users: UserService | None = None, approver: Approver | None = None, tr: Tr = _identity) -> None:
        super().__init__("Shift", parent, tr)
        self._shifts, self._user = shifts, user
        self.approver = approver or _dialog_approver(users, self, user, tr)
        self.current: QDialog | None = None
        self.status = QLabel("")
        self.status.setObjectName("shiftStatus")
        self.layout_.addWidget(self.status)
        row = QHBoxLayout()
        self.buttons_: dict[str, QPushButton] = {}
        for key, text in (("open", "Open shift"), ("pay_in", "Pay in"), ("pay_out", "Pay out"), ("drop", "Drop"),
                          ("no_sale", "No sale"), ("close", "Close shift")):
            b = QPushButton(tr(text))
            b.setObjectName(f"shift_{key}")
            b.clicked.connect(lambda _=False, k=key: self.run(k))
            self.buttons_[key] = b
            row.addWidget(b)
        self.layout_.addLayout(row)
        self._buttons("Done", self.accept)
        self.refresh()

    def refresh(self) -> None:
        shift = self._shifts.current_shift()
        self.status.setText(self._t("Shift {number} open since {time}", number=shift.number,
                                    time=f"{shift.opened_at.astimezone(BEIJING):%H:%M}")
                            if shift else self._t("No shift open"))
        self.buttons_["open"].setEnabled(shift is None)
        for key in ("pay_in", "pay_out", "drop", "no_sale", "close"):
            self.buttons_[key].setEnabled(shift is not None)

    def make(self, key: str) -> QDialog:
        """The sub-dialog for ``key`` (tests drive it without exec)."""
        if key == "open":
            return OpenShiftDialog(self._shifts, self._user, self, tr=self._t)
        if key == "close":
            return CloseShiftDialog(self._shifts, self._user, self.approver, self, tr=self._t)
        return CashMovementDialog(self._shifts, self._user, key, self.approver, self, tr=self._t)

    def run(self, key: str) -> None:
        self.current = self.make(key)
        try:
            self.current.exec()
        finally:
            self.current = None
        self.refresh()
