"""Route each ScanEvent by what the code is: payment, member, product, receipt, supervisor card, rejected."""

from __future__ import annotations

import dataclasses
import enum
import logging
import threading
from collections.abc import Callable

from drivers.base import ScanEvent
from pos_app.domain.codes import (
    DEFAULT_MEMBER_PATTERN,
    DEFAULT_RECEIPT_PREFIX,
    DEFAULT_SUPERVISOR_PATTERN,
    CodeKind,
    ScanCode,
    classify,
    mask_code,
)

__all__ = [
    "Route",
    "RouteOutcome",
    "ScanRouter",
    "CodeHandler",
    "RejectHandler",
    "NO_PAYMENT_WAITING",
    "CROSS_READER_DEDUP_S",
]

logger = logging.getLogger(__name__)

NO_PAYMENT_WAITING = "no payment is waiting for a payment code"
CROSS_READER_DEDUP_S = 0.3
"""The same code from a *different* reader within this window is one scan seen twice."""

CodeHandler = Callable[[ScanCode], None]
RejectHandler = Callable[[str, str], None]  # (text masked to its last 4 characters, reason)


class Route(enum.Enum):
    """Where a classified code goes."""

    PAYMENT = "payment"
    MEMBER = "member"
    PRODUCT = "product"
    RECEIPT = "receipt"
    SUPERVISOR = "supervisor"
    REJECTED = "rejected"
    DUPLICATE = "duplicate"


_ROUTES: dict[CodeKind, Route] = {
    CodeKind.PAYMENT: Route.PAYMENT,
    CodeKind.FACE_PAY: Route.PAYMENT,
    CodeKind.PRODUCT: Route.PRODUCT,
    CodeKind.WEIGHED_PRODUCT: Route.PRODUCT,
    CodeKind.RECEIPT: Route.RECEIPT,
    CodeKind.MEMBER_STATIC: Route.MEMBER,
    CodeKind.MEMBER_DYNAMIC: Route.MEMBER,
    CodeKind.SUPERVISOR_CARD: Route.SUPERVISOR,
    CodeKind.OTHER_WALLET: Route.REJECTED,
    CodeKind.REJECTED: Route.REJECTED,
}

_NOT_HERE = {
    Route.MEMBER: "member codes are not accepted on this screen",
    Route.PRODUCT: "product codes are not accepted on this screen",
    Route.RECEIPT: "receipt codes are not accepted on this screen",
    Route.SUPERVISOR: "a supervisor card is not needed now",
}


@dataclasses.dataclass(frozen=True, slots=True)
class RouteOutcome:
    """What happened to one scan. ``code`` is None only for a duplicate; ``reason`` for rejections."""

    route: Route
    code: ScanCode | None
    reason: str = ""
    masked: str = ""


class ScanRouter:
    """Classify scans and hand them to the handler registered for their route.

    Handlers are plain callables, set at construction or with ``set_handler`` (``None`` removes
    one). The payment handler is registered only while a payment waits for the customer's code;
    a payment code with no payment waiting goes to ``on_rejected(masked, NO_PAYMENT_WAITING)``.
    A route without a handler is rejected with a reason. Handlers run on the caller's thread,
    outside the router's lock; an exception from a handler propagates to the caller.
    Pure Python: no Qt, no I/O. Thread-safe (two readers may be active at once).
    """

    def __init__(
        self,
        *,
        member_pattern: str = DEFAULT_MEMBER_PATTERN,
        receipt_prefix: str = DEFAULT_RECEIPT_PREFIX,
        supervisor_pattern: str = DEFAULT_SUPERVISOR_PATTERN,
        on_payment_code: CodeHandler | None = None,
        on_member_code: CodeHandler | None = None,
        on_product_code: CodeHandler | None = None,
        on_receipt_code: CodeHandler | None = None,
        on_supervisor_card: CodeHandler | None = None,
        on_rejected: RejectHandler | None = None,
        dedup_s: float = CROSS_READER_DEDUP_S,
    ) -> None:
        self._member_pattern = member_pattern
        self._receipt_prefix = receipt_prefix
        self._supervisor_pattern = supervisor_pattern
        self._dedup_s = dedup_s
        self._lock = threading.Lock()
        self._handlers: dict[Route, CodeHandler | None] = {
            Route.PAYMENT: on_payment_code,
            Route.MEMBER: on_member_code,
            Route.PRODUCT: on_product_code,
            Route.RECEIPT: on_receipt_code,
            Route.SUPERVISOR: on_supervisor_card,
        }
        self._on_rejected = on_rejected
        self._last: tuple[str, str, float] | None = None  # (text, source, at)

    def set_handler(self, route: Route, handler: CodeHandler | None) -> None:
        """Register (or with None, remove) the handler for ``route`` (not REJECTED/DUPLICATE)."""
        if route not in self._handlers:
            raise ValueError(f"no handler slot for route {route.name}; use set_rejected_handler")
        with self._lock:
            self._handlers[route] = handler

    def set_rejected_handler(self, handler: RejectHandler | None) -> None:
        """Register the handler that shows "not recognised: ..." messages."""
        with self._lock:
            self._on_rejected = handler

    @property
    def payment_waiting(self) -> bool:
        """True while a payment handler is registered."""
        with self._lock:
            return self._handlers[Route.PAYMENT] is not None

    def route(self, event: ScanEvent) -> RouteOutcome:
        """Classify ``event`` and dispatch it; return what was done."""
        code = classify(
            event.text,
            event.symbology,
            member_pattern=self._member_pattern,
            receipt_prefix=self._receipt_prefix,
            supervisor_pattern=self._supervisor_pattern,
        )
        masked = mask_code(code.text)
        with self._lock:
            if self._is_duplicate(code.text, event):
                self._last = (code.text, event.source, event.at)
                logger.debug("duplicate of %s from a second reader %s ignored", masked, event.source)
                return RouteOutcome(Route.DUPLICATE, None, masked=masked)
            self._last = (code.text, event.source, event.at)
            route = _ROUTES[code.kind]
            handler = self._handlers.get(route)
            on_rejected = self._on_rejected
        reason = ""
        if route is Route.REJECTED:
            reason = code.reason or "not a code this terminal knows"
        elif handler is None:
            reason = NO_PAYMENT_WAITING if route is Route.PAYMENT else _NOT_HERE[route]
        if reason:
            logger.info("scan %s (%s) from %s not taken: %s", masked, code.kind.name, event.source, reason)
            if on_rejected is not None:
                on_rejected(masked, reason)
            return RouteOutcome(Route.REJECTED, code, reason, masked)
        assert handler is not None
        logger.info("scan %s (%s) from %s -> %s", masked, code.kind.name, event.source, route.value)
        handler(code)
        return RouteOutcome(route, code, masked=masked)

    def _is_duplicate(self, text: str, event: ScanEvent) -> bool:
        if self._last is None or self._dedup_s <= 0:
            return False
        last_text, last_source, last_at = self._last
        return last_text == text and last_source != event.source and abs(event.at - last_at) < self._dedup_s
