"""What the windows are given: translator, service objects, router, printer and barcode renderers (no adapters)."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any, Protocol

from drivers.base import Scanner
from pos_app.services.checkout import CheckoutService
from pos_app.services.members import MemberService
from pos_app.services.payment import PaymentService
from pos_app.services.receipts import ReceiptContent
from pos_app.services.refunds import RefundService
from pos_app.services.reports import ReportService
from pos_app.services.routing import ScanRouter
from pos_app.services.shifts import ShiftService
from pos_app.services.store_reports import StoreReportService
from pos_app.services.sync import SyncWorker
from pos_app.services.till import Till
from pos_app.services.users import UserService

from .i18n import Translator
from .navigator import Navigator

__all__ = ["TerminalContext", "ReceiptPrinter", "BarcodeRenderer"]


class PrintedOutcome(Protocol):
    """How a print job ended (pos_app.printing.PrintOutcome): ok, or a message a cashier can act on."""

    @property
    def ok(self) -> bool: ...

    @property
    def message(self) -> str: ...


class ReceiptPrinter(Protocol):
    """The printing adapter as the UI sees it (pos_app/printing.py implements it)."""

    @property
    def configured(self) -> bool: ...

    def status_text(self) -> str: ...

    def print_receipt(self, receipt: ReceiptContent) -> PrintedOutcome:
        """Blocking print (call it on a worker thread); returns an outcome with ``ok`` and ``message``."""

    def open_drawer(self) -> None: ...

    def preview_text(self, receipt: ReceiptContent) -> str: ...


#: (text, "code128" | "qr") -> PNG bytes
BarcodeRenderer = Callable[[str, str], bytes]


@dataclasses.dataclass
class TerminalContext:
    """Everything the UI needs, built by the shell (pos_app/app.py): typed services, no adapters."""

    tr: Translator
    store_id: str
    terminal_id: str
    db_path: str
    router: ScanRouter
    checkout: CheckoutService
    members: MemberService
    refunds: RefundService
    users: UserService
    shifts: ShiftService
    reports: ReportService
    payment: PaymentService | None = None   # None: no gateway configured (cash only)
    sync: SyncWorker | None = None          # None: no gateway configured
    store_link: Any = None                  # store mode: status() -> (template, values); None standalone
    store_reports: StoreReportService | None = None   # store mode: store X / Z for a supervisor (Shift+F9)
    printer: ReceiptPrinter | None = None
    barcode: BarcodeRenderer | None = None
    scanners: list[Scanner] = dataclasses.field(default_factory=list)
    camera_urls: list[str] = dataclasses.field(default_factory=list)
    gateway_url: str = ""
    demo: bool = False
    drawer: bool = False
    wedge_filter: Any = None  # drivers.wedge_qt.WedgeFilter (a Qt driver: the UI never imports drivers/*_qt)
    till: Till | None = None
    promotions: Any = None                  # services.promotions.PromotionsService (the supervisor's screen)
    store_name: str = ""
    store_address: str = ""
    nav: Navigator = dataclasses.field(default_factory=Navigator)
