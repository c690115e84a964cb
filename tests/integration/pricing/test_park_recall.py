"""Park and recall (挂单/取单) and the open basket across a restart, on a real SQLite file."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from pos_app.domain.catalogue import CatalogueItem
from pos_app.domain.loyalty import LoyaltyRules
from pos_app.domain.pricing import ManualDiscount
from pos_app.domain.sale import MemberRef, Sale, SalePricing
from pos_app.runtime import FixedClock
from pos_app.services.held import HeldBaskets, HeldError
from pos_app.storage.audit import verify_chain
from pos_app.storage.db import Database, connect
from pos_app.storage.held import SqliteHeldBaskets

RULES = LoyaltyRules()
MILK = CatalogueItem("6900000000011", "牛奶", "Milk", 1200, category="dairy", member_price_fen=1000)
SOAP = CatalogueItem("6900000000035", "香皂", "Soap", 2500, category="home")
GOLD = MemberRef("8800000000000001", "王*", "GOLD", 10_000)


def _held(path: Path) -> HeldBaskets:
    conn = connect(path)
    factory: Callable[[], sqlite3.Connection] = lambda: conn  # noqa: E731 - one connection, this thread
    return HeldBaskets(SqliteHeldBaskets(factory, "T1"), FixedClock(), RULES, SalePricing())


@pytest.fixture
def db(tmp_path: Path) -> Path:
    path = tmp_path / "pos.sqlite3"
    Database(path).open_and_migrate().close()
    return path


def test_park_serve_another_recall(db: Path) -> None:
    held = _held(db)
    first = Sale(RULES, SalePricing())
    first.add_item(MILK, 2)
    first.attach_member(GOLD)
    first.discount_line(1, ManualDiscount("DAMAGED", percent=10))
    payable = first.totals().payable_fen
    parked_id = held.park(first, "王女士", shift_id=None, user_id=None, user_name="Alice")
    assert [(p.label, p.total_fen, p.line_count) for p in held.parked()] == [("王女士", payable, 1)]
    second = Sale(RULES, SalePricing())
    second.add_item(SOAP)
    with pytest.raises(HeldError, match="finish or park the current sale"):
        held.recall(parked_id, current=second, user_id=None, user_name="Alice")
    recalled = held.recall(parked_id, current=None, user_id=None, user_name="Alice")
    assert recalled.totals().payable_fen == payable == 1800
    assert recalled.member == GOLD and recalled.snapshot().lines[0].manual == ManualDiscount("DAMAGED", percent=10)
    assert held.parked() == [] and held.waiting() == 0
    with pytest.raises(HeldError, match="no longer waiting"):
        held.recall(parked_id, current=None, user_id=None, user_name="Alice")


def test_discard_needs_a_reason_and_is_audited(db: Path) -> None:
    held = _held(db)
    sale = Sale(RULES, SalePricing())
    sale.add_item(SOAP)
    parked_id = held.park(sale, "", shift_id=None, user_id=None, user_name="Alice")
    assert held.parked()[0].label == "#1" and held.waiting() == 1
    with pytest.raises(HeldError, match="needs a reason"):
        held.discard(parked_id, " ", user_id=None, user_name="Sam")
    held.discard(parked_id, "customer left", user_id=None, user_name="Sam")
    assert held.waiting() == 0
    conn = connect(db)
    actions = [r[0] for r in conn.execute("SELECT action FROM audit_log ORDER BY id")]
    assert actions == ["sale.park", "sale.discard_parked"] and verify_chain(conn)[1] is None


def test_parking_refuses_an_empty_basket(db: Path) -> None:
    with pytest.raises(HeldError, match="empty"):
        _held(db).park(Sale(RULES), "x", shift_id=None, user_id=None, user_name="Alice")


def test_the_open_basket_survives_a_restart_and_parked_sales_too(db: Path) -> None:
    held = _held(db)
    parked = Sale(RULES, SalePricing())
    parked.add_item(SOAP, 3)
    held.park(parked, "A", shift_id=None, user_id=None, user_name="Alice")
    sale = Sale(RULES, SalePricing())
    sale.add_item(MILK, 4)
    held.keep_open(sale, cashier_id=None)
    sale.set_quantity(1, 5)
    held.keep_open(sale, cashier_id=None)
    # the terminal dies here; at the next start:
    again = _held(db)
    restored = again.restore_open()
    assert restored is not None and restored.snapshot().lines[0].quantity == 5
    assert [p.label for p in again.parked()] == ["A"]
    again.keep_open(None, cashier_id=None)  # the sale was paid or voided
    assert _held(db).restore_open() is None


def test_the_open_basket_is_written_off_the_callers_thread(db: Path) -> None:
    from pos_app.bootstrap import ThreadConnections

    conns = ThreadConnections(db)
    held = HeldBaskets(SqliteHeldBaskets(conns.get, "T1"), FixedClock(), RULES, SalePricing(), background=True)
    sale = Sale(RULES, SalePricing())
    sale.add_item(SOAP, 2)
    held.keep_open(sale, cashier_id=None)
    sale.add_item(MILK)
    held.keep_open(sale, cashier_id=None)
    assert held.flush()
    restored = _held(db).restore_open()
    assert restored is not None and [ln.code for ln in restored.snapshot().lines] == [SOAP.code, MILK.code]
    conns.close_mine()


def test_closing_writes_the_last_basket_and_ends_the_writer(db: Path) -> None:
    import threading

    from pos_app.bootstrap import ThreadConnections

    conns = ThreadConnections(db)
    held = HeldBaskets(SqliteHeldBaskets(conns.get, "T1"), FixedClock(), RULES, SalePricing(), background=True)
    sale = Sale(RULES, SalePricing())
    sale.add_item(MILK, 3)
    held.keep_open(sale, cashier_id=None)
    assert held.close(5.0)   # no flush first: close itself writes what was submitted
    restored = _held(db).restore_open()
    assert restored is not None and [ln.code for ln in restored.snapshot().lines] == [MILK.code]
    assert held._keeper is not None and not held._keeper._thread.is_alive()
    assert not [t for t in threading.enumerate() if t is held._keeper._thread]
    # the writer's connection goes with its thread (the OS thread ends a moment after join() returns)
    for _ in range(200):
        conns.close_mine()
        if conns.open_count() == 0:
            break
        time.sleep(0.01)
    assert conns.open_count() == 0


_KILLED_WRITER = """
import os, signal, sys
from pathlib import Path
from pos_app.domain.catalogue import CatalogueItem
from pos_app.domain.loyalty import LoyaltyRules
from pos_app.domain.sale import Sale, SalePricing
from pos_app.runtime import FixedClock
from pos_app.services.held import HeldBaskets
from pos_app.storage.db import connect
from pos_app.storage.held import SqliteHeldBaskets

conn = connect(Path(sys.argv[1]))
held = HeldBaskets(SqliteHeldBaskets(lambda: conn, "T1"), FixedClock(), LoyaltyRules(), SalePricing())
sale = Sale(LoyaltyRules(), SalePricing())
for k in range(3):
    sale.add_item(CatalogueItem(f"69000000000{k:02d}", f"item {k}", "", 100 + k))
    held.keep_open(sale, cashier_id=None)
assert conn.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL again for whatever the till writes next
os.kill(os.getpid(), signal.SIGKILL)  # the till dies: no close, no clean shutdown
"""


def test_the_open_basket_survives_the_program_being_killed(db: Path, tmp_path: Path) -> None:
    """The per-scan write is cheap (synchronous NORMAL) but is in the WAL when keep_open returns."""
    import os
    import signal
    import subprocess
    import sys

    root = Path(__file__).resolve().parents[3]
    proc = subprocess.run([sys.executable, "-c", _KILLED_WRITER, str(db)], cwd=root, capture_output=True,
                          text=True, timeout=60, env={**os.environ, "PYTHONPATH": str(root)}, check=False)
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    restored = _held(db).restore_open()
    assert restored is not None
    assert [line.code for line in restored.snapshot().lines] == [f"69000000000{k:02d}" for k in range(3)]
