"""One lane as the terminal runs it, for bench_store's issue-scale figures: real services selling (cash, half
with a member) into the lane's SQLite file, and the real store link (uplink + pull) in a supervised child
process at nice +10, exactly as the terminal starts it (``StoreLinkSupervisor`` -> ``store_wiring``).

    python -m tests.bench.store_lane --dir D --dsn DSN --password-file F --rate PER_S --go FILE

The lane's database (D/pos.sqlite3) is made by the benchmark. Once FILE exists (it holds "START END", wall
times) the lane sells at ``rate`` from START until END; each commit's wall time and latency (ms) go to
D/commit_ms.txt. Prints ``ready`` when the link runs (after 3 warm-up sales), ``done`` when it stopped
selling; keeps the link running until SIGTERM (then stops it).
``--link thread`` runs the link as threads of this process instead (as ``pos-app store lane-sync`` does).
"""

from __future__ import annotations

import argparse
import random
import signal
import sys
import threading
import time
from pathlib import Path
from typing import Any

from pos_app.logs import setup_logging
from pos_app.settings import Settings, StoreSettings
from tests.reliability.harness.env import CASHIER, ITEMS, MEMBERS, build_services


def _time_log_writes(out: Path) -> None:
    """Record every log write of this process that took over 2 ms (the file handler takes a lock on the log folder
    that the link child shares): wall time and ms."""
    import logging

    for h in logging.getLogger().handlers:
        if isinstance(h, logging.FileHandler):
            emit = h.emit

            def timed(record: logging.LogRecord, emit: Any = emit) -> None:
                t0 = time.perf_counter()
                emit(record)
                ms = (time.perf_counter() - t0) * 1000
                if ms > 2:
                    with open(out, "a", encoding="utf-8") as f:
                        f.write(f"{time.time():.3f} {ms:.2f}\n")

            h.emit = timed  # type: ignore[method-assign]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--dir", required=True)
    ap.add_argument("--dsn", required=True)
    ap.add_argument("--password-file", required=True)
    ap.add_argument("--rate", type=float, required=True)
    ap.add_argument("--go", required=True)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--deadline", type=float, default=10.0)
    ap.add_argument("--link", choices=("child", "thread", "none"), default="child")
    args = ap.parse_args(argv)
    d = Path(args.dir)
    settings = Settings(data_dir=d, store=StoreSettings(dsn=args.dsn, password_file=args.password_file,
                                                        terminal_id=d.name, deadline_s=args.deadline))
    setup_logging(settings.log_dir)     # as the terminal: D/logs/pos.log, shared with its link child
    _time_log_writes(d / "log_emit_ms.txt")
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    link: object = None
    if args.link == "child":
        from pos_app.background.store import StoreLinkSupervisor

        sup = StoreLinkSupervisor(settings)
        sup.start()
        link = sup
    elif args.link == "thread":
        from pos_app.store_wiring import start_store_link

        link = start_store_link(settings)
    svc = build_services(settings.db_path, None)
    cashier = svc.users.authenticate(CASHIER[0], CASHIER[1])
    shift = svc.shifts.current_shift() or svc.shifts.open_shift(cashier, float_fen=10_000)
    rng = random.Random(args.seed)

    def sale() -> float:
        sale = svc.checkout.new_sale()
        for _ in range(rng.randint(1, 3)):
            sale.add_item(rng.choice(ITEMS), rng.randint(1, 2))
        if rng.random() < 0.5:
            view = svc.members.get(rng.choice(MEMBERS)[0], sale.totals().payable_fen)
            if view is not None:
                sale.attach_member(view.ref())
        t0 = time.perf_counter()
        svc.checkout.commit_cash(sale, sale.totals().payable_fen, shift_id=shift.id, cashier_id=cashier.id,
                                 cashier_name=cashier.name)
        return (time.perf_counter() - t0) * 1000

    for _ in range(3):      # a till has sold before the measured part starts (first-use costs: imports, caches)
        sale()
    print("ready", flush=True)
    go = Path(args.go)
    while not go.exists() and not stop.wait(0.05):
        pass
    start_at, end_at = (float(x) for x in go.read_text().split()) if go.exists() else (0.0, 0.0)
    out = open(d / "commit_ms.txt", "a", encoding="utf-8")  # noqa: SIM115
    # a random phase inside the first interval, so lanes do not commit in lock-step
    nxt = start_at + rng.random() / args.rate
    while not stop.is_set():
        wait = nxt - time.time()
        if wait > 0 and stop.wait(wait):
            break
        if time.time() >= end_at:
            break
        at = time.time()
        out.write(f"{at:.3f} {sale():.2f}\n")
        out.flush()
        nxt += 1.0 / args.rate
    out.close()
    print("done", flush=True)
    stop.wait()
    if link is not None:
        link.stop()  # type: ignore[attr-defined]
    svc.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
