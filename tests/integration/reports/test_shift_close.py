"""Shifts: open, movements with approvals, blind close, blocking payments, Z stored once and immutable."""

from __future__ import annotations

import json
import sqlite3

import pytest
from _shift_env import Env, Seeder

from pos_app.domain.errors import ShiftError
from pos_app.services.approvals import ApprovalInvalid, ApprovalRequired
from pos_app.services.shifts import (
    CashNotAvailable,
    DifferenceNeedsApproval,
    NoOpenShift,
    ShiftAlreadyOpen,
    UnresolvedPayments,
)
from pos_app.storage.audit import verify_chain


def _approve(env: Env, action: str, reason: str = "other"):
    return env.users.approve(action, "", "9001", "1357", reason, "note", requested_by=env.cashier)


def test_open_with_denominations_one_per_terminal(env: Env) -> None:
    shift = env.shifts.open_shift(env.cashier, {10000: 2, 500: 3})
    assert (shift.number, shift.opening_float_fen, dict(shift.opening_count)) == (1, 21500, {10000: 2, 500: 3})
    with pytest.raises(ShiftAlreadyOpen):
        env.shifts.open_shift(env.cashier, float_fen=0)
    with pytest.raises(ShiftError):
        env.shifts.open_shift(env.cashier, {333: 1})
    assert env.shifts.current_shift().id == shift.id


def test_movements_need_matching_approval_and_cash(env: Env) -> None:
    with pytest.raises(NoOpenShift):
        env.shifts.cash_movement("pay_in", 100, "x", env.cashier, _approve(env, "pay_in"))
    env.shifts.open_shift(env.cashier, float_fen=1000)
    with pytest.raises(ApprovalRequired):
        env.shifts.cash_movement("pay_out", 100, "milk", env.cashier, None)
    with pytest.raises(ApprovalInvalid):
        env.shifts.cash_movement("pay_out", 100, "milk", env.cashier, _approve(env, "pay_in"))
    with pytest.raises(CashNotAvailable):
        env.shifts.cash_movement("drop", 5000, "safe", env.cashier, _approve(env, "drop"))
    env.shifts.cash_movement("no_sale", 999, "change for customer", env.cashier, _approve(env, "no_sale"))
    fig = env.reports.x_report().figures
    assert fig["cash"]["no_sale_count"] == 1 and fig["movements"][0]["approved_by"] == "Sup Li"
    assert fig["movements"][0]["amount_fen"] == 0


def test_change_cashier_recorded(env: Env, seed: Seeder) -> None:
    shift = env.shifts.open_shift(env.cashier, float_fen=0)
    env.shifts.change_cashier(env.supervisor)
    rows = env.conn.execute("SELECT user_id, ended_at IS NULL FROM shift_cashiers WHERE shift_id = ? ORDER BY id",
                            (shift.id,)).fetchall()
    assert [tuple(r) for r in rows] == [(1, 0), (2, 1)]


def test_blind_close_small_difference_writes_z(env: Env, seed: Seeder) -> None:
    shift = env.shifts.open_shift(env.cashier, {10000: 1})
    seed.sale(shift.id, 1, [("cash", 1250, 5000)])       # change 37.50 is not cash taken
    seed.sale(shift.id, 1, [("alipay", 800, 800)])
    ready = env.shifts.begin_close()
    assert ready.blocking_payments == () and not hasattr(ready, "expected_fen")
    result = env.shifts.close_shift({10000: 1, 1000: 1, 100: 2}, env.cashier)   # 112.00 vs 112.50: short 0.50
    cash = result.comparison[0]
    assert (cash.expected_fen, cash.counted_fen, cash.difference_fen) == (11250, 11200, -50)
    assert result.shift.state == "closed" and result.z.number == 1
    stored = env.reports.z_report()
    assert stored.intact and stored.text == result.z.text and stored.figures["count"]["cash"]["difference_fen"] == -50
    assert "Difference (over/short)" in stored.text and "Last receipt" in stored.text
    with pytest.raises(sqlite3.DatabaseError):
        env.conn.execute("UPDATE z_reports SET text = 'x'")
    assert verify_chain(env.conn)[1] is None
    # next shift gets Z 2; the stored Z 1 is never recomputed even if raw rows change later
    s2 = env.shifts.open_shift(env.cashier, float_fen=0)
    env.conn.execute("UPDATE sales SET total_fen = 1 WHERE shift_id = ?", (shift.id,))
    assert env.reports.z_report(1).text == stored.text
    assert env.shifts.close_shift({}, env.cashier).z.number == 2 and s2.number == 2
    assert [z.number for z in env.reports.z_reports()] == [2, 1]


def test_difference_above_threshold_needs_supervisor_and_reason(env: Env, seed: Seeder) -> None:
    shift = env.shifts.open_shift(env.cashier, float_fen=0)
    seed.sale(shift.id, 1, [("cash", 5000, 5000)])
    with pytest.raises(DifferenceNeedsApproval) as exc:
        env.shifts.close_shift({1000: 3}, env.cashier)
    assert exc.value.comparison[0].difference_fen == -2000
    assert env.shifts.current_shift() is not None            # nothing was closed
    with pytest.raises(ApprovalInvalid):
        env.shifts.close_shift({1000: 3}, env.cashier, _approve(env, "pay_in"))
    ok = _approve(env, "close_difference", "short_unexplained")
    z = env.shifts.close_shift({1000: 3}, env.cashier, ok).figures
    assert z["difference_approval"] == {"approved_by": "Sup Li", "reason_code": "short_unexplained", "note": "note"}
    assert any(a["action"] == "close_difference" for a in z["approvals"])


def test_unknown_payments_block_until_escalated_pending_sync_listed(env: Env, seed: Seeder) -> None:
    shift = env.shifts.open_shift(env.cashier, float_fen=0)
    seed.attempt(shift.id, 1, "unknown", 4200)
    seed.attempt(shift.id, 1, "failed")
    env.conn.execute("INSERT INTO outbox (event_id, kind, card_no, method, body_json, created_at) VALUES"
                     " ('e1', 'card.update', '8800000000009876', 'm', '{}', '2026-11-25T00:00:00+00:00')")
    ready = env.shifts.begin_close()
    assert [p.state for p in ready.blocking_payments] == ["unknown"] and ready.pending_sync == 1
    with pytest.raises(UnresolvedPayments) as exc:
        env.shifts.close_shift({}, env.cashier)
    assert exc.value.payments[0].amount_fen == 4200
    esc = _approve(env, "escalate_payments", "gateway_down")
    fig = env.shifts.close_shift({}, env.cashier, escalation=esc).figures
    assert fig["escalated_payments"][0]["approved_by"] == "Sup Li"
    assert fig["sync"]["pending"] == 1 and fig["sync"]["items"][0]["card"].endswith("9876")
    assert "8800000000009876" not in json.dumps(fig)
    assert fig["sync"]["oldest_pending_age_s"] == 3600


def test_refund_of_earlier_shift_counts_where_money_moved_and_terminals_do_not_leak(env: Env, seed: Seeder) -> None:
    s1 = env.shifts.open_shift(env.cashier, float_fen=0)
    sale = seed.sale(s1.id, 1, [("cash", 3000, 3000)])
    env.shifts.close_shift({1000: 3}, env.cashier)
    s2 = env.shifts.open_shift(env.cashier, float_fen=0)
    seed.refund(sale, s2.id, "cash", 1000, 1)
    # another terminal's shift and sale in the same file
    env.conn.execute("INSERT INTO shifts (terminal_id, number, state, opened_by, opened_at, opening_float_fen)"
                     " VALUES ('T02', 1, 'open', 1, '2026-11-25T00:00:00+00:00', 50000)")
    seed.sale(3, 1, [("cash", 7000, 7000)])
    fig = env.reports.x_report().figures
    assert fig["refunds_earlier_fen"] == 1000 and fig["cash"]["expected_fen"] == -1000
    assert fig["transactions"] == 0
    assert env.reports.z_report(1).figures["cash"]["expected_fen"] == 3000


def test_parked_sales_must_be_recalled_or_discarded_before_close(env: Env) -> None:
    from pos_app.domain.catalogue import CatalogueItem
    from pos_app.domain.loyalty import LoyaltyRules
    from pos_app.domain.sale import Sale
    from pos_app.services.held import HeldBaskets
    from pos_app.services.shifts import ParkedSalesWaiting
    from pos_app.storage.held import SqliteHeldBaskets

    shift = env.shifts.open_shift(env.cashier, float_fen=0)
    held = HeldBaskets(SqliteHeldBaskets(lambda: env.conn, shift.terminal_id), env.clock, LoyaltyRules())
    sale = Sale(LoyaltyRules())
    sale.add_item(CatalogueItem("X1", "x", "x", 500))
    parked = held.park(sale, "table 3", shift_id=shift.id, user_id=env.cashier.id, user_name=env.cashier.name)
    assert env.reports.x_report().figures["parked_waiting"] == 1
    with pytest.raises(ParkedSalesWaiting, match="1 parked sale"):
        env.shifts.close_shift({}, env.cashier)
    assert env.shifts.current_shift() is not None
    held.discard(parked, "customer left", user_id=env.supervisor.id, user_name=env.supervisor.name)
    assert env.shifts.close_shift({}, env.cashier).figures["parked_waiting"] == 0


def test_failed_alipay_attempts_listed_and_alipay_not_counted_at_the_drawer(env: Env, seed: Seeder) -> None:
    from pos_app.services.reports import render_text

    shift = env.shifts.open_shift(env.cashier, float_fen=0)
    seed.sale(shift.id, 1, [("alipay", 2500, 2500)])
    seed.attempt(shift.id, 1, "failed", 700)
    x = env.reports.x_report().figures
    assert [(p["state"], p["amount_fen"]) for p in x["failed_payments"]] == [("failed", 700)]
    result = env.shifts.close_shift({}, env.cashier)
    assert result.figures["count"]["alipay"]["counted"] is False
    text = render_text(result.figures)
    assert "Failed Alipay attempts" in text and "not counted" in text
