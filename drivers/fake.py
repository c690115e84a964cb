"""FakeScanner (``fake://``): a reader driven by code, for tests and demo mode."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from drivers._common import ReaderBase
from drivers.base import ScanEvent, ScannerState

__all__ = ["FakeScanner"]

logger = logging.getLogger(__name__)


class FakeScanner(ReaderBase):
    """Emits exactly what ``feed`` is given, synchronously, on the caller's thread.

    ``feed`` before ``start`` (or after ``stop``) is recorded in ``dropped`` and not emitted,
    like a real reader that is not listening.
    """

    def __init__(self, url: str = "fake://", clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__(url)
        self._clock = clock
        self.dropped: list[str] = []

    def feed(self, text: str, symbology: str = "") -> ScanEvent:
        """Deliver one scan of ``text``; returns the event (emitted only while started)."""
        event = ScanEvent(raw=text, text=text.strip(), symbology=symbology, source=self.url, at=self._clock())
        if self._state is ScannerState.OPEN:
            self._emit(event)
        else:
            self.dropped.append(text)
        return event

    def simulate_state(self, state: ScannerState, message: str = "") -> None:
        """Pretend the device changed state (unplugged, back, failed)."""
        self._set_state(state, message)

    def simulate_notice(self, message: str) -> None:
        """Pretend the device produced something that was dropped."""
        self._notice(message)
