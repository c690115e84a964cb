"""Receipt printer: ESC/POS bytes through file://, the fake, text preview, URL errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from drivers.errors import PaperOut, PrinterOffline, PrinterUrlError
from drivers.printer import (
    QR,
    Barcode128,
    Cut,
    EscPosPrinter,
    Feed,
    ReceiptDocument,
    Rule,
    Text,
    open_printer,
    render_document_text,
)
from drivers.printer_fake import FakePrinter

DOC = ReceiptDocument(
    ops=(
        Text("测试商店", align="center", double=True),
        Text("Total", bold=True),
        Text("合计：￥12.50"),
        Rule(),
        Barcode128("R0010000004217"),
        QR("https://example.com/r/1"),
        Feed(2),
        Cut(),
    ),
    kick_drawer=True,
)


def test_file_printer_writes_gb18030_and_native_code128(tmp_path: Path) -> None:
    out = tmp_path / "receipt.bin"
    p = open_printer(f"file://{out}")
    assert isinstance(p, EscPosPrinter)
    p.print_document(DOC)
    data = out.read_bytes()
    assert data.startswith(b"\x1b@\x1c&")  # ESC @, FS & (Kanji mode on)
    assert "测试商店".encode("gb18030") + b"\n" in data
    assert "合计：￥12.50".encode("gb18030") in data
    assert b"\xa3\xa4" in data  # full-width yen, 2 bytes in GBK and GB18030
    assert b"\x1d!\x11" in data  # GS ! double size for the Chinese heading
    assert b"\x1dkI\x10{BR0010000004217" in data  # GS k 73 n "{B" data
    assert b"\x1d(k" in data  # native QR
    assert b"\x1dV\x00" in data and data.endswith(b"\x1bp\x0022")  # cut, then drawer kick
    # file:// appends
    p.print_document(ReceiptDocument((Text("second"),)))
    assert out.read_bytes().startswith(data) and b"second\n" in out.read_bytes()[len(data) :]
    assert p.status().state == "ok"


def test_yen_sign_becomes_full_width(tmp_path: Path) -> None:
    out = tmp_path / "r.bin"
    open_printer(f"file://{out}").print_document(ReceiptDocument((Text("¥5.00 找零"),)))
    data = out.read_bytes()
    assert b"\x81\x30\x84\x36" not in data and "￥5.00 找零".encode("gb18030") in data


def test_gbk_encoding_option(tmp_path: Path) -> None:
    out = tmp_path / "r.bin"
    open_printer(f"file://{out}?encoding=gbk").print_document(ReceiptDocument((Text("会员积分"),)))
    assert "会员积分".encode("gbk") in out.read_bytes()


def test_too_long_barcode_prints_text(tmp_path: Path) -> None:
    out = tmp_path / "r.bin"
    open_printer(f"file://{out}").print_document(ReceiptDocument((Barcode128("X" * 60),)))
    assert b"\x1dk" not in out.read_bytes() and b"X" * 60 in out.read_bytes()


def test_fake_printer_states() -> None:
    p = open_printer("fake://")
    assert isinstance(p, FakePrinter)
    p.print_document(DOC)
    assert p.drawer_kicks == 1 and "测试商店" in p.texts()[0]
    p.set_state("paper_out")
    assert p.status().state == "paper_out"
    with pytest.raises(PaperOut):
        p.print_document(DOC)
    off = open_printer("fake://?state=offline")
    assert off.status().state == "offline"
    with pytest.raises(PrinterOffline):
        off.open_drawer()


def test_unreachable_tcp_printer_is_offline() -> None:
    p = open_printer("tcp://127.0.0.1:9?timeout=0.5")
    with pytest.raises(PrinterOffline):
        p.print_document(DOC)
    assert p.status().state == "offline"


def test_none_printer() -> None:
    p = open_printer("none://")
    p.print_document(DOC)
    assert p.status().state == "ok"


@pytest.mark.parametrize(
    ("url", "part"),
    [
        ("lpt://x", "unknown scheme"),
        ("usb://xyz", "usb://VID:PID"),
        ("file://", "missing file path"),
        ("tcp://:9100", "missing host"),
        ("file:///tmp/x?speed=1", "unknown option 'speed'"),
        ("file:///tmp/x?encoding=utf8", "encoding must be"),
        ("fake://?state=broken", "state must be"),
    ],
)
def test_bad_printer_urls(url: str, part: str) -> None:
    with pytest.raises(PrinterUrlError, match=part):
        open_printer(url)


def test_text_rendering_for_preview() -> None:
    text = render_document_text(DOC, cols=32)
    lines = text.splitlines()
    assert lines[0] == " " * 4 + "测试商店"  # 8 columns centred in 16 (double width)
    assert "-" * 32 in lines and "[drawer]" in lines
    assert any("R0010000004217" in line for line in lines)
