"""WedgeScanner (``wedge://``): the Scanner face of the keyboard-wedge Qt filter (no Qt here)."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from drivers._common import ReaderBase
from drivers.base import ScanEvent, ScannerState
from drivers.framing import WedgeConfig

__all__ = ["WedgeScanner"]

logger = logging.getLogger(__name__)


class WedgeScanner(ReaderBase):
    """Receives completed bursts from ``drivers.wedge_qt.WedgeFilter`` and emits ScanEvents.

    ``config`` is the timing the filter applies; the filter calls ``deliver``. Emits on the GUI
    thread (where Qt key events arrive).
    """

    def __init__(
        self, url: str = "wedge://", config: WedgeConfig | None = None, clock: Callable[[], float] = time.monotonic
    ) -> None:
        super().__init__(url)
        self.config = config or WedgeConfig()
        self._clock = clock

    @property
    def active(self) -> bool:
        return self._state is ScannerState.OPEN

    def deliver(self, raw: str, at: float | None = None) -> None:
        """A burst the filter judged to be a scan."""
        if not self.active:
            return
        text = raw.strip()
        if not text:
            return
        self._emit(ScanEvent(raw=raw, text=text, symbology="", source=self.url, at=self._clock() if at is None else at))

    def notice(self, message: str) -> None:
        """Something the filter wants the user to see (it disabled itself, ...)."""
        self._notice(message)

    def fail(self, message: str) -> None:
        """The filter broke and removed itself."""
        self._set_state(ScannerState.FAILED, message)
