"""Real lane processes (headless uplink/pull) + a real PostgreSQL through a TCP proxy, with faults:
the path stalls, refuses, cuts mid-batch; the server stops (fast, immediate) and freezes (SIGSTOP); a lane
is SIGKILLed and restarted. Then the invariants of STORE-MODE.md §2.5 hold.

Fast suite: 3 lanes, one cut (200 bytes in), no second stop. Full run (on purpose): POS_STORE_FULL=1 -> 20 lanes,
100 lane kills, cuts at 40/200/900 bytes and a fast stop as well.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import psycopg
import pytest

from pos_app.storage.db import connect
from pos_app.store import schema
from tests.pgserver import PgServer, PgServerError
from tests.reliability.harness.env import MEMBERS, init_db
from tests.store.invariants import check
from tests.store.tcpproxy import TcpProxy

FULL = os.environ.get("POS_STORE_FULL") == "1"
LANES = 20 if FULL else 3
SALES = 200 if FULL else 30
KILLS = 100 if FULL else 1
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def own_server():
    """One server per outage test: it is stopped, killed and frozen."""
    try:
        server = PgServer(max_connections=3 * LANES + 20).init().start()
    except PgServerError as exc:
        pytest.fail(f"PostgreSQL could not be started: {exc}", pytrace=False)
    try:
        yield server
    finally:
        server.destroy()


class LaneProc:
    def __init__(self, base: Path, name: str, conninfo: str, seed: int) -> None:
        self.name, self.seed = name, seed
        self.dir = base / name
        self.dir.mkdir(parents=True)
        self.db = self.dir / "pos.sqlite3"
        init_db(self.db)
        (self.dir / "conninfo").write_text(conninfo)
        os.chmod(self.dir / "conninfo", 0o600)
        self.proc: subprocess.Popen[str] | None = None

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "tests.store.lane_proc", "--db", str(self.db), "--conninfo-file",
             str(self.dir / "conninfo"), "--sales", str(SALES), "--rate", "15", "--seed", str(self.seed)],
            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)
        self.proc.stdout.close()  # type: ignore[union-attr]
        self.proc.stderr.close()  # type: ignore[union-attr]

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        if self.proc is not None:
            for f in (self.proc.stdout, self.proc.stderr):
                if f is not None:
                    f.close()

    def state(self) -> tuple[int, int, int]:
        c = connect(self.db)
        try:
            sales = c.execute("SELECT count(*) FROM sales").fetchone()[0]
            acked = c.execute("SELECT acked_seq FROM lane_store_state").fetchone()[0]
            top = c.execute("SELECT coalesce(max(seq), 0) FROM lane_journal").fetchone()[0]
            return int(sales), int(acked), int(top)
        finally:
            c.close()

    def closed(self) -> bool:
        c = connect(self.db)
        try:
            return c.execute("SELECT count(*) FROM shifts WHERE state = 'open'").fetchone()[0] == 0 and \
                c.execute("SELECT count(*) FROM sales").fetchone()[0] >= SALES
        finally:
            c.close()


def _wait(pred, timeout: float, what: str) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if pred():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.mark.timeout(900 if FULL else 400)
def test_lanes_survive_outages_and_the_invariants_hold(tmp_path, own_server):
    dsn = own_server.create_database("store")
    seeded = {card: 1000 for card, _ in MEMBERS}
    with psycopg.connect(dsn, autocommit=True) as c:
        schema.init_store(c)
        creds = [schema.add_lane(c, f"lane{i}") for i in range(LANES)]
        for card in seeded:
            c.execute("INSERT INTO pos.member (member_id, name, level) VALUES (%s, '会员', 'VIP1')", (card,))
            c.execute("SELECT pos.adjust_points(%s, 1000, gen_random_uuid())", (card,))
        c.execute("INSERT INTO pos.item (code, name_zh, name_en, price_fen) VALUES ('2000000000015', '茶', 'Tea', 300)")
    proxy = TcpProxy(own_server.port)
    lanes = [LaneProc(tmp_path, cr.name, f"host=127.0.0.1 port={proxy.port} dbname=store user={cr.role} "
                      f"password={cr.password} connect_timeout=2", i) for i, cr in enumerate(creds)]
    rng = random.Random(int(os.environ.get("POS_STORE_SEED", "13")))
    try:
        for lane in lanes:
            lane.start()
        _wait(lambda: all(ln.state()[0] >= 5 for ln in lanes), 60, "first sales")
        # the path stalls (blackhole): only the client deadline gets the lanes out
        proxy.set_mode("stall")
        time.sleep(2.5)
        proxy.set_mode("pass")
        # the path refuses
        proxy.set_mode("refuse")
        time.sleep(1.0)
        proxy.set_mode("pass")
        # a connection is cut a few bytes into a request (mid-batch / mid-COMMIT)
        for cut in (40, 200, 900) if FULL else (200,):
            proxy.set_mode("cut", cut_after=cut)
            _wait(lambda: proxy.mode == "pass", 20, "a cut connection")
        # the server stops (immediate = crash recovery) and comes back
        own_server.stop("immediate")
        time.sleep(1.0)
        own_server.start()
        # the server freezes with connections open
        own_server.freeze()
        time.sleep(2.0)
        own_server.thaw()
        # lanes are killed at random and restarted
        for _ in range(KILLS):
            victim = rng.choice(lanes)
            if victim.proc is not None and victim.proc.poll() is None:
                victim.kill()
                victim.start()
            time.sleep(rng.uniform(0.2, 0.8))
        if FULL:   # the fast suite has had a stop (immediate) already
            own_server.stop("fast")
            time.sleep(0.5)
            own_server.start()
        _wait(lambda: all(ln.closed() for ln in lanes), 120 if not FULL else 900, "all lanes to finish selling")
        _wait(lambda: all(ln.state()[1] == ln.state()[2] for ln in lanes), 60, "uplinks to drain")
        # a reference row written after the faults reaches every lane
        with psycopg.connect(dsn, autocommit=True) as c:
            c.execute("UPDATE pos.item SET price_fen = 320 WHERE code = '2000000000015'")

        def tea_everywhere() -> bool:
            for ln in lanes:
                with connect(ln.db) as c:
                    r = c.execute("SELECT price_fen FROM catalogue_items WHERE code = '2000000000015'").fetchone()
                if r is None or r[0] != 320:
                    return False
            return True

        _wait(tea_everywhere, 30, "reference data at every lane")
    finally:
        for lane in lanes:
            lane.stop()
        proxy.close()
    figures = check(dsn, {ln.name: ln.db for ln in lanes}, seeded)
    assert sum(f["sales"] for k, f in figures.items() if k.startswith("lane")) == LANES * SALES
    # 7. local-first: a commit never waited for the store (p95 well under the deadline)
    lat = sorted(float(x) for ln in lanes for x in (ln.dir / "commit_ms.txt").read_text().split())
    p95 = lat[int(len(lat) * 0.95)]
    assert p95 < 1500, f"commit p95 {p95:.0f} ms: commits waited for the store (deadline 1.5 s)"
    logs = "".join((ln.dir / "lane.log").read_text() for ln in lanes)
    assert "deadline" in logs and "store unreachable" in logs   # the faults really reached the lanes
