"""FakePrinter (``fake://?state=ok|offline|paper_out``): records documents, reports a set state."""

from __future__ import annotations

import logging
import threading
from typing import Literal

from drivers.errors import PaperOut, PrinterOffline
from drivers.printer import PrinterStatus, ReceiptDocument, render_document_text

__all__ = ["FakePrinter"]

logger = logging.getLogger(__name__)

FakeState = Literal["ok", "offline", "paper_out"]


class FakePrinter:
    """Keeps every printed document (``documents``) and drawer kick (``drawer_kicks``)."""

    def __init__(self, url: str = "fake://", state: FakeState = "ok") -> None:
        self.url = url
        self.state: FakeState = state
        self.documents: list[ReceiptDocument] = []
        self.drawer_kicks = 0
        self._lock = threading.Lock()

    def set_state(self, state: FakeState) -> None:
        self.state = state

    def print_document(self, doc: ReceiptDocument) -> None:
        self._check()
        with self._lock:
            self.documents.append(doc)
            if doc.kick_drawer:
                self.drawer_kicks += 1

    def open_drawer(self) -> None:
        self._check()
        with self._lock:
            self.drawer_kicks += 1

    def status(self) -> PrinterStatus:
        if self.state == "offline":
            return PrinterStatus("offline", "printer offline (fake)")
        if self.state == "paper_out":
            return PrinterStatus("paper_out", "out of paper (fake)")
        return PrinterStatus("ok")

    def texts(self) -> list[str]:
        """The plain-text rendering of every printed document."""
        return [render_document_text(d) for d in self.documents]

    def close(self) -> None:
        return None

    def _check(self) -> None:
        if self.state == "offline":
            raise PrinterOffline(f"{self.url}: printer offline")
        if self.state == "paper_out":
            raise PaperOut(f"{self.url}: out of paper")
