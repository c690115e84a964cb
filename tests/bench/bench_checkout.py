"""Benchmark of the checkout core: commit of a paid member sale, catalogue lookup (50 000 items),
member lookup (100 000 members). Prints a Markdown table. Run: .venv/bin/python tests/bench/bench_checkout.py"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from pos_app.alipay.card_requests import AlipayCardRequests

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from pos_app.domain.codes import classify  # noqa: E402
from pos_app.domain.loyalty import LoyaltyRules  # noqa: E402
from pos_app.runtime import RandomIds, SystemClock  # noqa: E402
from pos_app.services.checkout import CheckoutConfig, CheckoutService  # noqa: E402
from pos_app.services.members import MemberService  # noqa: E402
from pos_app.services.payment import PaymentConfig  # noqa: E402
from pos_app.services.ports.payments import PaymentAttempt  # noqa: E402
from pos_app.storage.db import Database  # noqa: E402
from pos_app.storage.uow import SqliteUnitOfWork  # noqa: E402
from tests.bench.bulk import bulk_items, bulk_members, item_code  # noqa: E402

N_ITEMS = 50_000
N_MEMBERS = 100_000


def _ean(i: int) -> str:
    return item_code(i)


def _stats(samples: list[float]) -> tuple[float, float]:
    samples = sorted(samples)
    return statistics.median(samples) * 1000, samples[int(len(samples) * 0.95) - 1] * 1000


def _time(fn: Callable[[int], object], n: int) -> list[float]:
    out = []
    for i in range(n):
        t0 = time.perf_counter()
        fn(i)
        out.append(time.perf_counter() - t0)
    return out


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "pos.sqlite3"
        conn = Database(path).open_and_migrate()
        conn.execute("INSERT INTO users (id, number, name, role, pin_hash, created_at) VALUES (1, '001', 'A',"
                     " 'cashier', 'x', '2026-01-01')")
        conn.execute("INSERT INTO shifts (id, terminal_id, number, state, opened_by, opened_at, opening_float_fen)"
                     " VALUES (1, 'T1', 1, 'open', 1, '2026-01-01', 0)")
        t0 = time.perf_counter()
        data = f"{bulk_items(conn, N_ITEMS)} + {bulk_members(conn, N_MEMBERS, prefix='8800')}"
        load_s = time.perf_counter() - t0
        uow = lambda: SqliteUnitOfWork(conn)  # noqa: E731
        clock = SystemClock()
        checkout = CheckoutService(uow, clock, RandomIds("T1"),
                                   CheckoutConfig(store_id="S1", terminal_id="T1", loyalty=LoyaltyRules()), card_requests=AlipayCardRequests())
        members = MemberService(uow, None, clock)
        _ = PaymentConfig()

        lookup = _time(lambda i: checkout.find_product(_ean((i * 7919) % N_ITEMS)), 2000)
        search = _time(lambda i: checkout.search_catalogue(f"Item {i * 31 % N_ITEMS}", 20), 200)
        member_get = _time(lambda i: members.resolve(classify(f"8800{(i * 7919) % N_MEMBERS:012d}")), 2000)
        member_phone = _time(lambda i: members.search(f"{(i * 37) % 10000:04d}"), 200)

        def commit(i: int) -> None:
            sale = checkout.new_sale()
            for k in range(5):
                checkout.add_scan(sale, classify(_ean((i * 5 + k) % N_ITEMS)))
            view = members.get(f"8800{i % N_MEMBERS:012d}")
            assert view is not None
            sale.attach_member(view.ref())
            total = sale.begin_payment().payable_fen
            with uow() as w:
                aid = w.payments.add(out_trade_no=f"P{i}", shift_id=1, cashier_id=1, amount_fen=total,
                                     subject="s", auth_code_masked="****", state="paid", basket_json="{}",
                                     at=clock.now())
                w.payments.update(aid, at=clock.now(), trade_no=f"2026{i:020d}")
                att = w.payments.get(aid)
            assert isinstance(att, PaymentAttempt)
            t0 = time.perf_counter()
            checkout.commit_alipay(sale, att, shift_id=1, cashier_id=1, cashier_name="A")
            commits.append(time.perf_counter() - t0)

        commits: list[float] = []
        for i in range(500):
            commit(i)
        conn.close()

    rows = [
        ("commit of a paid member sale (5 lines, ledger, 2 outbox rows, audit)", "≤ 10 ms p95", commits),
        (f"catalogue lookup by code ({N_ITEMS:,} items)", "≤ 1 ms p95", lookup),
        (f"catalogue search by name ({N_ITEMS:,} items)", "≤ 50 ms p95", search),
        (f"member resolve, static card ({N_MEMBERS:,} members)", "≤ 5 ms p95", member_get),
        (f"member search, last 4 phone digits ({N_MEMBERS:,} members)", "≤ 50 ms p95", member_phone),
    ]
    print(f"(loading {data} took {load_s:.1f} s; row counts checked)\n")
    print("| figure | data | target | median | p95 |")
    print("|---|---|---|---|---|")
    for name, target, samples in rows:
        med, p95 = _stats(samples)
        print(f"| {name} | {data} | {target} | {med:.2f} ms | {p95:.2f} ms |")


if __name__ == "__main__":
    main()
