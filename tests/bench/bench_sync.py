"""Benchmark: drain an outage backlog against the sandbox (separate processes), worker RSS, commit latency.

The sandbox gateway and the sync worker (``pos-app sync run``) each run in their own process, as on a
till; this process plays the cashier, committing sales back to back while the backlog drains.
Usage: ``.venv/bin/python tests/bench/bench_sync.py [--rows 100000 --cards 20000]`` (default: a 10 000-row
slice over 2 000 cards, which runs in about a minute).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from pos_app.alipay import card_requests as card_sync  # noqa: E402
from pos_app.sandbox import SandboxServer  # noqa: E402
from pos_app.storage.db import Database, connect, transaction  # noqa: E402
from pos_app.storage.outbox import enqueue  # noqa: E402
from tests.bench.bulk import bulk_outbox_backlog  # noqa: E402

BASE = dt.datetime(2026, 11, 22, 2, 0, tzinfo=dt.UTC)
TRADE_POOL = 500
ROWS_PER_CARD = 5        # consume, update, consume, update, consume: no coalescing, every row is a send


def _seed_sandbox(data: Path, cards: int) -> list[str]:
    """Cards and a pool of paid trades, written straight into the sandbox state (setup only)."""
    server = SandboxServer(data)
    st = server.state
    with st.lock:
        st.template_create("sandbox", {"request_id": "bench-template", "biz_no_prefix": "BNCH",
                                       "write_off_type": "barcode", "biz_no_suffix_len": 14})
        tpl = next(t for t in st.templates.values() if t["request_id"] == "bench-template")
        for i in range(cards):
            st._issue(tpl, {"external_card_no": f"88{i:014d}", "level": "VIP1", "point": "0"},  # noqa: SLF001
                      user_id="", name="", phone="", out_serial_no=f"bench-{i}")
        trades = []
        for i in range(TRADE_POOL):
            r = st.pay(server.app_id, {"out_trade_no": f"BENCH{i:06d}", "auth_code": f"28{i:016d}",
                                       "subject": "bench", "total_amount": "10.00"})
            trades.append(str(r["trade_no"]))
        biz = {c["external_card_no"]: c["biz_card_no"] for c in st.cards.values()}
    st.close()
    (data / "biz.json").write_text(json.dumps(biz))
    return trades


def _seed_db(db_path: Path, cards: int, rows: int, trades: list[str], biz: dict[str, str]) -> tuple[int, str]:
    """The members and the backlog (row counts checked: raises ShortInsert)."""
    Database(db_path).open_and_migrate().close()
    conn = connect(db_path)
    try:
        data = bulk_outbox_backlog(conn, cards=cards, rows=rows, trades=trades, biz=biz, base=BASE)
        n = int(conn.execute("SELECT count(*) FROM outbox WHERE state = 'pending'").fetchone()[0])
    finally:
        conn.close()
    return n, data


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def _pct(values: list[float], p: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, int(round(p / 100 * (len(s) - 1))))]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--rows", type=int, default=10_000)
    ap.add_argument("--cards", type=int, default=2_000)
    ap.add_argument("--in-flight", type=int, default=16, help="sync.max_in_flight (16: the default setting)")
    ap.add_argument("--latency-ms", type=int, default=0,
                    help="every gateway answer waits this long (the sandbox's `slow` fault; 150 = a slow day)")
    args = ap.parse_args(argv)
    tmp = Path(tempfile.mkdtemp(prefix="bench-sync-"))
    t0 = time.perf_counter()
    trades = _seed_sandbox(tmp / "sandbox", args.cards)
    biz = json.loads((tmp / "sandbox" / "biz.json").read_text())
    db_path = tmp / "data" / "pos.sqlite3"
    total, data = _seed_db(db_path, args.cards, args.rows, trades, biz)
    setup_s = time.perf_counter() - t0
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    sandbox = subprocess.Popen([sys.executable, "-m", "pos_app", "sandbox", "--data-dir", str(tmp / "sandbox")],
                               cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    assert sandbox.stdout is not None
    info = json.loads(sandbox.stdout.readline())
    if args.latency_ms:
        import urllib.request

        token = Path(info["admin_token_file"]).read_text(encoding="ascii").strip()
        req = urllib.request.Request(f"{info['admin_url']}/faults", method="POST",
                                     headers={"Content-Type": "application/json", "Authorization": f"Bearer {token}"},
                                     data=json.dumps({"kind": "slow", "method": "*", "count": None,
                                                      "delay_s": args.latency_ms / 1000}).encode())
        try:
            with urllib.request.urlopen(req, timeout=10) as answer:  # noqa: S310 - the sandbox on loopback
                assert answer.status == 200
        except BaseException:
            sandbox.terminate()             # not left running when the fault cannot be set
            sandbox.wait(30)
            raise
    cfg = tmp / "pos.toml"
    cfg.write_text(f'data_dir = "{tmp / "data"}"\n[gateway]\nurl = "{info["gateway_url"]}"\napp_id = "{info["app_id"]}"\n'
                   f'app_private_key = "{info["app_private_key"]}"\nalipay_public_key = "{info["alipay_public_key"]}"\n'
                   f"[sync]\nmax_in_flight = {args.in_flight}\n", encoding="utf-8")
    conn = connect(db_path)
    commit_ms: list[float] = []
    rss: list[float] = []
    stop = threading.Event()

    def cashier() -> None:
        c = connect(db_path)
        k = 0
        while not stop.is_set():
            k += 1
            card = f"88{k % args.cards:014d}"
            at = dt.datetime.now(dt.UTC)
            s = time.perf_counter()
            with transaction(c):        # a sale's rows: ledger entry + 2 outbox rows + audit-sized insert
                c.execute("INSERT INTO points_ledger (card_no, kind, points, balance_after, created_at)"
                          " VALUES (?, 'adjust', 0, 0, ?)", (card, at.isoformat()))
                for j in range(2):
                    enqueue(c, event_id=f"C{k}-{j}", kind="card.update", card_no=card, method=card_sync.KIND_METHOD["card.update"],
                            body={"target_card_no": biz[card], "target_card_no_type": "BIZ_CARD",
                                  "occur_time": card_sync.gateway_time(at),
                                  "card_info": {"point": str(args.rows // args.cards * 10)}},
                            created_at=at, points_after=args.rows // args.cards * 10)
            commit_ms.append((time.perf_counter() - s) * 1000)
            time.sleep(0.02)            # ~50 commits/s: far faster than any cashier
        c.close()

    worker = subprocess.Popen([sys.executable, "-m", "pos_app", "sync", "run", "--config", str(cfg)], cwd=ROOT,
                              env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    t_start = time.perf_counter()
    th = threading.Thread(target=cashier, daemon=True)
    th.start()
    drained_at = None
    seeded_max = total
    try:
        while True:
            time.sleep(0.5)
            rss.append(_rss_mb(worker.pid))
            left = conn.execute("SELECT count(*) FROM outbox WHERE state = 'pending' AND event_id LIKE 'B%'"
                                ).fetchone()[0]
            if left == 0:
                drained_at = time.perf_counter()
                break
            if time.perf_counter() - t_start > 3600:
                break
    finally:
        stop.set()
        th.join()
        worker.terminate()
        worker.wait(30)
        sandbox.terminate()
        sandbox.wait(30)
    elapsed = (drained_at or time.perf_counter()) - t_start
    dead = conn.execute("SELECT count(*) FROM outbox WHERE state = 'dead'").fetchone()[0]
    conn.close()
    shutil.rmtree(tmp, ignore_errors=True)
    rate = seeded_max / elapsed
    slow = f", every gateway answer {args.latency_ms} ms (sandbox `slow` fault)" if args.latency_ms else ""
    print(f"### Sync worker: {seeded_max} backlog rows over {args.cards} cards, {args.in_flight} in flight{slow} "
          f"(setup {setup_s:.0f} s; dead letters {dead})\n")
    print(f"data: {data} (row counts checked), sandbox gateway in its own process, worker = `pos-app sync run`\n")
    print("| figure | target | median | p95 |")
    print("|---|---|---|---|")
    print(f"| backlog drain rate (rows/s, whole run) | ≥ 150 | {rate:.0f} | — |")
    print(f"| backlog drain time (s) | — | {elapsed:.1f} | — |")
    print(f"| worker RSS (MB; max {max(rss):.0f}) | ≤ 150 | {statistics.median(rss):.0f} | {_pct(rss, 95):.0f} |")
    print(f"| cashier commit while draining (ms; n={len(commit_ms)}) | p95 ≤ 15 | "
          f"{statistics.median(commit_ms):.2f} | {_pct(commit_ms, 95):.2f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
