"""A lane as a real process for the store fault tests: real services selling (cash, members), the real
store link (uplink + pull threads, headless), SIGKILL-safe (it counts its sales from its own database).

    python -m tests.store.lane_proc --db DB --conninfo-file F --sales N [--rate PER_S] [--deadline S]

Prints ``ready`` once the link runs, ``sold`` when DB holds N sales (the shift is then closed), and keeps
the link running until SIGTERM. Each commit's latency (ms) is appended to DB's folder/commit_ms.txt.
"""

from __future__ import annotations

import argparse
import logging
import random
import signal
import sys
import threading
import time
from pathlib import Path

from pos_app.services.errors import ServiceError
from pos_app.storage.lane_journal import SqliteLaneJournal
from pos_app.store.link import LinkConfig, StoreLink
from tests.reliability.harness.env import CASHIER, ITEMS, MEMBERS, SUPERVISOR, build_services


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--db", required=True)
    ap.add_argument("--conninfo-file", required=True)
    ap.add_argument("--sales", type=int, required=True)
    ap.add_argument("--rate", type=float, default=20.0)
    ap.add_argument("--deadline", type=float, default=1.5)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args(argv)
    db = Path(args.db)
    logging.basicConfig(filename=str(db.parent / "lane.log"), level=logging.INFO,
                        format="%(asctime)s %(threadName)s %(name)s %(levelname)s %(message)s")
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    j = SqliteLaneJournal.open(db)
    j.enable()
    j.close()
    conninfo = Path(args.conninfo_file).read_text().strip()
    link = StoreLink(lambda: SqliteLaneJournal.open(db),
                     LinkConfig(conninfo, deadline_s=args.deadline, pull_interval_s=0.3, poll_s=0.05))
    link.start()
    print("ready", flush=True)
    svc = build_services(db, None)
    cashier = svc.users.authenticate(CASHIER[0], CASHIER[1])
    with svc.uow() as uow:
        sold = int(uow.conn.execute("SELECT count(*) FROM sales").fetchone()[0])
    rng = random.Random(args.seed * 7919 + sold)
    lat = open(db.parent / "commit_ms.txt", "a", encoding="utf-8")  # noqa: SIM115
    while sold < args.sales and not stop.is_set():
        shift = svc.shifts.current_shift() or svc.shifts.open_shift(cashier, float_fen=10_000)
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
        lat.write(f"{(time.perf_counter() - t0) * 1000:.2f}\n")
        lat.flush()
        sold += 1
        stop.wait(1.0 / args.rate)
    if sold >= args.sales and svc.shifts.current_shift() is not None:
        try:
            svc.shifts.close_shift({}, cashier)
        except ServiceError as exc:
            if type(exc).__name__ != "DifferenceNeedsApproval":
                raise
            approval = svc.users.approve("close_difference", "close", SUPERVISOR[0], SUPERVISOR[1], "miscount",
                                         requested_by=cashier)
            svc.shifts.close_shift({}, cashier, approval)
    print("sold", flush=True)
    stop.wait()
    link.stop()
    svc.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
