"""Benchmark: reconcile a 20 000-trade day (parse the GBK bill zip, match, write the CSV, store the run).

The terminal database holds the day's 20 000 Alipay sales (sale, tender, paid attempt) and 500 refunds;
the bill is the sandbox's own zip writer fed with the same trades, plus one trade the terminal never saw.
Target (issue 15): ≤ 2 s for the day. Run: ``.venv/bin/python tests/bench/run_all.py reconcile``.
"""

from __future__ import annotations

import datetime as dt
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from pos_app.alipay.bill import parse_bill_zip  # noqa: E402
from pos_app.domain.reconcile import BEIJING, AlipayBill  # noqa: E402
from pos_app.runtime import FixedClock  # noqa: E402
from pos_app.sandbox.bills import build_bill_zip  # noqa: E402
from pos_app.services.reconcile import ReconcileService  # noqa: E402
from pos_app.storage.db import Database, connect  # noqa: E402
from pos_app.storage.reconcile import SqliteReconcileStore  # noqa: E402

TRADES = 20_000
REFUNDS = 500
RUNS = 5
DAY = dt.date(2026, 11, 25)
ACCOUNT = "20881234123412340156"


def seed(path: Path) -> bytes:
    """The terminal's day in SQLite and the matching bill zip."""
    conn = Database(path).open_and_migrate()
    conn.execute("INSERT INTO users (id, number, name, role, pin_hash, created_at) VALUES"
                 " (1, '001', 'A', 'cashier', 'x', '2026-01-01')")
    conn.execute("INSERT INTO shifts (id, terminal_id, number, state, opened_by, opened_at, opening_float_fen)"
                 " VALUES (1, 'T1', 1, 'open', 1, '2026-11-25', 0)")
    start = dt.datetime.combine(DAY, dt.time(0), tzinfo=BEIJING)
    sales, attempts, tenders, refunds, rows = [], [], [], [], []
    for i in range(1, TRADES + 1):
        at = start + dt.timedelta(seconds=i * 4)
        utc = at.astimezone(dt.UTC).isoformat()
        local = at.strftime("%Y-%m-%d %H:%M:%S")
        fen = 100 + (i * 37) % 9000
        out, trade_no = f"T1-{i:08d}", f"2026112522001{i:015d}"
        sales.append((i, f"R{i:09d}", fen, fen, utc, utc))
        attempts.append((i, out, fen, trade_no, local, i, utc, utc))
        tenders.append((i, fen, i, trade_no))
        rows.append({"kind": "交易", "trade_no": trade_no, "out_trade_no": out, "subject": "门店消费",
                     "created": local, "finished": local, "store_id": "S1", "terminal_id": "T1", "fen": fen})
        if i % (TRADES // REFUNDS) == 0:
            refunds.append((i, f"RQ{i}", 50, utc, utc))
            rows.append({**rows[-1], "kind": "退款", "fen": -50, "out_request_no": f"RQ{i}"})
    rows.append({"kind": "交易", "trade_no": "2026112522009999", "out_trade_no": "SIDE-1", "finished":
                 "2026-11-25 23:59:00", "fen": 8880})
    conn.execute("BEGIN")
    conn.executemany("INSERT INTO sales (id, receipt_no, shift_id, terminal_id, cashier_id, state, gross_fen,"
                     " total_fen, started_at, committed_at) VALUES (?, ?, 1, 'T1', 1, 'paid', ?, ?, ?, ?)", sales)
    conn.executemany("INSERT INTO payment_attempts (id, out_trade_no, shift_id, cashier_id, amount_fen, subject,"
                     " auth_code_masked, state, trade_no, gmt_payment, sale_id, created_at, updated_at)"
                     " VALUES (?, ?, 1, 1, ?, 's', '****', 'paid', ?, ?, ?, ?, ?)", attempts)
    conn.executemany("INSERT INTO tenders (sale_id, kind, amount_fen, tendered_fen, attempt_id, trade_no)"
                     " VALUES (?, 'alipay', ?, ?, ?, ?)", [(s, f, f, a, t) for s, f, a, t in tenders])
    conn.executemany("INSERT INTO refunds (sale_id, shift_id, out_request_no, method, amount_fen, state, reason,"
                     " cashier_id, created_at, completed_at) VALUES (?, 1, ?, 'alipay', ?, 'done', 'r', 1, ?, ?)",
                     refunds)
    conn.execute("COMMIT")
    conn.close()
    return build_bill_zip(ACCOUNT, DAY.strftime("%Y%m%d"), start, start + dt.timedelta(days=1), rows,
                          start + dt.timedelta(days=1, hours=5))[1]


def _parse(data: bytes, day: dt.date, account: str | None) -> AlipayBill:
    return parse_bill_zip(data, day, expected_account=account)


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "pos.sqlite3"
        t0 = time.perf_counter()
        data = seed(db)
        seeded = time.perf_counter() - t0
        clock = FixedClock(dt.datetime(2026, 11, 26, 2, 0, tzinfo=dt.UTC))
        times, parse_times, cpu_times = [], [], []
        problems = matched = 0
        for _ in range(RUNS):
            t = time.perf_counter()
            parse_bill_zip(data, DAY)
            parse_times.append(time.perf_counter() - t)
            conn = connect(db)
            service = ReconcileService(lambda c=conn: SqliteReconcileStore(c), clock, Path(tmp) / "out")
            t, c = time.perf_counter(), time.process_time()
            outcome = service.run(DAY, _parse, data=data)
            times.append(time.perf_counter() - t)
            cpu_times.append(time.process_time() - c)
            conn.close()
            problems, matched = len(outcome.reconciliation.problems), outcome.reconciliation.matched
    print(f"(seeding {TRADES:,} sales + {REFUNDS} refunds and writing the bill zip ({len(data) // 1024} KiB) "
          f"took {seeded:.1f} s; each run found {matched:,} matched and {problems} difference)")
    print(f"load average during the run: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print()
    print("| figure | target | median | p95 |")
    print("|---|---|---|---|")
    print(f"| reconcile a {TRADES:,}-trade day (parse zip, match, CSV 0600, store) | ≤ 2 s | "
          f"{statistics.median(times):.2f} s | {max(times):.2f} s (max of {RUNS}) |")
    print(f"| the same, CPU time of the process (load-independent) | - | {statistics.median(cpu_times):.2f} s | "
          f"{max(cpu_times):.2f} s |")
    print(f"| of which: parse and check the GBK bill zip | - | {statistics.median(parse_times):.2f} s | "
          f"{max(parse_times):.2f} s |")


if __name__ == "__main__":
    main()
