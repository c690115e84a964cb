"""Customer pole displays (VFD, 2 lines × 20 characters) opened by URL, like the scanners.

The command set is the common Epson DM-D / ESC-POS-like one most pole displays accept:
``ESC @`` initialise, ``FF`` clear, ``US $ x y`` move the cursor to column x (1-20), line y (1-2);
text is written in the display's code page. URLs:

- ``serial:///dev/ttyUSB0?baud=9600&charset=ascii`` (``charset=gb18030`` for a display with a Chinese
  font; with ``ascii`` the caller sends English lines, see ``chinese``);
- ``fake://NAME``: keeps what was shown, for tests and for the demo;
- ``none://``: shows nothing.
"""

from __future__ import annotations

import threading
import urllib.parse
from typing import Any, Protocol

from ._common import opt_choice, opt_int, parse_options
from .base import ScannerUrlError

__all__ = ["PoleDisplay", "SerialPoleDisplay", "FakePoleDisplay", "NullPoleDisplay", "open_pole_display",
           "pole_bytes", "ESC_INIT", "CLEAR", "WIDTH"]

ESC_INIT = b"\x1b\x40"
CLEAR = b"\x0c"
WIDTH = 20


def _goto(column: int, line: int) -> bytes:
    return b"\x1f\x24" + bytes((column, line))


def pole_bytes(line1: str, line2: str, charset: str) -> bytes:
    """The bytes that show two lines (each padded/cut to the display's width by the caller)."""
    enc = "gb18030" if charset == "gb18030" else "ascii"
    return (CLEAR + _goto(1, 1) + line1.encode(enc, errors="replace") + _goto(1, 2)
            + line2.encode(enc, errors="replace"))


class PoleDisplay(Protocol):
    url: str
    chinese: bool

    def show(self, line1: str, line2: str) -> None: ...

    def close(self) -> None: ...


class SerialPoleDisplay:
    def __init__(self, url: str, port: str, baud: int, charset: str, serial_factory: Any = None) -> None:
        import serial

        self.url = url
        self.chinese = charset == "gb18030"
        self._charset = charset
        self._lock = threading.Lock()
        factory = serial_factory or serial.Serial
        self._port = factory(port, baudrate=baud, timeout=1, write_timeout=1)
        self._port.write(ESC_INIT + CLEAR)
        self._port.flush()
        self._last: tuple[str, str] | None = None

    def show(self, line1: str, line2: str) -> None:
        with self._lock:
            if (line1, line2) == self._last:
                return
            self._port.write(pole_bytes(line1, line2, self._charset))
            self._port.flush()
            self._last = (line1, line2)

    def close(self) -> None:
        with self._lock:
            try:
                self._port.write(CLEAR)
                self._port.flush()
            finally:
                self._port.close()


class FakePoleDisplay:
    """Keeps every pair of lines shown (``shown``)."""

    def __init__(self, url: str, chinese: bool = True) -> None:
        self.url = url
        self.chinese = chinese
        self.shown: list[tuple[str, str]] = []

    def show(self, line1: str, line2: str) -> None:
        if not self.shown or self.shown[-1] != (line1, line2):
            self.shown.append((line1, line2))

    def close(self) -> None:
        pass


class NullPoleDisplay:
    def __init__(self, url: str) -> None:
        self.url = url
        self.chinese = False

    def show(self, line1: str, line2: str) -> None:
        pass

    def close(self) -> None:
        pass


def open_pole_display(url: str) -> PoleDisplay:
    """Open a pole display by URL; a bad URL raises ScannerUrlError naming what is wrong."""
    parts = urllib.parse.urlsplit(url)
    if parts.scheme == "none":
        return NullPoleDisplay(url)
    if parts.scheme == "fake":
        opts = parse_options(url, parts.query, {"charset"})
        return FakePoleDisplay(url, chinese=opt_choice(url, opts, "charset", "gb18030", ("ascii", "gb18030"))
                               == "gb18030")
    if parts.scheme == "serial":
        if not parts.path:
            raise ScannerUrlError(f"{url}: the serial device path is missing (serial:///dev/ttyUSB0)")
        opts = parse_options(url, parts.query, {"baud", "charset"})
        return SerialPoleDisplay(url, parts.path, opt_int(url, opts, "baud", 9600, 1200, 115200),
                                 opt_choice(url, opts, "charset", "ascii", ("ascii", "gb18030")))
    raise ScannerUrlError(f"{url}: not a pole display URL (serial://, fake://, none://)")
