"""Bench: scan-to-screen and GUI event-loop stalls while background work runs (issue 18).

One terminal (real widgets, offscreen), 50 000 items, 100 000 members, a 20 000-sale open shift and a
10 000-row sync backlog over 2 000 cards draining against the sandbox gateway (its own process).
Scans arrive from a reader thread through the scanner entry point (``fake://``, queued to the GUI
thread like every reader's), 10 ms after the previous one reached the screen: 3 baskets of 100 product
lines with a member card after every 6th product. "On screen" is the paint of the basket table (new
line) or of the member panel (that member), seen by an event filter. A 10 ms timer probes the GUI
event loop; a stall is a tick that came more than 50 ms late.

Phases, back to back in one run (``--phases`` picks some):
  none                 nothing in the background
  old_both             the first build's arrangement: sync worker threads inside the app process and
                       the X report rebuilt on the GUI thread every 3 s (report screen open)
  inproc               the sync worker inside the app process only
  process              the sync worker in its own process (``pos-app sync run``) only
  report_gui           the X report rebuilt on the GUI thread every 3 s only
  terminal_both        the terminal as shipped: its own sync worker (Terminal.sync) and its report
                       screen refreshing every 3 s (ReportsView.refresh_x)
  terminal_report      the terminal's report screen refreshing every 3 s only

Raw samples (every scan, every probe gap) go to ``tests/bench/bench_ui_load.json``.
Usage: ``.venv/bin/python tests/bench/bench_ui_load.py [--phases none,terminal_both] [--baskets 3]``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from PySide6.QtCore import QEvent, QEventLoop, QObject, Qt, QTimer, Signal  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from tests.bench.bulk import (  # noqa: E402
    bulk_card_members,
    bulk_items,
    bulk_members,
    bulk_outbox_backlog,
    bulk_shift_sales,
    item_code,
    seed_sandbox_cards,
)

HERE = Path(__file__).resolve().parent
RAW = HERE / "bench_ui_load.json"
BASE = dt.datetime(2026, 11, 22, 2, 0, tzinfo=dt.UTC)
N_ITEMS, N_MEMBERS, N_SALES = 50_000, 100_000, 20_000
CARDS, BACKLOG = 2_000, 10_000
REPORT_EVERY_MS = 3000
PROBE_MS = 10
STALL_MS = 50
CASHIER = ("1001", "2468")
PHASES = ("none", "old_both", "inproc", "process", "report_gui", "terminal_both", "terminal_report")
LABELS = {
    "none": "none",
    "old_both": "sync worker inside the app process + X report on the GUI thread every 3 s (first build)",
    "inproc": "sync worker inside the app process only",
    "process": "sync worker in its own process (`pos-app sync run`) only",
    "report_gui": "X report on the GUI thread every 3 s only",
    "terminal_both": "**terminal as shipped: its sync worker + report screen refreshing every 3 s**",
    "terminal_report": "terminal as shipped: report screen refreshing every 3 s only",
}


def pct(values: list[float], p: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, int(round(p / 100 * (len(s) - 1))))] if s else float("nan")


class Probe(QObject):
    """A precise 10 ms timer on the GUI thread; ``gaps`` are the intervals between its ticks (ms)."""

    def __init__(self) -> None:
        super().__init__()
        self.gaps: list[float] = []
        self._last = 0.0
        self._timer = QTimer(self)
        self._timer.setTimerType(Qt.TimerType.PreciseTimer)
        self._timer.setInterval(PROBE_MS)
        self._timer.timeout.connect(self._tick)

    def start(self) -> None:
        self.gaps = []
        self._last = time.perf_counter()
        self._timer.start()

    def stop(self) -> None:
        self._timer.stop()

    def _tick(self) -> None:
        now = time.perf_counter()
        self.gaps.append((now - self._last) * 1000)
        self._last = now


class ScreenWatch(QObject):
    """Sees the paint that puts the awaited scan on screen (basket table viewport or member panel)."""

    commit_requested = Signal()

    def __init__(self, terminal: Any) -> None:
        super().__init__()
        self.t = terminal
        view = terminal.window.checkout_view
        self.view = view
        self.lock = threading.Lock()
        self.want: tuple[str, Any] | None = None
        self.done = threading.Event()
        self.done_at = 0.0
        self.commit_ms: list[float] = []
        self.committed = threading.Event()
        view.table.viewport().installEventFilter(self)
        view.member_detail.installEventFilter(self)
        self.commit_requested.connect(self._commit)

    def expect(self, kind: str, value: Any) -> None:
        with self.lock:
            self.done.clear()
            self.want = (kind, value)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.Paint and self.want is not None:
            kind, value = self.want
            hit = (kind == "line" and watched is self.view.table.viewport() and self.view.model.rowCount() >= value) \
                or (kind == "member" and watched is self.view.member_detail and value in self.view.member_detail.text())
            if hit:
                self.done_at = time.perf_counter()
                self.want = None
                self.done.set()
        return False

    def _commit(self) -> None:
        """GUI thread: the cashier takes cash for the basket through the till (the commit is timed), as the
        cash dialog does, and the next sale starts."""
        ctl = self.t.window.controller
        till = ctl.till
        till.take_total()
        start = time.perf_counter()
        till.pay_cash(10_000_000)
        self.commit_ms.append((time.perf_counter() - start) * 1000)
        sync = getattr(self.t.ctx, "sync", None)
        if sync is not None:
            sync.nudge()
        ctl.refresh()
        self.committed.set()


def scan_plan(baskets: int, rng: random.Random) -> list[list[tuple[str, str]]]:
    """Per basket: 100 distinct products, a member card (a backlog card) after every 6th."""
    plan = []
    card = 0
    for _ in range(baskets):
        items = rng.sample(range(N_ITEMS), 100)
        scans: list[tuple[str, str]] = []
        for k, i in enumerate(items, 1):
            scans.append(("line", item_code(i)))
            if k % 6 == 0:
                card += 1
                scans.append(("member", f"88{card % CARDS:014d}"))
        plan.append(scans)
    return plan


def feed(watch: ScreenWatch, fake: Any, plan: list[list[tuple[str, str]]], out: list[dict[str, Any]],
         finished: threading.Event) -> None:
    """Reader thread: one scan, wait until it is on screen, 10 ms, the next; commit after each basket."""
    try:
        for basket in plan:
            lines = 0
            for kind, code in basket:
                if kind == "line":
                    lines += 1
                    watch.expect("line", lines)
                else:
                    watch.expect("member", code[-4:])
                start = time.perf_counter()
                fake.feed(code, "EAN13" if kind == "line" else "CODE128")
                ok = watch.done.wait(5.0)
                ms = (watch.done_at - start) * 1000 if ok else 5000.0
                out.append({"kind": kind, "ms": round(ms, 3), "ok": ok})
                time.sleep(0.010)
            watch.committed.clear()
            watch.commit_requested.emit()
            watch.committed.wait(10.0)
    finally:
        finished.set()


def _cpu_of(pid: int) -> float:
    """CPU seconds (user + system) of process ``pid``."""
    parts = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(parts[11]) + int(parts[12])) / os.sysconf("SC_CLK_TCK")


class Env:
    """The sandbox process, the settings file, the terminal and the data."""

    def __init__(self, tmp: Path, in_flight: int | None) -> None:
        from pos_app.storage.db import Database, connect

        self.tmp = tmp
        t0 = time.perf_counter()
        self.trades, self.biz = seed_sandbox_cards(tmp / "sandbox", CARDS)
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        self.env = env
        self.sandbox = subprocess.Popen([sys.executable, "-m", "pos_app", "sandbox", "--data-dir", str(tmp / "sandbox")],
                                        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        assert self.sandbox.stdout is not None
        info = json.loads(self.sandbox.stdout.readline())
        self.config = tmp / "pos.toml"
        sync = f"[sync]\nmax_in_flight = {in_flight}\n" if in_flight else ""
        self.config.write_text(
            f'language = "en"\ndata_dir = "{tmp / "data"}"\n[gateway]\nurl = "{info["gateway_url"]}"\n'
            f'app_id = "{info["app_id"]}"\napp_private_key = "{info["app_private_key"]}"\n'
            f'alipay_public_key = "{info["alipay_public_key"]}"\n'
            # a real (non-demo) terminal needs its loyalty rules (issue 12); the demo's own figures
            f'[loyalty]\npoints_per_yuan = 1\nredeem_points_per_yuan = 100\n{sync}', encoding="utf-8")
        from pos_app.settings import load_settings

        self.settings = load_settings(self.config)
        db = self.settings.db_path
        Database(db).open_and_migrate().close()
        conn = connect(db)
        try:
            from pos_app.runtime import SystemClock
            from pos_app.services.users import hash_pin

            conn.execute("INSERT INTO users (number, name, role, pin_hash, card_code, created_at) VALUES"
                         " (?, 'Bench Cashier', 'cashier', ?, NULL, ?)",
                         (CASHIER[0], hash_pin(CASHIER[1]), SystemClock().now().isoformat()))
            self.data = [bulk_items(conn, N_ITEMS), bulk_members(conn, N_MEMBERS)]
            self.data.append(bulk_card_members(conn, self.biz, base=BASE))
        finally:
            conn.close()
        self.setup_s = time.perf_counter() - t0
        self.terminal: Any = None

    def start_terminal(self, app: QApplication) -> None:
        from pos_app.app import build_terminal
        from pos_app.storage.db import connect

        # the shift is opened (with its 20 000 sales) before the cashier logs in: login then finds it open
        t = build_terminal(self.settings, scanner_urls=("fake://",), show_wallet=False)
        user = t.services.users.authenticate(*CASHIER)
        shift = t.services.shifts.current_shift() or t.services.shifts.open_shift(user, float_fen=50_000)
        conn = connect(self.settings.db_path)
        try:
            self.data.append(bulk_shift_sales(conn, shift.id, N_SALES, base=BASE, cashier_ids=(user.id, user.id),
                                              member=f"88{0:014d}", terminal_id=self.settings.store.terminal_id))
        finally:
            conn.close()
        t.window.show()
        t.window.try_login(*CASHIER)
        deadline = time.perf_counter() + 10
        while t.window.session is None and time.perf_counter() < deadline:
            app.processEvents()
        assert t.window.session is not None, "login failed"
        self.terminal = t
        if t.sync is not None:          # the terminal's own worker waits for its phase
            t.sync.stop(10)

    def reseed_backlog(self, phase_no: int) -> None:
        from pos_app.storage.db import connect

        conn = connect(self.settings.db_path)
        try:
            conn.execute("DELETE FROM outbox WHERE state = 'pending'")
            bulk_outbox_backlog(conn, cards=CARDS, rows=BACKLOG, trades=self.trades, biz=self.biz,
                                base=BASE + dt.timedelta(days=phase_no), add_members=False,
                                event_prefix=f"P{phase_no}-")
        finally:
            conn.close()

    def pending(self) -> int:
        from pos_app.storage.db import connect

        conn = connect(self.settings.db_path)
        try:
            return int(conn.execute("SELECT count(*) FROM outbox WHERE state = 'pending'").fetchone()[0])
        finally:
            conn.close()

    def close(self) -> None:
        if self.terminal is not None:
            self.terminal.shutdown()
            self.terminal.window.close()
        self.sandbox.terminate()
        self.sandbox.wait(30)


def run_phase(app: QApplication, env: Env, name: str, phase_no: int, baskets: int) -> dict[str, Any]:
    t = env.terminal
    worker: Any = None
    proc: subprocess.Popen[bytes] | None = None
    stops: list[Callable[[], None]] = []
    uses_worker = name in ("old_both", "inproc", "process", "terminal_both")
    if uses_worker:
        env.reseed_backlog(phase_no)
    pending_before = env.pending() if uses_worker else 0
    if name in ("old_both", "inproc"):
        from pos_app.bootstrap import build_sync_worker

        worker = build_sync_worker(env.settings)  # the worker the first build's `pos-app run` ran in its process
        assert worker is not None
        worker.start()
        stops.append(lambda: worker.stop(30))
    elif name == "process":
        proc = subprocess.Popen([sys.executable, "-m", "pos_app", "sync", "run", "--config", str(env.config)],
                                cwd=ROOT, env=env.env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        stops.append(lambda: (proc.terminate(), proc.wait(30)))  # type: ignore[union-attr]
    elif name == "terminal_both":
        t.sync.start()
        stops.append(lambda: t.sync.stop(30))
    report_view = None
    timer = None
    if name in ("old_both", "report_gui", "terminal_both", "terminal_report"):
        from pos_app.ui.reports_view import ReportsView

        # as the terminal opens it (ui/dialogs_wiring.py: the window's task runner builds reports off the GUI thread)
        report_view = ReportsView(t.ctx.reports, t.window, tr=t.ctx.tr, tasks=t.window.tasks)
        report_view.show()
        timer = QTimer()
        if name in ("old_both", "report_gui"):
            reports = t.ctx.reports
            timer.timeout.connect(lambda: reports.x_report())          # on the GUI thread, as the first build did
        else:
            timer.timeout.connect(report_view.refresh_x)               # whatever the report screen does
        timer.start(REPORT_EVERY_MS)
    # let the background work get going (the worker draining) before the first scan
    warm_end = time.perf_counter() + (2.0 if uses_worker else 0.3)
    while time.perf_counter() < warm_end:
        app.processEvents()
        time.sleep(0.005)
    pending_start = env.pending() if uses_worker else 0
    watch = ScreenWatch(t)
    probe = Probe()
    samples: list[dict[str, Any]] = []
    finished = threading.Event()
    plan = scan_plan(baskets, random.Random(phase_no))
    load_before = os.getloadavg()
    cpu0, wall0 = time.process_time(), time.perf_counter()
    child_cpu0 = _cpu_of(proc.pid) if proc is not None else 0.0
    probe.start()
    feeder = threading.Thread(target=feed, args=(watch, t.fake_scanner(), plan, samples, finished), daemon=True)
    feeder.start()
    while not finished.is_set():
        app.processEvents(QEventLoop.ProcessEventsFlag.WaitForMoreEvents, 50)
    probe.stop()
    wall = time.perf_counter() - wall0
    cpu = time.process_time() - cpu0
    child_cpu = (_cpu_of(proc.pid) - child_cpu0) if proc is not None else None
    pending_end = env.pending() if uses_worker else 0
    load_after = os.getloadavg()
    if timer is not None:
        timer.stop()
    if report_view is not None:
        report_view.close()
        report_view.deleteLater()
    for stop in stops:
        stop()
    app.processEvents()
    ms = [s["ms"] for s in samples]
    lags = [g - PROBE_MS for g in probe.gaps]
    return {
        "phase": name, "label": LABELS[name], "scans": len(ms), "timeouts": sum(not s["ok"] for s in samples),
        "median": statistics.median(ms), "p95": pct(ms, 95), "p99": pct(ms, 99), "max": max(ms),
        "stalls": sum(lag > STALL_MS for lag in lags), "max_lag": max(lags) if lags else 0.0,
        "commit_p95": pct(watch.commit_ms, 95),
        "drained": pending_start - pending_end, "drain_rate": (pending_start - pending_end) / wall,
        "backlog": pending_before, "app_cpu": cpu / wall, "worker_cpu": None if child_cpu is None else child_cpu / wall,
        "wall_s": wall, "load_before": load_before, "load_after": load_after,
        "samples": samples, "probe_gaps_ms": [round(g, 3) for g in probe.gaps], "commit_ms": watch.commit_ms,
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--phases", default=",".join(PHASES), help="comma-separated, from: " + ", ".join(PHASES))
    ap.add_argument("--baskets", type=int, default=3)
    ap.add_argument("--in-flight", type=int, default=None, help="sync.max_in_flight (default: the settings default)")
    ap.add_argument("--raw", default=str(RAW), help="where the raw samples go (JSON)")
    args = ap.parse_args(argv)
    phases = [p.strip() for p in args.phases.split(",") if p.strip()]
    unknown = [p for p in phases if p not in PHASES]
    if unknown:
        ap.error(f"unknown phase(s) {unknown}")
    app = QApplication.instance() or QApplication([])
    assert isinstance(app, QApplication)
    results = []
    with tempfile.TemporaryDirectory(prefix="bench-ui-load-") as tmp:
        env = Env(Path(tmp), args.in_flight)
        try:
            env.start_terminal(app)
            in_flight = env.settings.sync.max_in_flight
            for no, name in enumerate(phases, 1):
                print(f"phase {name} ...", file=sys.stderr, flush=True)
                results.append(run_phase(app, env, name, no, args.baskets))
        finally:
            env.close()
    data = "; ".join(env.data) + f"; {BACKLOG:,}-row sync backlog over {CARDS:,} cards per worker phase " \
                                 f"(row counts checked), sandbox gateway in its own process, max_in_flight {in_flight}"
    Path(args.raw).write_text(json.dumps({"data": data, "machine_cores": os.cpu_count(),
                                          "run_at": dt.datetime.now(dt.UTC).isoformat(), "phases": results},
                                         indent=None), encoding="utf-8")
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"data: {data}. Scans: {args.baskets} baskets x 100 lines + a member card after every 6th, fed from a reader"
          f" thread 10 ms after the previous one reached the screen. Set-up {env.setup_s:.0f} s; app RSS peak"
          f" {rss:.0f} MB. Raw samples: `{Path(args.raw).name}`.\n")
    print("| load | scans | median | p95 | p99 | max | loop stalls > 50 ms (max lag) | commit p95 | backlog drained"
          " | app CPU (cores) | load avg before→after |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for r in results:
        drain = f"{r['drained']:,} rows, {r['drain_rate']:.0f}/s" if r["backlog"] else "—"
        cpu = f"{r['app_cpu']:.2f}" + (f" + worker {r['worker_cpu']:.2f}" if r["worker_cpu"] is not None else "")
        bad = f" ({r['timeouts']} timed out)" if r["timeouts"] else ""
        print(f"| {r['label']} | {r['scans']}{bad} | {r['median']:.1f} ms | {r['p95']:.1f} ms | {r['p99']:.1f} ms |"
              f" {r['max']:.1f} ms | {r['stalls']} ({r['max_lag']:.0f} ms) | {r['commit_p95']:.1f} ms | {drain} |"
              f" {cpu} | {r['load_before'][0]:.2f}→{r['load_after'][0]:.2f} |")
    print("\ntarget (terminal as shipped, worker draining + X report every 3 s): scan-to-screen p99 ≤ 30 ms, "
          "no stall > 50 ms; commit p95 ≤ 10 ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
