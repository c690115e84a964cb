"""Cash tender dialog: amount tendered, quick note buttons, change shown large."""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import QDialog, QGridLayout, QLabel, QLineEdit, QPushButton, QVBoxLayout, QWidget

from pos_app.domain.errors import MoneyError
from pos_app.domain.money import format_ui, parse_yuan

from .i18n import Translator

__all__ = ["CashDialog", "QUICK_NOTES_FEN"]

QUICK_NOTES_FEN = (1_000, 2_000, 5_000, 10_000)


class CashDialog(QDialog):
    """Asks for the cash handed over; ``tendered_fen`` is set when accepted (Enter), Esc cancels.

    Ctrl+Enter takes less than the amount to pay as a part (split tender: ``part`` is True; the rest is paid
    next, in cash or by Alipay)."""

    def __init__(self, tr: Translator, payable_fen: int, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.part = False
        self.setObjectName("cashDialog")
        self.setWindowTitle(tr("Cash payment"))
        self._tr = tr
        self.payable_fen = payable_fen
        self.tendered_fen: int | None = None
        due = QLabel(tr("To pay") + f"  {format_ui(payable_fen)}", self)
        due.setObjectName("bigStatus")
        self.amount = QLineEdit(self)
        self.amount.setObjectName("tendered")
        self.amount.setPlaceholderText(tr("Cash received (yuan), Enter = exact"))
        self.amount.textChanged.connect(self._update)
        self.amount.returnPressed.connect(self._confirm)
        self.change = QLabel(self)
        self.change.setObjectName("change")
        self.change.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.error = QLabel(self)
        self.error.setObjectName("notice")
        self.error.hide()
        grid = QGridLayout()
        exact = QPushButton(tr("Exact"), self)
        exact.setObjectName("exact")
        exact.clicked.connect(lambda: self._quick(payable_fen))
        grid.addWidget(exact, 0, 0)
        for i, fen in enumerate(QUICK_NOTES_FEN, start=1):
            b = QPushButton(format_ui(fen, symbol="¥").replace(".00", ""), self)
            b.setObjectName(f"note{fen // 100}")
            b.clicked.connect(lambda _c=False, f=fen: self._quick(f))
            grid.addWidget(b, i // 3, i % 3)
        ok = QPushButton(tr("Confirm (Enter)"), self)
        ok.setObjectName("cash")
        ok.clicked.connect(self._confirm)
        part = QPushButton(tr("Take as part payment (Ctrl+Enter)"), self)
        part.setObjectName("cashPart")
        part.clicked.connect(self._confirm_part)
        self.amount.installEventFilter(self)   # Ctrl+Enter in the amount box (it would take Enter itself)
        cancel = QPushButton(tr("Cancel (Esc)"), self)
        cancel.clicked.connect(self.reject)
        for b in (*self.findChildren(QPushButton),):
            b.setAutoDefault(False)
            b.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        lay = QVBoxLayout(self)
        lay.addWidget(due)
        lay.addWidget(self.amount)
        lay.addLayout(grid)
        lay.addWidget(self.change)
        lay.addWidget(self.error)
        lay.addWidget(ok)
        lay.addWidget(part)
        lay.addWidget(cancel)
        self.resize(460, 420)
        self._update()

    def _parsed(self) -> int | None:
        text = self.amount.text().strip()
        if not text:
            return self.payable_fen
        try:
            return parse_yuan(text)
        except MoneyError:
            return None

    def _update(self) -> None:
        fen = self._parsed()
        if fen is None:
            self.change.setText(self._tr("Not an amount"))
        elif fen < self.payable_fen:
            self.change.setText(self._tr("Short by {amount}", amount=format_ui(self.payable_fen - fen)))
        else:
            self.change.setText(self._tr("Change {amount}", amount=format_ui(fen - self.payable_fen)))

    def _quick(self, fen: int) -> None:
        self.amount.setText(f"{fen // 100}.{fen % 100:02d}")
        self._confirm()

    def _confirm(self) -> None:
        fen = self._parsed()
        if fen is None or fen < self.payable_fen:
            self.error.setText(self._tr("The cash received is less than the amount to pay"
                                        " (Ctrl+Enter takes it as a part payment)"))
            self.error.show()
            return
        self.tendered_fen = fen
        self.accept()

    @staticmethod
    def _is_part_key(event: QEvent) -> bool:
        return (event.type() == QEvent.Type.KeyPress and isinstance(event, QKeyEvent)
                and event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter)
                and bool(event.modifiers() & Qt.KeyboardModifier.ControlModifier))

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is self.amount and self._is_part_key(event):
            self._confirm_part()
            return True
        return super().eventFilter(watched, event)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if self._is_part_key(event):
            self._confirm_part()
            return
        super().keyPressEvent(event)

    def _confirm_part(self) -> None:
        """Ctrl+Enter: the cash keyed (less than the amount to pay) is a part; the rest is paid next."""
        fen = self._parsed() if self.amount.text().strip() else None
        if fen is None or not 0 < fen < self.payable_fen:
            self.error.setText(self._tr("A part payment is more than zero and less than {amount}",
                                        amount=format_ui(self.payable_fen)))
            self.error.show()
            return
        self.tendered_fen = fen
        self.part = True
        self.accept()
