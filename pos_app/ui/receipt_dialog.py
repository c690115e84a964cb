"""Receipts after a sale: build, print off the GUI thread, report problems, preview and reprint."""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtGui import QFont, QKeyEvent, QKeySequence, QPixmap, QShortcut
from PySide6.QtWidgets import (
    QDialog,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from pos_app.domain.money import format_ui
from pos_app.services.checkout import CommittedSale
from pos_app.services.ports.clock import BEIJING
from pos_app.services.receipts import ReceiptContent, ReceiptLine, StoreInfo, build_receipt, with_join_qr
from pos_app.services.refunds import RefundOutcome, SaleDetail

from .context import PrintedOutcome, TerminalContext
from .qtcompat import emit
from .receipt_pdf import ReceiptPdfError, default_receipt_pdf_path, write_receipt_pdf

if TYPE_CHECKING:
    from .main_window import MainWindow

__all__ = ["ReceiptFlow", "ReceiptPreviewDialog", "build_refund_receipt", "REFUND_HEADER", "PdfPathChooser",

           "receipts_data_dir"]

logger = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True)
class _PrintFailed:
    """A print job that raised instead of returning an outcome."""

    ok: bool
    message: str


REFUND_HEADER = "REFUND / 退款"

#: proposed path -> the path to write, or None when the cashier cancels (tests inject one; default: QFileDialog)
PdfPathChooser = Callable[[Path], "Path | str | None"]


def receipts_data_dir(ctx: TerminalContext) -> Path:
    """The terminal's data directory: the folder of the SQLite file."""
    return Path(ctx.db_path).resolve().parent if ctx.db_path else Path.cwd()

_REFUND_LABELS = {
    "zh": {"total": "退款金额", "alipay": "支付宝退回", "cash": "现金退回", "reversed": "扣回积分",
           "restored": "退还积分", "trade": "支付宝交易号", "original": "原小票", "cashier": "收银员",
           "amount": "按金额退款", "request": "退款请求号", "thanks": "谢谢惠顾！"},
    "en": {"total": "Refunded", "alipay": "Back to Alipay", "cash": "Cash back", "reversed": "Points reversed",
           "restored": "Points restored", "trade": "Alipay trade no.", "original": "Original receipt",
           "cashier": "Cashier", "amount": "Refund by amount", "request": "Refund request no.",
           "thanks": "Thank you!"},
}


def build_refund_receipt(detail: SaleDetail, outcome: RefundOutcome, lines: list[tuple[int, int]] | None, store: StoreInfo,
                         language: str = "zh", *, cashier_name: str = "", at: dt.datetime | None = None
                         ) -> ReceiptContent:
    """The refund slip: "REFUND / 退款" header, refunded lines, amount, method, points reversed/restored."""
    lab = _REFUND_LABELS.get(language, _REFUND_LABELS["en"])
    sale = detail.sale
    when = (at or dt.datetime.now(dt.UTC)).astimezone(BEIJING).strftime("%Y-%m-%d %H:%M:%S")
    header = tuple(x for x in (REFUND_HEADER, store.name, f"{lab['original']} {sale.receipt_no}",
                               f"{store.terminal_id}  {when}",
                               f"{lab['cashier']} {cashier_name}" if cashier_name else "") if x)
    by_no = {line.line_no: line for line in detail.lines}
    items: list[ReceiptLine] = []
    for line_no, qty in lines or ():
        line = by_no.get(line_no)
        if line is None:
            continue
        name = line.name  # a stored sale line keeps the name printed on the sale's receipt
        # what the customer paid for it (after member price, promotions and points), as the refund dialog shows:
        # a real till's slip said "-2 × ¥3.50  -¥7.00" above "refunded ¥6.00" for a member-price line
        paid = line.amount_fen - line.discount_fen
        share = paid * qty // max(1, line.quantity) if line.unit != "kg" else paid
        unit = format_ui(paid // max(1, line.quantity)) if paid % max(1, line.quantity) == 0 else ""
        items.append(ReceiptLine(name, (f"-{qty} × {unit}" if unit else f"-{qty}") if line.unit != "kg"
                                 else f"-{qty / 1000:.3f} kg", "-" + format_ui(share)))
    if not items:
        items.append(ReceiptLine(lab["amount"], "", "-" + format_ui(outcome.amount_fen)))
    totals = ((lab["total"], format_ui(outcome.amount_fen)),)
    method = str(outcome.method)
    tenders = ((lab.get(method, method), format_ui(outcome.amount_fen)),)
    member: list[tuple[str, str]] = []
    if outcome.points_reversed:
        member.append((lab["reversed"], f"-{outcome.points_reversed}"))
    if outcome.points_restored:
        member.append((lab["restored"], f"+{outcome.points_restored}"))
    masked: str = str(getattr(detail, "member_masked", "") or "")
    if member and masked:
        member.insert(0, ("", masked))
    footer = tuple(x for x in (f"{lab['request']} {outcome.out_request_no}" if outcome.out_request_no else "",
                               lab["thanks"]) if x)
    return ReceiptContent(header, tuple(items), totals, tenders, tuple(member), getattr(detail, "trade_no", ""),
                          str(sale.receipt_no), footer, language)


class ReceiptPreviewDialog(QDialog):
    """The receipt as text plus its Code128 barcode image; Save PDF (Ctrl+S); a Reprint button when a printer exists.

    Signals:
        pdf_saved(str path)
    """

    reprint_requested = Signal()
    pdf_saved = Signal(str)

    def __init__(self, ctx: TerminalContext, content: ReceiptContent, text: str, parent: QWidget | None = None, *,
                 choose_pdf_path: PdfPathChooser | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.content = content
        self.choose_pdf_path = choose_pdf_path
        self.last_pdf: Path | None = None
        self._barcode_png = b""
        tr = ctx.tr
        self.setObjectName("receiptPreview")
        self.setWindowTitle(tr("Receipt"))
        body = QPlainTextEdit(self)
        body.setObjectName("receiptText")
        body.setReadOnly(True)
        font = QFont("DejaVu Sans Mono")
        font.setStyleHint(QFont.StyleHint.Monospace)
        body.setFont(font)
        body.setPlainText(text)
        lay = QVBoxLayout(self)
        lay.addWidget(body, 1)
        self.barcode = QLabel(self)
        self.barcode.setObjectName("receiptBarcode")
        self.barcode.setAlignment(Qt.AlignmentFlag.AlignCenter)
        code = getattr(content, "barcode", "")
        if code and ctx.barcode is not None:
            self._barcode_png = ctx.barcode(code, "code128")
            pix = QPixmap()
            pix.loadFromData(self._barcode_png)
            self.barcode.setPixmap(pix.scaledToWidth(360, Qt.TransformationMode.SmoothTransformation))
        lay.addWidget(self.barcode)
        self._join_png = b""
        self.join_qr = QLabel(self)   # card (issue 15): a non-member's receipt ends with the join QR
        self.join_qr.setObjectName("receiptJoinQr")
        self.join_qr.setAlignment(Qt.AlignmentFlag.AlignCenter)
        join_url = getattr(content, "join_url", "")
        if join_url and ctx.barcode is not None:
            self._join_png = ctx.barcode(join_url, "qr")
            qr = QPixmap()
            qr.loadFromData(self._join_png)
            self.join_qr.setPixmap(qr.scaledToWidth(160, Qt.TransformationMode.FastTransformation))
        else:
            self.join_qr.hide()
        lay.addWidget(self.join_qr)
        self.pdf_notice = QLabel(self)
        self.pdf_notice.setObjectName("receiptPdfNotice")
        self.pdf_notice.setWordWrap(True)
        self.pdf_notice.hide()
        lay.addWidget(self.pdf_notice)
        buttons = QHBoxLayout()
        self.save_pdf_button = QPushButton(tr("Save PDF… (Ctrl+S)"), self)
        self.save_pdf_button.setObjectName("savePdf")
        self.save_pdf_button.clicked.connect(lambda: self.save_pdf())
        buttons.addWidget(self.save_pdf_button)
        save = QShortcut(QKeySequence("Ctrl+S"), self)
        save.activated.connect(lambda: self.save_pdf())
        if ctx.printer is not None and ctx.printer.configured:
            reprint = QPushButton(tr("Reprint"), self)
            reprint.setObjectName("reprint")
            reprint.clicked.connect(lambda: emit(self.reprint_requested))
            buttons.addWidget(reprint)
        close = QPushButton(tr("Close (Esc)"), self)
        close.clicked.connect(self.accept)
        buttons.addWidget(close)
        lay.addLayout(buttons)
        self.resize(480, 640)

    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802 - Qt override
        """Ctrl+S also when the shortcut map does not see this window as active (key sent straight to it)."""
        if event.matches(QKeySequence.StandardKey.Save):
            event.accept()
            self.save_pdf()
            return
        super().keyPressEvent(event)

    def default_pdf_path(self) -> Path:
        """``<data dir>/receipts/<receipt_no>.pdf`` (refund slips: ``<receipt_no>-refund.pdf``)."""
        return default_receipt_pdf_path(self.content, receipts_data_dir(self.ctx))

    def _ask_path(self, proposed: Path) -> Path | None:
        if self.choose_pdf_path is not None:
            chosen = self.choose_pdf_path(proposed)
            return Path(chosen) if chosen else None
        proposed.parent.mkdir(parents=True, exist_ok=True)
        name, _ = QFileDialog.getSaveFileName(self, self.ctx.tr("Save PDF"), str(proposed), "PDF (*.pdf)")
        return Path(name) if name else None

    def save_pdf(self, path: Path | str | None = None) -> Path | None:
        """Write the receipt as an 80 mm PDF to ``path`` (default: ask, proposing :meth:`default_pdf_path`)."""
        try:
            target = Path(path) if path is not None else self._ask_path(self.default_pdf_path())
            if target is None:
                return None
            if target.suffix.lower() != ".pdf":
                target = target.with_name(target.name + ".pdf")
            written = write_receipt_pdf(self.content, target, barcode_png=self._barcode_png or None,
                                        join_qr_png=self._join_png or None)
        except (OSError, ReceiptPdfError) as exc:
            logger.warning("receipt PDF not written: %s", exc)
            self._pdf_message(self.ctx.tr("The PDF was not saved ({reason})", reason=str(exc)), error=True)
            return None
        self.last_pdf = written
        self._pdf_message(self.ctx.tr("PDF saved: {path}", path=str(written)), error=False)
        emit(self.pdf_saved, str(written))
        return written

    def _pdf_message(self, text: str, *, error: bool) -> None:
        self.pdf_notice.setProperty("error", error)
        self.pdf_notice.setText(text)
        self.pdf_notice.show()


class ReceiptFlow(QObject):
    """After each commit: build the receipt, print it on a worker, show a notice; Ctrl+P previews/reprints.

    Signals:
        printed(bool ok, str message)
    """

    printed = Signal(bool, str)

    def __init__(self, ctx: TerminalContext, window: MainWindow) -> None:
        super().__init__(window)
        self.ctx = ctx
        self.window = window
        self.last_content: ReceiptContent | None = None
        self.last_committed: CommittedSale | None = None
        #: injectable "where to save the PDF" (tests); None opens a QFileDialog proposing the default path
        self.choose_pdf_path: PdfPathChooser | None = None
        #: the shop's join URL (card, issue 15): printed as a QR on the receipts of sales without a member
        self.join_url = ""
        self._store = StoreInfo(name=ctx.store_name, store_id=ctx.store_id, terminal_id=ctx.terminal_id,
                                address=ctx.store_address)
        sc = QShortcut(QKeySequence("Ctrl+P"), window)
        sc.activated.connect(self.show_last)

    @property
    def language(self) -> str:
        return "zh" if self.ctx.tr.is_chinese else "en"

    def after_commit(self, committed: CommittedSale) -> None:
        self.last_committed = committed
        self.last_content = with_join_qr(build_receipt(committed, self._store, self.language), self.join_url)
        printer = self.ctx.printer
        if printer is None or not printer.configured:
            self._tell_preview_only()
            return
        self.print_content(self.last_content)

    def _tell_preview_only(self) -> None:
        """No printer (``none://``, preview only): the success notice says how to see the receipt."""
        view = self.window.checkout_view
        hint = self.ctx.tr("No printer: Ctrl+P shows the receipt")
        shown = view.notice.text() if view.notice.objectName() == "info" and not view.notice.isHidden() else ""
        view.show_notice(f"{shown}\n{hint}" if shown and hint not in shown else (shown or hint),
                         error=False, seconds=15)

    def print_content(self, content: ReceiptContent) -> None:
        printer = self.ctx.printer
        assert printer is not None
        self.window.tasks.submit(lambda: printer.print_receipt(content), self._printed, self._print_failed)

    def _printed(self, outcome: PrintedOutcome) -> None:
        ok, message = outcome.ok, outcome.message
        if not ok:
            self.window.checkout_view.show_notice(self.ctx.tr(
                "The receipt did not print ({reason}). The sale is saved. Ctrl+P to reprint.",
                reason=self.ctx.tr(message)), seconds=30)
        emit(self.printed, ok, message)

    def _print_failed(self, exc: BaseException) -> None:
        self._printed(_PrintFailed(False, str(exc)))

    def after_refund(self, detail: SaleDetail, outcome: RefundOutcome, lines: list[tuple[int, int]] | None,
                     cashier_name: str = "") -> ReceiptContent:
        """Build the refund slip, keep it as the last receipt (Ctrl+P previews/reprints it) and print it."""
        content = build_refund_receipt(detail, outcome, lines, self._store, self.language, cashier_name=cashier_name)
        self.last_content = content
        printer = self.ctx.printer
        if printer is not None and printer.configured:
            self.print_content(content)
        return content

    def reprint(self) -> None:
        if self.last_content is not None and self.ctx.printer is not None and self.ctx.printer.configured:
            self.print_content(self.last_content)

    def preview(self, content: ReceiptContent) -> ReceiptPreviewDialog:
        from pos_app.services.receipts import receipt_text

        text = receipt_text(content, 42)
        dialog = ReceiptPreviewDialog(self.ctx, content, text, self.window, choose_pdf_path=self.choose_pdf_path)
        dialog.reprint_requested.connect(lambda: self.print_content(content))
        return dialog

    def show_last(self) -> None:
        if self.last_content is None:
            self.window.checkout_view.show_notice(self.ctx.tr("No receipt yet"))
            return
        self.preview(self.last_content).exec()
