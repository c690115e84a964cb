"""A paid basket never comes back as open after a crash (found by perf's review: the till forgot its kept open
basket only after the commit, on another thread; a crash in between brought the paid basket back at the next
start, and a cashier would have rung it up and charged it again)."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path

from checkout_env import BREAD, COLA, RULES

from pos_app.domain.codes import classify
from pos_app.domain.sale import SalePricing
from pos_app.runtime import FixedClock
from pos_app.services.checkout import CheckoutService
from pos_app.services.held import HeldBaskets
from pos_app.storage.db import connect
from pos_app.storage.held import SqliteHeldBaskets


def _held(db: Path) -> HeldBaskets:
    conn = connect(db)
    factory: Callable[[], sqlite3.Connection] = lambda: conn  # noqa: E731 - one connection, this thread
    return HeldBaskets(SqliteHeldBaskets(factory, "T1"), FixedClock(), RULES, SalePricing())


def test_the_commit_forgets_the_kept_basket_of_that_sale(db: Path, checkout: CheckoutService) -> None:
    held = _held(db)
    sale = checkout.new_sale()
    checkout.add_scan(sale, classify(COLA))
    checkout.add_scan(sale, classify(BREAD))
    held.keep_open(sale, cashier_id=1)               # the till's last write before the customer pays
    assert _held(db).restore_open() is not None
    checkout.commit_cash(sale, 10_000, shift_id=1, cashier_id=1, cashier_name="Alice")
    # the program dies here, before the till's own "forget the basket" write: the next start finds nothing
    assert _held(db).restore_open() is None


def test_another_open_basket_stays(db: Path, checkout: CheckoutService) -> None:
    held = _held(db)
    waiting = checkout.new_sale()                    # the next customer's basket at the till
    checkout.add_scan(waiting, classify(BREAD))
    held.keep_open(waiting, cashier_id=1)
    other = checkout.new_sale()                      # a sale committed by another path (an old payment completed)
    checkout.add_scan(other, classify(COLA))
    checkout.commit_cash(other, 10_000, shift_id=1, cashier_id=1, cashier_name="Alice")
    restored = _held(db).restore_open()
    assert restored is not None and [ln.code for ln in restored.snapshot().lines] == [BREAD]


def _paying(db: Path, checkout: CheckoutService, payments: object, state: str) -> None:
    """The till keeps a basket, starts an Alipay payment for it (written ahead), and the terminal stops."""
    import datetime as dt
    import json

    from pos_app.storage.uow import SqliteUnitOfWork

    sale = checkout.new_sale()
    checkout.add_scan(sale, classify(COLA))
    checkout.add_scan(sale, classify(COLA))
    _held(db).keep_open(sale, cashier_id=1)
    with SqliteUnitOfWork(connect(db)) as uow:
        uow.payments.add(out_trade_no=f"P{state}", shift_id=1, cashier_id=1, amount_fen=700, subject="x",
                         auth_code_masked="****", state=state,
                         basket_json=json.dumps(checkout.basket_of(sale)), at=dt.datetime.now(dt.UTC))


def test_a_basket_being_paid_is_not_put_back_at_the_next_start(db: Path, checkout: CheckoutService,
                                                               payments: object) -> None:
    """A crash during the Alipay payment: the payment (recovered, then F12) owns the basket, not the till."""
    from pos_app.services.till import Till

    _paying(db, checkout, payments, "waiting")
    till = Till(checkout, payments, held=_held(db))  # type: ignore[arg-type]
    assert till.snapshot().sale.lines == ()           # not rung up again
    assert _held(db).restore_open() is None


def test_an_unrelated_payment_leaves_the_basket(db: Path, checkout: CheckoutService, payments: object) -> None:
    from pos_app.services.till import Till

    _paying(db, checkout, payments, "paid")
    other = checkout.new_sale()
    checkout.add_scan(other, classify(BREAD))
    _held(db).keep_open(other, cashier_id=1)          # the next customer's basket, then the terminal stops
    till = Till(checkout, payments, held=_held(db))  # type: ignore[arg-type]
    assert [ln.code for ln in till.snapshot().sale.lines] == [BREAD]
