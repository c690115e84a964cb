"""The store schema on a real PostgreSQL: migrations, roles, insert-only tables, idempotent ingest."""

from __future__ import annotations

import datetime as dt
import uuid

import psycopg
import pytest
from psycopg.types.json import Jsonb

from pos_app.store import schema
from pos_app.store.errors import StoreRefused

NOW = dt.datetime(2026, 12, 3, 4, 0, tzinfo=dt.UTC)


def _row(seq: int, kind: str, body: dict, event_id: str | None = None) -> dict:
    return {"event_id": event_id or str(uuid.uuid4()), "seq": seq, "kind": kind, "business_date": "2026-12-03",
            "occurred_at": NOW.isoformat(), "body": body}


def _sale(seq: int, total: int, member: str = "", earned: int = 0) -> dict:
    return _row(seq, "sale", {"receipt_no": f"R{seq}", "shift_no": 1, "cashier": "1001", "member_id": member,
                              "gross_fen": total, "discount_fen": 0, "total_fen": total, "points_earned": earned,
                              "points_redeemed": 0, "tenders": [{"kind": "cash", "amount_fen": total}]})


def _points(seq: int, member: str, delta: int, kind: str = "earn") -> dict:
    return _row(seq, "points", {"member_id": member, "delta": delta, "kind": kind})


@pytest.fixture
def lane(store_db):
    with store_db.admin() as c:
        creds = schema.add_lane(c, "lane1")
    conn = psycopg.connect(store_db.lane_dsn(creds.role, creds.password), autocommit=True)
    epoch = str(uuid.uuid4())
    hello = conn.execute("SELECT pos.heartbeat(%s, 0, 0, 0, now())", (epoch,)).fetchone()[0]
    assert hello["acked_seq"] == 0
    yield conn, epoch, creds
    conn.close()


def _ingest(conn, epoch, first, rows):
    return conn.execute("SELECT pos.ingest_batch(%s, %s, %s, now())", (epoch, first, Jsonb(rows))).fetchone()[0]


def test_init_on_an_empty_database_then_migrate_is_a_no_op(fresh_database):
    name, dsn = fresh_database
    with psycopg.connect(dsn, autocommit=True) as c:
        assert schema.schema_version(c) == 0
        assert schema.init_store(c) == name
        assert schema.migrate(c) == []
        assert schema.schema_version(c) == max(v for v, _ in schema.MIGRATIONS)
        assert c.execute("SELECT count(*) FROM pg_roles WHERE rolname IN (%s, %s)",
                         (f"{name}_lanes", f"{name}_reader")).fetchone() == (2,)


def test_ingest_is_idempotent_and_acks_a_contiguous_run(lane, store_db):
    conn, epoch, _ = lane
    rows = [_sale(1, 1000, "8800000000000001", 10), _points(2, "8800000000000001", 10), _sale(3, 500)]
    assert _ingest(conn, epoch, 1, rows) == {"acked_seq": 3, "inserted": 3, "resent": 0}
    # the same batch again (a retry after a lost answer) changes nothing
    assert _ingest(conn, epoch, 1, rows) == {"acked_seq": 3, "inserted": 0, "resent": 3}
    # a gap is answered with where to resend from
    assert _ingest(conn, epoch, 5, [_sale(5, 1)]) == {"resend_from": 4}
    # a batch with a hole only counts up to the hole
    out = _ingest(conn, epoch, 4, [_sale(4, 100), _sale(6, 100)])
    assert out["acked_seq"] == 4
    with store_db.admin() as a:
        assert a.execute("SELECT count(*), sum(total_fen) FROM pos.sale").fetchone() == (3, 1600)
        assert a.execute("SELECT balance FROM pos.member_points").fetchone() == (10,)
        assert a.execute("SELECT count(*) FROM pos.card_outbox WHERE kind = 'update'").fetchone() == (1,)


def test_journal_and_ledger_reject_update_and_delete(lane, store_db):
    conn, epoch, _ = lane
    _ingest(conn, epoch, 1, [_sale(1, 1000), _points(2, "M1", 5)])
    with store_db.admin() as a:
        for stmt in ("UPDATE pos.sale SET total_fen = 1", "DELETE FROM pos.event",
                     "UPDATE pos.points_entry SET delta = 99", "DELETE FROM pos.points_entry",
                     "TRUNCATE pos.sale CASCADE"):
            with pytest.raises(psycopg.errors.InsufficientPrivilege, match="insert-only"):
                a.execute(stmt)


def test_lane_role_may_only_call_its_functions(lane):
    conn, _, _ = lane
    for stmt in ("INSERT INTO pos.points_entry (entry_id, member_id, delta, kind, occurred_at) "
                 "VALUES (gen_random_uuid(), 'M', 1000, 'adjust', now())",
                 "UPDATE pos.member_points SET balance = 1000000",
                 "INSERT INTO pos.item (code, name_zh, name_en, price_fen) VALUES ('1', 'x', 'x', 1)",
                 "SELECT pos.adjust_points('M', 1000, gen_random_uuid())"):
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute(stmt)
    assert conn.execute("SELECT count(*) FROM pos.item").fetchone() == (0,)   # reading reference data is fine


def test_a_role_that_is_not_a_lane_is_refused(store_db):
    with store_db.admin() as a:
        a.execute("CREATE ROLE intruder_x LOGIN PASSWORD 'pw12345'")
        a.execute(f'GRANT {store_db.prefix}_lanes TO intruder_x')
    with psycopg.connect(store_db.lane_dsn("intruder_x", "pw12345"), autocommit=True) as c, \
            pytest.raises(psycopg.errors.InsufficientPrivilege, match="not a registered lane"):
        c.execute("SELECT pos.heartbeat(gen_random_uuid(), 0, 0, 0, now())")


def test_online_redemption_never_overdraws(lane, store_db):
    conn, epoch, _ = lane
    with store_db.admin() as a:
        a.execute("SELECT pos.adjust_points('M1', 100, gen_random_uuid())")
    first = conn.execute("SELECT pos.redeem_points('M1', 80, %s)", (str(uuid.uuid4()),)).fetchone()[0]
    second = conn.execute("SELECT pos.redeem_points('M1', 80, %s)", (str(uuid.uuid4()),)).fetchone()[0]
    assert first == {"ok": True, "balance": 20}
    assert second == {"ok": False, "balance": 20}


def test_online_redeem_then_the_same_entry_in_the_journal_counts_once(lane, store_db):
    conn, epoch, _ = lane
    with store_db.admin() as a:
        a.execute("SELECT pos.adjust_points('M1', 100, gen_random_uuid())")
    entry = str(uuid.uuid4())
    assert conn.execute("SELECT pos.redeem_points('M1', 30, %s)", (entry,)).fetchone()[0]["balance"] == 70
    row = _points(1, "M1", -30, "redeem")
    row["body"]["entry_id"] = entry
    _ingest(conn, epoch, 1, [row])
    with store_db.admin() as a:
        assert a.execute("SELECT balance FROM pos.member_points WHERE member_id = 'M1'").fetchone() == (70,)
        assert a.execute("SELECT sum(delta) FROM pos.points_entry WHERE member_id = 'M1'").fetchone() == (70,)


def test_offline_overdraft_is_applied_and_listed(lane, store_db):
    conn, epoch, _ = lane
    row = _points(1, "M2", -50, "redeem")
    row["body"]["offline"] = True
    _ingest(conn, epoch, 1, [row])
    with store_db.admin() as a:
        assert a.execute("SELECT kind, balance_after FROM pos.points_exception").fetchall() == [("overdraft", -50)]


def test_restored_lane_gets_a_new_epoch_that_is_listed(lane, store_db):
    conn, epoch, _ = lane
    _ingest(conn, epoch, 1, [_sale(1, 100), _sale(2, 100), _sale(3, 100)])
    # the lane comes back from a backup that only had seq 1
    told = conn.execute("SELECT pos.heartbeat(%s, 0, 1, 0, now())", (epoch,)).fetchone()[0]
    assert told["restored"] is True and told["acked_seq"] == 3
    new_epoch = str(uuid.uuid4())
    hello = conn.execute("SELECT pos.heartbeat(%s, 1, 1, 0, now())", (new_epoch,)).fetchone()[0]
    assert hello["acked_seq"] == 1 and hello["new_epoch"] is True
    assert _ingest(conn, epoch, 4, [_sale(4, 1)]) == {"error": "replaced_epoch"}
    assert _ingest(conn, new_epoch, 2, [_sale(2, 7)])["acked_seq"] == 2
    with store_db.admin() as a:
        notice = a.execute("SELECT kind, detail FROM pos.lane_notice").fetchall()
        assert [n[0] for n in notice] == ["new_epoch"]
        assert notice[0][1]["old_acked_seq"] == 3 and notice[0][1]["lane_had_seq"] == 1


def test_reference_rows_are_stamped_and_deletes_become_tombstones(store_db):
    with store_db.admin() as a:
        a.execute("INSERT INTO pos.item (code, name_zh, name_en, price_fen) VALUES ('6901', '水', 'Water', 200)")
        first = a.execute("SELECT change_seq FROM pos.item").fetchone()[0]
        a.execute("DELETE FROM pos.item WHERE code = '6901'")
        deleted, seq = a.execute("SELECT deleted, change_seq FROM pos.item WHERE code = '6901'").fetchone()
        assert deleted is True and seq > first


def test_add_lane_twice_is_refused(store_db):
    with store_db.admin() as c:
        schema.add_lane(c, "l2")
        with pytest.raises(StoreRefused, match="already exists"):
            schema.add_lane(c, "l2")
