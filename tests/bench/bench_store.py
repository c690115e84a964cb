"""Store mode figures (issue 13) on this machine: a real PostgreSQL (fsync on), real lane databases.

    nice -n -10 .venv/bin/python tests/bench/bench_store.py   # brief (≈ 2 min); prints a Markdown section
    POS_BENCH_STORE_ONLY=ingest,card ...                      # some of: ingest, outage, lag, reports, card
    POS_BENCH_STORE_SCALE=full ... (50 lanes, 1.3 M sales, 60 s outage: long; on purpose only)
    POS_BENCH_STORE_KEEP=1 ...                                # keep the lanes' folders (commit_ms.txt, logs)

The lag and outage figures run lanes as the terminal does (tests/bench/store_lane.py: one process per lane selling,
its store link in a supervised child process); the outage one checks the invariants of STORE-MODE.md §2.5 against
the server and runs an fsync probe beside the lanes, so a slow commit can be told from a stall of the disk.

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
from typing import Any

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


class FsyncProbe:
    """Writes 4 KB and fdatasyncs it every 0.1 s beside the lanes' files (same filesystem), recording how long each
    took: a stall here is the disk's (every process that fsyncs on this ext4 waits for it), not the lanes' code."""

    def __init__(self, path: Path) -> None:
        import threading

        self.samples: list[tuple[float, float]] = []
        self._stop = threading.Event()
        self._fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        block = b"x" * 4096
        while not self._stop.wait(0.1):
            at = time.time()
            t0 = time.perf_counter()
            os.pwrite(self._fd, block, 0)
            os.fdatasync(self._fd)
            self.samples.append((at, (time.perf_counter() - t0) * 1000))

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()
        os.close(self._fd)

    def explains(self, at: float, ms: float, slow_ms: float = 15.0) -> bool:
        """A probe write slower than ``slow_ms`` overlapped the interval [at, at + ms]."""
        end = at + ms / 1000
        return any(p_at < end and p_at + p_ms / 1000 > at for p_at, p_ms in self.samples if p_ms > slow_ms)

    def between(self, a: float, b: float) -> str:
        v = [ms for at, ms in self.samples if a <= at < b]
        if not v:
            return "(none)"
        return f"p95 {pct(v, .95):.1f} ms, max {max(v):.0f} ms, {sum(1 for x in v if x > 100)} of {len(v)} over 100 ms"


class LaneFleet:
    """Lanes as the terminal runs them (tests/bench/store_lane.py: one process per lane selling, its store link in a
    supervised child process at nice +10), against one store database with members seeded."""

    def __init__(self, server: PgServer, base: Path, dbname: str, lanes: int) -> None:
        self.server, self.base, self.dbname = server, base, dbname
        self.dsn = server.create_database(dbname)
        self.seeded = {card: 1000 for card, _ in MEMBERS}
        with psycopg.connect(self.dsn, autocommit=True) as c:
            schema.init_store(c)
            self.creds = [schema.add_lane(c, f"{dbname}{i}") for i in range(lanes)]
            for card in self.seeded:
                c.execute("INSERT INTO pos.member (member_id, name, level) VALUES (%s, '会员', 'VIP1')", (card,))
                c.execute("SELECT pos.adjust_points(%s, 1000, gen_random_uuid())", (card,))
        self.go = base / f"{dbname}.go"
        self.dirs: list[Path] = []
        self.procs: list[subprocess.Popen[str]] = []

    def start(self, rate: float) -> None:
        """Start every lane and its link and wait until every link is online; they sell once ``sell`` is called."""
        for i, cr in enumerate(self.creds):
            lane_db(self.base, cr.name, "")
            d = self.base / cr.name
            (d / "password").write_text(cr.password)
            os.chmod(d / "password", 0o600)
            self.dirs.append(d)
            self.procs.append(subprocess.Popen(
                [sys.executable, "-m", "tests.bench.store_lane", "--dir", str(d), "--dsn",
                 self.server.dsn(self.dbname, cr.role), "--password-file", str(d / "password"), "--rate", str(rate),
                 "--go", str(self.go), "--seed", str(i)],
                cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True))
        for p in self.procs:
            assert p.stdout is not None and p.stdout.readline().strip() == "ready"
        self.wait(lambda: all(self.lane_state(d)[2] for d in self.dirs), 180, "every lane's link online", 0.5)

    def sell(self, start_at: float, end_at: float) -> None:
        tmp = self.go.with_suffix(".tmp")
        tmp.write_text(f"{start_at} {end_at}")
        tmp.rename(self.go)

    def lane_state(self, d: Path) -> tuple[int, int, str | None]:
        """(acked_seq, max_seq, last_ok_at) from the lane's own file."""
        from pos_app.storage.db import connect

        c = connect(d / "pos.sqlite3")
        try:
            r = c.execute("SELECT acked_seq, (SELECT coalesce(max(seq), 0) FROM lane_journal), last_ok_at "
                          "FROM lane_store_state").fetchone()
            return int(r[0]), int(r[1]), r[2]
        finally:
            c.close()

    def server_acked(self) -> dict[str, int]:
        with psycopg.connect(self.dsn, autocommit=True, connect_timeout=2) as c:
            return {r[0]: int(r[1]) for r in c.execute(
                "SELECT l.name, coalesce(max(e.acked_seq), 0) FROM pos.lane l "
                "LEFT JOIN pos.lane_epoch e USING (lane_id) GROUP BY l.name")}

    @staticmethod
    def wait(pred: Any, timeout: float, what: str, step: float = 0.05) -> float:
        t0 = time.time()
        while time.time() - t0 < timeout:
            try:
                if pred():
                    return time.time() - t0
            except psycopg.OperationalError:
                pass
            time.sleep(step)
        raise AssertionError(f"timed out waiting for {what}")

    def wait_done(self) -> None:
        for p in self.procs:
            assert p.stdout is not None
            line = p.stdout.readline().strip()
            assert line == "done", line

    def drained(self) -> bool:
        acked = self.server_acked()
        return all(acked[cr.name] >= self.lane_state(d)[1] for cr, d in zip(self.creds, self.dirs, strict=True))

    def commits(self) -> list[tuple[float, float]]:
        out = []
        for d in self.dirs:
            for line in (d / "commit_ms.txt").read_text().splitlines():
                at, ms = line.split()
                out.append((float(at), float(ms)))
        return out

    def log_waits(self) -> list[tuple[float, float]]:
        """The tills' log writes that took over 2 ms (store_lane.py times them)."""
        out = []
        for d in self.dirs:
            f = d / "log_emit_ms.txt"
            for line in f.read_text().splitlines() if f.exists() else []:
                at, ms = line.split()
                out.append((float(at), float(ms)))
        return out

    def stop(self) -> None:
        for p in self.procs:
            if p.poll() is None:
                p.terminate()
        for p in self.procs:
            try:
                p.wait(30)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait(5)
            if p.stdout is not None:
                p.stdout.close()


def _lat(values: list[float]) -> str:
    if not values:
        return "(none)"
    return f"p50 {pct(values, .5):.1f} / p95 {pct(values, .95):.1f} / p99 {pct(values, .99):.1f} ms (n={len(values)})"


def bench_lag(server: PgServer, base: Path, rows: list[str]) -> None:
    """Sync lag with every lane as the terminal runs it (its link in its own child process), at a steady rate."""
    lanes, per_min, secs = (50, 60, 60) if FULL else (5, 60, 15)
    lanes = int(os.environ.get("POS_BENCH_STORE_LANES", lanes))
    fleet = LaneFleet(server, base, "lag", lanes)
    try:
        load0 = os.getloadavg()[0]
        fleet.start(per_min / 60)
        t0 = time.time() + 1
        fleet.sell(t0, t0 + secs)
        fleet.wait_done()
        fleet.wait(fleet.drained, 60, "the last sales at the store")
        commits = [ms for _, ms in fleet.commits()]
        load1 = os.getloadavg()[0]
    finally:
        fleet.stop()
    with psycopg.connect(fleet.dsn, autocommit=True) as c:
        lags = [float(r[0]) for r in c.execute(         # not the lanes' 3 warm-up sales, made before the start
            "SELECT extract(epoch FROM received_at - occurred_at) * 1000 FROM pos.event WHERE kind = 'sale' "
            "AND occurred_at >= to_timestamp(%s)", (t0,))]
    rows.append(f"| sync lag, {lanes} lanes × {per_min} sales/min for {secs} s ({len(lags)} sales; each lane a process, "
                f"its link a child process as in the terminal, uplink poll 0.1 s; load {load0:.1f} → {load1:.1f}) | "
                f"p95 ≤ 250 ms, p99 ≤ 1 s | p95 {pct(lags, .95):.0f} ms | p99 {pct(lags, .99):.0f} ms; "
                f"max {max(lags):.0f} ms; lane commit {_lat(commits)} |")


def bench_outage(server: PgServer, base: Path, rows: list[str]) -> None:
    """A server outage (pg_ctl stop -m fast ... start) while lanes sell: lane commit latency before and during it,
    how long after the server is back until every sale made before the heal is at the store, then the invariants."""
    from tests.store.invariants import check

    lanes, per_min, up_s, down_s, after_s = (20, 60, 30, 60, 15) if FULL else (5, 240, 10, 15, 5)
    lanes = int(os.environ.get("POS_BENCH_STORE_OUTAGE_LANES", lanes))
    per_min = 1200 // lanes if FULL else per_min
    fleet = LaneFleet(server, base, "outage", lanes)
    probe = FsyncProbe(base / "fsync-probe")
    try:
        load0 = os.getloadavg()[0]
        fleet.start(per_min / 60)
        t0 = time.time() + 1
        fleet.sell(t0, t0 + up_s + down_s + after_s)
        time.sleep(max(0.0, t0 + up_s - time.time()))
        down_at = time.time()
        server.stop("fast")
        stopped_at = time.time()
        time.sleep(max(0.0, down_at + down_s - time.time()))
        states = [fleet.lane_state(d) for d in fleet.dirs]
        backlog = sum(mx - acked for acked, mx, _ in states)
        server.start()
        healed_at = time.time()
        at_heal = {cr.name: fleet.lane_state(d)[1] for cr, d in zip(fleet.creds, fleet.dirs, strict=True)}
        fleet.wait(lambda: all(v >= at_heal[k] for k, v in fleet.server_acked().items() if k in at_heal),
                   120, "the outage's backlog at the store")
        drain = time.time() - healed_at
        fleet.wait_done()
        fleet.wait(fleet.drained, 60, "every sale at the store")
        commits = fleet.commits()
        load1 = os.getloadavg()[0]
    finally:
        fleet.stop()
        probe.stop()
    figures = check(fleet.dsn, {cr.name: d / "pos.sqlite3" for cr, d in zip(fleet.creds, fleet.dirs, strict=True)},
                    fleet.seeded)
    sold = sum(f["sales"] for k, f in figures.items() if k.startswith("outage"))
    up = [ms for at, ms in commits if t0 <= at < down_at]
    down = [ms for at, ms in commits if stopped_at <= at < healed_at]
    after = [ms for at, ms in commits if at >= healed_at]
    rows.append(f"| {down_s} s server outage (pg_ctl stop -m fast, then start), {lanes} lanes × {per_min} sales/min = "
                f"{lanes * per_min:,} sales/min, each lane a process with its link in a child process (load "
                f"{load0:.1f} → {load1:.1f}): backlog at the store after the server is back | ≤ 5 s | {drain:.1f} s "
                f"({backlog} journal rows were waiting) | {sold} sales checked against the store: 0 lost, 0 duplicate, "
                f"0 points drift, money per lane equal; rows re-sent and absorbed: {figures['resends']} |")
    log_waits = fleet.log_waits()

    def slow(lo: float, hi: float) -> str:
        over = [(at, ms) for at, ms in commits if lo <= at < hi and ms > 15]
        return (f"disk probe: {probe.between(lo, hi)}; commits over 15 ms: {len(over)}, of which "
                f"{sum(1 for at, ms in over if probe.explains(at, ms))} overlap a probe fsync over 15 ms; the tills' "
                f"log writes over 2 ms: {sum(1 for at, _ in log_waits if lo <= at < hi)} (max "
                f"{max([ms for at, ms in log_waits if lo <= at < hi], default=0):.0f} ms)")

    rows.append(f"| lane commit with the store up (before the outage) | | {_lat(up)} | {slow(t0, down_at)} |")
    rows.append(f"| lane commit with the store down | p95 ≤ 15 ms | {_lat(down)} | {slow(stopped_at, healed_at)} |")
    rows.append(f"| lane commit after the heal (while draining) | | {_lat(after)} | {slow(healed_at, time.time())} |")


_LOAD = """
SELECT pos.ingest_batch(%(ep)s, %(first)s, (
  SELECT jsonb_agg(jsonb_build_object('event_id', gen_random_uuid(), 'seq', %(first)s - 1 + r.n, 'kind', r.kind,
                                      'business_date', r.d, 'occurred_at', r.at, 'body', r.body) ORDER BY r.n)
    FROM (SELECT row_number() OVER (ORDER BY g, k) AS n, * FROM (
            SELECT g, 0 AS k, 'sale' AS kind, d, at, jsonb_build_object(
                     'receipt_no', 'R' || %(lane)s || '-' || g, 'shift_no', (g - 1) / %(pd)s + 1,
                     'cashier', '100' || (g %% 3), 'member_id', coalesce(m, ''), 'gross_fen', total,
                     'discount_fen', 0, 'total_fen', total,
                     'points_earned', CASE WHEN m IS NULL THEN 0 ELSE total / 100 END, 'points_redeemed', 0,
                     'tenders', jsonb_build_array(jsonb_build_object(
                         'kind', CASE WHEN g %% 3 = 0 THEN 'alipay' ELSE 'cash' END, 'amount_fen', total,
                         'trade_no', '')),
                     'lines', jsonb_build_array(jsonb_build_object('code', '6901234567892', 'quantity', 1,
                                                                   'amount_fen', total, 'voided', 0))) AS body
              FROM s
            UNION ALL
            SELECT g, 1, 'points', d, at, jsonb_build_object('member_id', m, 'delta', total / 100, 'kind', 'earn',
                                                             'offline', false)
              FROM s WHERE m IS NOT NULL) u) r
), now())
"""
_LOAD_S = """
WITH s AS (SELECT g, date '2026-11-01' + ((g - 1) / %(pd)s)::int AS d,
                  (date '2026-11-01' + ((g - 1) / %(pd)s)::int + time '02:00'
                   + ((g - 1) %% %(pd)s) * interval '40 seconds') AT TIME ZONE 'UTC' AS at,
                  CASE WHEN g %% 2 = 0 THEN '88000000000' || lpad((g %% 1000)::text, 5, '0') END AS m,
                  1000 + g %% 500 AS total
             FROM generate_series(%(a)s::int, %(b)s::int) g)
"""


def load_sales(server: PgServer, dbname: str, creds: list[Any], days: int, per_day: int, batch: int = 5000) -> float:
    """Every lane's sales (half with a member, each with its points entry) through the real ``pos.ingest_batch``,
    called as that lane's own role, in batches of ``batch`` sales whose JSON rows the server builds itself from
    generate_series (no client round trip per row): the same rows and effects as lanes pushing. Two lanes at a
    time. Returns the seconds taken."""
    import concurrent.futures as cf

    def one(cr: Any) -> None:
        with psycopg.connect(f"{server.dsn(dbname, cr.role)} password={cr.password}", autocommit=True) as c:
            ep = str(uuid.uuid4())
            c.execute("SELECT pos.heartbeat(%s, 0, 0, 0, now())", (ep,))
            acked = 0
            for a in range(1, days * per_day + 1, batch):
                b = min(days * per_day, a + batch - 1)
                row = c.execute(_LOAD_S + _LOAD,
                                {"ep": ep, "first": acked + 1, "pd": per_day, "a": a, "b": b, "lane": cr.name}).fetchone()
                assert row is not None and "acked_seq" in row[0], row
                acked = int(row[0]["acked_seq"])

    t0 = time.perf_counter()
    with cf.ThreadPoolExecutor(2) as ex:
        list(ex.map(one, creds))
    return time.perf_counter() - t0


def bench_reports(server: PgServer, rows: list[str]) -> None:
    lanes, days, per_day = (50, 30, 870) if FULL else (10, 30, 200)
    dsn = server.create_database("reports")
    with psycopg.connect(dsn, autocommit=True) as c:
        schema.init_store(c)
        creds = [schema.add_lane(c, f"lane{i}") for i in range(lanes)]
    load = load_sales(server, "reports", creds, days, per_day)
    with psycopg.connect(dsn, autocommit=True) as c:
        c.execute("VACUUM ANALYZE")
        total = int(c.execute("SELECT count(*) FROM pos.sale").fetchone()[0])   # type: ignore[index]
        day, first, last = dt.date(2026, 11, 15), dt.date(2026, 11, 1), dt.date(2026, 11, 30)
        x1, x30, raw1, raw30 = [], [], [], []
        for _ in range(5):
            t = time.perf_counter()
            fig1 = reports.store_figures(c, day)
            x1.append((time.perf_counter() - t) * 1000)
        for _ in range(3):
            t = time.perf_counter()
            fig30 = reports.store_figures(c, first, last)
            x30.append((time.perf_counter() - t) * 1000)
        # the same figures summed from every sale and tender row (as the reports did before store schema 40):
        # exactness of the rollups at this size, and what they save
        for _ in range(3):
            t = time.perf_counter()
            rows1 = _figures_from_rows(c, day, day)
            raw1.append((time.perf_counter() - t) * 1000)
        for _ in range(2):
            t = time.perf_counter()
            rows30 = _figures_from_rows(c, first, last)
            raw30.append((time.perf_counter() - t) * 1000)
        assert _comparable(fig1) == rows1 and _comparable(fig30) == rows30, "rollups differ from the rows"
        t = time.perf_counter()
        reports.close_day(c, day, "bench", "bench: shifts are synthetic")
        z = (time.perf_counter() - t) * 1000
    rows.append(f"| store X, one day ({lanes} lanes × {days} days = {total:,} sales, each with its points entry when "
                f"it has a member, loaded through pos.ingest_batch in {load:.0f} s = {total / load:,.0f} sales/s) | "
                f"≤ 300 ms | median {statistics.median(x1):.0f} ms | max {max(x1):.0f} ms; from the rows (before "
                f"schema 40) median {statistics.median(raw1):.0f} ms |")
    rows.append(f"| store report, 30 days (same data) | ≤ 1 s | median {statistics.median(x30):.0f} ms | "
                f"max {max(x30):.0f} ms; from the rows (before schema 40) median {statistics.median(raw30):.0f} ms; "
                f"figures equal |")
    rows.append(f"| store Z, one day (same data) | ≤ 2 s | {z:.0f} ms | |")


def _figures_from_rows(c: psycopg.Connection[Any], first: dt.date, last: dt.date) -> dict[str, Any]:
    """Store figures summed from pos.sale / pos.tender themselves (the queries before store schema 40)."""
    p = (first, last)
    return {
        "lanes": {n: (int(k), int(t)) for n, k, t in c.execute(
            "SELECT l.name, count(s.event_id), coalesce(sum(s.total_fen), 0) FROM pos.lane l LEFT JOIN pos.sale s "
            "ON s.lane_id = l.lane_id AND s.business_date BETWEEN %s AND %s GROUP BY l.name", p)},
        "tenders": {(n, k): int(a) for n, k, a in c.execute(
            "SELECT l.name, t.kind, sum(t.amount_fen) FROM pos.tender t JOIN pos.lane l USING (lane_id) "
            "WHERE t.business_date BETWEEN %s AND %s GROUP BY 1, 2", p)},
        "cashiers": {k: (int(n), int(t)) for k, n, t in c.execute(
            "SELECT cashier, count(*), sum(total_fen) FROM pos.sale WHERE business_date BETWEEN %s AND %s "
            "GROUP BY cashier", p)},
        "members": tuple(int(x) for x in c.execute(   # type: ignore[union-attr]
            "SELECT count(DISTINCT member_id), coalesce(sum(points_earned), 0), coalesce(sum(points_redeemed), 0) "
            "FROM pos.sale WHERE business_date BETWEEN %s AND %s AND member_id IS NOT NULL", p).fetchone()),
    }


def _comparable(fig: dict[str, Any]) -> dict[str, Any]:
    return {
        "lanes": {ln["lane"]: (ln["sales"], ln["total_fen"]) for ln in fig["lanes"]},
        "tenders": {(ln["lane"], k): v for ln in fig["lanes"] for k, v in ln["tenders"].items()},
        "cashiers": {c["cashier"]: (c["sales"], c["total_fen"]) for c in fig["cashiers"]},
        "members": (fig["members"]["count"], fig["members"]["points_earned"], fig["members"]["points_redeemed"]),
    }


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
    benches = [("ingest", lambda: bench_ingest(server, base, rows)), ("outage", lambda: bench_outage(server, base, rows)),
               ("lag", lambda: bench_lag(server, base, rows)), ("reports", lambda: bench_reports(server, rows)),
               ("card", lambda: bench_card_worker(server, base, rows))]
    try:
        for name, run in benches:
            if not only or name in only:
                run()
    finally:
        server.destroy()
        import shutil
        if os.environ.get("POS_BENCH_STORE_KEEP"):
            print(f"kept: {base}")
        else:
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
