"""The supervisor's "Member card & join QR" screen (Ctrl+J): make the card template when there is none, apply
for the join URL, save the A5 counter poster (QR + shop name + "扫码领取会员卡") and show the QR.

The work at Alipay is done by a desk object from the composition (pos_app.card_desk.CardDesk) on a worker
thread; this window only draws the poster and the QR.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Protocol

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor, QImage, QPixmap
from PySide6.QtWidgets import QDialog, QLabel, QPushButton, QVBoxLayout, QWidget

from .qtcompat import emit
from .workers import TaskRunner

__all__ = ["CardDeskPort", "CardDeskDialog", "open_card_desk", "qr_pixmap"]

logger = logging.getLogger(__name__)


class CardDeskPort(Protocol):
    """What the dialog needs from the composition's CardDesk."""

    @property
    def template_id(self) -> str: ...

    @property
    def join_url(self) -> str: ...

    @property
    def store_name(self) -> str: ...

    @property
    def poster_path(self) -> Path: ...

    def prepare(self) -> Any: ...          # blocking: JoinQr(template_id, join_url, created, mode, endpoint_url)

    def qr_matrix(self, text: str) -> Sequence[Sequence[bool]]: ...


def qr_pixmap(matrix: Sequence[Sequence[bool]], size: int) -> QPixmap:
    """The QR's modules with a 4-module quiet zone, scaled without smoothing to about ``size`` pixels."""
    n = len(matrix) + 8
    img = QImage(n, n, QImage.Format.Format_RGB32)
    img.fill(QColor("white"))
    for y, row in enumerate(matrix):
        for x, dark in enumerate(row):
            if dark:
                img.setPixelColor(x + 4, y + 4, QColor("black"))
    scale = max(1, size // n)
    return QPixmap.fromImage(img.scaled(n * scale, n * scale, Qt.AspectRatioMode.KeepAspectRatio,
                                        Qt.TransformationMode.FastTransformation))


class CardDeskDialog(QDialog):
    """Shows the template and join QR; "Create template and save the join poster" does the rest.

    Signals:
        ready(str join_url): the join URL is known and the poster written (GUI thread).
        failed(str message): Alipay refused or the spec cannot be used (shown in the dialog too).
    """

    ready = Signal(str)
    failed = Signal(str)

    def __init__(self, desk: CardDeskPort, tasks: TaskRunner, parent: QWidget | None = None,
                 tr: Callable[..., str] = lambda s, **kw: s) -> None:
        super().__init__(parent)
        self._desk = desk
        self._tasks = tasks
        self._tr = tr
        self.setObjectName("cardDeskDialog")
        self.setWindowTitle(tr("Member card and join QR"))
        self.template = QLabel(self)
        self.template.setObjectName("cardTemplate")
        self.qr = QLabel(self)
        self.qr.setObjectName("joinQr")
        self.qr.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.url = QLabel(self)
        self.url.setObjectName("joinUrl")
        self.url.setWordWrap(True)
        self.url.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.message = QLabel(self)
        self.message.setObjectName("cardDeskMessage")
        self.message.setWordWrap(True)
        self.button = QPushButton(self)
        self.button.setObjectName("prepareCard")
        self.button.clicked.connect(self.prepare)
        close = QPushButton(tr("Close"), self)
        close.clicked.connect(self.close)
        lay = QVBoxLayout(self)
        for w in (self.template, self.qr, self.url, self.message, self.button, close):
            lay.addWidget(w)
        self.poster: Path | None = None
        self.result: Any = None
        self.busy = False
        self._show_state()
        self.resize(520, 560)

    def _show_state(self) -> None:
        tid, url = self._desk.template_id, self._desk.join_url
        self.template.setText(self._tr("Card template: {tid}", tid=tid) if tid
                              else self._tr("No card template yet"))
        self.button.setText(self._tr("Print the join poster") if tid
                            else self._tr("Create the card template and print the join poster"))
        self.url.setText(url)
        if url:
            self.qr.setPixmap(qr_pixmap(self._desk.qr_matrix(url), 260))
        else:
            self.qr.clear()

    def prepare(self) -> None:
        """Ask Alipay on a worker thread (template if needed, join URL); then write the poster."""
        if self.busy:
            return
        self.busy = True
        self.button.setEnabled(False)
        self.message.setText(self._tr("Asking Alipay..."))
        self._tasks.submit(self._desk.prepare, self._prepared, self._failed)

    def _prepared(self, result: Any) -> None:
        from .poster_pdf import write_join_poster

        self.busy = False
        self.button.setEnabled(True)
        self.result = result
        try:
            self.poster = write_join_poster(self._desk.poster_path, self._desk.qr_matrix(result.join_url),
                                            self._desk.store_name or self._tr("Our shop"))
        except OSError as exc:
            logger.error("join poster not written to %s: %s", self._desk.poster_path, exc)
            self._failed(RuntimeError(self._tr("The poster could not be saved: {e}", e=exc.strerror or exc)))
            return
        self._show_state()
        made = self._tr("Card template created. ") if getattr(result, "created", False) else ""
        self.message.setText(made + self._tr("Join poster saved: {path}", path=str(self.poster)))
        logger.info("join poster written to %s", self.poster)
        emit(self.ready, str(result.join_url))

    def _failed(self, exc: BaseException) -> None:
        self.busy = False
        self.button.setEnabled(True)
        text = str(exc) or type(exc).__name__
        self.message.setText(self._tr("Not done: {reason}", reason=text))
        logger.warning("card desk: %s", text)
        emit(self.failed, text)


def open_card_desk(ctx: Any, window: Any, desk: CardDeskPort,
                   on_ready: Callable[[str], None] | None = None) -> Callable[[Any], None]:
    """The ``card_join`` intent (Ctrl+J): supervisors open it directly, a cashier needs an approval."""

    def handler(controller: Any) -> None:
        session = controller.session
        ask = ctx.nav.ask_approval
        if session is None or session.role not in ("supervisor", "admin"):
            if ask is None or ask(window, "card_join", ctx.tr("Member card and join QR"),
                                  [ctx.tr("Card template and join poster")]) is None:
                return
        dialog = getattr(window, "card_desk_dialog", None)
        if dialog is None:
            dialog = CardDeskDialog(desk, window.tasks, window, tr=ctx.tr)
            if on_ready is not None:
                dialog.ready.connect(on_ready)
            window.card_desk_dialog = dialog
        dialog.show()
        dialog.raise_()

    return handler
