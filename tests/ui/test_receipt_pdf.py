"""Save PDF (Ctrl+S) in the receipt preview writes the receipt as a one-page 80 mm PDF with its barcode."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QPushButton

from pos_app.printing import render_barcode_png
from pos_app.services.receipts import StoreInfo
from pos_app.ui.receipt_dialog import build_refund_receipt
from pos_app.ui.receipt_pdf import default_receipt_pdf_path, write_receipt_pdf
from tests.ui.conftest import SCREENSHOTS, WATER, scan
from tests.ui.modal import ModalScript, click, is_a


def _pages(data: bytes) -> int:
    return len(re.findall(rb"/Type\s*/Page(?!s)", data))


def _text(path: Path) -> str:
    # poppler-utils is one of the Makefile's test packages: its absence is a set-up fault, not a skip
    assert shutil.which("pdftotext") is not None, "pdftotext missing: apt-get install poppler-utils"
    out = subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, check=True, timeout=30)
    return out.stdout.decode("utf-8")


def _render(path: Path, name: str) -> None:
    """Page 1 as PNG in tests/ui/screenshots (looked at by hand when the layout changes)."""
    assert shutil.which("pdftoppm") is not None, "pdftoppm missing: apt-get install poppler-utils"
    SCREENSHOTS.mkdir(exist_ok=True)
    subprocess.run(["pdftoppm", "-png", "-r", "150", "-f", "1", "-l", "1", "-singlefile", str(path),
                    str(SCREENSHOTS / name)], check=True, timeout=30)


def _sell(qtbot: Any, terminal: Any) -> Any:
    w = terminal.window
    scan(terminal, WATER, "EAN13")
    qtbot.waitUntil(lambda: w.checkout_view.model.rowCount() == 1)
    qtbot.keyClick(w.checkout_view.entry, Qt.Key.Key_Plus)
    qtbot.keyClick(w, Qt.Key.Key_F5)
    qtbot.keyClicks(w.controller.cash_dialog.amount, "10")
    qtbot.keyClick(w.controller.cash_dialog.amount, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: w.controller.last_committed is not None)
    return w.controller.last_committed


def test_save_pdf_from_the_preview_of_a_committed_sale(qtbot: Any, terminal: Any) -> None:
    w = terminal.window
    committed = _sell(qtbot, terminal)
    flow = terminal.ctx.nav.receipts
    proposed: list[Path] = []
    flow.choose_pdf_path = lambda p: proposed.append(p) or p     # accept the proposed path, no file dialog
    saved: dict[str, Any] = {}

    def preview(p: Any) -> None:
        click(p.findChild(QPushButton, "savePdf"))
        saved["button"] = p.last_pdf
        saved["notice"] = p.pdf_notice.text()
        QTest.keyClick(p.focusWidget() or p, Qt.Key.Key_S, Qt.KeyboardModifier.ControlModifier)  # same file again
        saved["shortcut"] = p.last_pdf
        QTest.keyClick(p, Qt.Key.Key_Escape)

    script = ModalScript([(is_a("ReceiptPreviewDialog"), preview)])
    qtbot.keyClick(w.checkout_view.entry, Qt.Key.Key_P, Qt.KeyboardModifier.ControlModifier)
    script.finish()

    expected = Path(terminal.ctx.db_path).resolve().parent / "receipts" / f"{committed.receipt_no}.pdf"
    assert proposed == [expected, expected]
    assert saved["button"] == expected and saved["shortcut"] == expected
    assert str(expected) in saved["notice"]
    data = expected.read_bytes()
    assert data.startswith(b"%PDF")
    assert _pages(data) == 1
    text = _text(expected)
    assert committed.receipt_no in text
    assert "4.00" in text and "TOTAL" in text and "Cash" in text and "6.00" in text
    _render(expected, "receipt_pdf_en")


def test_refund_slip_pdf_in_chinese_never_overwrites(tmp_path: Path, qapp: Any) -> None:
    sale = SimpleNamespace(receipt_no="T01-20260101-0007")
    line = SimpleNamespace(line_no=1, name="农夫山泉 550ml", name_en="Water", unit="pcs", quantity=2,
                           unit_price_fen=200, amount_fen=400, discount_fen=0)   # as a stored sale line
    detail = SimpleNamespace(sale=sale, lines=[line], trade_no="2026010122001400000001", member_masked="张*")
    outcome = SimpleNamespace(amount_fen=200, method="alipay", points_reversed=2, points_restored=0,
                              out_request_no="R-0007-1")
    content = build_refund_receipt(detail, outcome, [(1, 1)], StoreInfo(name="示例便利店", terminal_id="T01"), "zh",
                                   cashier_name="王芳")
    first = default_receipt_pdf_path(content, tmp_path)
    assert first == tmp_path / "receipts" / "T01-20260101-0007-refund.pdf"
    write_receipt_pdf(content, first, barcode_png=render_barcode_png(content.barcode))
    second = default_receipt_pdf_path(content, tmp_path)
    assert second.name == "T01-20260101-0007-refund-2.pdf"
    data = first.read_bytes()
    assert data.startswith(b"%PDF") and _pages(data) == 1
    text = _text(first)
    assert "T01-20260101-0007" in text and "2.00" in text and "2026010122001400000001" in text
    assert "退款" in text
    _render(first, "receipt_pdf_refund_zh")


def test_unwritable_folder_is_reported_not_raised(tmp_path: Path, qtbot: Any, terminal: Any) -> None:
    _sell(qtbot, terminal)
    blocker = tmp_path / "blocker"
    blocker.write_text("not a folder")
    dialog = terminal.ctx.nav.receipts.preview(terminal.ctx.nav.receipts.last_content)
    qtbot.addWidget(dialog)
    assert dialog.save_pdf(blocker / "x.pdf") is None
    assert dialog.pdf_notice.isVisibleTo(dialog) and dialog.pdf_notice.property("error") is True
