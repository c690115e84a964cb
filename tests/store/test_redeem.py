"""Points redeemed at the till go through the store (store mode, issue 13): two lanes against a real PostgreSQL.

Online, ``pos.redeem_points`` holds the points before the sale is paid, so two lanes cannot spend the same points;
the sale's ledger entry carries the hold's entry_id and counts once. A sale given up releases its hold. Offline,
a lane redeems only within ``offline_redeem_cap`` per member per day against a recent store balance; on arrival
the store applies it even below zero and lists an overdraft.
"""

from __future__ import annotations

import datetime as dt

import pytest

from pos_app.services.points_hold import OfflineRedeemNeedsApproval, PointsBeingAsked, RedemptionRefused
from pos_app.services.till import Till, TillSession
from pos_app.store.redeem import StoreRedeemer
from pos_app.store_points import StorePointsGate
from pos_app.ui.i18n import Translator
from pos_app.ui.messages import error_text
from tests.reliability.harness.env import ITEMS, MEMBERS, SUPERVISOR
from tests.store.lanekit import Lane, make_lane, seed_store_members, server

MEMBER = MEMBERS[0][0]
RICE = ITEMS[3]


def _gate(lane: Lane, *, online: bool = True, cap: int = 500, clock=None, conninfo: str | None = None,
          supervisor_above: int = 0):
    redeemer = StoreRedeemer(conninfo or lane.conninfo, deadline_s=2.0)
    lane.links.append(redeemer)
    gate = StorePointsGate(lane.db, redeemer, online=lambda: online, offline_cap=cap, offline_max_age_h=24.0,
                           supervisor_above=supervisor_above, **({"clock": clock} if clock else {}))
    lane.svc.checkout.points_gate = gate
    return gate


def _till(lane: Lane) -> Till:
    cashier = lane.cashier()
    till = Till(lane.svc.checkout)
    till.start(TillSession(cashier.id, cashier.name, lane.shift(cashier)))
    return till


def _basket(lane: Lane, till: Till, points: int) -> None:
    """Two bags of rice for the member, redeeming ``points``."""
    till.new_sale()
    till.add_item(RICE)
    till.add_item(RICE)
    view = lane.svc.members.get(MEMBER, till.snapshot().sale.totals.payable_fen)
    assert view is not None
    till.attach_member(view)
    till.redeem(points)


def _pay(till: Till) -> object:
    return till.pay_cash(till.snapshot().sale.totals.payable_fen)


def _ready(lane: Lane) -> None:
    lane.uplink().push()          # hello
    lane.pull().step()


def _store_balance(store_db) -> int:
    return int(server(store_db, "SELECT balance FROM pos.member_points WHERE member_id = %s", (MEMBER,))[0][0])


def _ledger_consistent(store_db) -> None:
    rows = server(store_db, "SELECT m.member_id, m.balance, (SELECT sum(delta) FROM pos.points_entry e "
                            "WHERE e.member_id = m.member_id) FROM pos.member_points m")
    assert all(bal == total for _, bal, total in rows), rows


def test_two_lanes_cannot_spend_the_same_points(tmp_path, store_db):
    seed_store_members(store_db, balance=1000)
    a, b = make_lane(tmp_path, store_db, "lane_a"), make_lane(tmp_path, store_db, "lane_b")
    for lane in (a, b):
        _ready(lane)
        _gate(lane)
        assert lane.journal.points_shown(MEMBER) == 1000
    till_a, till_b = _till(a), _till(b)
    _basket(a, till_a, 800)
    _basket(b, till_b, 800)           # b's own view still says 1000: only the store knows a took 800
    till_a.take_total()
    assert _store_balance(store_db) == 200
    with pytest.raises(RedemptionRefused, match="only 200 points") as short:
        till_b.take_total()
    assert "只有 200 积分" in error_text(Translator("zh_CN"), short.value)     # worded for a Chinese till
    assert till_b.snapshot().sale.state.name == "OPEN"      # b's basket is kept, the cashier changes the points
    committed = _pay(till_a)
    earned_a = committed.points_earned                       # type: ignore[attr-defined]
    a.uplink().push()
    # the sale's redeem entry is the held one: counted once at the store
    assert _store_balance(store_db) == 200 + earned_a
    assert server(store_db, "SELECT count(*) FROM pos.points_entry WHERE kind = 'redeem'")[0][0] == 1
    for lane in (a, b):
        lane.pull().step()
        assert lane.journal.points_shown(MEMBER) == 200 + earned_a
    # b redeems what is left, through the store
    _basket(b, till_b, 200)
    till_b.take_total()
    committed_b = _pay(till_b)
    b.uplink().push()
    assert _store_balance(store_db) == earned_a + committed_b.points_earned   # type: ignore[attr-defined]
    assert server(store_db, "SELECT count(*) FROM pos.points_exception")[0][0] == 0
    _ledger_consistent(store_db)
    a.close()
    b.close()


def test_a_sale_given_up_gives_its_points_back(tmp_path, store_db):
    seed_store_members(store_db, balance=1000)
    a = make_lane(tmp_path, store_db, "lane_a")
    _ready(a)
    _gate(a)
    till = _till(a)
    _basket(a, till, 500)
    till.take_total()
    assert _store_balance(store_db) == 500
    a.pull().step()
    assert a.journal.points_shown(MEMBER) == 1000     # held for this lane's own sale: not spent yet
    till.cancel_payment()                             # back to the basket: the hold is released (journaled)
    till.new_sale()
    a.uplink().push()
    assert _store_balance(store_db) == 1000
    a.pull().step()
    assert a.journal.points_shown(MEMBER) == 1000
    assert server(store_db, "SELECT delta, kind FROM pos.points_entry WHERE kind = 'reverse'") == [(500, "reverse")]
    _ledger_consistent(store_db)
    a.close()


def test_offline_redemption_is_capped_and_reconciled_on_arrival(tmp_path, store_db):
    seed_store_members(store_db, balance=600)
    a, b = make_lane(tmp_path, store_db, "lane_a"), make_lane(tmp_path, store_db, "lane_b")
    tills = {}
    for lane in (a, b):
        _ready(lane)
        _gate(lane, online=False, cap=500)
        tills[lane.name] = _till(lane)
    till_a, till_b = tills["lane_a"], tills["lane_b"]
    _basket(a, till_a, 400)
    till_a.take_total()
    _pay(till_a)
    _basket(a, till_a, 200)
    with pytest.raises(RedemptionRefused, match="at most 500 points per member per day"):
        till_a.take_total()
    till_a.clear_redemption()
    till_a.redeem(100)
    till_a.take_total()
    _pay(till_a)
    _basket(b, till_b, 500)
    till_b.take_total()
    _pay(till_b)
    assert _store_balance(store_db) == 600          # nothing reached the store yet
    for lane in (a, b):                             # the store is back: the lanes push
        lane.uplink().push()
    redeemed = server(store_db, "SELECT -sum(delta) FROM pos.points_entry WHERE kind = 'redeem' AND offline")[0][0]
    assert redeemed == 1000 <= 2 * 500               # bounded by lanes x cap
    earned = server(store_db, "SELECT sum(delta) FROM pos.points_entry WHERE kind = 'earn'")[0][0]
    assert _store_balance(store_db) == 600 - 1000 + earned < 0
    overdrafts = server(store_db, "SELECT kind FROM pos.points_exception WHERE member_id = %s", (MEMBER,))
    assert overdrafts and {k for (k,) in overdrafts} == {"overdraft"}
    for lane in (a, b):
        lane.pull().step()
        assert lane.journal.points_shown(MEMBER) == _store_balance(store_db)
    _ledger_consistent(store_db)
    a.close()
    b.close()


def test_offline_redemption_needs_a_recent_store_balance(tmp_path, store_db):
    seed_store_members(store_db, balance=1000)
    a = make_lane(tmp_path, store_db, "lane_a")
    _ready(a)
    later = dt.datetime.now(dt.UTC) + dt.timedelta(hours=25)
    _gate(a, online=False, clock=lambda: later)
    till = _till(a)
    _basket(a, till, 100)
    with pytest.raises(RedemptionRefused, match="25 h old"):
        till.take_total()
    never = make_lane(tmp_path, store_db, "lane_b")     # never pulled: no store balance at all
    _gate(never, online=False)
    till_n = _till(never)
    _basket(never, till_n, 100)
    with pytest.raises(RedemptionRefused, match="no store balance"):
        till_n.take_total()
    a.close()
    never.close()


def test_no_answer_falls_back_offline_and_a_release_reverses_only_what_the_store_took(tmp_path, store_db):
    seed_store_members(store_db, balance=1000)
    a = make_lane(tmp_path, store_db, "lane_a")
    _ready(a)
    dead = a.conninfo.replace(f"port={store_db.server.port}", "port=1")     # the link says up, the call fails
    _gate(a, online=True, conninfo=dead)
    till = _till(a)
    _basket(a, till, 300)
    till.take_total()                                   # offline rules: within the cap
    with a.sqlite() as c:
        assert tuple(c.execute("SELECT state, asked, online FROM lane_redeem").fetchone()) == ("offline", 1, 0)
    till.cancel_payment()
    a.uplink().push()                                   # the release travels, conditional on the store's entry
    assert _store_balance(store_db) == 1000
    assert server(store_db, "SELECT count(*) FROM pos.points_entry WHERE kind = 'reverse'")[0][0] == 0
    _basket(a, till, 300)
    till.take_total()
    _pay(till)
    with a.sqlite() as c:   # right after a call without an answer the next hold does not wait for the store again
        assert tuple(c.execute("SELECT state, asked FROM lane_redeem ORDER BY id DESC").fetchone()) == ("used", 0)
    a.uplink().push()
    assert server(store_db, "SELECT offline FROM pos.points_entry WHERE kind = 'redeem'") == [(True,)]
    _ledger_consistent(store_db)
    a.close()


def test_standalone_lane_redeems_as_before(tmp_path, store_db):
    a = make_lane(tmp_path, store_db, "solo", enable=False)
    till = _till(a)
    _basket(a, till, 100)
    till.take_total()
    committed = _pay(till)
    assert committed.snapshot.totals.points_redeemed == 100                 # type: ignore[attr-defined]
    with a.sqlite() as c:
        assert c.execute("SELECT count(*) FROM lane_redeem").fetchone()[0] == 0
    a.close()




def test_a_hold_whose_sale_was_lost_in_a_stop_is_given_back_at_the_next_start(tmp_path, store_db):
    seed_store_members(store_db, balance=1000)
    a = make_lane(tmp_path, store_db, "lane_a")
    _ready(a)
    gate = _gate(a)
    till = _till(a)
    _basket(a, till, 400)
    till.take_total()                                   # held at the store; then the lane stops before paying
    assert _store_balance(store_db) == 600
    assert gate.release_orphans() == 1                  # the next start
    assert gate.release_orphans() == 0
    a.uplink().push()
    assert _store_balance(store_db) == 1000
    _ledger_consistent(store_db)
    a.close()


# --- asked off the GUI thread (ask -> answer -> total) and the supervisor above a threshold offline ---------------

def _supervisor_id(lane: Lane) -> int:
    return int(lane.svc.users.authenticate(SUPERVISOR[0], SUPERVISOR[1]).id)


def test_while_the_store_is_asked_the_points_cannot_change_and_a_sale_given_up_gets_its_hold_back(tmp_path,
                                                                                                  store_db):
    seed_store_members(store_db, balance=1000)
    a = make_lane(tmp_path, store_db, "lane_a")
    _ready(a)
    _gate(a)
    till = _till(a)
    _basket(a, till, 300)
    ask = till.ask_before_total()
    assert ask is not None and (ask.card_no, ask.points) == (MEMBER, 300)
    for intent in (till.take_total, till.cancel_payment, lambda: till.redeem(100), till.clear_redemption,
                   till.remove_member, lambda: till.pay_cash(10_000), till.ask_before_total):
        with pytest.raises(PointsBeingAsked):
            intent()
    till.add_item(RICE)                                 # scans go on: they cannot lower the points
    hold = till.ask_points(ask)                         # (a worker thread in the terminal)
    assert _store_balance(store_db) == 700
    assert till.points_answered(ask, hold)              # the sale still redeems exactly this: kept
    till.take_total()                                   # finds the hold: no second ask
    assert till.basket()["points_hold"] == hold.entry_id
    with a.sqlite() as c:
        assert c.execute("SELECT count(*) FROM lane_redeem").fetchone()[0] == 1
    till.cancel_payment()
    # a sale given up while the store is asked: the answer's hold is given back when it comes
    ask2 = till.ask_before_total()
    assert ask2 is not None
    assert till.waits_for(ask2)
    till.new_sale()
    assert not till.waits_for(ask2) and not till.asking_points
    late = till.ask_points(ask2)
    assert not till.points_answered(ask2, late)
    a.uplink().push()
    assert _store_balance(store_db) == 1000
    with a.sqlite() as c:
        assert [r[0] for r in c.execute("SELECT state FROM lane_redeem ORDER BY id")] == ["released", "released"]
    _ledger_consistent(store_db)
    a.close()


def test_offline_above_the_threshold_a_supervisor_approves_and_the_hold_records_who(tmp_path, store_db):
    seed_store_members(store_db, balance=1000)
    a = make_lane(tmp_path, store_db, "lane_a")
    _ready(a)
    dead = a.conninfo.replace(f"port={store_db.server.port}", "port=1")     # the link says up, the call fails
    _gate(a, online=True, conninfo=dead, supervisor_above=100)
    till = _till(a)
    _basket(a, till, 200)
    ask = till.ask_before_total()
    assert ask is not None
    with pytest.raises(OfflineRedeemNeedsApproval) as refused:
        till.ask_points(ask)
    assert (refused.value.points, refused.value.above) == (200, 100)
    assert error_text(Translator("zh_CN"), refused.value) == "门店服务器离线：抵扣超过 100 积分须主管批准（本次 200 积分）"
    with a.sqlite() as c:   # asked without an answer: given back, conditional on the store holding it
        assert tuple(c.execute("SELECT state, asked FROM lane_redeem").fetchone()) == ("released", 1)
    supervisor = _supervisor_id(a)
    hold = till.ask_points(ask, approved_by=supervisor)                    # the supervisor approved
    assert not hold.online
    assert till.points_answered(ask, hold)
    till.take_total()
    committed = _pay(till)
    assert committed.snapshot.totals.points_redeemed == 200                # type: ignore[attr-defined]
    with a.sqlite() as c:
        row = c.execute("SELECT state, online, approved_by FROM lane_redeem ORDER BY id DESC").fetchone()
        assert tuple(row) == ("used", 0, supervisor)
    _basket(a, till, 100)                                                  # at the threshold: no supervisor
    ask = till.ask_before_total()
    assert ask is not None
    assert till.points_answered(ask, till.ask_points(ask))
    a.close()


def test_online_redemption_above_the_threshold_asks_no_supervisor(tmp_path, store_db):
    seed_store_members(store_db, balance=1000)
    a = make_lane(tmp_path, store_db, "lane_a")
    _ready(a)
    _gate(a, supervisor_above=150)
    till = _till(a)
    _basket(a, till, 400)
    till.take_total()                                   # the blocking path (headless callers) still holds
    assert _store_balance(store_db) == 600
    with a.sqlite() as c:
        assert tuple(c.execute("SELECT state, online, approved_by FROM lane_redeem").fetchone()) == ("held", 1, None)
    a.close()


class _DiesAfterTheStoreAnswers:
    """The lane stops while asking: the store took the points, the answer never reached the lane's file."""

    def __init__(self, real: StoreRedeemer) -> None:
        self.real = real

    def redeem(self, member_id: str, points: int, entry_id: str) -> object:
        self.real.redeem(member_id, points, entry_id)
        raise SystemExit("the lane stopped")

    def close(self) -> None:
        self.real.close()


def test_a_stop_while_asking_the_store_loses_and_doubles_nothing(tmp_path, store_db):
    seed_store_members(store_db, balance=1000)
    a = make_lane(tmp_path, store_db, "lane_a")
    _ready(a)
    real = StoreRedeemer(a.conninfo, deadline_s=2.0)
    a.links.append(real)
    gate = StorePointsGate(a.db, _DiesAfterTheStoreAnswers(real), online=lambda: True)   # type: ignore[arg-type]
    a.svc.checkout.points_gate = gate
    till = _till(a)
    _basket(a, till, 300)
    ask = till.ask_before_total()
    assert ask is not None
    with pytest.raises(SystemExit):
        till.ask_points(ask)                            # (the worker thread, when the process dies)
    assert _store_balance(store_db) == 700
    with a.sqlite() as c:
        assert tuple(c.execute("SELECT state, asked FROM lane_redeem").fetchone()) == ("asking", 1)
    assert _gate(a).release_orphans() == 1              # the next start gives it back
    a.uplink().push()
    assert _store_balance(store_db) == 1000
    _ledger_consistent(store_db)
    a.close()
