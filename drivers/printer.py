"""Receipt printers opened by URL: a device-neutral ReceiptDocument rendered to ESC/POS.

URLs: ``usb://04b8:0202``, ``serial:///dev/ttyUSB0?baud=19200``, ``tcp://host:9100``,
``file:///path`` (raw ESC/POS appended to a file), ``fake://?state=ok|offline|paper_out``,
``none://``. Options on any ESC/POS URL: ``profile`` (python-escpos profile, default
TM-T20II: 80 mm, GS k barcodes, cutter), ``encoding`` (gb18030 or gbk), ``cols`` (48).

Chinese follows ../shared/escpos-notes.md: FS & (Kanji mode) after ESC @, and every line is sent
encoded by us (never through python-escpos's MagicEncode, which turns CJK punctuation into "?");
"¥" becomes the full-width "￥". Code128 uses the printer's GS k with the "{B" code set prefix.
"""

from __future__ import annotations

import contextlib
import dataclasses
import io
import logging
import socket
import unicodedata
import urllib.parse
from pathlib import Path
from typing import Any, Literal, Protocol

from drivers.errors import PaperOut, PrinterError, PrinterOffline, PrinterUrlError

__all__ = [
    "Text",
    "Rule",
    "Barcode128",
    "QR",
    "Feed",
    "Cut",
    "Op",
    "ReceiptDocument",
    "PrinterStatus",
    "Printer",
    "EscPosPrinter",
    "NullPrinter",
    "open_printer",
    "render_escpos",
    "render_document_text",
    "PrinterError",
    "PrinterOffline",
    "PaperOut",
    "PrinterUrlError",
]

logger = logging.getLogger(__name__)

Align = Literal["left", "center", "right"]
DEFAULT_PROFILE = "TM-T20II"
DEFAULT_COLS = 48
PRINT_DOTS = 576


@dataclasses.dataclass(frozen=True, slots=True)
class Text:
    text: str
    align: Align = "left"
    bold: bool = False
    double: bool = False


@dataclasses.dataclass(frozen=True, slots=True)
class Rule:
    char: str = "-"


@dataclasses.dataclass(frozen=True, slots=True)
class Barcode128:
    data: str


@dataclasses.dataclass(frozen=True, slots=True)
class QR:
    data: str
    size: int = 6


@dataclasses.dataclass(frozen=True, slots=True)
class Feed:
    n: int = 1


@dataclasses.dataclass(frozen=True, slots=True)
class Cut:
    partial: bool = False


Op = Text | Rule | Barcode128 | QR | Feed | Cut


@dataclasses.dataclass(frozen=True, slots=True)
class ReceiptDocument:
    """Ordered print operations; ``kick_drawer`` opens the cash drawer after printing."""

    ops: tuple[Op, ...]
    kick_drawer: bool = False


@dataclasses.dataclass(frozen=True, slots=True)
class PrinterStatus:
    state: Literal["ok", "offline", "paper_out", "unknown"]
    message: str = ""


class Printer(Protocol):
    url: str

    def print_document(self, doc: ReceiptDocument) -> None: ...
    def open_drawer(self) -> None: ...
    def status(self) -> PrinterStatus: ...
    def close(self) -> None: ...


# --- text rendering (screen preview, tests) ------------------------------------------------


def _cells(s: str) -> int:
    return sum(2 if unicodedata.east_asian_width(c) in ("W", "F") else 1 for c in s)


def _place(s: str, align: Align, cols: int) -> str:
    pad = max(0, cols - _cells(s))
    if align == "center":
        return " " * (pad // 2) + s
    if align == "right":
        return " " * pad + s
    return s


def render_document_text(doc: ReceiptDocument, cols: int = DEFAULT_COLS) -> str:
    """A plain-text rendering (CJK counted as two columns) for the on-screen preview."""
    lines: list[str] = []
    for op in doc.ops:
        if isinstance(op, Text):
            width = cols // 2 if op.double else cols
            for part in op.text.split("\n"):
                lines.append(_place(part, op.align, width))
        elif isinstance(op, Rule):
            lines.append(op.char * cols)
        elif isinstance(op, Barcode128):
            lines.append(_place("||| " + op.data + " |||", "center", cols))
        elif isinstance(op, QR):
            lines.append(_place("[QR] " + op.data, "center", cols))
        elif isinstance(op, Feed):
            lines.extend([""] * op.n)
        elif isinstance(op, Cut):
            lines.append("~" * cols)
    if doc.kick_drawer:
        lines.append("[drawer]")
    return "\n".join(lines) + "\n"


# --- ESC/POS rendering ----------------------------------------------------------------------

_FS_KANJI_ON = b"\x1c\x26"
_ESC_INIT = b"\x1b\x40"


def _encode_line(text: str, encoding: str) -> bytes:
    text = text.replace("\u00a5", "\uffe5")  # ¥ -> ￥ (4 bytes in GB18030, junk on GBK firmwares)
    return text.encode(encoding, errors="replace") + b"\n"


def render_escpos(
    doc: ReceiptDocument, profile: str = DEFAULT_PROFILE, encoding: str = "gb18030", cols: int = DEFAULT_COLS
) -> bytes:
    """The ESC/POS bytes of ``doc`` (built with python-escpos's Dummy printer)."""
    from escpos.printer import Dummy

    p = Dummy(profile=profile)
    p._raw(_ESC_INIT + _FS_KANJI_ON)
    for op in doc.ops:
        if isinstance(op, Text):
            p.set(align=op.align, bold=op.bold, custom_size=op.double, width=2 if op.double else 1,
                  height=2 if op.double else 1, normal_textsize=not op.double)
            for part in op.text.split("\n"):
                p._raw(_encode_line(part, encoding))
            p.set(align="left", bold=False, normal_textsize=True)
        elif isinstance(op, Rule):
            p._raw(_encode_line(op.char * cols, encoding))
        elif isinstance(op, Barcode128):
            _barcode128(p, op.data, encoding)
        elif isinstance(op, QR):
            p.qr(op.data, native=True, size=op.size, center=False)
        elif isinstance(op, Feed):
            p._raw(b"\n" * op.n)
        elif isinstance(op, Cut):
            p.cut(mode="PART" if op.partial else "FULL")
    if doc.kick_drawer:
        p.cashdraw(2)
    return bytes(p.output)


def _barcode128(p: Any, data: str, encoding: str) -> None:
    if not data.isascii() or not data.isprintable() or not data:
        raise PrinterError(f"Code128 data must be printable ASCII: {data!r}")
    payload = "{B" + data.replace("{", "{{")
    # width in dots of set B at module m: (11 * (n + 3) + 2) * m (escpos-notes.md)
    module = next((m for m in (3, 2, 1) if (11 * (len(data) + 3) + 2) * m <= PRINT_DOTS), None)
    if module is None:
        logger.info("barcode of %d characters too wide for the paper; printing its text only", len(data))
        p._raw(_encode_line(data, encoding))
        return
    with contextlib.redirect_stdout(io.StringIO()):  # python-escpos prints the renderer it used
        p.barcode(payload, "CODE128", height=80, width=module, pos="BELOW", function_type="B", align_ct=True)
    p.set(align="left")


# --- printers -------------------------------------------------------------------------------


class EscPosPrinter:
    """An ESC/POS printer reached through a transport (python-escpos device, or a file)."""

    def __init__(self, url: str, transport: Any, profile: str, encoding: str, cols: int) -> None:
        self.url = url
        self._transport = transport  # callable returning an escpos device, or a Path
        self.profile, self.encoding, self.cols = profile, encoding, cols
        self._device: Any = None

    def print_document(self, doc: ReceiptDocument) -> None:
        self._send(render_escpos(doc, self.profile, self.encoding, self.cols))

    def open_drawer(self) -> None:
        self._send(b"\x1bp\x00\x32\x32")  # ESC p 0 50 50: pin 2, 100 ms on/off

    def status(self) -> PrinterStatus:
        if isinstance(self._transport, Path):
            return PrinterStatus("ok", str(self._transport))
        try:
            dev = self._connect()
            online = dev.is_online()
            paper = dev.paper_status()
        except PrinterOffline as exc:
            return PrinterStatus("offline", str(exc))
        except (OSError, NotImplementedError, AttributeError) as exc:
            return PrinterStatus("unknown", f"status not available: {exc}")
        if not online:
            return PrinterStatus("offline", "printer reports offline (cover open or error)")
        if paper == 0:
            return PrinterStatus("paper_out", "out of paper")
        return PrinterStatus("ok", "paper low" if paper == 1 else "")

    def close(self) -> None:
        if self._device is not None:
            with contextlib.suppress(Exception):
                self._device.close()
            self._device = None

    def _connect(self) -> Any:
        if self._device is None:
            try:
                self._device = self._transport()
                if hasattr(self._device, "open") and getattr(self._device, "device", None) is None:
                    self._device.open()
            except Exception as exc:  # noqa: BLE001 - every transport failure means "offline"
                self._device = None
                raise PrinterOffline(f"{self.url}: {exc}") from exc
        return self._device

    def _send(self, data: bytes) -> None:
        if isinstance(self._transport, Path):
            try:
                with self._transport.open("ab") as f:
                    f.write(data)
            except OSError as exc:
                raise PrinterOffline(f"{self.url}: {exc}") from exc
            return
        dev = self._connect()
        try:
            dev._raw(data)
        except Exception as exc:  # noqa: BLE001
            self.close()
            raise PrinterOffline(f"{self.url}: {exc}") from exc


class _TcpDevice:
    """A raw TCP (port 9100) connection. python-escpos's Network leaks its socket when the
    connection fails, so the few calls needed here are done directly."""

    def __init__(self, host: str, port: int, timeout: float) -> None:
        self._sock = socket.create_connection((host, port), timeout=timeout)
        self.device = self._sock

    def _raw(self, data: bytes) -> None:
        self._sock.sendall(data)

    def _status(self, n: int) -> int | None:
        self._sock.sendall(b"\x10\x04" + bytes([n]))  # DLE EOT n
        try:
            b = self._sock.recv(1)
        except TimeoutError:
            return None
        return b[0] if b else None

    def is_online(self) -> bool:
        s = self._status(1)
        if s is None:
            raise NotImplementedError("no answer to DLE EOT")
        return not s & 0x08

    def paper_status(self) -> int:
        s = self._status(4)
        if s is None:
            raise NotImplementedError("no answer to DLE EOT")
        if s & 0x60:
            return 0
        return 1 if s & 0x0C else 2

    def close(self) -> None:
        self._sock.close()


class NullPrinter:
    """``none://``: no printer configured; printing does nothing."""

    def __init__(self, url: str = "none://") -> None:
        self.url = url

    def print_document(self, doc: ReceiptDocument) -> None:
        logger.debug("no printer: receipt of %d operations not printed", len(doc.ops))

    def open_drawer(self) -> None:
        return None

    def status(self) -> PrinterStatus:
        return PrinterStatus("ok", "no printer configured")

    def close(self) -> None:
        return None


_OPTS = {"profile", "encoding", "cols", "baud", "timeout", "state"}


def open_printer(url: str) -> Printer:
    """Build the printer named by ``url`` (nothing is contacted until the first print)."""
    parts = urllib.parse.urlsplit(url)
    scheme = parts.scheme.lower()
    try:
        q = dict(urllib.parse.parse_qsl(parts.query, keep_blank_values=True, strict_parsing=bool(parts.query)))
    except ValueError:
        raise PrinterUrlError(f"{url}: malformed query {parts.query!r}") from None
    for k in q:
        if k not in _OPTS:
            raise PrinterUrlError(f"{url}: unknown option {k!r} (known: {', '.join(sorted(_OPTS))})")
    if scheme == "none":
        return NullPrinter(url)
    if scheme == "fake":
        from drivers.printer_fake import FakePrinter

        state = q.get("state", "ok")
        if state not in ("ok", "offline", "paper_out"):
            raise PrinterUrlError(f"{url}: state must be ok, offline or paper_out")
        return FakePrinter(url, state)  # type: ignore[arg-type]
    profile = q.get("profile", DEFAULT_PROFILE)
    encoding = q.get("encoding", "gb18030").lower()
    if encoding not in ("gb18030", "gbk"):
        raise PrinterUrlError(f"{url}: encoding must be gb18030 or gbk")
    try:
        cols = int(q.get("cols", DEFAULT_COLS))
        baud = int(q.get("baud", 19200))
        timeout = float(q.get("timeout", 5))
    except ValueError as exc:
        raise PrinterUrlError(f"{url}: {exc}") from None
    if not (16 <= cols <= 80 and 50 <= baud <= 4_000_000 and 0.1 <= timeout <= 120):
        raise PrinterUrlError(f"{url}: cols must be 16-80, baud 50-4000000, timeout 0.1-120 s")
    transport: Any
    if scheme == "file":
        if not parts.path:
            raise PrinterUrlError(f"{url}: missing file path")
        transport = Path(urllib.parse.unquote(parts.path))
    elif scheme == "usb":
        try:
            vid, pid = (int(x, 16) for x in parts.netloc.split(":"))
            if not (0 <= vid <= 0xFFFF and 0 <= pid <= 0xFFFF):
                raise ValueError(parts.netloc)
        except ValueError:
            raise PrinterUrlError(f"{url}: expected usb://VID:PID in hex (usb://04b8:0202)") from None

        def transport() -> Any:
            from escpos.printer import Usb

            return Usb(vid, pid, profile=profile)
    elif scheme == "serial":
        dev = urllib.parse.unquote(parts.netloc + parts.path)
        if not dev:
            raise PrinterUrlError(f"{url}: missing device path")

        def transport() -> Any:
            from escpos.printer import Serial

            return Serial(devfile=dev, baudrate=baud, timeout=timeout, profile=profile)
    elif scheme == "tcp":
        try:
            host, port = parts.hostname, parts.port or 9100
        except ValueError:
            raise PrinterUrlError(f"{url}: port must be a number from 1 to 65535 (tcp://host:9100)") from None
        if not host:
            raise PrinterUrlError(f"{url}: missing host")

        def transport() -> Any:
            return _TcpDevice(host, port, timeout)
    else:
        raise PrinterUrlError(f"{url}: unknown scheme {parts.scheme!r} (usb, serial, tcp, file, fake, none)")
    return EscPosPrinter(url, transport, profile, encoding, cols)
