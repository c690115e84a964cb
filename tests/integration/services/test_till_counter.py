"""The till's counter intents: manual discounts capped per role, open-price override, park / recall and the
open basket kept across a restart (real SQLite, real checkout)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from checkout_env import BREAD, COLA, RULES

from pos_app.domain.pricing import ManualDiscount
from pos_app.runtime import FixedClock
from pos_app.services.checkout import CheckoutService
from pos_app.services.held import HeldBaskets
from pos_app.services.till import DiscountCaps, DiscountNeedsApproval, Till, TillSession
from pos_app.storage.db import connect
from pos_app.storage.held import SqliteHeldBaskets
from pos_app.storage.uow import SqliteUnitOfWork


def _till(db: Path, checkout: CheckoutService, clock: FixedClock) -> Till:
    conn = connect(db)
    held = HeldBaskets(SqliteHeldBaskets(lambda: conn, "T1"), clock, RULES)
    till = Till(checkout, None, held=held, discount_caps=DiscountCaps(cashier_max_pct=10))
    till.start(TillSession(user_id=1, user_name="Alice", shift_id=1))
    return till


def test_discount_above_the_cashier_cap_needs_a_supervisor(db: Path, checkout: CheckoutService,
                                                           clock: FixedClock) -> None:
    till = _till(db, checkout, clock)
    till.add_item(checkout.find_product(BREAD))  # type: ignore[arg-type]
    till.discount_line(1, ManualDiscount("DAMAGED", percent=10))
    with pytest.raises(DiscountNeedsApproval, match="above the 10%"):
        till.discount_line(1, ManualDiscount("DAMAGED", amount_fen=200))   # 200/1200 = 17 %
    snap = till.discount_line(1, ManualDiscount("DAMAGED", amount_fen=200), approved_by=2)
    assert snap.sale.lines[0].manual == ManualDiscount("DAMAGED", amount_fen=200, approved_by=2)
    assert snap.payable_fen == 1000
    with pytest.raises(DiscountNeedsApproval):
        till.discount_sale(ManualDiscount("LOYAL", percent=20))
    assert till.discount_sale(ManualDiscount("LOYAL", percent=5)).payable_fen == 950


def test_park_serve_recall_and_restart(db: Path, checkout: CheckoutService, clock: FixedClock,
                                       uow: Callable[[], SqliteUnitOfWork]) -> None:
    till = _till(db, checkout, clock)
    till.add_item(checkout.find_product(BREAD))  # type: ignore[arg-type]
    till.park("table 1")
    assert till.snapshot().sale.lines == () and [p.label for p in till.parked()] == ["table 1"]
    till.add_item(checkout.find_product(COLA))  # type: ignore[arg-type]
    committed = till.pay_cash(500)
    assert committed.snapshot.totals.payable_fen == 350
    parked_id = till.parked()[0].id
    snap = till.recall(parked_id)
    assert [ln.code for ln in snap.sale.lines] == [BREAD] and till.parked() == []
    till.add_item(checkout.find_product(COLA))  # type: ignore[arg-type]
    # the terminal stops here; the next start gets the open basket back
    again = _till(db, checkout, clock)
    assert [ln.code for ln in again.snapshot().sale.lines] == [BREAD, COLA]
    again.pay_cash(2000)
    assert _till(db, checkout, clock).snapshot().sale.lines == ()
