"""A non-member's receipt ends with the shop's join QR: as ESC/POS QR commands on the printer, as a QR image in
the receipt PDF (read back with pyzbar), as "[QR] url" in the text receipt. A member's receipt has none."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

from PIL import Image
from PySide6.QtCore import Qt
from pyzbar.pyzbar import decode

from drivers.printer import QR, render_escpos
from tests.ui.conftest import WATER, make_terminal, scan

JOIN = "http://127.0.0.1:9/card/apply?template_id=20250000000000000042&app_id=2021000000000001&out_string=S001"
MEMBER = "8800671208341214"


def _cash_sale(qtbot: Any, terminal: Any, member: str = "") -> Any:
    w = terminal.window
    before = w.controller.last_committed
    if member:
        scan(terminal, member, "CODE128")
        qtbot.waitUntil(lambda: w.controller.snapshot().member is not None, timeout=10_000)
    scan(terminal, WATER, "EAN13")
    qtbot.waitUntil(lambda: w.checkout_view.model.rowCount() == 1)
    qtbot.keyClick(w, Qt.Key.Key_F5)
    qtbot.keyClicks(w.controller.cash_dialog.amount, "10")
    qtbot.keyClick(w.controller.cash_dialog.amount, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: w.controller.last_committed is not before)
    return w.controller.last_committed


def test_non_member_receipt_carries_the_join_qr(qtbot: Any, tmp_path: Path) -> None:
    terminal = make_terminal(qtbot, tmp_path, printer_url="fake://")
    try:
        printer = terminal.ctx.printer._device  # noqa: SLF001 - the fake device records documents
        flow = terminal.ctx.nav.receipts
        flow.join_url = JOIN          # what the supervisor's Ctrl+J sets (tests/ui/test_card_join_story.py)
        committed = _cash_sale(qtbot, terminal)
        qtbot.waitUntil(lambda: len(printer.documents) == 1, timeout=10_000)
        doc = printer.documents[0]
        assert [op.data for op in doc.ops if isinstance(op, QR)] == [JOIN]
        raw = render_escpos(doc)
        data = JOIN.encode()
        n = len(data) + 3            # GS ( k pL pH cn=49 fn=80 m=48 d1..dk: store the symbol, then print it
        assert b"\x1d(k" + bytes([n % 256, n // 256]) + b"1P0" + data in raw
        assert b"\x1d(k\x03\x001Q0" in raw
        assert "扫码领取会员卡" in printer.texts()[0] or "Scan to get our membership card" in printer.texts()[0]

        content = flow.last_content
        assert content.join_url == JOIN
        assert f"[QR] {JOIN}" in terminal.ctx.printer.preview_text(content)   # the text receipt
        dialog = flow.preview(content)   # a child of the main window (not exec'd: no modal loop)
        assert not dialog.join_qr.pixmap().isNull()
        pdf = dialog.save_pdf(tmp_path / "r.pdf")
        dialog.close()
        assert pdf is not None
        subprocess.run(["pdftoppm", "-r", "200", "-png", "-singlefile", str(pdf), str(tmp_path / "r")], check=True,
                       timeout=30)
        found = {(s.type, s.data.decode()) for s in decode(Image.open(tmp_path / "r.png"))}
        assert ("QRCODE", JOIN) in found and ("CODE128", committed.receipt_no) in found

        _cash_sale(qtbot, terminal, member=MEMBER)    # a member's receipt: no join QR
        qtbot.waitUntil(lambda: len(printer.documents) == 2, timeout=10_000)
        assert not [op for op in printer.documents[1].ops if isinstance(op, QR)]
        assert "[QR]" not in terminal.ctx.printer.preview_text(flow.last_content)
    finally:
        terminal.shutdown()
