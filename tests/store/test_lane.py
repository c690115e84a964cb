"""A lane in store mode against a real PostgreSQL: the journal, the uplink, the pull, points."""

from __future__ import annotations

import random

import pytest

from pos_app.store.link import status_line
from tests.reliability.harness.env import MEMBERS
from tests.store.lanekit import make_lane, seed_store_members, server


def test_standalone_lane_writes_no_journal(tmp_path, store_db):
    lane = make_lane(tmp_path, store_db, "solo", enable=False)
    lane.sell(random.Random(1))
    with lane.sqlite() as c:
        assert c.execute("SELECT count(*) FROM lane_journal").fetchone()[0] == 0
        assert c.execute("SELECT count(*) FROM outbox WHERE state = 'discarded'").fetchone()[0] == 0
    lane.close()


def test_sales_reach_the_store_once_and_money_adds_up(tmp_path, store_db):
    lane = make_lane(tmp_path, store_db, "lane1")
    rng = random.Random(7)
    receipts = [lane.sell(rng, MEMBERS[i % 2][0] if i % 3 == 0 else None) for i in range(12)]
    up = lane.uplink()
    moved = up.push()
    st = lane.journal.state()
    assert moved == st.max_seq and st.backlog == 0 and st.offline_since is None
    # pushing again (nothing new) and replaying the whole journal (a lost ack) change nothing
    assert up.push() == 0
    lane.journal.hello(st.lane_id, 0)
    assert up.push() == st.max_seq
    assert server(store_db, "SELECT resends FROM pos.lane_epoch")[0][0] == st.max_seq
    srv = server(store_db, "SELECT receipt_no, total_fen FROM pos.sale ORDER BY receipt_no")
    with lane.sqlite() as c:
        local = [tuple(r) for r in c.execute("SELECT receipt_no, total_fen FROM sales ORDER BY receipt_no")]
        tenders = c.execute("SELECT sum(amount_fen) FROM tenders").fetchone()[0]
        seqs = [r[0] for r in c.execute("SELECT seq FROM lane_journal ORDER BY seq")]
    assert sorted(receipts) == [r for r, _ in srv] and srv == local
    assert server(store_db, "SELECT sum(amount_fen) FROM pos.tender")[0][0] == tenders
    assert [r[0] for r in server(store_db, "SELECT lane_seq FROM pos.event ORDER BY lane_seq")] == seqs
    assert seqs == list(range(1, len(seqs) + 1))
    lane.close()


def test_points_shown_are_store_balance_plus_this_lanes_pending(tmp_path, store_db):
    seed_store_members(store_db, balance=1000)
    a = make_lane(tmp_path, store_db, "lane_a")
    b = make_lane(tmp_path, store_db, "lane_b")
    member = MEMBERS[0][0]
    for lane in (a, b):
        lane.uplink().push()           # hello: the lanes know their epoch
        lane.pull().step()
        assert lane.journal.points_shown(member) == 1000
    rng = random.Random(3)
    a.sell(rng, member)
    earned_a = a.journal.points_shown(member) - 1000
    assert earned_a > 0
    b.sell(rng, member)
    earned_b = b.journal.points_shown(member) - 1000
    # a's sale is pending on a (not yet pushed): b does not see it; a counts it once
    a.pull().step()
    assert a.journal.points_shown(member) == 1000 + earned_a
    a.uplink().push()
    b.uplink().push()
    for lane in (a, b):
        lane.pull().step()
        assert lane.journal.points_shown(member) == 1000 + earned_a + earned_b
    bal = server(store_db, "SELECT balance FROM pos.member_points WHERE member_id = %s", (member,))[0][0]
    total = server(store_db, "SELECT sum(delta) FROM pos.points_entry WHERE member_id = %s", (member,))[0][0]
    assert bal == total == 1000 + earned_a + earned_b
    a.close()
    b.close()


def test_reference_data_is_pulled_with_tombstones(tmp_path, store_db):
    lane = make_lane(tmp_path, store_db, "lane1")
    lane.uplink().push()
    with store_db.admin() as c:
        c.execute("INSERT INTO pos.item (code, name_zh, name_en, price_fen) VALUES ('2000000000008', '茶', 'Tea', 350)")
        c.execute("INSERT INTO pos.member (member_id, name, level) VALUES ('8800000000099999', '新会员', 'VIP2')")
    assert lane.pull().step() >= 2
    with store_db.admin() as c:
        c.execute("UPDATE pos.item SET price_fen = 400 WHERE code = '2000000000008'")
        c.execute("DELETE FROM pos.item WHERE code = '2000000000008'")
    lane.pull().step()
    with lane.sqlite() as c:
        assert tuple(c.execute("SELECT price_fen, active FROM catalogue_items WHERE code = '2000000000008'")
                     .fetchone()) == (400, 0)
        assert c.execute("SELECT level FROM members WHERE card_no = '8800000000099999'").fetchone()[0] == "VIP2"
    assert lane.pull().step() == 0     # the cursor moved: nothing again
    lane.close()


def test_store_down_keeps_selling_and_shows_the_status(tmp_path, store_db):
    lane = make_lane(tmp_path, store_db, "lane1")
    lane.conninfo = lane.conninfo.replace(f"port={store_db.server.port}", "port=1")   # nothing listens there
    up = lane.uplink(deadline_s=1.0)
    rng = random.Random(5)
    for _ in range(3):
        lane.sell(rng)
    import pytest

    from pos_app.store.errors import StoreUnavailable
    with pytest.raises(StoreUnavailable):
        up.push()
    import datetime as dt
    lane.journal.set_offline(dt.datetime(2026, 12, 3, 2, 5, tzinfo=dt.UTC), "refused")
    st = lane.journal.state()
    assert status_line(st) == f"Store offline since 10:05, {st.max_seq} events waiting"
    lane.close()


@pytest.mark.parametrize("sold_after", [1, 3])   # 3: the restored lane's seq passes the server's again
def test_lane_restored_from_an_old_backup_starts_a_new_epoch_listed_for_the_supervisor(tmp_path, store_db,
                                                                                      sold_after):
    import sqlite3

    lane = make_lane(tmp_path, store_db, "lane1")
    rng = random.Random(9)
    lane.sell(rng)
    backup = tmp_path / "backup.sqlite3"
    with sqlite3.connect(lane.db) as src, sqlite3.connect(backup) as dst:
        src.backup(dst)
    lane.sell(rng)
    lane.sell(rng)
    lane.uplink().push()
    pushed = lane.journal.state().max_seq
    old_epoch = lane.journal.state().lane_epoch
    lane.close()
    # the disk dies; the lane comes back from the backup (fewer events than the server holds)
    for extra in ("-wal", "-shm"):
        lane.db.with_name(lane.db.name + extra).unlink(missing_ok=True)
    backup.replace(lane.db)
    from pos_app.storage.lane_journal import SqliteLaneJournal
    from tests.reliability.harness.env import build_services

    lane.journal = SqliteLaneJournal.open(lane.db)
    lane.svc = build_services(lane.db, None)
    lane.links = []
    assert lane.journal.state().max_seq < pushed
    for _ in range(sold_after):                 # trading goes on after the restore, before the store is reached
        lane.sell(rng)
    lane.uplink().push()
    st = lane.journal.state()
    assert st.lane_epoch != old_epoch and st.backlog == 0
    notices = server(store_db, "SELECT kind, detail FROM pos.lane_notice")
    assert [n[0] for n in notices] == ["new_epoch"] and notices[0][1]["old_acked_seq"] == pushed
    states = server(store_db, "SELECT state FROM pos.lane_epoch ORDER BY started_at")
    assert [s[0] for s in states] == ["replaced", "current"]
    # every sale is on the server once: the three from before the loss and the ones after
    assert server(store_db, "SELECT count(*) FROM pos.sale")[0][0] == 3 + sold_after
    # once the store was reached, receipts continue in a new block: never a number the store already holds
    held = {r[0] for r in server(store_db, "SELECT receipt_no FROM pos.sale")}
    new = lane.sell(rng)
    assert new not in held and int(new[-12:-1]) > 10 ** 8
    lane.close()


def test_db_restore_starts_a_new_epoch_at_once_and_receipts_never_repeat(tmp_path, store_db):
    import datetime as dt
    import sqlite3

    from pos_app.storage.backup import restore
    from pos_app.storage.lane_journal import SqliteLaneJournal
    from tests.reliability.harness.env import build_services

    lane = make_lane(tmp_path, store_db, "lane1")
    rng = random.Random(11)
    lane.sell(rng)
    lane.uplink().push()
    backup = tmp_path / "backup.sqlite3"
    with sqlite3.connect(lane.db) as src, sqlite3.connect(backup) as dst:
        src.backup(dst)
    for _ in range(3):
        lane.sell(rng)
    lane.uplink().push()
    old_epoch = lane.journal.state().lane_epoch
    lane.close()
    restore(lane.db, backup, now=dt.datetime.now(dt.UTC))
    lane.journal = SqliteLaneJournal.open(lane.db)
    lane.svc = build_services(lane.db, None)
    lane.links = []
    assert lane.journal.state().lane_epoch != old_epoch          # before the store is reached
    after = [lane.sell(rng) for _ in range(3)]                    # offline: the store is not reached yet
    lane.uplink().push()
    receipts = [r[0] for r in server(store_db, "SELECT receipt_no FROM pos.sale")]
    assert len(receipts) == len(set(receipts)) == 7 and set(after) <= set(receipts)
    assert [n[0] for n in server(store_db, "SELECT kind FROM pos.lane_notice")] == ["new_epoch"]
    lane.close()


def test_the_json_the_uplink_sends_equals_the_rows_it_describes(tmp_path, store_db):
    """pending_json (SQLite builds the JSON: the backlog ingest's hot path) = pending (built in Python)."""
    import json

    from tests.reliability.harness.env import SUPERVISOR

    lane = make_lane(tmp_path, store_db, "lane1")
    rng = random.Random(21)
    for i in range(6):
        lane.sell(rng, MEMBERS[i % 2][0] if i % 2 == 0 else None)
    cashier = lane.cashier()
    approval = lane.svc.users.approve("pay_in", "float", SUPERVISOR[0], SUPERVISOR[1], "float", requested_by=cashier)
    lane.svc.shifts.cash_movement("pay_in", 500, "float top-up", cashier, approval)
    with lane.sqlite() as c:
        sale_id, shift_id = c.execute("SELECT id, shift_id FROM sales ORDER BY id LIMIT 1").fetchone()
        c.execute("INSERT INTO refunds (sale_id, shift_id, out_request_no, method, amount_fen, state, reason, "
                  "cashier_id, created_at, completed_at) VALUES (?, ?, 'R1', 'cash', 100, 'done', 'test', ?, "
                  "'2026-12-03T01:00:00+00:00', '2026-12-03T01:00:01+00:00')", (sale_id, shift_id, cashier.id))
        c.execute("INSERT INTO outbox (event_id, kind, card_no, method, body_json, created_at, points_after, state) "
                  "VALUES ('E1', 'card.consume_sync', ?, 'alipay.marketing.card.consume.sync', '{\"trade_no\": \"2026120322001\", \"x\": [1, 2]}', "
                  "'2026-12-03T01:00:02+00:00', 10, 'pending')", (MEMBERS[0][0],))
        c.execute("INSERT INTO lane_redeem (entry_id, card_no, points, online, asked, state, business_date, created_at)"
                  " VALUES ('6f1c0a3e-0000-4000-a000-000000000001', ?, 300, 1, 1, 'held', '2026-12-03', "
                  "'2026-12-03T01:00:03+00:00')", (MEMBERS[0][0],))
        c.execute("UPDATE lane_redeem SET state = 'released', release_entry_id = '6f1c0a3e-0000-4000-a000-000000000002',"
                  " released_at = '2026-12-03T01:00:04+00:00'")
    from pos_app.services.errors import ServiceError

    try:
        lane.svc.shifts.close_shift({}, cashier)
    except ServiceError as exc:   # a counted difference needs a supervisor
        assert type(exc).__name__ == "DifferenceNeedsApproval"
        approval = lane.svc.users.approve("close_difference", "close", SUPERVISOR[0], SUPERVISOR[1], "count",
                                          requested_by=cashier)
        lane.svc.shifts.close_shift({}, cashier, approval)
    rows = lane.journal.pending(0, 1000)
    first, count, text = lane.journal.pending_json(0, 1000)
    kinds = {r["kind"] for r in rows}
    assert {"sale", "points", "cash", "refund", "card_call", "shift_open", "shift_close", "z"} <= kinds
    assert any(r["body"].get("reverses") for r in rows)          # a released hold travels as a reverse entry
    assert (first, count) == (1, len(rows)) and json.loads(text) == rows
    first, count, _ = lane.journal.pending_json(3, 2)
    assert (first, count) == (4, 2)
    assert lane.journal.pending_json(len(rows), 10) == (0, 0, "[]")
    lane.close()
