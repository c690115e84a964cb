"""The customer-facing display: a second window (on a second screen when there is one) and the pole
display, both fed from the till's snapshots through :mod:`pos_app.services.customer_display`."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any

from PySide6.QtCore import QObject, QRect, Qt
from PySide6.QtGui import QColor, QGuiApplication, QImage, QPixmap
from PySide6.QtWidgets import QLabel, QListWidget, QVBoxLayout, QWidget

from pos_app.domain.money import format_ui
from pos_app.services.customer_display import (
    CustomerView,
    pole_lines,
    view_from_till,
    view_paying,
    view_thanks,
)
from pos_app.services.till import ScanMode

__all__ = ["CustomerWindow", "CustomerDisplay", "target_screen_geometry"]

logger = logging.getLogger(__name__)

QrMatrix = Callable[[str], Sequence[Sequence[bool]]]


def _qr_pixmap(matrix: Sequence[Sequence[bool]], size: int) -> QPixmap:
    n = len(matrix) + 8
    img = QImage(n, n, QImage.Format.Format_RGB32)
    img.fill(QColor("white"))
    for y, row in enumerate(matrix):
        for x, dark in enumerate(row):
            if dark:
                img.setPixelColor(x + 4, y + 4, QColor("black"))
    return QPixmap.fromImage(img.scaled(size, size, Qt.AspectRatioMode.KeepAspectRatio,
                                        Qt.TransformationMode.FastTransformation))


class CustomerWindow(QWidget):
    """What the customer reads: the basket's last lines, savings, total, member and points, payment, QR."""

    def __init__(self, qr_matrix: QrMatrix | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("顾客显示 Customer display")
        self.setObjectName("customerDisplay")
        self._qr_matrix = qr_matrix
        self._qr_for = ""
        layout = QVBoxLayout(self)
        self.headline = QLabel()
        self.lines = QListWidget()
        self.savings = QLabel()
        self.total = QLabel()
        self.member = QLabel()
        self.status = QLabel()
        self.qr = QLabel()
        self.total.setStyleSheet("font-size: 40px; font-weight: bold;")
        self.headline.setStyleSheet("font-size: 28px;")
        for w in (self.headline, self.lines, self.savings, self.total, self.member, self.status, self.qr):
            layout.addWidget(w)
        self.qr.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.view: CustomerView | None = None

    def show_view(self, view: CustomerView) -> None:
        self.view = view
        heads = {"idle": "欢迎光临", "basket": "您的商品", "paying": "请付款", "thanks": "谢谢惠顾"}
        self.headline.setText(heads.get(view.kind, ""))
        self.lines.clear()
        for ln in view.lines[-8:]:
            qty = f" ×{ln.quantity}" if ln.unit != "kg" and ln.quantity > 1 else ""
            self.lines.addItem(f"{ln.name}{qty}    {format_ui(ln.amount_fen)}")
        if self.lines.count():
            self.lines.scrollToBottom()
        self.savings.setText(f"已省 {format_ui(view.savings_fen)}" if view.savings_fen else "")
        self.total.setText(f"合计 {format_ui(view.total_fen)}" if view.kind != "idle" else "")
        member = ""
        if view.member_name:
            member = f"会员 {view.member_name} {view.member_level}".strip()
            if view.member_points is not None:
                member += f"  积分 {view.member_points}"
        self.member.setText(member)
        status = view.payment_text
        if view.kind == "thanks" and view.points_earned:
            status = f"本次获得 {view.points_earned} 积分"
        self.status.setText(status)
        self._show_qr(view.join_url if view.kind in ("idle", "thanks", "basket") else "")

    def _show_qr(self, url: str) -> None:
        if url == self._qr_for:
            return
        self._qr_for = url
        if not url or self._qr_matrix is None:
            self.qr.clear()
            self.qr.setToolTip("")
            return
        self.qr.setPixmap(_qr_pixmap(self._qr_matrix(url), 220))
        self.qr.setToolTip("扫码领取会员卡")


def target_screen_geometry(choice: str) -> QRect | None:
    """Where the window goes: ``auto`` = the second screen when there is one (else None: a normal
    window), ``0``/``1``/... = that screen, ``off`` = no window."""
    screens = QGuiApplication.screens()
    if choice == "off" or not screens:
        return None
    if choice == "auto":
        return screens[1].geometry() if len(screens) > 1 else None
    index = int(choice)
    return screens[index].geometry() if index < len(screens) else None


class CustomerDisplay(QObject):
    """Connects the checkout controller's signals to the window and the pole display."""

    def __init__(self, controller: Any, *, window: CustomerWindow | None, pole: Any | None,
                 join_url: str = "", parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._controller = controller
        self.window = window
        self.pole = pole
        self._join_url = join_url
        self._payment = ""   # the running Alipay payment's state as the customer sees it
        controller.basket_changed.connect(self.refresh)
        controller.sale_committed.connect(self.thanks)
        self.refresh()

    def watch_payment(self, dialog: Any) -> None:
        """Follow an Alipay payment dialog's progress (navigator.payment_watchers calls this)."""
        dialog.customer_progress.connect(self.payment)

    def payment(self, state: str) -> None:
        """sending / waiting / paid / failed: shown with the basket while the till awaits the payment."""
        self._payment = state
        self.show(view_paying(self._controller.till.snapshot(), state, join_url=self._join_url))

    def set_join_url(self, url: str) -> None:
        """The join QR the supervisor just made (shown while no member is attached)."""
        self._join_url = url
        self.refresh()

    def refresh(self) -> None:
        till = self._controller.till.snapshot()
        if till.mode is ScanMode.AWAITING_PAYMENT and self._payment:
            self.show(view_paying(till, self._payment, join_url=self._join_url))
            return
        self._payment = ""
        self.show(view_from_till(till, join_url=self._join_url))

    def thanks(self, committed: Any) -> None:
        self._payment = ""
        self.show(view_thanks(committed, join_url=self._join_url))

    def show(self, view: CustomerView) -> None:
        if self.window is not None:
            self.window.show_view(view)
        if self.pole is not None:
            try:
                self.pole.show(*pole_lines(view, chinese=bool(self.pole.chinese)))
            except Exception as exc:  # noqa: BLE001 - a pole display unplugged must not stop the till
                logger.warning("pole display %s: %s", getattr(self.pole, "url", "?"), exc)
