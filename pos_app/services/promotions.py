"""The supervisor's promotions at the terminal: list them, switch one on or off (audited), and sell with what is
stored now — a change (here or by ``pos-app promotions import``) applies from the next sale, without a restart."""

from __future__ import annotations

import dataclasses
import logging
import threading
from collections.abc import Callable
from typing import Any, Protocol

from pos_app.domain.promotions import Promotion
from pos_app.domain.sale import SalePricing

from .errors import ServiceError

__all__ = ["PromotionStore", "PromotionRow", "PromotionsService", "PromotionError"]

logger = logging.getLogger(__name__)


class PromotionError(ServiceError):
    """A promotion change the rules refuse (the message says why)."""


class PromotionStore(Protocol):
    """Where promotions are kept (pos_app/storage/promotions.py ``SqlitePromotionStore``)."""

    def promotions(self) -> list[Promotion]: ...

    def set_active(self, promo_id: str, active: bool, *, user_id: int | None, user_name: str) -> bool: ...

    def stamp(self) -> tuple[Any, ...]: ...

    def pricing(self) -> SalePricing: ...


@dataclasses.dataclass(frozen=True)
class PromotionRow:
    """One line of the promotions screen."""

    id: str
    name: str
    kind: str
    scope: str
    active: bool
    window: str
    flags: str


def _row(p: Promotion) -> PromotionRow:
    scope = ", ".join(sorted(p.codes | p.categories)) or "whole basket"
    w = p.window
    window = ""
    if w.starts is not None or w.ends is not None:
        window = (f"{w.starts:%Y-%m-%d %H:%M}" if w.starts else "…") + " – " + \
                 (f"{w.ends:%Y-%m-%d %H:%M}" if w.ends else "…")
    flags = " ".join(f for f in ("member-only" if p.member_only or p.member_levels else "",
                                 "not-combinable" if not p.combinable else "",
                                 f"priority {p.priority}" if p.priority else "") if f)
    return PromotionRow(p.id, p.name, p.kind, scope, p.active, window, flags)


class PromotionsService:
    """Promotions for the supervisor's screen, and the live pricing the checkout sells with.

    :meth:`refresh` (the checkout calls it when a sale starts) gives new pricing when the stored promotions
    changed since it last looked (one small query), else None.
    """

    def __init__(self, store: PromotionStore) -> None:
        self._store = store
        self._lock = threading.Lock()
        self._stamp: tuple[Any, ...] | None = None

    def rows(self) -> list[PromotionRow]:
        return [_row(p) for p in self._store.promotions()]

    def set_active(self, promo_id: str, active: bool, *, user_id: int | None, user_name: str) -> None:
        """Switch a promotion on or off (audited; applies from the next sale)."""
        if not self._store.set_active(promo_id, active, user_id=user_id, user_name=user_name):
            raise PromotionError(f"no promotion {promo_id!r}")
        logger.info("promotion %s switched %s by %s", promo_id, "on" if active else "off", user_name)

    def mark_loaded(self) -> None:
        """The pricing in use is what is stored now (call after loading it at start)."""
        with self._lock:
            self._stamp = self._store.stamp()

    def refresh(self) -> SalePricing | None:
        """New pricing when the stored promotions changed since the last look; None otherwise or on failure."""
        try:
            with self._lock:
                stamp = self._store.stamp()
                if stamp == self._stamp:
                    return None
                pricing = self._store.pricing()
                self._stamp = stamp
        except Exception:  # noqa: BLE001 - selling goes on with the promotions already loaded; logged
            logger.exception("the changed promotions could not be loaded: selling with the ones loaded before")
            return None
        logger.info("promotions changed: new sales are priced with them")
        return pricing


def pricing_refresher(service: PromotionsService) -> Callable[[], SalePricing | None]:
    """The hook the checkout calls when a sale starts."""
    return service.refresh
