"""The store's card worker against the sandbox gateway: card points = store ledger, per-card order, one worker."""

from __future__ import annotations

import datetime as dt
import random
import threading

import psycopg
import pytest

from pos_app.settings import GatewaySettings, Settings
from pos_app.store.cardworker import CardWorker
from pos_app.store.errors import StoreRefused
from pos_app.store_card import alipay_calls
from tests.reliability.harness.env import MEMBERS
from tests.store.lanekit import make_lane, server


def _settings(sb, tmp_path) -> Settings:
    return Settings(data_dir=tmp_path / "cw", gateway=GatewaySettings(
        url=sb.gateway_url, app_id=sb.app_id, app_private_key=str(sb.app_private_key_path),
        alipay_public_key=str(sb.alipay_public_key_path)))


def test_card_points_equal_the_store_ledger_in_per_card_order(tmp_path, store_db, sandbox):
    members = [c for c, _ in MEMBERS[:3]]
    with store_db.admin() as c:
        for card_no in members:
            info = sandbox.issue_card(external_card_no=card_no, name="会员", level="VIP1", points=0)
            c.execute("INSERT INTO pos.member (member_id, biz_card_no, name, level) VALUES (%s, %s, '会员', 'VIP1')",
                      (card_no, info["biz_card_no"]))
            c.execute("SELECT pos.adjust_points(%s, 500, gen_random_uuid())", (card_no,))
    a = make_lane(tmp_path, store_db, "lane_a")
    b = make_lane(tmp_path, store_db, "lane_b")
    rng = random.Random(11)
    for lane in (a, b):
        lane.uplink().push()
        lane.pull().step()
        for i in range(6):
            lane.sell(rng, members[i % 3])
        lane.uplink().push()
    worker = CardWorker(store_db.admin_dsn, alipay_calls(_settings(sandbox, tmp_path)), max_in_flight=4)
    worker.acquire()
    try:
        second = CardWorker(store_db.admin_dsn, alipay_calls(_settings(sandbox, tmp_path)))
        with pytest.raises(StoreRefused, match="another card worker"):
            second.acquire()
        second.close()
        while worker.step():
            pass
    finally:
        worker.close()
    for card_no in members:
        balance = server(store_db, "SELECT balance FROM pos.member_points WHERE member_id = %s", (card_no,))[0][0]
        card = sandbox.card(card_no) or next(c for c in sandbox.cards() if c["external_card_no"] == card_no)
        assert int(float(card["point"])) == balance, card_no
        occurs = [h["occur_time"] for h in card["history"] if h["kind"] == "update"]
        assert occurs and occurs == sorted(occurs)
    assert server(store_db, "SELECT count(*) FROM pos.card_outbox WHERE kind = 'update' AND state <> 'done'") \
        == [(0,)]
    # an overdraft (offline redemptions applied below zero): the card shows 0, never a refused negative number
    with store_db.admin() as c:
        c.execute("SELECT pos.adjust_points(%s, -100000, gen_random_uuid())", (members[0],))
    worker = CardWorker(store_db.admin_dsn, alipay_calls(_settings(sandbox, tmp_path)), max_in_flight=4)
    worker.acquire()
    try:
        while worker.step():
            pass
    finally:
        worker.close()
    card = next(c for c in sandbox.cards() if c["external_card_no"] == members[0])
    assert int(float(card["point"])) == 0
    assert server(store_db, "SELECT state FROM pos.card_outbox ORDER BY id DESC LIMIT 1") == [("done",)]
    a.close()
    b.close()


def test_a_worker_cut_off_from_the_server_takes_the_lock_again_or_stops(tmp_path, sandbox):
    from pos_app.store import schema
    from tests.pgserver import PgServer

    pg = PgServer().init().start()
    stop = threading.Event()
    a = None
    try:
        dsn = pg.create_database("cw")
        with psycopg.connect(dsn, autocommit=True) as c:
            schema.init_store(c)
            info = sandbox.issue_card(external_card_no="8800000000000001", name="会员", level="VIP1", points=0)
            c.execute("INSERT INTO pos.member (member_id, biz_card_no, name, level) VALUES "
                      "('8800000000000001', %s, '会员', 'VIP1')", (info["biz_card_no"],))
        settings = _settings(sandbox, tmp_path)
        a = CardWorker(dsn, alipay_calls(settings))
        a.acquire()
        t = threading.Thread(target=a.run, args=(stop,), kwargs={"idle_s": 0.05}, daemon=True)
        t.start()
        pg.stop("fast")          # A loses its session and with it the advisory lock
        pg.start()
        with psycopg.connect(dsn, autocommit=True) as c:   # A took the lock again and sends again
            c.execute("SELECT pos.adjust_points('8800000000000001', 70, gen_random_uuid())")
        deadline = dt.datetime.now() + dt.timedelta(seconds=30)
        while dt.datetime.now() < deadline:
            card = next(c for c in sandbox.cards() if c["external_card_no"] == "8800000000000001")
            if int(float(card["point"])) == 70:
                break
            stop.wait(0.1)
        assert int(float(card["point"])) == 70
        b = CardWorker(dsn, alipay_calls(settings))
        with pytest.raises(StoreRefused):
            b.acquire()
        b.close()
        # now B holds the lock while A is cut off: A must stop instead of sending beside B
        pg.stop("fast")
        pg.start()
        b = CardWorker(dsn, alipay_calls(settings))
        b.acquire()
        t.join(30)
        assert not t.is_alive(), "the cut-off worker kept running beside the new one"
        b.close()
    finally:
        stop.set()
        if a is not None:
            a.close()
        pg.destroy()
