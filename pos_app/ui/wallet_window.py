"""Demo wallet window: the demo member's card code and a scripted Alipay payment code, as barcodes and text."""

from __future__ import annotations

import logging
import secrets
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import QEvent, QSize, Qt, QTimer, Signal
from PySide6.QtGui import QImage, QKeyEvent, QPainter, QPixmap, QShowEvent
from PySide6.QtWidgets import (
    QApplication,
    QComboBox,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from .i18n import Translator
from .qtcompat import emit

__all__ = ["WalletWindow", "BEHAVIOURS", "KEY_INTERVAL_MS", "CAMERA_HOLD_MS", "RawFrame", "render_poster"]

logger = logging.getLogger(__name__)

RawFrame = tuple[bytes, int, int, int]
"""(RGB32 pixels, width, height, bytes per line): plain Python values, safe to read from any thread."""

#: (key passed to the payment-code factory, English label)
BEHAVIOURS: tuple[tuple[str, str], ...] = (
    ("pays", "Pays at once"),
    ("password", "Asks for a password, then pays"),
    ("balance", "Balance too low"),
    ("never", "Never confirms"),
)
KEY_INTERVAL_MS = 4
"""Gap between typed characters: a keyboard-wedge scanner types much faster than a person."""
CAMERA_HOLD_MS = 1000
"""How long a code sent "via camera" is held in front of the virtual camera (virtual://wallet)."""
CAMERA_FRAME = (640, 400)
"""Size of the phone-screen frame the virtual camera sees while a code is held up."""


class WalletWindow(QWidget):
    """Shows codes; "Send to terminal" types them as a keyboard-wedge scanner would.

    Args:
        member_code(dynamic: bool) -> str: the demo member's static card number, or a fresh dynamic code.
        payment_code(behaviour: str) -> str: a fresh payment code scripted in the sandbox.
        render(text, kind) -> PNG bytes ("code128" or "qr").
        target() -> QWidget | None: where typed keys are posted (default: the active window's focus widget).
        join_poster() -> Path | None: the shop's join poster (PDF) the phone's camera looks at, if printed.
        join(frame, mobile, name) -> str: blocking (a worker thread): read the join QR in the camera frame,
            follow it as Alipay's app does, fill the form; the new card's number. ValueError: why not.

    Signals:
        sent(str kind): a code was typed into the terminal ("member" or "payment").
        joined(str card_no): the customer got the shop's card ("Join").
        join_failed(str message): the join did not work (also shown in the wallet).
    """

    sent = Signal(str)
    joined = Signal(str)
    join_failed = Signal(str)
    _join_done = Signal(object, object)  # (card_no, error) from the join thread

    def __init__(self, tr: Translator, member_code: Callable[[bool], str], payment_code: Callable[[str], str],
                 render: Callable[[str, str], bytes],
                 wedge_filter: Any = None,  # drivers.wedge_qt.WedgeFilter: the UI never imports drivers/*_qt
                 target: Callable[[], QWidget | None] | None = None,
                 join_poster: Callable[[], Path | None] | None = None,
                 join: Callable[[RawFrame, str, str], str] | None = None) -> None:
        super().__init__(None, Qt.WindowType.Window)
        self.setObjectName("walletWindow")
        self.setWindowTitle(tr("Demo wallet (customer's phone)"))
        self._tr = tr
        self._member_code = member_code
        self._payment_code = payment_code
        self._render = render
        self._target = target
        self._frame_lock = threading.Lock()
        self._frame: RawFrame | None = None
        self._held: str | None = None  # "member"/"payment" while held in front of the camera
        self._hold_timer = QTimer(self)
        self._hold_timer.setObjectName("cameraHold")
        self._hold_timer.setSingleShot(True)
        self._hold_timer.timeout.connect(self._camera_hold_ended)
        self.via_camera = False  # set by the app when virtual://wallet reads this window
        self._typing: list[str] = []
        self._refresh_after_send = False
        self.member_text = ""
        self.payment_text = ""

        member_box = QGroupBox(tr("Membership card"), self)
        self.member_image = QLabel(member_box)
        self.member_image.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.member_label = QLabel(member_box)
        self.member_label.setObjectName("memberCodeText")
        self.member_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        static_btn = QPushButton(tr("Card number"), member_box)
        static_btn.clicked.connect(lambda: self.new_member_code(False))
        dynamic_btn = QPushButton(tr("Dynamic card code"), member_box)
        dynamic_btn.clicked.connect(lambda: self.new_member_code(True))
        send_member = QPushButton(tr("Send card to terminal"), member_box)
        send_member.setObjectName("sendMember")
        send_member.clicked.connect(lambda: self.send("member"))
        mlay = QVBoxLayout(member_box)
        mlay.addWidget(self.member_image)
        mlay.addWidget(self.member_label)
        row = QHBoxLayout()
        row.addWidget(static_btn)
        row.addWidget(dynamic_btn)
        mlay.addLayout(row)
        mlay.addWidget(send_member)

        pay_box = QGroupBox(tr("Alipay payment code"), self)
        self.behaviour = QComboBox(pay_box)
        self.behaviour.setObjectName("behaviour")
        for key, label in BEHAVIOURS:
            self.behaviour.addItem(tr(label), key)
        self.behaviour.currentIndexChanged.connect(lambda _i: self.new_payment_code())
        self.pay_image = QLabel(pay_box)
        self.pay_image.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.qr_image = QLabel(pay_box)
        self.qr_image.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.pay_label = QLabel(pay_box)
        self.pay_label.setObjectName("paymentCodeText")
        self.pay_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        refresh = QPushButton(tr("New payment code"), pay_box)
        refresh.clicked.connect(self.new_payment_code)
        send_pay = QPushButton(tr("Send payment code to terminal"), pay_box)
        send_pay.setObjectName("sendPayment")
        send_pay.clicked.connect(lambda: self.send("payment"))
        play = QVBoxLayout(pay_box)
        play.addWidget(self.behaviour)
        images = QHBoxLayout()
        images.addWidget(self.pay_image)
        images.addWidget(self.qr_image)
        play.addLayout(images)
        play.addWidget(self.pay_label)
        play.addWidget(refresh)
        play.addWidget(send_pay)

        self._join_poster = join_poster
        self._join = join
        self._join_thread: threading.Thread | None = None
        self._join_done.connect(self._joined)
        join_box = QGroupBox(tr("Join the shop's membership card"), self)
        join_box.setObjectName("joinBox")
        self.join_mobile = QLineEdit("139" + "".join(secrets.choice("0123456789") for _ in range(8)), join_box)
        self.join_mobile.setObjectName("joinMobile")
        self.join_name = QLineEdit(tr("Customer"), join_box)
        self.join_name.setObjectName("joinName")
        self.join_button = QPushButton(tr("扫码领卡 Scan the join QR"), join_box)
        self.join_button.setObjectName("joinCard")
        self.join_button.clicked.connect(self.scan_join_qr)
        self.join_button.setEnabled(join is not None)
        self.join_status = QLabel(join_box)
        self.join_status.setObjectName("joinStatus")
        self.join_status.setWordWrap(True)
        jlay = QVBoxLayout(join_box)
        jrow = QHBoxLayout()
        jrow.addWidget(QLabel(tr("Mobile"), join_box))
        jrow.addWidget(self.join_mobile, 1)
        jrow.addWidget(QLabel(tr("Name"), join_box))
        jrow.addWidget(self.join_name, 1)
        jlay.addLayout(jrow)
        jlay.addWidget(self.join_button)
        jlay.addWidget(self.join_status)

        lay = QVBoxLayout(self)
        lay.addWidget(member_box)
        lay.addWidget(pay_box)
        lay.addWidget(join_box)
        for button in self.findChildren(QPushButton):
            button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.behaviour.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self._type_timer = QTimer(self)
        self._type_timer.setObjectName("wedgeTyping")
        self._type_timer.setInterval(KEY_INTERVAL_MS)
        self._type_timer.timeout.connect(self._type_next)
        self.resize(520, 760)
        self.new_member_code(False)
        self.new_payment_code()

    # --- codes ----------------------------------------------------------------------------
    def _pixmap(self, text: str, kind: str, width: int) -> QPixmap:
        pix = QPixmap()
        if text:
            pix.loadFromData(self._render(text, kind))
            pix = pix.scaledToWidth(width, Qt.TransformationMode.SmoothTransformation)
        return pix

    def new_member_code(self, dynamic: bool) -> str:
        self.member_text = self._member_code(dynamic)
        self.member_image.setPixmap(self._pixmap(self.member_text, "code128", 380))
        self.member_label.setText(self.member_text)
        self._update_frame()
        return self.member_text

    def new_payment_code(self, behaviour: str | None = None) -> str:
        if behaviour is not None:
            index = self.behaviour.findData(behaviour)
            if index >= 0 and index != self.behaviour.currentIndex():
                self.behaviour.blockSignals(True)
                self.behaviour.setCurrentIndex(index)
                self.behaviour.blockSignals(False)
        self.payment_text = self._payment_code(str(self.behaviour.currentData()))
        self.pay_image.setPixmap(self._pixmap(self.payment_text, "code128", 300))
        self.qr_image.setPixmap(self._pixmap(self.payment_text, "qr", 160))
        self.pay_label.setText(self.payment_text)
        self._update_frame()
        return self.payment_text

    # --- joining the shop's card by its QR -------------------------------------------------
    def scan_join_qr(self) -> None:
        """Point the phone at the shop's join poster: read its QR, follow it, fill the form (worker thread)."""
        if self._join is None or (self._join_thread is not None and self._join_thread.is_alive()):
            return
        path = self._join_poster() if self._join_poster is not None else None
        if path is None or not Path(path).exists():
            self._join_refused(self._tr("No join poster at the counter yet: a supervisor prints it (Ctrl+J)"))
            return
        frame = render_poster(Path(path))
        if frame is None:
            self._join_refused(self._tr("The join poster cannot be read"))
            return
        mobile, name = self.join_mobile.text().strip(), self.join_name.text().strip()
        self.join_button.setEnabled(False)
        self.join_status.setText(self._tr("Scanning the join QR..."))
        join = self._join

        def run() -> None:
            try:
                card_no = join(frame, mobile, name)
            except Exception as exc:  # noqa: BLE001 - shown in the wallet, the demo goes on
                emit(self._join_done, None, exc)
                return
            emit(self._join_done, card_no, None)

        self._join_thread = threading.Thread(target=run, name="wallet-join", daemon=True)
        self._join_thread.start()

    @property
    def joining(self) -> bool:
        return self._join_thread is not None and self._join_thread.is_alive()

    def _join_refused(self, text: str) -> None:
        self.join_status.setText(text)
        logger.info("wallet join: %s", text)
        emit(self.join_failed, text)

    def _joined(self, card_no: object, error: object) -> None:
        self.join_button.setEnabled(self._join is not None)
        if isinstance(error, BaseException) or not card_no:
            self._join_refused(self._tr("Not joined: {reason}", reason=str(error) or type(error).__name__))
            return
        self.new_member_code(False)
        self.join_status.setText(self._tr("Card {card} is in the wallet", card=str(card_no)))
        emit(self.joined, str(card_no))

    # --- typing like a keyboard wedge -----------------------------------------------------
    def send(self, kind: str) -> None:
        """Type the member or payment code, then Enter, with scanner timing, to the terminal."""
        text = self.member_text if kind == "member" else self.payment_text
        if not text:
            return
        if self.via_camera:
            self.show_to_camera(kind)
            emit(self.sent, kind)
            return
        self._typing.extend([*text, "\r"])
        self._refresh_after_send = self._refresh_after_send or kind == "payment"
        self._type_timer.start()
        emit(self.sent, kind)

    @property
    def typing(self) -> bool:
        return bool(self._typing)

    def _receiver(self) -> QWidget | None:
        if self._target is not None:
            return self._target()
        modal = QApplication.activeModalWidget()
        if modal is not None and modal is not self:
            return modal.focusWidget() or modal
        for w in QApplication.topLevelWidgets():
            if w is not self and w.objectName() == "mainWindow" and w.isVisible():
                return w.focusWidget() or w
        return None

    def _type_next(self) -> None:
        if not self._typing:
            self._type_timer.stop()
            if self._refresh_after_send:
                self._refresh_after_send = False
                self.new_payment_code()  # a payment code pays once, as in the real wallet
            return
        ch = self._typing.pop(0)
        receiver = self._receiver()
        if receiver is None:
            self._typing.clear()
            return
        if ch == "\r":
            key, text = Qt.Key.Key_Return, "\r"
        else:
            key, text = (Qt.Key(ord(ch.upper())) if ch.isalnum() else Qt.Key.Key_unknown), ch
        for kind in (QEvent.Type.KeyPress, QEvent.Type.KeyRelease):
            QApplication.postEvent(receiver, QKeyEvent(kind, key, Qt.KeyboardModifier.NoModifier, text))

    # --- virtual camera -------------------------------------------------------------------
    def show_to_camera(self, kind: str, hold_ms: int = CAMERA_HOLD_MS) -> None:
        """Hold the member or payment code in front of the virtual camera for ``hold_ms``."""
        self._held = kind
        self._refresh_after_send = self._refresh_after_send or kind == "payment"
        self._update_frame()
        self._hold_timer.start(hold_ms)

    @property
    def holding(self) -> bool:
        return self._held is not None

    def _camera_hold_ended(self) -> None:
        self._held = None
        self._update_frame()
        if self._refresh_after_send and not self._typing:
            self._refresh_after_send = False
            self.new_payment_code()  # a payment code pays once, as in the real wallet

    def _update_frame(self) -> None:
        """GUI thread: render what the camera sees now (the held code on a white phone screen,
        or nothing) into plain bytes; the camera thread only ever reads those."""
        frame: RawFrame | None = None
        text = self.member_text if self._held == "member" else self.payment_text
        if self._held is not None and text:
            # the code at its rendered resolution (a long dynamic member code does not fit the
            # window's 380 px at 2 px per module): Code128 for the card, the QR for a payment
            code = QImage.fromData(self._render(text, "code128" if self._held == "member" else "qr"))
            if self._held != "member":
                code = code.scaled(code.width() * 2, code.height() * 2)
            if not code.isNull():
                image = QImage(max(CAMERA_FRAME[0], code.width() + 80), max(CAMERA_FRAME[1], code.height() + 80),
                               QImage.Format.Format_RGB32)
                image.fill(Qt.GlobalColor.white)
                painter = QPainter(image)
                painter.drawImage((image.width() - code.width()) // 2, (image.height() - code.height()) // 2, code)
                painter.end()
                frame = (bytes(image.constBits()), image.width(), image.height(), image.bytesPerLine())
        with self._frame_lock:
            self._frame = frame

    def latest_frame(self) -> RawFrame | None:
        """Any thread: what the virtual camera sees (None: no code held up). No Qt call is made."""
        with self._frame_lock:
            return self._frame

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        self._update_frame()


def render_poster(path: Path, scale: float = 1.5) -> RawFrame | None:
    """The first page of a PDF poster as the phone's camera sees it (RGB32 bytes), or None if unreadable."""
    from PySide6.QtPdf import QPdfDocument

    doc = QPdfDocument()
    try:
        if doc.load(str(path)) != QPdfDocument.Error.None_ or doc.pageCount() < 1:
            return None
        size = doc.pagePointSize(0)
        image = doc.render(0, QSize(int(size.width() * scale), int(size.height() * scale)))
    finally:
        doc.close()
    image = image.convertToFormat(QImage.Format.Format_RGB32)
    if image.isNull():
        return None
    return bytes(image.constBits()), image.width(), image.height(), image.bytesPerLine()
