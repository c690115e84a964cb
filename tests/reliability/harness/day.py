"""A scripted day of trading, run as a subprocess that the reliability tests SIGKILL and restart.

``python -m tests.reliability.harness.day --data DIR --gateway GW.json --seed N --sales N`` trades
against a sandbox that lives in the test process: sales with members, Alipay (scripted codes: instant,
10003-then-success, never paid, balance not enough) and cash, redemptions, refunds, a shift close and
reopen, with the sync worker thread running. At start it recovers (payment recover(), orphans completed,
unfinished refunds retried). After each commit returns it appends ``committed <receipt_no>`` to
DIR/committed.txt (flushed and fsynced). When DIR's database holds ``--sales`` sales it prints ``done``
and exits 0. Its log (DEBUG) goes to DIR/harness.log (scanned for secrets by tests/conftest_logscan.py).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import random
import sqlite3
import sys
import time
from pathlib import Path
from typing import Any

import httpx

from pos_app.services.errors import ServiceError
from pos_app.services.payment import PaymentConfig
from pos_app.services.sync import SyncConfig
from pos_app.settings import load_settings
from pos_app.start_checks import integrity_gate, terminal_secret
from pos_app.storage.errors import StorageUnavailable
from tests.reliability.harness.env import (
    CASHIER,
    ITEMS,
    MEMBERS,
    SUPERVISOR,
    GatewayInfo,
    Services,
    build_services,
)

__all__ = ["main", "BEHAVIOURS", "payment_config"]

logger = logging.getLogger("harness.day")

# scripted buyer behaviours (sandbox names) and their weights
BEHAVIOURS = (("success", 5), ("wait_then_success", 3), ("wait_forever", 1), ("balance_not_enough", 1))


def payment_config() -> PaymentConfig:
    """Short polls so a day fits in seconds (the network-fault test bounds the cashier's wait with it)."""
    return PaymentConfig(query_max=3, query_interval_s=0.05, cancel_max=3, cancel_interval_s=0.05, store_id="S1",
                         terminal_id="T1")


READ_TIMEOUT_S = 0.6


class Day:
    def __init__(self, data: Path, gw: GatewayInfo, seed: int, target: int) -> None:
        self.data = data
        self.db = data / "pos.sqlite3"
        self.gw = gw
        self.target = target
        run = int((data / "runs").read_text()) + 1 if (data / "runs").exists() else 1
        (data / "runs.tmp").write_text(str(run))  # a kill may land anywhere: replace, never truncate in place
        os.replace(data / "runs.tmp", data / "runs")
        self.rng = random.Random(seed * 100_003 + run)
        # the terminal's start gate after every kill: keyed chain, sealed sales, anchor; a false alarm after a
        # crash (an anchor ahead of the database) would refuse the start here and fail the run
        settings = load_settings(None, data_dir=data, env={})
        integrity_gate(settings, terminal_secret(settings))
        self.svc: Services = build_services(
            self.db, gw, payment_config=payment_config(), read_timeout_s=READ_TIMEOUT_S,
            sync_config=SyncConfig(backoff_base_s=0.05, backoff_cap_s=0.5, probe_interval_s=0.1, idle_poll_s=0.2))
        self.committed = open(data / "committed.txt", "a", encoding="utf-8")  # noqa: SIM115
        token = (Path(gw.app_private_key).parent / "admin_token").read_text(encoding="ascii").strip()
        self.admin = httpx.Client(base_url=gw.url.rsplit("/", 1)[0] + "/admin", timeout=5, trust_env=False,
                                  headers={"Authorization": f"Bearer {token}"})
        self.cashier: Any = None
        self.supervisor_id = 0
        self.blocked: list[float] = []

    # --- bookkeeping ---------------------------------------------------------------------------

    def log_commit(self, receipt_no: str) -> None:
        self.committed.write(f"committed {receipt_no}\n")
        self.committed.flush()
        os.fsync(self.committed.fileno())
        if self.svc.sync is not None:
            self.svc.sync.nudge()

    def sales_count(self) -> int:
        with self.svc.uow() as uow:
            return int(uow.conn.execute("SELECT count(*) FROM sales").fetchone()[0])

    def shift_id(self) -> int:
        shift = self.svc.shifts.current_shift()
        if shift is None:
            shift = self.svc.shifts.open_shift(self.cashier, float_fen=20_000)
            logger.info("shift %d opened", shift.number)
        return int(shift.id)

    # --- start-up --------------------------------------------------------------------------------

    def recover(self) -> None:
        svc = self.svc
        assert svc.payment is not None
        self.cashier = svc.users.authenticate(CASHIER[0], CASHIER[1])
        with svc.uow() as uow:
            self.supervisor_id = int(uow.conn.execute("SELECT id FROM users WHERE number = ?",
                                                      (SUPERVISOR[0],)).fetchone()[0])
        for outcome in svc.payment.recover():
            logger.info("recovered attempt %d: %s", outcome.attempt.id, outcome.state)
        for att in svc.payment.orphans():
            try:
                committed = svc.payment.resolve_orphan(att.id, "complete", self.supervisor_id, by_user_name="sup")
            except ServiceError as exc:  # e.g. the member's points were spent since: the supervisor refunds
                logger.info("orphan attempt %d not completed (%s): refunding", att.id, exc)
                try:
                    svc.payment.resolve_orphan(att.id, "refund", self.supervisor_id, by_user_name="sup")
                except ServiceError as exc2:  # gateway down: the next start (or the drain) decides again
                    logger.info("orphan attempt %d not refunded yet: %s", att.id, exc2)
                continue
            self.log_commit(committed.receipt_no)  # type: ignore[union-attr]
            logger.info("orphan attempt %d completed as %s", att.id, committed.receipt_no)  # type: ignore[union-attr]
        with svc.uow() as uow:
            stuck = [int(r[0]) for r in uow.conn.execute(
                "SELECT id FROM refunds WHERE state IN ('pending', 'unknown')")]
        for refund_id in stuck:
            try:
                out = svc.refunds.retry(refund_id, cashier_id=self.cashier.id, cashier_name=self.cashier.name)
                logger.info("refund %d retried: %s", refund_id, getattr(out, "state", out))
            except ServiceError as exc:
                logger.info("refund %d not retried: %s", refund_id, exc)
        self.shift_id()
        if svc.sync is not None:
            svc.sync.start()

    # --- one sale ----------------------------------------------------------------------------------

    def auth_code(self) -> str:
        names = [b for b, _ in BEHAVIOURS]
        behaviour = self.rng.choices(names, weights=[w for _, w in BEHAVIOURS])[0]
        code = "28" + "".join(str(self.rng.randrange(10)) for _ in range(16))
        r = self.admin.post("/auth-codes", json={"auth_code": code, "behaviour": behaviour, "queries": 1})
        r.raise_for_status()
        return code

    def sale(self) -> None:
        svc, rng = self.svc, self.rng
        sale = svc.checkout.new_sale()
        for _ in range(rng.randint(1, 4)):
            sale.add_item(rng.choice(ITEMS), rng.randint(1, 3))
        if rng.random() < 0.6:
            view = svc.members.get(rng.choice(MEMBERS)[0], sale.totals().payable_fen)
            if view is not None:
                sale.attach_member(view.ref())
                option = sale.redeem_option()
                max_points = int(getattr(option, "max_points", 0) or 0)
                if max_points and rng.random() < 0.4:
                    try:
                        sale.redeem_points(max_points)
                    except Exception as exc:  # noqa: BLE001 - a refused redemption is a cashier message
                        logger.info("redemption refused: %s", exc)
        shift_id = self.shift_id()
        if rng.random() < 0.6:
            assert svc.payment is not None
            sale.begin_payment()
            amount = sale.totals().payable_fen
            code = self.auth_code()
            att = svc.payment.begin(amount, code, "day sale", shift_id=shift_id, cashier_id=self.cashier.id,
                                    basket=svc.checkout.basket_of(sale))
            t0 = time.monotonic()
            outcome = svc.payment.run(att.id, code)
            self.blocked.append(time.monotonic() - t0)
            with open(self.data / "blocked.txt", "a", encoding="utf-8") as fh:  # every run's waits, kills included
                fh.write(f"{self.blocked[-1]:.3f}\n")
            if outcome.paid:
                committed = svc.checkout.commit_alipay(sale, outcome.attempt, shift_id=shift_id,
                                                       cashier_id=self.cashier.id, cashier_name=self.cashier.name)
                self.log_commit(committed.receipt_no)
                return
            logger.info("alipay not paid (%s): taking cash", outcome.state)
            sale.cancel_payment()
        committed = svc.checkout.commit_cash(sale, sale.totals().payable_fen + rng.choice((0, 0, 50, 1000)),
                                             shift_id=shift_id, cashier_id=self.cashier.id,
                                             cashier_name=self.cashier.name)
        self.log_commit(committed.receipt_no)

    def refund(self) -> None:
        svc = self.svc
        with svc.uow() as uow:
            rows = uow.conn.execute(
                "SELECT s.id, t.kind, s.total_fen FROM sales s JOIN tenders t ON t.sale_id = s.id WHERE NOT EXISTS "
                "(SELECT 1 FROM refunds r WHERE r.sale_id = s.id) ORDER BY s.id DESC LIMIT 20").fetchall()
            if not rows:
                return
            sale_id, kind, total_fen = self.rng.choice(rows)
            line = uow.conn.execute("SELECT line_no, quantity FROM sale_lines WHERE sale_id = ? AND voided = 0 "
                                    "ORDER BY line_no LIMIT 1", (sale_id,)).fetchone()
        # goods (one line, whole quantity) or an amount (part of the total): the refund service takes one or the other
        lines = [(int(line[0]), int(line[1]))] if line is not None and self.rng.random() < 0.5 else None
        amount = None if lines is not None else max(1, int(total_fen) // self.rng.choice((1, 2, 4)))
        try:
            out = svc.refunds.refund(int(sale_id), lines, amount, method=str(kind), reason="customer return",
                                     cashier_id=self.cashier.id, approved_by=self.supervisor_id,
                                     shift_id=self.shift_id(), cashier_name=self.cashier.name)
            logger.info("refund of sale %s: %s", sale_id, getattr(out, "state", out))
        except ServiceError as exc:
            logger.info("refund of sale %s refused: %s", sale_id, exc)

    def close_shift(self, escalate: bool = False) -> bool:
        """Close with the blind count (a supervisor approves the difference, and with ``escalate`` the payments
        the gateway could not settle: they go on the Z report as escalated)."""
        svc = self.svc
        assert svc.payment is not None
        svc.payment.recover()  # what the cashier does first: settle unknown payments (the gateway may be back)
        try:
            escalation = svc.users.approve("escalate_payments", "close", SUPERVISOR[0], SUPERVISOR[1],
                                           "gateway down", requested_by=self.cashier) if escalate else None
            try:
                result = svc.shifts.close_shift({}, self.cashier, escalation=escalation)
            except ServiceError as exc:
                if type(exc).__name__ != "DifferenceNeedsApproval":
                    raise
                approval = svc.users.approve("close_difference", "close", SUPERVISOR[0], SUPERVISOR[1], "miscount",
                                             requested_by=self.cashier)
                result = svc.shifts.close_shift({}, self.cashier, approval, escalation=escalation)
            logger.info("shift closed: %s", type(result).__name__)
            print("shift-closed", flush=True)
            return True
        except ServiceError as exc:  # e.g. unresolved payments while the gateway is down: tried again later
            logger.info("shift not closed: %s (%s)", exc, type(exc).__name__)
            return False

    # --- the day -----------------------------------------------------------------------------------

    def run(self) -> int:
        self.recover()
        half_closed = (self.data / "closed").exists()
        tried_at, refused = -1, 0
        while True:
            n = self.sales_count()
            if n >= self.target:
                break
            if not half_closed and n >= self.target // 2 and n >= tried_at + 5:
                tried_at = n
                refused += 1
                if self.close_shift(escalate=refused > 3):
                    (self.data / "closed").write_text("1")
                    half_closed = True
                    continue
            try:
                if self.rng.random() < 0.12:
                    self.refund()
                else:
                    self.sale()
            except ServiceError as exc:
                logger.info("cashier message: %s (%s)", exc, type(exc).__name__)
                if type(exc).__name__ == "PaymentsBlocked":
                    assert self.svc.payment is not None
                    self.svc.payment.recover()
        with open(self.data / "blocked.json", "w", encoding="utf-8") as fh:
            json.dump(self.blocked, fh)
        self.svc.close()
        print("done", flush=True)
        return 0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, required=True)
    ap.add_argument("--gateway", type=Path, required=True)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--sales", type=int, default=60)
    args = ap.parse_args(argv)
    handler = logging.FileHandler(args.data / "harness.log", encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(process)d %(threadName)s %(name)s %(levelname)s %(message)s"))
    logging.basicConfig(level=logging.DEBUG, handlers=[handler])
    gw = GatewayInfo(**json.loads(args.gateway.read_text(encoding="utf-8")))
    try:
        return Day(args.data, gw, args.seed, args.sales).run()
    except (StorageUnavailable, sqlite3.Error) as exc:
        logger.exception("storage problem")
        print(f"storage: {exc}", file=sys.stderr)
        return 3


if __name__ == "__main__":
    raise SystemExit(main())
