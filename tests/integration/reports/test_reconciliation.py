"""Every report figure recomputed independently in Python from the raw rows, over thousands of shifts."""

from __future__ import annotations

import datetime as dt
import os
from collections import defaultdict
from pathlib import Path
from typing import Any

from _shift_env import Env, Seeder, make_env
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pos_app.services.approvals import Approval

KINDS = ("cash", "alipay")

tender_st = st.tuples(st.sampled_from(KINDS), st.integers(1, 50_000), st.integers(0, 10_000))
sale_st = st.fixed_dictionaries({
    "tenders": st.lists(tender_st, min_size=1, max_size=2),
    "discount": st.integers(0, 2_000),
    "member": st.booleans(),
    "state": st.sampled_from(["paid", "paid", "paid", "voided", "partly_refunded"]),
    "cashier": st.sampled_from([1, 3]),
    "earned": st.integers(0, 500),
    "redeemed": st.integers(0, 300),
    "void_lines": st.lists(st.integers(1, 3_000), max_size=2),
    "minutes": st.integers(0, 300),
    "rate": st.sampled_from([1300, 900, 600, 300, 100, 0]),
    "category": st.sampled_from(["", "dairy", "home"]),
    "promo_part": st.integers(0, 2_000),
})
plan_st = st.fixed_dictionaries({
    "float": st.integers(0, 100_000),
    "sales": st.lists(sale_st, max_size=6),
    "refunds": st.lists(st.tuples(st.integers(0, 1_000), st.sampled_from(KINDS), st.integers(1, 5_000),
                                  st.sampled_from(["done", "done", "pending", "failed"]), st.booleans()),
                        max_size=3),
    "moves": st.lists(st.tuples(st.sampled_from(["pay_in", "pay_out", "drop", "no_sale"]), st.integers(1, 5_000)),
                      max_size=4),
})


def _approval(env: Env, action: str) -> Approval:
    s = env.supervisor
    return Approval(id=0, action=action, subject="", approved_by=s.id, approver_name=s.name,
                    approver_role=s.role, requested_by=None, reason_code="other", note="", at=env.clock.now())


def _recompute(env: Env, shift_id: int) -> dict[str, Any]:
    """The figures from raw rows with plain Python (no SQL aggregates)."""
    conn = env.conn
    sales = [dict(r) for r in conn.execute("SELECT * FROM sales WHERE shift_id = ?", (shift_id,))]
    live = [s for s in sales if s["state"] != "voided"]
    live_ids = {s["id"] for s in live}
    tenders = [dict(r) for r in conn.execute("SELECT t.* FROM tenders t JOIN sales s ON s.id = t.sale_id"
                                             " WHERE s.shift_id = ?", (shift_id,))]
    tenders = [t for t in tenders if t["sale_id"] in live_ids]
    refunds = [dict(r) for r in conn.execute("SELECT * FROM refunds WHERE shift_id = ? AND state = 'done'",
                                             (shift_id,))]
    moves = [dict(r) for r in conn.execute("SELECT * FROM cash_movements WHERE shift_id = ?", (shift_id,))]
    lines = [dict(r) for r in conn.execute("SELECT l.* FROM sale_lines l JOIN sales s ON s.id = l.sale_id"
                                           " WHERE s.shift_id = ? AND l.voided = 1", (shift_id,))]
    shift = dict(conn.execute("SELECT * FROM shifts WHERE id = ?", (shift_id,)).fetchone())
    sale_shift = {r[0]: r[1] for r in conn.execute(
        "SELECT s.id, s.shift_id FROM sales s JOIN refunds r ON r.sale_id = s.id WHERE r.shift_id = ?", (shift_id,))}
    out: dict[str, Any] = {}
    out["transactions"] = len(live)
    out["gross_fen"] = sum(s["gross_fen"] for s in live)
    out["discount_fen"] = sum(s["discount_fen"] for s in live)
    out["sales_fen"] = sum(s["total_fen"] for s in live)
    out["refunds_fen"] = sum(r["amount_fen"] for r in refunds)
    out["refund_count"] = len(refunds)
    earlier = [r for r in refunds if sale_shift[r["sale_id"]] != shift_id]
    out["refunds_earlier_fen"] = sum(r["amount_fen"] for r in earlier)
    out["refunds_earlier_count"] = len(earlier)
    out["net_fen"] = out["sales_fen"] - out["refunds_fen"]
    tend: dict[str, dict[str, int]] = {}
    for kind in KINDS:
        ts = [t for t in tenders if t["kind"] == kind]
        rs = [r for r in refunds if r["method"] == kind]
        taken = sum(t["tendered_fen"] for t in ts) - sum(t["change_fen"] for t in ts)
        tend[kind] = {"count": len(ts), "amount_fen": sum(t["amount_fen"] for t in ts),
                      "tendered_fen": sum(t["tendered_fen"] for t in ts),
                      "change_fen": sum(t["change_fen"] for t in ts), "taken_fen": taken,
                      "refund_count": len(rs), "refunds_fen": sum(r["amount_fen"] for r in rs),
                      "net_fen": taken - sum(r["amount_fen"] for r in rs)}
    out["tenders"] = tend
    by_kind: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for m in moves:
        by_kind[m["kind"]].append(m)

    def total(kind: str) -> int:
        return sum(m["amount_fen"] for m in by_kind[kind])

    out["cash"] = {
        "opening_float_fen": shift["opening_float_fen"], "taken_fen": tend["cash"]["taken_fen"],
        "refunds_fen": tend["cash"]["refunds_fen"],
        "pay_in_count": len(by_kind["pay_in"]), "pay_in_fen": total("pay_in"),
        "pay_out_count": len(by_kind["pay_out"]), "pay_out_fen": total("pay_out"),
        "drop_count": len(by_kind["drop"]), "drop_fen": total("drop"), "no_sale_count": len(by_kind["no_sale"]),
        "expected_fen": (shift["opening_float_fen"] + tend["cash"]["tendered_fen"] - tend["cash"]["change_fen"]
                         - tend["cash"]["refunds_fen"] + total("pay_in") - total("pay_out") - total("drop")),
    }
    voided = [s for s in sales if s["state"] == "voided"]
    out["voided"] = (len(voided), sum(s["total_fen"] for s in voided))
    shift_sale_ids = {s["id"] for s in sales}
    lv = [ln for ln in lines if ln["sale_id"] in shift_sale_ids]
    out["line_voids"] = (len(lv), sum(ln["amount_fen"] for ln in lv))
    members = [s for s in live if s["card_no"] is not None]
    out["members"] = {"sales_count": len(members), "sales_fen": sum(s["total_fen"] for s in members),
                      "points_earned": sum(s["points_earned"] for s in live),
                      "points_redeemed": sum(s["points_redeemed"] for s in live),
                      "points_reversed": sum(r["points_reversed"] for r in refunds),
                      "points_restored": sum(r["points_restored"] for r in refunds)}
    cashiers: dict[int, dict[str, int]] = {}
    names = {r[0]: r[1] for r in conn.execute("SELECT id, name FROM users")}

    def row(uid: int) -> dict[str, int]:
        return cashiers.setdefault(uid, {"transactions": 0, "sales_fen": 0, "cash_fen": 0, "alipay_fen": 0,
                                         "refund_count": 0, "refunds_fen": 0, "movement_count": 0})

    sale_cashier = {s["id"]: s["cashier_id"] for s in live}
    for s in live:
        row(s["cashier_id"])["transactions"] += 1
        row(s["cashier_id"])["sales_fen"] += s["total_fen"]
    for t in tenders:
        row(sale_cashier[t["sale_id"]])[f"{t['kind']}_fen"] += t["tendered_fen"] - t["change_fen"]
    for r in refunds:
        row(r["cashier_id"])["refund_count"] += 1
        row(r["cashier_id"])["refunds_fen"] += r["amount_fen"]
    for m in moves:
        row(m["user_id"])["movement_count"] += 1
    out["cashiers"] = [{"user": names[k], **cashiers[k]} for k in sorted(cashiers)]
    hours: dict[int, dict[str, int]] = {}
    for s in live:
        h = (dt.datetime.fromisoformat(s["committed_at"]) + dt.timedelta(hours=8)).hour
        e = hours.setdefault(h, {"hour": h, "count": 0, "cash_fen": 0, "alipay_fen": 0})
        e["count"] += 1
        for t in tenders:
            if t["sale_id"] == s["id"]:
                e[f"{t['kind']}_fen"] += t["tendered_fen"] - t["change_fen"]
    out["hours"] = [hours[h] for h in sorted(hours)]
    # VAT per rate and per category, discounts per promotion / manual reason: from the lines that were paid
    paid_lines = [dict(r) for r in conn.execute("SELECT l.* FROM sale_lines l JOIN sales s ON s.id = l.sale_id"
                                                " WHERE s.shift_id = ? AND l.voided = 0", (shift_id,))]
    paid_lines = [ln for ln in paid_lines if ln["sale_id"] in live_ids]
    rates: dict[int, list[int]] = {}
    cats: dict[str, list[int]] = {}
    for ln in paid_lines:
        paid = ln["amount_fen"] - ln["discount_fen"]
        r = rates.setdefault(ln["tax_rate_bp"], [0, 0])
        r[0], r[1] = r[0] + paid, r[1] + ln["tax_fen"]
        c = cats.setdefault(ln["category"], [0, 0, 0])
        c[0], c[1], c[2] = c[0] + 1, c[1] + paid, c[2] + ln["tax_fen"]
    out["tax"] = [{"rate_bp": k, "sales_fen": v[0], "tax_fen": v[1], "net_ex_tax_fen": v[0] - v[1]}
                  for k, v in sorted(rates.items(), reverse=True)]
    out["tax_fen"] = sum(v[1] for v in rates.values())
    out["categories"] = [{"category": k, "lines": v[0], "sales_fen": v[1], "tax_fen": v[2]}
                         for k, v in sorted(cats.items())]
    discs: dict[tuple[str, str], list[Any]] = {}
    for d in conn.execute("SELECT d.* FROM sale_line_discounts d JOIN sales s ON s.id = d.sale_id"
                          " WHERE s.shift_id = ?", (shift_id,)):
        if d["sale_id"] in live_ids:
            e = discs.setdefault((d["kind"], d["ref"]), [d["label"], set(), 0])
            e[1].add(d["sale_id"])
            e[2] += d["amount_fen"]
    out["discounts"] = [{"kind": k[0], "ref": k[1], "label": v[0], "sales": len(v[1]), "amount_fen": v[2]}
                        for k, v in sorted(discs.items())]
    return out


# 1 500 generated shifts on purpose (POS_RELIABILITY_FULL=1, about 25 s); CI's five-minute budget takes 400
SHIFTS = 1500 if os.environ.get("POS_RELIABILITY_FULL") == "1" else 400


def test_every_figure_reconciles_over_generated_shifts(tmp_path: Path) -> None:
    env = make_env(tmp_path / "pos.sqlite3")
    env.conn.execute("INSERT INTO users (number, name, role, pin_hash, created_at) VALUES"
                     " ('1002', 'Cashier Two', 'cashier', 'x', '2026-01-01T00:00:00+00:00')")
    env.conn.execute("PRAGMA synchronous = OFF")  # speed only; the data path is the real one
    seeder = Seeder(env.conn, env.clock)
    earlier_sales: list[int] = []
    examples = {"n": 0}

    @settings(max_examples=SHIFTS, deadline=None, database=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
    @given(plan_st)
    def check(plan: dict[str, Any]) -> None:
        examples["n"] += 1
        env.conn.execute("UPDATE shifts SET state = 'closed' WHERE state = 'open'")
        shift = env.shifts.open_shift(env.cashier, float_fen=plan["float"])
        env.conn.execute("BEGIN")
        start = env.clock.now()
        for s in plan["sales"]:
            env.clock._now = start + dt.timedelta(minutes=s["minutes"])  # noqa: SLF001 - test clock
            tenders = [(k, a, a + (extra if k == "cash" else 0)) for k, a, extra in s["tenders"]]
            card = "8800000000001234" if s["member"] else None
            sid = seeder.sale(shift.id, s["cashier"], tenders, discount=s["discount"], card_no=card,
                              state=s["state"], earned=s["earned"], redeemed=s["redeemed"],
                              void_lines=[(a, "mistake") for a in s["void_lines"]], tax_rate_bp=s["rate"],
                              category=s["category"], promo_part=s["promo_part"])
            earlier_sales.append(sid)
        env.clock._now = start  # noqa: SLF001
        for pick, method, amount, state, _ in plan["refunds"]:
            if earlier_sales:
                sale_id = earlier_sales[pick % len(earlier_sales)]
                seeder.refund(sale_id, shift.id, method, amount, 1, state=state)
        env.conn.execute("COMMIT")
        for kind, amount in plan["moves"]:
            env.conn.execute(
                "INSERT INTO cash_movements (shift_id, kind, amount_fen, reason, user_id, approved_by, created_at)"
                " VALUES (?, ?, ?, 'r', ?, 2, ?)", (shift.id, kind, 0 if kind == "no_sale" else amount,
                                                    1, start.isoformat()))
        fig = env.reports.x_report().figures
        want = _recompute(env, shift.id)
        for key in ("transactions", "gross_fen", "discount_fen", "sales_fen", "refunds_fen", "refund_count",
                    "refunds_earlier_fen", "refunds_earlier_count", "net_fen", "tenders", "cash", "members",
                    "cashiers", "hours", "tax", "tax_fen", "categories", "discounts"):
            assert fig[key] == want[key], key
        # every fen of sales is in one VAT rate and one category; every discount fen is explained
        assert sum(t["sales_fen"] for t in fig["tax"]) == fig["sales_fen"]
        assert sum(c["sales_fen"] for c in fig["categories"]) == fig["sales_fen"]
        assert sum(d["amount_fen"] for d in fig["discounts"]) == fig["discount_fen"]
        assert (fig["voided_sales"]["count"], fig["voided_sales"]["total_fen"]) == want["voided"]
        assert (fig["line_voids"]["count"], fig["line_voids"]["amount_fen"]) == want["line_voids"]
        assert len(fig["movements"]) == len(plan["moves"])

    check()
    assert examples["n"] >= SHIFTS
    env.conn.close()


def test_cash_movement_through_the_service_reconciles(env: Env, seed: Seeder) -> None:
    shift = env.shifts.open_shift(env.cashier, {10000: 2})
    seed.sale(shift.id, 1, [("cash", 1234, 5000)])
    env.shifts.cash_movement("pay_in", 500, "float top-up", env.cashier, _approval(env, "pay_in"))
    env.shifts.cash_movement("drop", 10000, "safe", env.cashier, _approval(env, "drop"))
    fig = env.reports.x_report().figures
    assert fig["cash"] == _recompute(env, shift.id)["cash"]
    assert fig["cash"]["expected_fen"] == 20000 + 1234 + 500 - 10000
