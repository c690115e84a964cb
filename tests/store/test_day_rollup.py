"""Store X/Z read per-day rollups kept in the ingest's transaction (store schemas 40, 41): they must equal the sums
over the sale and tender rows themselves (and the lanes not complete on a day, the events themselves), after
re-sends, for several lanes and days, and after the migrations fill them from rows that were there before."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import psycopg
from psycopg.types.json import Jsonb

from pos_app.store import reports, schema

D1, D2 = dt.date(2026, 11, 30), dt.date(2026, 12, 1)


def _sale(seq: int, day: dt.date, total: int, cashier: str, member: str = "", tenders: Any = None) -> dict:
    body = {"receipt_no": f"R{seq}", "shift_no": 1, "cashier": cashier, "member_id": member, "gross_fen": total + 10,
            "discount_fen": 10, "total_fen": total, "points_earned": total // 100 if member else 0,
            "points_redeemed": 100 if member and seq % 2 else 0,
            "tenders": tenders or [{"kind": "cash", "amount_fen": total}]}
    return {"event_id": str(uuid.uuid4()), "seq": seq, "kind": "sale", "business_date": day.isoformat(),
            "occurred_at": f"{day.isoformat()}T03:00:00+00:00", "body": body}


def _push(conn: psycopg.Connection, epoch: str, rows: list[dict]) -> None:
    answer = conn.execute("SELECT pos.ingest_batch(%s, %s, %s, now())",
                          (epoch, rows[0]["seq"], Jsonb(rows))).fetchone()[0]
    assert answer["acked_seq"] == rows[-1]["seq"], answer


def _sell(store_db: Any, admin: psycopg.Connection, name: str, rows: list[dict]) -> None:
    creds = schema.add_lane(admin, name)
    with psycopg.connect(store_db.lane_dsn(creds.role, creds.password), autocommit=True) as c:
        epoch = str(uuid.uuid4())
        c.execute("SELECT pos.heartbeat(%s, 0, 0, 0, now())", (epoch,))
        _push(c, epoch, rows[:3])
        _push(c, epoch, rows)            # a re-send overlapping the first batch: absorbed, not counted twice


def _from_rows(c: psycopg.Connection, first: dt.date, last: dt.date) -> dict[str, Any]:
    """The figures computed straight from pos.sale / pos.tender (what the reports did before the rollups)."""
    p = (first, last)
    return {
        "lanes": {n: (int(k), int(t)) for n, k, t in c.execute(
            "SELECT l.name, count(s.event_id), coalesce(sum(s.total_fen), 0) FROM pos.lane l LEFT JOIN pos.sale s "
            "ON s.lane_id = l.lane_id AND s.business_date BETWEEN %s AND %s GROUP BY l.name", p)},
        "tenders": {(n, k): int(a) for n, k, a in c.execute(
            "SELECT l.name, t.kind, sum(t.amount_fen) FROM pos.tender t JOIN pos.lane l USING (lane_id) "
            "WHERE t.business_date BETWEEN %s AND %s GROUP BY 1, 2", p)},
        "cashiers": {k: (int(n), int(t)) for k, n, t in c.execute(
            "SELECT cashier, count(*), sum(total_fen) FROM pos.sale WHERE business_date BETWEEN %s AND %s "
            "GROUP BY cashier", p)},
        "members": tuple(int(x) for x in c.execute(
            "SELECT count(DISTINCT member_id), coalesce(sum(points_earned), 0), coalesce(sum(points_redeemed), 0) "
            "FROM pos.sale WHERE business_date BETWEEN %s AND %s AND member_id IS NOT NULL", p).fetchone()),
    }


_INCOMPLETE_FROM_EVENTS = """
    WITH traded AS (SELECT e.lane_id, e.lane_epoch, max(e.lane_seq) AS last_seq FROM pos.event e
                     WHERE e.business_date = %s AND e.kind NOT IN ('shift_close', 'z') GROUP BY 1, 2)
    SELECT l.name, t.last_seq FROM traded t JOIN pos.lane l USING (lane_id)
     WHERE NOT EXISTS (SELECT 1 FROM pos.shift_event s WHERE s.lane_id = t.lane_id AND s.lane_epoch = t.lane_epoch
                         AND s.kind IN ('close', 'z') AND s.last_lane_seq > t.last_seq) ORDER BY 1"""


def _from_report(fig: dict[str, Any]) -> dict[str, Any]:
    return {
        "lanes": {ln["lane"]: (ln["sales"], ln["total_fen"]) for ln in fig["lanes"]},
        "tenders": {(ln["lane"], k): v for ln in fig["lanes"] for k, v in ln["tenders"].items()},
        "cashiers": {c["cashier"]: (c["sales"], c["total_fen"]) for c in fig["cashiers"]},
        "members": (fig["members"]["count"], fig["members"]["points_earned"], fig["members"]["points_redeemed"]),
    }


def _trade(store_db: Any) -> None:
    split = [{"kind": "cash", "amount_fen": 500}, {"kind": "alipay", "amount_fen": 700, "trade_no": "T1"}]
    with store_db.admin() as admin:
        close = {**_sale(6, D2, 0, "1001"), "kind": "shift_close", "body": {"shift_no": 1}}
        _sell(store_db, admin, "a", [_sale(1, D1, 1200, "1001", "M1", split), _sale(2, D1, 300, "1002"),
                                     _sale(3, D2, 800, "1001", "M2"), _sale(4, D2, 450, "1001", "M1"),
                                     _sale(5, D2, 999, "1003", "M3"), close])
        _sell(store_db, admin, "b", [_sale(1, D1, 2000, "1001", "M1"), _sale(2, D2, 150, "1002", "M2"),
                                     _sale(3, D2, 620, "1002")])


def _assert_reports_equal_rows(store_db: Any) -> None:
    with store_db.admin() as c:
        for first, last in ((D1, D1), (D2, D2), (D1, D2)):
            assert _from_report(reports.store_figures(c, first, last)) == _from_rows(c, first, last)
        for day in (D1, D2):
            fig = reports.store_figures(c, day)
            assert [(m["lane"], m["last_seq_of_day"]) for m in fig["incomplete_lanes"]] == \
                [tuple(r) for r in c.execute(_INCOMPLETE_FROM_EVENTS, (day,))]
        one_day = reports.store_figures(c, D1)
    assert one_day["sales"] == 3 and one_day["total_fen"] == 3500 and one_day["members"]["count"] == 1
    assert [m["lane"] for m in one_day["incomplete_lanes"]] == ["b"]      # lane a closed its shift after both days


def test_store_figures_from_the_rollups_equal_the_rows(store_db):
    _trade(store_db)
    _assert_reports_equal_rows(store_db)


def test_the_migrations_fill_the_rollups_from_the_rows_already_there(store_db):
    with store_db.admin() as c:                 # as a store at schema 10 had them: sales but no rollups yet
        with c.transaction():
            c.execute("DROP TRIGGER sale_roll_up ON pos.sale; DROP TRIGGER tender_roll_up ON pos.tender; "
                      "DROP TRIGGER event_roll_up ON pos.event; DROP FUNCTION pos.roll_up_sales(), "
                      "pos.roll_up_tenders(), pos.roll_up_events(); DROP INDEX pos.shift_event_close; "
                      "DROP TABLE pos.day_lane, pos.day_cashier, pos.day_tender, pos.day_member, pos.day_lane_seq; "
                      "DELETE FROM pos.schema_migration WHERE version IN (40, 41)")
    try:
        _trade(store_db)
        with store_db.admin() as c:
            assert schema.migrate(c) == [40, 41]
        _assert_reports_equal_rows(store_db)
    finally:
        with store_db.admin() as c:             # the session's template keeps the schema either way
            schema.migrate(c)
