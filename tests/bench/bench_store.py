"""Store mode figures (issue 13) on this machine: a real PostgreSQL (fsync on), real lane databases.

    nice -n -10 .venv/bin/python tests/bench/bench_store.py   # brief (≈ 2 min); prints a Markdown section
    POS_BENCH_STORE_ONLY=ingest,card ...                      # some of: ingest, outage, lag, reports, card
    POS_BENCH_STORE_SCALE=full ... (50 lanes, 1.3 M sales, 60 s outage: long; on purpose only)

Figures: backlog ingest from one lane (sales/s through the real uplink), sync lag with lane processes at a
steady rate (p95/p99 of server receipt - lane commit), lane commit latency with the store down, store X for one
day / 30 days and store Z over loaded data, card worker calls/s against the sandbox with per-card order.
"""

from __future__ import annotations

import datetime as dt
import os
import random
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

import psycopg  # noqa: E402

from pos_app.storage.lane_journal import SqliteLaneJournal  # noqa: E402
from pos_app.store import reports, schema  # noqa: E402
from pos_app.store.uplink import Uplink, UplinkConfig  # noqa: E402
from tests.pgserver import PgServer  # noqa: E402
from tests.reliability.harness.env import CASHIER, ITEMS, MEMBERS, build_services, init_db  # noqa: E402

FULL = os.environ.get("POS_BENCH_STORE_SCALE") == "full"


def pct(values: list[float], p: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, int(len(s) * p))]


def lane_db(base: Path, name: str, conninfo: str) -> Path:
    d = base / name
    d.mkdir(parents=True)
    db = d / "pos.sqlite3"
    init_db(db)
    j = SqliteLaneJournal.open(db)
    j.enable()
    j.close()
    return db


def sell(db: Path, n: int, seed: int) -> list[float]:
    svc = build_services(db, None)
    cashier = svc.users.authenticate(CASHIER[0], CASHIER[1])
    shift = svc.shifts.current_shift() or svc.shifts.open_shift(cashier, float_fen=10_000)
    rng = random.Random(seed)
    lat = []
    for i in range(n):
        sale = svc.checkout.new_sale()
        for _ in range(3):
            sale.add_item(rng.choice(ITEMS[:4]), 1)
        if i % 2 == 0:
            view = svc.members.get(rng.choice(MEMBERS)[0], sale.totals().payable_fen)
            if view is not None:
                sale.attach_member(view.ref())
        t0 = time.perf_counter()
        svc.checkout.commit_cash(sale, sale.totals().payable_fen, shift_id=shift.id, cashier_id=cashier.id,
                                 cashier_name=cashier.name)
        lat.append((time.perf_counter() - t0) * 1000)
    svc.close()
    return lat


def bench_ingest(server: PgServer, base: Path, rows: list[str]) -> None:
    """One lane's backlog through the real uplink (rows built by SQLite, batches of PUSH_BATCH, the next batch read
    while the server ingests), into a fresh store database three times: median and worst."""
    from pos_app.store.uplink import PUSH_BATCH

    n = 20_000 if FULL else 3_000
    db = lane_db(base, "ingest", "")
    sell(db, n, 1)
    j = SqliteLaneJournal.open(db)
    events = j.state().max_seq
    rates = []
    for rep in range(3):
        dsn = server.create_database(f"ingest{rep}")
        with psycopg.connect(dsn, autocommit=True) as c:
            schema.init_store(c)
            cr = schema.add_lane(c, "lane1")
        info = f"{server.dsn(f'ingest{rep}', cr.role)} password={cr.password}"
        j.hello("", 0)                         # this store has nothing yet: everything is backlog
        up = Uplink(j, UplinkConfig(info, deadline_s=60))
        up._hello()
        t0 = time.perf_counter()
        moved = up.push()
        rates.append(n / (time.perf_counter() - t0))
        up.drop()
        assert moved == events, (moved, events)
    j.close()
    rates.sort()
    rows.append(f"| backlog ingest, one lane ({n} member/cash sales = {events} journal rows, batches of {PUSH_BATCH}), "
                f"3 runs | ≥ 5,000 sales/s | median {rates[1]:,.0f} sales/s ({rates[1] * events / n:,.0f} rows/s) | "
                f"worst {rates[0]:,.0f} sales/s |")


def bench_lag(server: PgServer, base: Path, rows: list[str]) -> None:
    lanes, per_min, secs = (50, 60, 60) if FULL else (5, 60, 15)
    dsn = server.create_database("lag")
    with psycopg.connect(dsn, autocommit=True) as c:
        schema.init_store(c)
        creds = [schema.add_lane(c, f"lane{i}") for i in range(lanes)]
    procs = []
    for i, cr in enumerate(creds):
        d = base / f"lag{i}"
        db = lane_db(base, f"lag{i}", "")
        (d / "conninfo").write_text(f"{server.dsn('lag', cr.role)} password={cr.password}")
        procs.append(subprocess.Popen(
            [sys.executable, "-m", "tests.store.lane_proc", "--db", str(db), "--conninfo-file", str(d / "conninfo"),
             "--sales", str(per_min * secs // 60), "--rate", str(per_min / 60), "--seed", str(i), "--deadline", "5"],
            cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
    time.sleep(secs + 5)
    for p in procs:
        p.terminate()
    for p in procs:
        p.wait(20)
    with psycopg.connect(dsn, autocommit=True) as c:
        lags = [float(r[0]) for r in c.execute(
            "SELECT extract(epoch FROM received_at - occurred_at) * 1000 FROM pos.event WHERE kind = 'sale'")]
    rows.append(f"| sync lag, {lanes} lanes × {per_min} sales/min for {secs} s ({len(lags)} sales; lane poll 50 ms) | "
                f"p95 ≤ 250 ms, p99 ≤ 1 s | p95 {pct(lags, .95):.0f} ms | p99 {pct(lags, .99):.0f} ms |")


def bench_outage_commit(base: Path, rows: list[str]) -> None:
    """Lane commits while the store is unreachable: the journal row is the only extra work."""
    db = lane_db(base, "outage", "")
    up_lat = sell(db, 300, 5)
    j = SqliteLaneJournal.open(db)
    j.set_offline(dt.datetime.now(dt.UTC), "bench: store down")
    j.close()
    down_lat = sell(db, 300, 6)
    rows.append(f"| lane commit (cash, member half the time) with the store down vs up | ≤ 15 ms p95 | "
                f"down p95 {pct(down_lat, .95):.2f} ms | up p95 {pct(up_lat, .95):.2f} ms |")


def bench_reports(server: PgServer, rows: list[str]) -> None:
    lanes, days, per_day = (50, 30, 870) if FULL else (10, 30, 200)
    dsn = server.create_database("reports")
    with psycopg.connect(dsn, autocommit=True) as c:
        schema.init_store(c)
        lane_ids = [schema.add_lane(c, f"lane{i}").lane_id for i in range(lanes)]
        epoch = str(uuid.uuid4())
        t0 = time.perf_counter()
        for li, lane in enumerate(lane_ids):
            c.execute("INSERT INTO pos.lane_epoch (lane_id, lane_epoch, base_seq, acked_seq) VALUES (%s, %s, 0, %s)",
                      (lane, epoch, days * per_day))
            c.execute("""
                WITH s AS (
                  SELECT g, gen_random_uuid() AS id, date '2026-11-01' + ((g - 1) / %(pd)s)::int AS d
                    FROM generate_series(1, %(n)s) g)
                , e AS (INSERT INTO pos.event (event_id, lane_id, lane_epoch, lane_seq, kind, business_date,
                                               occurred_at, body)
                        SELECT id, %(lane)s, %(ep)s, g, 'sale', d, d + time '10:00', '{}' FROM s RETURNING event_id)
                , x AS (INSERT INTO pos.sale SELECT id, %(lane)s, d, 'R' || g, 1, '100' || (g %% 3),
                        CASE WHEN g %% 2 = 0 THEN '88000000000' || lpad((g %% 1000)::text, 5, '0') END,
                        1000 + g %% 500, 0, 1000 + g %% 500, 10, 0, d + time '10:00' FROM s)
                INSERT INTO pos.tender SELECT id, 1, %(lane)s, d, CASE WHEN g %% 3 = 0 THEN 'alipay' ELSE 'cash' END,
                       1000 + g %% 500, '' FROM s""",
                      {"pd": per_day, "n": days * per_day, "lane": lane, "ep": epoch})
        load = time.perf_counter() - t0
        c.execute("ANALYZE")
        day = dt.date(2026, 11, 15)
        x1 = []
        for _ in range(5):
            t = time.perf_counter()
            reports.store_figures(c, day)
            x1.append((time.perf_counter() - t) * 1000)
        x30 = []
        for _ in range(3):
            t = time.perf_counter()
            reports.store_figures(c, dt.date(2026, 11, 1), dt.date(2026, 11, 30))
            x30.append((time.perf_counter() - t) * 1000)
        t = time.perf_counter()
        reports.close_day(c, day, "bench", "bench: shifts are synthetic")
        z = (time.perf_counter() - t) * 1000
    total = lanes * days * per_day
    rows.append(f"| store X, one day ({lanes} lanes × {days} days = {total:,} sales loaded in {load:.0f} s) | "
                f"≤ 300 ms | median {statistics.median(x1):.0f} ms | max {max(x1):.0f} ms |")
    rows.append(f"| store report, 30 days (same data) | ≤ 1 s | median {statistics.median(x30):.0f} ms | "
                f"max {max(x30):.0f} ms |")
    rows.append(f"| store Z, one day (same data) | ≤ 2 s | {z:.0f} ms | |")


def bench_card_worker(server: PgServer, base: Path, rows: list[str], in_flight: int = 16) -> None:
    """The card worker against the sandbox gateway running as its own process (as Alipay would be: the worker and
    the gateway do not share an interpreter), PostgreSQL on the same 2 cores."""
    import json

    from pos_app.sandbox import SandboxServer
    from pos_app.settings import GatewaySettings, Settings
    from pos_app.store.cardworker import CardWorker
    from pos_app.store_card import alipay_calls

    # one pending card.update per card, as the ingest leaves them (it coalesces: one unclaimed row per card), and a
    # second round for a tenth of the cards (their order is checked)
    members, updates = (3000, 3000) if FULL else (600, 600)
    dsn = server.create_database(f"cards{in_flight}")
    sb_dir = base / "sandbox"
    sb = SandboxServer(sb_dir)
    with psycopg.connect(dsn, autocommit=True) as c:
        schema.init_store(c)
        for m in range(members):
            card = f"8800{m:012d}"
            info = sb.issue_card(external_card_no=card, name="m", level="VIP1", points=0)
            c.execute("INSERT INTO pos.member (member_id, biz_card_no, name, level) VALUES (%s, %s, 'm', 'VIP1')",
                      (card, info["biz_card_no"]))
        c.execute("INSERT INTO pos.member_points (member_id, balance) SELECT member_id, 0 FROM pos.member")
        c.execute("INSERT INTO pos.card_outbox (member_id, kind) SELECT 8800 || lpad((g %% %s)::text, 12, '0'),"
                  " 'update' FROM generate_series(1, %s) g", (members, updates))
        c.execute("INSERT INTO pos.card_outbox (member_id, kind) SELECT 8800 || lpad((g * 10)::text, 12, '0'),"
                  " 'update' FROM generate_series(0, %s) g", (members // 10 - 1,))
        calls = updates + members // 10
    sb.stop()
    proc = subprocess.Popen([sys.executable, "-m", "pos_app", "sandbox", "--data-dir", str(sb_dir)], cwd=ROOT,
                            stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        info = json.loads(proc.stdout.readline())
        settings = Settings(data_dir=base / "cw", gateway=GatewaySettings(
            url=info["gateway_url"], app_id=info["app_id"], app_private_key=info["app_private_key"],
            alipay_public_key=info["alipay_public_key"]))
        w = CardWorker(dsn, alipay_calls(settings), max_in_flight=in_flight)
        w.acquire()
        t0, cpu0, sb0 = time.perf_counter(), os.times(), _cpu_of(proc.pid)
        while w.step():
            pass
        el = time.perf_counter() - t0
        cpu = (os.times().user - cpu0.user + os.times().system - cpu0.system) / calls * 1000
        sb_cpu = (_cpu_of(proc.pid) - sb0) / calls * 1000
        w.close()
    finally:
        proc.terminate()
        proc.wait(20)
        if proc.stdout is not None:
            proc.stdout.close()
    sb = SandboxServer(sb_dir)
    ordered = all([h["occur_time"] for h in card["history"] if h["kind"] == "update"] ==
                  sorted(h["occur_time"] for h in card["history"] if h["kind"] == "update") for card in sb.cards())
    sent = sum(len([h for h in card["history"] if h["kind"] == "update"]) for card in sb.cards())
    sb.stop()
    rows.append(f"| card worker, {calls} card.update calls ({members} cards, a tenth twice), {in_flight} in flight, "
                f"sandbox gateway in its own process on loopback | ≥ 150 calls/s, order kept | "
                f"{calls / el:,.0f} calls/s | per-card order kept: {ordered}; calls at the sandbox: {sent}; CPU per call: "
                f"worker {cpu:.1f} ms, sandbox {sb_cpu:.1f} ms |")


def _cpu_of(pid: int) -> float:
    """User + system CPU seconds of a process so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main() -> int:
    import tempfile

    started = time.perf_counter()
    load = os.getloadavg()
    rows: list[str] = []
    server = PgServer(durable=True, max_connections=200).init().start()
    base = Path(tempfile.mkdtemp(prefix="bench-store-"))
    only = {x for x in os.environ.get("POS_BENCH_STORE_ONLY", "").split(",") if x}   # e.g. ingest,card
    benches = [("ingest", lambda: bench_ingest(server, base, rows)), ("outage", lambda: bench_outage_commit(base, rows)),
               ("lag", lambda: bench_lag(server, base, rows)), ("reports", lambda: bench_reports(server, rows)),
               ("card", lambda: bench_card_worker(server, base, rows))]
    try:
        for name, run in benches:
            if not only or name in only:
                run()
    finally:
        server.destroy()
        import shutil
        shutil.rmtree(base, ignore_errors=True)
    print(f"## bench_store ({time.perf_counter() - started:.0f} s, {'full' if FULL else 'brief'} scale)\n")
    after = os.getloadavg()
    print(f"PostgreSQL 15 with fsync on, started by the benchmark; load average before: "
          f"{load[0]:.2f} {load[1]:.2f} {load[2]:.2f}, after: {after[0]:.2f} {after[1]:.2f} {after[2]:.2f} "
          f"(shared machine: other benchmarks and test suites ran too)\n")
    print("| figure | target | result | |")
    print("|---|---|---|---|")
    for r in rows:
        print(r)
    return 0


if __name__ == "__main__":
    sys.exit(main())
