"""Printing adapter: ReceiptContent -> drivers.printer ReceiptDocument; status, drawer, barcode images."""

from __future__ import annotations

import io
import logging
import threading
from collections.abc import Callable
from typing import Any

__all__ = ["PrintAdapter", "PrintOutcome", "render_barcode_png", "qimage_to_bgr", "receipt_document"]

logger = logging.getLogger(__name__)

_NO_PRINTER = ("none://", "", "preview://")


class PrintOutcome:
    """How a print job ended (``ok`` or a cashier-readable ``message``)."""

    __slots__ = ("ok", "message")

    def __init__(self, ok: bool, message: str = "") -> None:
        self.ok = ok
        self.message = message

    def __repr__(self) -> str:
        return f"PrintOutcome(ok={self.ok}, message={self.message!r})"


def receipt_document(content: Any, width_chars: int = 42) -> Any:
    """Build the driver's ReceiptDocument from a ReceiptContent: header centred, lines, Code128 of the receipt
    code, and (a non-member's sale with a join URL) the shop's join QR under its caption."""
    import dataclasses

    from drivers.printer import QR, Barcode128, Cut, Feed, ReceiptDocument, Text

    header = tuple(getattr(content, "header", ()) or ())
    join_url = str(getattr(content, "join_url", "") or "")
    ops: list[Any] = []
    for i, line in enumerate(header):
        ops.append(Text(line, align="center", bold=i == 0, double=i == 0))
    ops.append(Text("-" * width_chars))   # the body's own width (a Rule spans the printer's cols: 48 vs 42)
    body = _receipt_text(dataclasses.replace(content, join_url="") if join_url else content,
                         width_chars).splitlines()[len(header):]
    for line in body:
        ops.append(Text(line))
    code = getattr(content, "barcode", "")
    if code:
        ops.append(Barcode128(code))
    if join_url:
        from pos_app.services.receipts import join_caption

        ops.extend([Text("-" * width_chars), Text(join_caption(content), align="center", bold=True), QR(join_url, size=5)])
    ops.extend([Feed(3), Cut()])
    return ReceiptDocument(ops=tuple(ops))


def _receipt_text(content: Any, width: int) -> str:
    from pos_app.services.receipts import receipt_text

    return str(receipt_text(content, width))


class PrintAdapter:
    """The terminal's receipt printer, opened by URL; ``none://`` means preview only.

    ``print_receipt`` blocks (call it off the GUI thread); ``print_async`` runs it on a thread and
    calls ``on_done(PrintOutcome)`` on that thread.
    """

    def __init__(self, url: str, device: Any = None, *, width_chars: int = 42, drawer: bool = False,
                 error: str = "") -> None:
        self.url = url
        self._device = device
        self.width_chars = width_chars
        self.drawer = drawer
        self._error = error
        self._lock = threading.Lock()
        self.last_outcome: PrintOutcome | None = None

    @classmethod
    def open(cls, url: str, *, width_chars: int = 42, drawer: bool = False) -> PrintAdapter:
        if url in _NO_PRINTER or url.startswith("none:"):
            return cls(url, None, width_chars=width_chars, drawer=False)
        try:
            from drivers.printer import open_printer
        except ImportError as exc:
            return cls(url, None, width_chars=width_chars, drawer=drawer, error=f"printer driver missing ({exc})")
        try:
            device = open_printer(url)
        except Exception as exc:  # noqa: BLE001 - a bad printer URL must not stop the till: reported in the status bar
            logger.error("printer %s cannot be opened: %s", url, exc)
            return cls(url, None, width_chars=width_chars, drawer=drawer, error=str(exc))
        return cls(url, device, width_chars=width_chars, drawer=drawer)

    @property
    def configured(self) -> bool:
        return self._device is not None or bool(self._error)

    def status_text(self) -> str:
        if self._device is None:
            return self._error and "offline" or "preview only"
        try:
            status = self._device.status()
        except Exception:  # noqa: BLE001 - status is informational
            return "offline"
        return str({"ok": "ready", "paper_out": "out of paper"}.get(status.state, status.state))

    def preview_text(self, content: Any) -> str:
        return _receipt_text(content, self.width_chars)

    def print_receipt(self, content: Any) -> PrintOutcome:
        """Blocking print of one receipt; never raises for device problems."""
        if self._device is None:
            outcome = PrintOutcome(False, self._error or "no printer configured: the receipt is shown on screen")
            self.last_outcome = outcome
            return outcome
        with self._lock:
            try:
                self._device.print_document(receipt_document(content, self.width_chars))
            except Exception as exc:  # noqa: BLE001 - offline, out of paper, USB gone: a message, the sale stays committed
                logger.warning("printing on %s failed: %s", self.url, exc)
                outcome = PrintOutcome(False, str(exc) or "printer problem")
            else:
                outcome = PrintOutcome(True)
        self.last_outcome = outcome
        return outcome

    def print_async(self, content: Any, on_done: Callable[[PrintOutcome], None]) -> threading.Thread:
        thread = threading.Thread(target=lambda: on_done(self.print_receipt(content)), name="print", daemon=True)
        thread.start()
        return thread

    def open_drawer(self) -> None:
        if self._device is None or not self.drawer:
            return
        try:
            self._device.open_drawer()
        except Exception as exc:  # noqa: BLE001 - the sale is done; tell the log, the cashier opens it by key
            logger.warning("drawer kick on %s failed: %s", self.url, exc)

    def close(self) -> None:
        if self._device is not None and hasattr(self._device, "close"):
            try:
                self._device.close()
            except Exception:  # closing at shutdown
                logger.debug("printer close failed", exc_info=True)


def render_barcode_png(text: str, kind: str = "code128") -> bytes:
    """A PNG of ``text`` as Code128 (python-barcode) or QR (qrcode), for previews and the wallet window."""
    buf = io.BytesIO()
    if kind == "qr":
        import qrcode

        img = qrcode.make(text, box_size=6, border=2)
        img.save(buf, format="PNG")
        return buf.getvalue()
    from barcode import Code128
    from barcode.writer import ImageWriter

    Code128(text, writer=ImageWriter()).write(buf, options={"module_width": 0.3, "module_height": 12.0,
                                                             "quiet_zone": 4.0, "font_size": 8,
                                                             "text_distance": 3.0, "dpi": 200})
    return buf.getvalue()


def qimage_to_bgr(image: Any) -> Any:
    """A QImage (any format convertible to RGB32) -> numpy BGR uint8 array, or None. Duck-typed: no Qt import."""
    if image is None or image.isNull():
        return None
    import numpy as np

    w, h = image.width(), image.height()
    bpl = image.bytesPerLine()
    buf = np.frombuffer(image.constBits(), dtype=np.uint8, count=bpl * h).reshape(h, bpl)
    bgra = buf[:, : w * 4].reshape(h, w, 4)
    return np.ascontiguousarray(bgra[:, :, :3])
