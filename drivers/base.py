"""The driver contract: ScanEvent, scanner state, errors and the Scanner protocol.

Everything a scanner of any kind hands to the application is a ``ScanEvent``; nothing here
knows about Qt or the application (``drivers`` never imports ``pos_app``).
"""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Callable
from typing import Protocol

__all__ = [
    "ScanEvent",
    "ScannerState",
    "ScannerError",
    "ScannerUrlError",
    "ScannerDisconnected",
    "Scanner",
    "ScanCallback",
    "StateCallback",
    "NoticeCallback",
]


@dataclasses.dataclass(frozen=True, slots=True)
class ScanEvent:
    """One code read by one reader.

    raw: the text as framed by the reader (AIM prefix and terminators removed by the framer,
         but otherwise untouched).
    text: the cleaned text the application classifies.
    symbology: "EAN13", "EAN8", "UPCA", "UPCE", "CODE128", "QR", ... or "" when unknown.
    source: the URL the reader was opened with.
    at: monotonic seconds when the terminator (or last frame) arrived.
    """

    raw: str
    text: str
    symbology: str
    source: str
    at: float


class ScannerState(enum.Enum):
    """What a reader is doing, for the status bar."""

    CLOSED = "closed"
    CONNECTING = "connecting"
    OPEN = "open"
    RECONNECTING = "reconnecting"
    FAILED = "failed"


class ScannerError(Exception):
    """Base of every driver error; ``str()`` is a message an IT person can act on."""


class ScannerUrlError(ScannerError, ValueError):
    """A device URL that cannot be opened as written (names the part that is wrong)."""


class ScannerDisconnected(ScannerError, OSError):
    """The device went away (USB unplugged, port closed)."""


ScanCallback = Callable[[ScanEvent], None]
StateCallback = Callable[[ScannerState, str], None]
NoticeCallback = Callable[[str], None]


class Scanner(Protocol):
    """Any reader. Callbacks may run on the reader's own thread."""

    url: str

    @property
    def state(self) -> ScannerState: ...

    def start(
        self,
        on_scan: ScanCallback,
        on_state: StateCallback | None = None,
        on_notice: NoticeCallback | None = None,
    ) -> None:
        """Begin reading; returns at once."""

    def stop(self, timeout: float = 2.0) -> None:
        """Stop cooperatively and join the reader thread."""
