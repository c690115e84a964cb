"""The checkout screen's widgets: basket table, code entry, member panel, totals, keyed buttons (no logic)."""

from __future__ import annotations

import logging

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFrame,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QScrollArea,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from pos_app.domain.money import format_ui

from .basket_model import BasketModel
from .i18n import Translator
from .qtcompat import emit
from .snapshot_view import MemberPanelView, TotalsView

__all__ = ["CheckoutView", "ACTIONS"]

logger = logging.getLogger(__name__)

#: (intent, key label, English text) in button order; the keys are bound by the main window.
ACTIONS: tuple[tuple[str, str, str], ...] = (
    ("member_search", "F2", "Member"),
    ("catalogue_search", "F3", "Search items"),
    ("alipay", "F4", "Alipay"),
    ("cash", "F5", "Cash"),
    ("redeem", "F6", "Redeem points"),
    ("open_price", "F7", "Open price"),
    ("refund", "F8", "Refund"),
    ("reports", "F9", "Reports"),
    ("shift", "F10", "Shift"),
    ("sync", "F11", "Sync queue"),
    ("orphans", "F12", "Unsettled payments"),
    ("void_line", "Del", "Void line"),
    ("remove_member", "Ctrl+M", "Remove member"),
    ("discount", "Ctrl+D", "Discount line"),
    ("sale_discount", "Ctrl+Shift+D", "Discount sale"),
    ("park", "Ctrl+H", "Park / recall"),
    ("items", "Ctrl+I", "Items"),
    ("card_join", "Ctrl+J", "Member card & join QR"),
    ("give_back", "Ctrl+G", "Give back payments"),
    ("exchange", "Ctrl+E", "Exchange"),
    ("promotions", "Ctrl+R", "Promotions"),
)


class CheckoutView(QWidget):
    """Signals:
        intent(str): a button was pressed (names from ACTIONS).
        code_entered(str): the cashier typed a code and pressed Enter.
        quantity_step(int): +1 / -1 on the selected line.
    """

    intent = Signal(str)
    code_entered = Signal(str)
    quantity_step = Signal(int)

    def __init__(self, tr: Translator, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._tr = tr
        self.model = BasketModel(tr, self)
        self.table = QTableView(self)
        self.table.setObjectName("basket")
        self.table.setModel(self.model)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.verticalHeader().setVisible(False)
        self.table.verticalHeader().setDefaultSectionSize(34)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        for col, width in ((0, 40), (2, 90), (3, 110), (4, 130)):
            header.setSectionResizeMode(col, QHeaderView.ResizeMode.Fixed)
            header.resizeSection(col, width)
        self.table.setFocusPolicy(Qt.FocusPolicy.NoFocus)

        self.entry = QLineEdit(self)
        self.entry.setObjectName("codeEntry")
        self.entry.setPlaceholderText(tr("Scan or type a code, then Enter"))
        self.entry.returnPressed.connect(self._entered)

        self.notice = QLabel(self)
        self.notice.setObjectName("notice")
        self.notice.setWordWrap(True)
        self.notice.hide()
        self._notice_timer = QTimer(self)
        self._notice_timer.setObjectName("noticeTimer")
        self._notice_timer.setSingleShot(True)
        self._notice_timer.timeout.connect(self.notice.hide)

        # after a payment: what was paid, until the next scan (issue 14)
        self.sale_done = QLabel(self)
        self.sale_done.setObjectName("saleDone")
        self.sale_done.setWordWrap(True)
        self.sale_done.hide()

        left = QVBoxLayout()
        left.addWidget(self.table, 1)
        left.addWidget(self.sale_done)
        left.addWidget(self.notice)
        left.addWidget(self.entry)

        # member panel
        self.member_box = QGroupBox(tr("Member"), self)
        mlay = QVBoxLayout(self.member_box)
        self.member_name = QLabel(tr("No member (scan the membership card)"), self.member_box)
        self.member_name.setObjectName("memberName")
        self.member_name.setWordWrap(True)
        self.member_detail = QLabel("", self.member_box)
        self.member_detail.setWordWrap(True)
        self.member_redeem = QLabel("", self.member_box)
        self.member_redeem.setWordWrap(True)
        for w in (self.member_name, self.member_detail, self.member_redeem):
            mlay.addWidget(w)

        # totals
        self.totals_box = QGroupBox(tr("Totals"), self)
        tlay = QGridLayout(self.totals_box)
        self.gross = QLabel(self.totals_box)
        self.discount = QLabel(self.totals_box)
        self.earn = QLabel(self.totals_box)
        caption = QLabel(tr("To pay"), self.totals_box)
        caption.setObjectName("payableCaption")
        self.payable = QLabel(self.totals_box)
        self.payable.setObjectName("payable")
        self.payable.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        self.payable.setMinimumWidth(280)
        for row, (text, label) in enumerate(((tr("Subtotal"), self.gross), (tr("Discounts"), self.discount),
                                             (tr("Points to earn"), self.earn))):
            tlay.addWidget(QLabel(text, self.totals_box), row, 0)
            label.setAlignment(Qt.AlignmentFlag.AlignRight)
            tlay.addWidget(label, row, 1)
        tlay.addWidget(caption, 3, 0)
        tlay.addWidget(self.payable, 4, 0, 1, 2)

        # buttons
        self.buttons: dict[str, QPushButton] = {}
        grid = QGridLayout()
        for i, (name, key, text) in enumerate(ACTIONS):
            button = QPushButton(f"{key}  {tr(text)}", self)
            button.setObjectName({"alipay": "primary", "cash": "cash"}.get(name, f"btn_{name}"))
            button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
            button.clicked.connect(lambda _checked=False, n=name: emit(self.intent, n))
            self.buttons[name] = button
            grid.addWidget(button, i // 2, i % 2)
        hint = QLabel(tr("+/- quantity · Esc cancel · Enter add code"), self)
        hint.setWordWrap(True)

        # the buttons scroll when the screen is short (1366x768, 1024x768 counter screens): the window never
        # grows past the screen, and the member, the totals and the amount to pay stay in sight
        actions = QWidget(self)
        actions.setObjectName("actions")
        alay = QVBoxLayout(actions)
        alay.setContentsMargins(0, 0, 0, 0)
        alay.addLayout(grid)
        alay.addWidget(hint)
        alay.addStretch(1)
        self.actions_area = QScrollArea(self)
        self.actions_area.setObjectName("actionsArea")
        self.actions_area.setWidget(actions)
        self.actions_area.setWidgetResizable(True)
        self.actions_area.setFrameShape(QFrame.Shape.NoFrame)
        self.actions_area.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.actions_area.setFocusPolicy(Qt.FocusPolicy.NoFocus)

        right = QVBoxLayout()
        right.addWidget(self.member_box)
        right.addWidget(self.totals_box)
        right.addWidget(self.actions_area, 1)

        # the default frame draws the title over the box's top edge and CJK glyphs get clipped: give the
        # title its own room above the frame
        for box in (self.member_box, self.totals_box):
            box.setStyleSheet("QGroupBox { margin-top: 16px; padding-top: 6px; font-weight: bold; }"
                              " QGroupBox::title { subcontrol-origin: margin; subcontrol-position: top left;"
                              " left: 8px; top: 0px; padding: 0 4px; }")

        root = QHBoxLayout(self)
        root.addLayout(left, 3)
        root.addLayout(right, 2)
        self.show_totals(TotalsView(0, 0, 0, 0, 0, 0))
        self.show_member(None)

    # --- intents ----------------------------------------------------------------------------
    def _entered(self) -> None:
        text = self.entry.text().strip()
        self.entry.clear()
        if text:
            emit(self.code_entered, text)

    def selected_row(self) -> int:
        rows = self.table.selectionModel().selectedRows()
        if rows:
            return rows[0].row()
        return self.model.rowCount() - 1

    def select_row(self, row: int) -> None:
        if 0 <= row < self.model.rowCount():
            self.table.selectRow(row)
            self.table.scrollTo(self.model.index(row, 0))

    # --- display ----------------------------------------------------------------------------
    def show_totals(self, totals: TotalsView) -> None:
        tr = self._tr
        self.gross.setText(format_ui(totals.gross_fen))
        self.discount.setText(f"-{format_ui(totals.discount_fen)}"
                              + (f"  ({tr('{points} points', points=totals.points_redeemed)})"
                                 if totals.points_redeemed else ""))
        self.earn.setText(str(totals.points_to_earn))
        self.payable.setText(format_ui(totals.payable_fen))

    def show_member(self, member: MemberPanelView | None) -> None:
        tr = self._tr
        if member is None:
            self.member_name.setText(tr("No member (scan the membership card)"))
            self.member_detail.setText("")
            self.member_redeem.setText("")
            return
        self.member_name.setText(f"{member.masked_name}  ·  {tr(member.level)}")  # level codes are message ids
        pending = f"  ({tr('pending sync')}: {member.pending_points:+d})" if member.pending_points else ""
        self.member_detail.setText(f"{tr('Card')} {member.card_masked}   {tr('Points')}: {member.points}{pending}"
                                   + (f"\n{member.note}" if member.note else ""))
        if member.redeemed_points > 0:
            self.member_redeem.setText(tr("Redeemed in this sale: {points} points = {amount} (F6 undoes)",
                                          points=member.redeemed_points, amount=format_ui(member.redeemed_fen)))
        elif member.redeemable_points > 0:
            self.member_redeem.setText(tr("Can redeem now: {points} points = {amount} (F6)",
                                          points=member.redeemable_points,
                                          amount=format_ui(member.redeemable_fen)))
        else:
            self.member_redeem.setText(tr("Nothing to redeem now"))

    def show_notice(self, text: str, *, error: bool = True, seconds: float = 6.0) -> None:
        """A non-modal message under the basket (hides itself)."""
        self.notice.setObjectName("notice" if error else "info")
        style = self.notice.style()
        style.unpolish(self.notice)  # re-polish: the style sheet rule depends on the object name
        style.polish(self.notice)
        self.notice.setText(text)
        self.notice.show()
        self._notice_timer.start(int(seconds * 1000))
