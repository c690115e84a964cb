"""What the windows are given: translator, service objects, router, printer and barcode renderers (no adapters)."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any, Protocol

from drivers.base import Scanner
from pos_app.services.routing import ScanRouter

from .i18n import Translator

__all__ = ["TerminalContext", "ReceiptPrinter", "BarcodeRenderer", "PrintResult"]


@dataclasses.dataclass(frozen=True)
class PrintResult:
    """How a print job ended: ok, or a message a cashier can act on (offline, out of paper)."""

    ok: bool
    message: str = ""


class ReceiptPrinter(Protocol):
    """The printing adapter as the UI sees it (pos_app/printing.py implements it)."""

    @property
    def configured(self) -> bool: ...

    def status_text(self) -> str: ...

    def print_receipt(self, receipt: Any) -> Any:
        """Blocking print (call it on a worker thread); returns an outcome with ``ok`` and ``message``."""

    def open_drawer(self) -> None: ...

    def preview_text(self, receipt: Any) -> str: ...


#: (text, "code128" | "qr") -> PNG bytes
BarcodeRenderer = Callable[[str, str], bytes]


@dataclasses.dataclass
class TerminalContext:
    """Everything the UI needs, built by app.py. Services are typed loosely: the UI only calls use-cases."""

    tr: Translator
    store_id: str
    terminal_id: str
    db_path: str
    router: ScanRouter
    checkout: Any
    payment: Any = None
    members: Any = None
    refunds: Any = None
    receipts: Any = None
    users: Any = None
    shifts: Any = None
    reports: Any = None
    sync: Any = None
    store_link: Any = None          # store mode: has status() -> (template, values); None for a standalone lane
    printer: ReceiptPrinter | None = None
    barcode: BarcodeRenderer | None = None
    scanners: list[Scanner] = dataclasses.field(default_factory=list)
    camera_urls: list[str] = dataclasses.field(default_factory=list)
    gateway_url: str = ""
    demo: bool = False
    drawer: bool = False
    wedge_filter: Any = None
    extras: dict[str, Any] = dataclasses.field(default_factory=dict)
