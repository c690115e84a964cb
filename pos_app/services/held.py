"""Park and recall (挂单/取单), and the open basket that survives a crash or restart.

The till keeps its open basket with :meth:`HeldBaskets.keep_open` after every change; at the next start
:meth:`HeldBaskets.restore_open` gives it back. A parked sale is kept with a label until it is recalled (it
becomes the open basket in the same transaction) or discarded with a reason; a shift does not close while
any is waiting (:meth:`HeldBaskets.waiting`).
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from typing import Any, Protocol

from pos_app.domain.errors import DomainError
from pos_app.domain.held import HeldRecord, basket_from_json, basket_to_json
from pos_app.domain.loyalty import LoyaltyRules
from pos_app.domain.sale import Sale, SalePricing, SaleState

from .errors import ServiceError
from .ports.clock import Clock

__all__ = ["HeldStore", "HeldBaskets", "HeldError", "MAX_LABEL"]

logger = logging.getLogger(__name__)

MAX_LABEL = 30


class HeldError(ServiceError):
    """A park, recall or discard the rules refuse (the message says why)."""


class HeldStore(Protocol):
    """Where parked sales and the open basket are kept (storage/held.py)."""

    def park(self, body: dict[str, Any], *, label: str, shift_id: int | None, cashier_id: int | None,
             user_name: str, at: dt.datetime) -> int: ...
    def parked(self) -> list[HeldRecord]: ...
    def get(self, held_id: int) -> HeldRecord | None: ...
    def close(self, held_id: int, *, state: str, user_id: int | None, user_name: str, reason: str,
              at: dt.datetime, open_body: dict[str, Any] | None = None) -> bool: ...
    def save_open(self, body: dict[str, Any] | None, *, cashier_id: int | None, at: dt.datetime) -> None: ...
    def open_basket(self) -> HeldRecord | None: ...


class _Keeper:
    """Writes the latest open basket on its own thread (the GUI thread never takes the write lock for a scan);
    a newer basket replaces one not yet written."""

    def __init__(self, store: HeldStore, clock: Clock) -> None:
        self._store = store
        self._clock = clock
        self._cond = threading.Condition()
        self._pending: tuple[dict[str, Any] | None, int | None] | None = None
        self._busy = False
        self._stopping = False
        self._thread = threading.Thread(target=self._run, name="open-basket-keeper", daemon=True)
        self._thread.start()

    def submit(self, body: dict[str, Any] | None, cashier_id: int | None) -> None:
        with self._cond:
            self._pending = (body, cashier_id)
            self._cond.notify_all()

    def flush(self, timeout_s: float = 5.0) -> bool:
        """Wait until what was submitted is written; False on time-out."""
        with self._cond:
            return self._cond.wait_for(lambda: self._pending is None and not self._busy, timeout_s)

    def stop(self, timeout_s: float = 5.0) -> bool:
        """Write what was submitted, then end the thread; False if it did not end in time."""
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        self._thread.join(timeout_s)
        return not self._thread.is_alive()

    def _run(self) -> None:
        while True:
            with self._cond:
                self._cond.wait_for(lambda: self._pending is not None or self._stopping)
                if self._pending is None:   # stopping, and everything submitted is written
                    return
                body, cashier_id = self._pending
                self._pending = None
                self._busy = True
            try:
                self._store.save_open(body, cashier_id=cashier_id, at=self._clock.now())
            except Exception:  # noqa: BLE001 - losing the safety copy must not stop the till; logged
                logger.exception("could not keep the open basket")
            finally:
                with self._cond:
                    self._busy = False
                    self._cond.notify_all()


class HeldBaskets:
    """The park/recall use-cases of one till. With ``background`` the open basket is written on a thread of
    its own (its store must then open a connection per thread)."""

    def __init__(self, store: HeldStore, clock: Clock, rules: LoyaltyRules, pricing: SalePricing | None = None,
                 *, background: bool = False) -> None:
        self._store = store
        self._clock = clock
        self._rules = rules
        self._pricing = pricing
        self._keeper = _Keeper(store, clock) if background else None

    def flush(self, timeout_s: float = 5.0) -> bool:
        """Wait until the open basket submitted last is written (immediately true without ``background``)."""
        return self._keeper.flush(timeout_s) if self._keeper is not None else True

    def close(self, timeout_s: float = 5.0) -> bool:
        """Write the open basket submitted last and stop the background writer (the till's shutdown)."""
        return self._keeper.stop(timeout_s) if self._keeper is not None else True

    def park(self, sale: Sale, label: str, *, shift_id: int | None, user_id: int | None, user_name: str) -> int:
        """Park an open sale under ``label`` (the till then starts a new one); returns the parked id."""
        if sale.state is not SaleState.OPEN:
            raise HeldError("only a sale being rung up can be parked (finish or cancel the payment first)")
        snap = sale.snapshot()
        if not snap.active_lines:
            raise HeldError("nothing to park: the basket is empty")
        label = (label or "").strip()
        if not label:
            label = f"#{len(self._store.parked()) + 1}"
        if len(label) > MAX_LABEL:
            raise HeldError(f"the label is too long (at most {MAX_LABEL} characters)")
        self.flush()
        held_id = self._store.park(basket_to_json(snap), label=label, shift_id=shift_id, cashier_id=user_id,
                                   user_name=user_name, at=self._clock.now())
        logger.info("sale parked as %d (%s, %d lines)", held_id, label, len(snap.active_lines))
        return held_id

    def parked(self) -> list[HeldRecord]:
        """The parked sales waiting, oldest first."""
        return self._store.parked()

    def waiting(self) -> int:
        """How many parked sales must still be recalled or discarded (a shift does not close before)."""
        return len(self._store.parked())

    def recall(self, held_id: int, *, current: Sale | None, user_id: int | None, user_name: str) -> Sale:
        """The parked sale, open again and priced now; refused while the till has a basket of its own."""
        if current is not None and current.state is SaleState.OPEN and current.snapshot().active_lines:
            raise HeldError("finish or park the current sale before recalling another")
        self.flush()
        record = self._store.get(held_id)
        if record is None or record.kind != "parked" or record.state != "held":
            raise HeldError("that parked sale is no longer waiting")
        try:
            sale = basket_from_json(record.body, self._rules, self._pricing)
        except DomainError as exc:
            raise HeldError(f"the parked sale cannot be read back: {exc}") from exc
        if not self._store.close(held_id, state="recalled", user_id=user_id, user_name=user_name, reason="",
                                 at=self._clock.now(), open_body=basket_to_json(sale.snapshot())):
            raise HeldError("that parked sale is no longer waiting")
        logger.info("parked sale %d recalled", held_id)
        return sale

    def discard(self, held_id: int, reason: str, *, user_id: int | None, user_name: str) -> None:
        """Give up a parked sale, with the reason (audited)."""
        reason = (reason or "").strip()
        if not reason:
            raise HeldError("discarding a parked sale needs a reason")
        if not self._store.close(held_id, state="discarded", user_id=user_id, user_name=user_name, reason=reason,
                                 at=self._clock.now()):
            raise HeldError("that parked sale is no longer waiting")
        logger.info("parked sale %d discarded (%s)", held_id, reason)

    def keep_open(self, sale: Sale | None, *, cashier_id: int | None) -> None:
        """Keep the till's open basket safe (call after every change; None or a finished sale forgets it)."""
        body = None
        if sale is not None and sale.state is SaleState.OPEN:
            body = basket_to_json(sale.snapshot())
        if self._keeper is not None:
            self._keeper.submit(body, cashier_id)
        else:
            self._store.save_open(body, cashier_id=cashier_id, at=self._clock.now())

    def restore_open(self) -> Sale | None:
        """The open basket kept from before a crash or restart (priced again now), or None."""
        record = self._store.open_basket()
        if record is None:
            return None
        try:
            return basket_from_json(record.body, self._rules, self._pricing)
        except DomainError as exc:
            logger.error("the kept open basket does not read back (%s); it stays stored for a supervisor", exc)
            return None
