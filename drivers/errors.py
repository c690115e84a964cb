"""Driver errors in one place: the scanner errors (defined in drivers.base) and the printer errors."""

from __future__ import annotations

from drivers.base import ScannerDisconnected, ScannerError, ScannerUrlError

__all__ = [
    "ScannerError",
    "ScannerUrlError",
    "ScannerDisconnected",
    "PrinterError",
    "PrinterUrlError",
    "PrinterOffline",
    "PaperOut",
]


class PrinterError(OSError):
    """Base of every printer error; ``str()`` is a message the cashier or IT can act on."""


class PrinterUrlError(PrinterError, ValueError):
    """A printer URL that cannot be opened as written (names the part that is wrong)."""


class PrinterOffline(PrinterError):
    """The printer cannot be reached (unplugged, switched off, network down)."""


class PaperOut(PrinterError):
    """The printer reports that it is out of paper (or its cover is open)."""
