"""Write tests/data/db/pos-schema-<N>.sqlite3: a small real database written by this version of the terminal
(catalogue, members, cash and member sales with points and sync rows, a refund-free audit trail).

Run once per released schema and commit the file: tests/integration/storage/test_upgrade.py migrates every
such file to the current schema. Run: .venv/bin/python tests/data/db/make_fixture.py
"""

from __future__ import annotations

import sys
from pathlib import Path

from pos_app.alipay.card_requests import AlipayCardRequests

ROOT = Path(__file__).resolve().parents[3]
sys.path.insert(0, str(ROOT))

from pos_app.domain.catalogue import CatalogueItem  # noqa: E402
from pos_app.domain.codes import classify, gtin_check_digit  # noqa: E402
from pos_app.domain.loyalty import LoyaltyRules  # noqa: E402
from pos_app.runtime import RandomIds, SystemClock  # noqa: E402
from pos_app.services.checkout import CheckoutConfig, CheckoutService  # noqa: E402
from pos_app.services.members import MemberService  # noqa: E402
from pos_app.storage.db import SCHEMA_VERSION, Database  # noqa: E402
from pos_app.storage.seed import load_catalogue, load_members  # noqa: E402
from pos_app.storage.uow import SqliteUnitOfWork  # noqa: E402


def ean(i: int) -> str:
    body = f"69{i:010d}"
    return body + str(gtin_check_digit(body))


def write(path: Path, sales: int = 24) -> None:
    for suffix in ("", "-wal", "-shm"):
        Path(str(path) + suffix).unlink(missing_ok=True)
    conn = Database(path).open_and_migrate()
    conn.execute("INSERT INTO users (id, number, name, role, pin_hash, created_at) VALUES (1, '1001', 'Cashier',"
                 " 'cashier', 'x', '2026-12-01T08:00:00+00:00')")
    conn.execute("INSERT INTO shifts (id, terminal_id, number, state, opened_by, opened_at, opening_float_fen)"
                 " VALUES (1, 'T01', 1, 'open', 1, '2026-12-01T08:00:00+00:00', 50000)")
    load_catalogue(conn, [CatalogueItem(ean(i), f"商品{i}", f"Item {i}", 150 + i * 10, category="food")
                          for i in range(20)])
    load_members(conn, [{"card_no": f"8800{i:012d}", "name": "王小明", "phone": f"1381234{i:04d}", "level": "GOLD",
                         "points": 500} for i in range(5)])
    uow = lambda: SqliteUnitOfWork(conn)  # noqa: E731
    clock = SystemClock()
    checkout = CheckoutService(uow, clock, RandomIds("S001T01"),
                               CheckoutConfig(store_id="S001", terminal_id="T01", loyalty=LoyaltyRules()), card_requests=AlipayCardRequests())
    members = MemberService(uow, None, clock)
    for i in range(sales):
        sale = checkout.new_sale()
        for k in range(1 + i % 4):
            checkout.add_scan(sale, classify(ean((i * 3 + k) % 20)))
        if i % 2:
            view = members.get(f"8800{i % 5:012d}")
            assert view is not None
            sale.attach_member(view.ref())
        total = sale.begin_payment().payable_fen
        checkout.commit_cash(sale, total + 1000, shift_id=1, cashier_id=1, cashier_name="Cashier")
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.execute("PRAGMA journal_mode = DELETE")
    conn.close()


if __name__ == "__main__":
    out = Path(__file__).with_name(f"pos-schema-{SCHEMA_VERSION}.sqlite3")
    write(out)
    print(out)
