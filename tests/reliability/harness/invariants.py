"""Run the scripted day under SIGKILL and check the terminal against the sandbox's own records."""

from __future__ import annotations

import dataclasses
import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from pos_app.sandbox import SandboxServer
from pos_app.services.errors import ServiceError
from pos_app.services.reports import z_hash
from pos_app.services.sync import SyncConfig
from pos_app.storage.audit import verify_chain
from tests.reliability.harness.env import MEMBERS, GatewayInfo, build_services, init_db, issue_cards

__all__ = ["ROOT", "seed_from_env", "DayRun", "prepare", "run_day", "drain", "check_invariants"]

ROOT = Path(__file__).resolve().parents[3]


def seed_from_env() -> int:
    """POS_RELIABILITY_SEED, else a fresh seed (printed by the caller so a failure can be replayed)."""
    text = os.environ.get("POS_RELIABILITY_SEED", "")
    return int(text) if text else random.SystemRandom().randrange(1, 10**9)


@dataclasses.dataclass
class DayRun:
    data: Path
    gateway_json: Path
    kills: int = 0
    runs: int = 0
    finished: bool = False
    kill_delays: list[float] = dataclasses.field(default_factory=list)


def prepare(base: Path, sandbox: SandboxServer) -> DayRun:
    data = base / "day"
    data.mkdir()
    init_db(data / "pos.sqlite3", issue_cards(sandbox))
    gw = base / "gateway.json"
    gw.write_text(json.dumps(dataclasses.asdict(GatewayInfo.of(sandbox))), encoding="utf-8")
    return DayRun(data, gw)


def _start(run: DayRun, seed: int, sales: int) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "QT_QPA_PLATFORM": "offscreen"}
    return subprocess.Popen([sys.executable, "-m", "tests.reliability.harness.day", "--data", str(run.data),
                             "--gateway", str(run.gateway_json), "--seed", str(seed), "--sales", str(sales)],
                            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def run_day(run: DayRun, *, seed: int, sales: int, kills: int, min_delay_s: float = 0.4,
            max_delay_s: float = 1.6, finish_timeout_s: float = 120.0) -> DayRun:
    """Start the day, SIGKILL it ``kills`` times at seeded random moments, then let it finish."""
    rng = random.Random(seed)
    while run.kills < kills:
        proc = _start(run, seed, sales)
        run.runs += 1
        delay = rng.uniform(min_delay_s, max_delay_s)
        try:
            proc.wait(timeout=delay)
        except subprocess.TimeoutExpired:
            proc.send_signal(signal.SIGKILL)
            proc.communicate()  # reaps the process and closes its pipes
            run.kills += 1
            run.kill_delays.append(delay)
            continue
        out, err = proc.communicate()
        if proc.returncode != 0:
            raise AssertionError(f"the day failed (exit {proc.returncode}) in run {run.runs}:\n{err[-4000:]}")
        run.finished = True  # finished before the kill came: start again (a finished day just says done)
        if "done" in out:
            break
    proc = _start(run, seed, sales)
    run.runs += 1
    try:
        out, err = proc.communicate(timeout=finish_timeout_s)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
        raise AssertionError(f"the day did not finish in {finish_timeout_s} s:\n{err[-4000:]}") from None
    if proc.returncode != 0 or "done" not in out:
        raise AssertionError(f"the day failed (exit {proc.returncode}):\n{err[-4000:]}")
    run.finished = True
    return run


def drain(run: DayRun, sandbox: SandboxServer, timeout_s: float = 60.0) -> None:
    """Recover what the last run left, then sync the outbox until nothing is pending (in this process)."""
    svc = build_services(run.data / "pos.sqlite3", GatewayInfo.of(sandbox),
                         sync_config=SyncConfig(backoff_base_s=0.05, backoff_cap_s=0.2, probe_interval_s=0.05,
                                                idle_poll_s=0.1))
    try:
        assert svc.sync is not None and svc.payment is not None
        svc.payment.recover()  # what the last run could not check (gateway down) is settled now
        sup = int(svc.uow().conn.execute("SELECT id FROM users WHERE role = 'supervisor'").fetchone()[0])
        for att in svc.payment.orphans():
            try:
                committed = svc.payment.resolve_orphan(att.id, "complete", sup, by_user_name="sup")
            except ServiceError:  # the basket cannot be completed any more (points spent since): refund it
                svc.payment.resolve_orphan(att.id, "refund", sup, by_user_name="sup")
                continue
            with open(run.data / "committed.txt", "a", encoding="utf-8") as fh:
                fh.write(f"committed {committed.receipt_no}\n")  # type: ignore[union-attr]
        cashier = int(svc.uow().conn.execute("SELECT id FROM users WHERE role = 'cashier'").fetchone()[0])
        with svc.uow() as uow:
            stuck = [int(r[0]) for r in uow.conn.execute("SELECT id FROM refunds WHERE state IN ('pending', 'unknown')")]
        for refund_id in stuck:  # refunds the last run could not confirm (gateway down): retried, as the day does
            svc.refunds.retry(refund_id, cashier_id=cashier, cashier_name="drain")
        deadline = time.monotonic() + timeout_s
        while True:
            svc.sync.run_once()
            with svc.uow() as uow:
                pending = uow.conn.execute("SELECT count(*) FROM outbox WHERE state = 'pending'").fetchone()[0]
            if pending == 0:
                return
            if time.monotonic() > deadline:
                raise AssertionError(f"{pending} outbox rows still pending after {timeout_s} s")
            time.sleep(0.05)
    finally:
        svc.close()


def check_invariants(run: DayRun, sandbox: SandboxServer) -> dict[str, Any]:
    """The checks of issue 8 against the sandbox's records; returns figures for the report."""
    conn = sqlite3.connect(run.data / "pos.sqlite3")
    conn.row_factory = sqlite3.Row
    try:
        logged = [ln.split()[1] for ln in (run.data / "committed.txt").read_text().splitlines() if ln.strip()]
        receipts = {r[0]: r[1] for r in conn.execute("SELECT receipt_no, id FROM sales")}
        missing = [r for r in logged if r not in receipts]
        assert not missing, f"receipts logged as committed but missing: {missing[:10]}"
        assert len(set(logged)) == len(logged), "a receipt was committed twice"

        # the keyed chain verifies end to end after every kill: each sale sealed once, anchor not ahead
        from pos_app.storage.integrity import anchor_path_for, check
        from pos_app.storage.secret import load_or_create_secret

        key = load_or_create_secret(run.data / "pos-secret.key", create=False).key("audit")
        rep = check(conn, key, anchor_path_for(run.data / "pos.sqlite3"), full=True)
        assert rep.ok, f"integrity check after the day: {rep.problems[:5]}"
        sealed = conn.execute("SELECT count(*) FROM audit_log WHERE action = 'sale.sealed'").fetchone()[0]
        assert sealed == len(receipts), f"{sealed} seals for {len(receipts)} sales"

        # every sale is whole
        for sale_id, receipt_no in conn.execute("SELECT id, receipt_no FROM sales"):
            assert conn.execute("SELECT count(*) FROM tenders WHERE sale_id=?", (sale_id,)).fetchone()[0] == 1
            assert conn.execute("SELECT count(*) FROM sale_lines WHERE sale_id=?", (sale_id,)).fetchone()[0] > 0
            assert conn.execute("SELECT count(*) FROM audit_log WHERE action='sale.committed' AND subject=?",
                                (receipt_no,)).fetchone()[0] == 1

        # money: each charged trade maps to exactly one sale, or to an attempt that was cancelled/refunded
        attempts = {r["out_trade_no"]: r for r in conn.execute("SELECT * FROM payment_attempts")}
        sale_of_attempt = [r[0] for r in conn.execute("SELECT attempt_id FROM tenders WHERE attempt_id IS NOT NULL")]
        assert len(sale_of_attempt) == len(set(sale_of_attempt)), "one payment used for two sales"
        open_states = ("created", "sending", "waiting", "checking", "cancelling", "unknown")
        still_open = [k for k, a in attempts.items() if a["state"] in open_states]
        assert not still_open, f"attempts left unsettled: {still_open}"
        trades = sandbox.trades()
        charged = 0
        for t in trades:
            att = attempts.get(t["out_trade_no"])
            assert att is not None, f"the sandbox has a trade the terminal never wrote ahead: {t['out_trade_no']}"
            if t["status"] in ("TRADE_SUCCESS", "TRADE_FINISHED"):
                charged += 1
                ok = att["sale_id"] is not None and att["state"] == "paid"
                ok = ok or att["state"] == "cancelled_refunded" or (att["resolution"] or "") == "refunded"
                assert ok, f"customer charged without a sale: {t['out_trade_no']} state={att['state']}"
                if att["sale_id"] is not None:
                    total = conn.execute("SELECT total_fen FROM sales WHERE id=?", (att["sale_id"],)).fetchone()[0]
                    assert total == t["total_fen"] if "total_fen" in t else True
            else:
                assert att["sale_id"] is None or att["state"] == "paid", t
        paid_sales = conn.execute("SELECT count(*) FROM tenders WHERE kind='alipay'").fetchone()[0]
        assert all(t["status"] in ("TRADE_SUCCESS", "TRADE_FINISHED", "TRADE_CLOSED")
                   for t in trades if attempts[t["out_trade_no"]]["sale_id"] is not None)

        # refunds: every Alipay refund the terminal calls done is in the sandbox with its amount, none that
        # failed is, and nothing was refunded that the terminal does not know about (cancel-refunds aside)
        refunds = {r["out_request_no"]: r for r in conn.execute(
            "SELECT r.*, a.out_trade_no FROM refunds r JOIN sales s ON s.id = r.sale_id "
            "JOIN tenders t ON t.sale_id = s.id LEFT JOIN payment_attempts a ON a.id = t.attempt_id "
            "WHERE r.method = 'alipay'")}
        sale_trades = {a["out_trade_no"] for a in attempts.values() if a["sale_id"] is not None}
        remote_refunds = {req: (t["out_trade_no"], int(r["amount_fen"])) for t in trades
                          if t["out_trade_no"] in sale_trades for req, r in (t.get("refunds") or {}).items()}
        for req, r in refunds.items():
            if r["state"] == "done":
                assert remote_refunds.get(req) == (r["out_trade_no"], r["amount_fen"]), \
                    f"refund {req} done in the terminal but not (or not so) in the sandbox"
            elif r["state"] == "failed":
                assert req not in remote_refunds, f"refund {req} failed in the terminal but the sandbox paid it"
        unknown = [req for req in remote_refunds if req not in refunds]
        assert not unknown, f"the sandbox refunded requests the terminal never wrote: {unknown[:5]}"
        unsettled_refunds = [req for req, r in refunds.items() if r["state"] in ("pending", "unknown")]
        assert not unsettled_refunds, f"refunds left unsettled: {unsettled_refunds}"
        # net money: what the sandbox kept for sales equals the Alipay tenders less the Alipay refunds
        sale_trades = {a["out_trade_no"] for a in attempts.values() if a["sale_id"] is not None}
        kept = sum(int(t["total_fen"]) - int(t.get("refund_fen", 0)) for t in trades if t["out_trade_no"] in sale_trades)
        tendered = conn.execute("SELECT coalesce(sum(tendered_fen - change_fen), 0) FROM tenders "
                                "WHERE kind = 'alipay'").fetchone()[0]
        refunded = sum(r["amount_fen"] for r in refunds.values() if r["state"] == "done")
        assert kept == tendered - refunded, f"sandbox kept {kept} fen, terminal says {tendered} - {refunded}"

        # Z reports: stored intact, and their figures reconcile with the sales of their shift
        z_count = late_into_closed = 0
        for shift_id, figures_json, text, stored_hash, z_at in conn.execute(
                "SELECT shift_id, figures_json, text, hash, created_at FROM z_reports"):
            z_count += 1
            assert z_hash(figures_json, text) == stored_hash, f"Z report of shift {shift_id} altered"
            fig = json.loads(figures_json)
            # as printed: a payment escalated at the close and completed later lands in the closed shift (O2)
            live = conn.execute("SELECT count(*), coalesce(sum(total_fen), 0) FROM sales WHERE shift_id = ? "
                                "AND state != 'voided' AND committed_at <= ?", (shift_id, z_at)).fetchone()
            late_into_closed += conn.execute("SELECT count(*) FROM sales WHERE shift_id = ? AND committed_at > ?",
                                             (shift_id, z_at)).fetchone()[0]
            late_into_closed += conn.execute("SELECT count(*) FROM refunds WHERE shift_id = ? AND state = 'done' "
                                             "AND completed_at > ?", (shift_id, z_at)).fetchone()[0]
            assert (fig["transactions"], fig["sales_fen"]) == (live[0], live[1]), \
                f"Z of shift {shift_id}: {fig['transactions']}/{fig['sales_fen']} vs sales {tuple(live)}"
            # as known when it was printed: a refund left unknown at the close and confirmed later is not in it
            done = conn.execute("SELECT count(*), coalesce(sum(amount_fen), 0) FROM refunds WHERE shift_id = ? "
                                "AND state = 'done' AND completed_at <= ?", (shift_id, z_at)).fetchone()
            assert (fig["refund_count"], fig["refunds_fen"]) == (done[0], done[1]), \
                f"Z of shift {shift_id}: refunds {fig['refund_count']}/{fig['refunds_fen']} vs {tuple(done)}"

        # points: the sandbox's cards equal the terminal's ledger
        dead = conn.execute("SELECT count(*) FROM outbox WHERE state = 'dead'").fetchone()[0]
        assert dead == 0, f"{dead} outbox rows are dead"
        mismatched = {}
        for card_no, _ in MEMBERS:
            ledger = conn.execute("SELECT coalesce(sum(points), 0) FROM points_ledger WHERE card_no=?",
                                  (card_no,)).fetchone()[0]
            card = sandbox.card(card_no)
            assert card is not None
            remote = int(card.get("point", card.get("points", -1)))
            if remote != ledger:
                mismatched[card_no[-4:]] = (remote, ledger)
        assert not mismatched, f"sandbox points differ from the ledger (sandbox, ledger): {mismatched}"

        # the audit chain verifies
        entries, broken = verify_chain(conn)
        assert broken is None, f"audit chain broken: {broken}"
        # O1/O2: money settling after its shift closed goes to the open shift, never into a printed Z's shift
        assert late_into_closed == 0, f"{late_into_closed} sale(s)/refund(s) settled into a closed shift"
        return {"sales": len(receipts), "logged": len(logged), "alipay_sales": paid_sales, "charged_trades": charged,
                "trades": len(trades), "audit_entries": entries, "refunds": len(refunds),
                "refunds_done": sum(r["state"] == "done" for r in refunds.values()), "z_reports": z_count,
                "late_into_closed_shift": late_into_closed, "kills": run.kills, "runs": run.runs}
    finally:
        conn.close()
