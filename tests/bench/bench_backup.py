"""Benchmark of issue 17: an online backup of a one-year database (200 000 sales) while the cashier keeps
selling, the database's growth per sale, and `pos-app doctor` with the gateway reachable and not.

Run: .venv/bin/python tests/bench/bench_backup.py            (BENCH_SALES=20000 for a quick run)

The year is built honestly: a few hundred real sales are committed through CheckoutService (lines, tender,
points ledger, sync rows, audit entries), then every row that belongs to a sale is repeated with new keys
until BENCH_SALES sales exist. During the backup a cashier thread commits real cash sales and each commit
is timed.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from pos_app.alipay.card_requests import AlipayCardRequests

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from pos_app.domain.codes import classify  # noqa: E402
from pos_app.domain.loyalty import LoyaltyRules  # noqa: E402
from pos_app.runtime import RandomIds, SystemClock  # noqa: E402
from pos_app.services.checkout import CheckoutConfig, CheckoutService  # noqa: E402
from pos_app.storage.backup import BackupResult, lower_priority, online_backup  # noqa: E402
from pos_app.storage.db import connect  # noqa: E402
from pos_app.storage.uow import SqliteUnitOfWork  # noqa: E402
from tests.data.db.make_fixture import ean, write  # noqa: E402

SALES = int(os.environ.get("BENCH_SALES", "200000"))
BASE = 300
# (table, key column that links a row to its sale, unique text columns that get a suffix)
SALE_TABLES = [("sales", "id", ["receipt_no"]), ("sale_lines", "sale_id", []), ("tenders", "sale_id", []),
               ("points_ledger", "sale_id", []), ("outbox", "sale_id", ["event_id"])]


def _db_size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.parent.glob(path.name + "*") if p.is_file())


def _grow(path: Path, target: int) -> None:
    """Repeat every sale-linked row (and one audit entry per sale) until ``target`` sales exist."""
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode = WAL")
    n0 = conn.execute("SELECT count(*) FROM sales").fetchone()[0]
    max_sale = conn.execute("SELECT max(id) FROM sales").fetchone()[0]
    cols = {t: [r[1] for r in conn.execute(f"PRAGMA table_info({t})")] for t, _, _ in SALE_TABLES}
    acols = [c for c in (r[1] for r in conn.execute("PRAGMA table_info(audit_log)")) if c != "id"]
    audit_per_sale = conn.execute("SELECT count(*) FROM audit_log").fetchone()[0] / max(n0, 1)
    copies = (target - n0 + n0 - 1) // n0
    for k in range(1, copies + 1):
        conn.execute("BEGIN")
        off = k * (max_sale + 1)
        for table, link, uniq in SALE_TABLES:
            sel = []
            for c in cols[table]:
                if c == "id":
                    sel.append(f"id + {off}" if table == "sales" else "NULL")
                elif c == "sale_id":
                    sel.append(f"sale_id + {off}")
                elif c in uniq:
                    sel.append(f"{c} || '-{k}'")
                else:
                    sel.append(c)
            conn.execute(f"INSERT INTO {table} ({', '.join(cols[table])}) SELECT {', '.join(sel)} FROM {table}"  # noqa: S608
                         f" WHERE {link} <= {max_sale}")
        limit = int(n0 * audit_per_sale)
        conn.execute(f"INSERT INTO audit_log ({', '.join(acols)}) SELECT {', '.join(acols)} FROM audit_log"  # noqa: S608
                     f" ORDER BY id LIMIT {limit}")
        conn.execute("COMMIT")
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()


def _p(samples: list[float], q: float) -> float:
    s = sorted(samples)
    return s[min(len(s) - 1, int(len(s) * q))] * 1000


def bench_backup(tmp: Path) -> list[tuple[str, str, str]]:
    db = tmp / "pos.sqlite3"
    write(db, sales=BASE)
    conn = connect(db)
    base_size = _db_size(db)
    base_sales = conn.execute("SELECT count(*) FROM sales").fetchone()[0]
    conn.close()
    t0 = time.perf_counter()
    _grow(db, SALES)
    grow_s = time.perf_counter() - t0
    conn = connect(db)
    n_sales = conn.execute("SELECT count(*) FROM sales").fetchone()[0]
    conn.close()
    size = _db_size(db)
    per_sale = (size - base_size) / max(n_sales - base_sales, 1)

    stop = threading.Event()
    during: list[float] = []
    before: list[float] = []

    def sell(into: list[float], n: int | None = None) -> None:
        conn = connect(db)  # the cashier's own connection, like the till's GUI-thread unit of work
        uow = lambda: SqliteUnitOfWork(conn)  # noqa: E731
        checkout = CheckoutService(uow, SystemClock(), RandomIds(f"S001T{len(into) % 90 + 10}"),
                                   CheckoutConfig(store_id="S001", terminal_id="T01", loyalty=LoyaltyRules()), card_requests=AlipayCardRequests())
        i = 0
        while not stop.is_set() and (n is None or i < n):
            sale = checkout.new_sale()
            for k in range(3):
                checkout.add_scan(sale, classify(ean((i + k) % 20)))
            total = sale.begin_payment().payable_fen
            c0 = time.perf_counter()
            checkout.commit_cash(sale, total, shift_id=1, cashier_id=1, cashier_name="Cashier")
            into.append(time.perf_counter() - c0)
            i += 1
            time.sleep(0.05)  # a busy cashier: many sales a second
        conn.close()

    sell(before, 60)
    results: list[BackupResult] = []

    def chores() -> None:  # as the terminal's housekeeping thread does it
        lower_priority()
        results.append(online_backup(db, tmp / "backup.sqlite3"))

    cashier = threading.Thread(target=sell, args=(during,))
    cashier.start()
    try:
        worker = threading.Thread(target=chores)
        worker.start()
        worker.join()
    finally:
        stop.set()
        cashier.join()
    result = results[0]
    return [
        (f"database with {n_sales:,} sales (built in {grow_s:.0f} s)", "", f"{size / 1e6:.0f} MB"),
        ("growth per sale (lines, tender, points, sync rows, audit)", "~2.4 KB", f"{per_sale / 1000:.2f} KB"),
        ("a year at 200 000 sales", "", f"{per_sale * 200_000 / 1e6:.0f} MB"),
        ("online backup of it, integrity-checked", "≤ 30 s", f"{result.seconds:.1f} s ({result.steps} steps)"),
        ("cash sale commit p95 before the backup", "", f"{_p(before, 0.95):.1f} ms (n={len(before)})"),
        ("cash sale commit p95 during the backup", "≤ 15 ms", f"{_p(during, 0.95):.1f} ms (n={len(during)}, "
                                                               f"max {max(during) * 1000:.1f} ms)"),
    ]


def _doctor(cfg: Path) -> tuple[float, float]:
    """(whole process incl. Python start-up and imports, the checks themselves as the report says)."""
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "pos_app", "doctor", "--json", "--config", str(cfg)], cwd=ROOT,
                          capture_output=True, check=False, timeout=60, text=True)
    return time.perf_counter() - t0, float(json.loads(proc.stdout)["seconds"])


def bench_doctor(tmp: Path) -> list[tuple[str, str, str]]:
    from pos_app.sandbox.server import SandboxServer

    data = tmp / "doctor"
    data.mkdir()
    write(data / "pos.sqlite3", sales=20)
    sandbox = SandboxServer(tmp / "sandbox").start()
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(1)  # accepts the connection, never answers: the read timeout is what is measured
    try:
        def cfg(url: str) -> Path:
            p = tmp / f"doctor-{len(list(tmp.glob('doctor-*')))}.toml"
            p.write_text(f'data_dir = "{data}"\n[gateway]\nurl = "{url}"\napp_id = "{sandbox.app_id}"\n'
                         f'app_private_key = "{sandbox.app_private_key_path}"\n'
                         f'alipay_public_key = "{sandbox.alipay_public_key_path}"\n', encoding="utf-8")
            return p

        reach = [_doctor(cfg(sandbox.gateway_url)) for _ in range(3)]
        silent_url = f"http://127.0.0.1:{silent.getsockname()[1]}/gateway.do"
        hang = [_doctor(cfg(silent_url)) for _ in range(3)]
    finally:
        silent.close()
        sandbox.stop()
    def fmt(runs: list[tuple[float, float]]) -> str:
        whole, checks = [r[0] for r in runs], [r[1] for r in runs]
        return (f"checks {statistics.median(checks):.2f} s (max {max(checks):.2f} s); whole process "
                f"{statistics.median(whole):.2f} s (max {max(whole):.2f} s)")

    return [
        ("pos-app doctor, gateway reachable", "≤ 3 s", fmt(reach)),
        ("pos-app doctor, gateway accepts but never answers", "≤ 6 s", fmt(hang)),
    ]


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        rows = bench_backup(Path(tmp))
        rows += bench_doctor(Path(tmp))
    print(f"(at {dt.datetime.now():%Y-%m-%d %H:%M}, {os.cpu_count()} cores, load {os.getloadavg()[0]:.1f})\n")
    print("| figure | target | result |")
    print("|---|---|---|")
    for name, target, value in rows:
        print(f"| {name} | {target} | {value} |")
    print(json.dumps({"sales": SALES}), file=sys.stderr)


if __name__ == "__main__":
    main()
