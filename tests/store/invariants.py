"""The invariants of STORE-MODE.md §2.5, checked between lanes' SQLite files and the store's PostgreSQL."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import psycopg

from pos_app.storage.db import connect


def check(admin_dsn: str, lanes: dict[str, Path], seeded: dict[str, int]) -> dict[str, Any]:
    """Raises AssertionError naming the broken invariant; returns figures for the report."""
    figures: dict[str, Any] = {}
    with psycopg.connect(admin_dsn, autocommit=True) as pg:
        for name, db in lanes.items():
            lane_id = pg.execute("SELECT lane_id FROM pos.lane WHERE name = %s", (name,)).fetchone()[0]
            srv_events = {str(r[0]): r[1] for r in pg.execute(
                "SELECT event_id, lane_seq FROM pos.event WHERE lane_id = %s", (lane_id,))}
            c = connect(db)
            try:
                local = {r[0]: r[1] for r in c.execute("SELECT event_id, seq FROM lane_journal")}
                tenders_local = c.execute("SELECT coalesce(sum(amount_fen), 0) FROM tenders").fetchone()[0]
                sales_local = c.execute("SELECT count(*) FROM sales").fetchone()[0]
            finally:
                c.close()
            # 1. no sale lost, lane_seq 1..n
            assert set(srv_events) == set(local), f"{name}: server and lane journals differ " \
                f"({len(set(local) - set(srv_events))} missing, {len(set(srv_events) - set(local))} extra)"
            assert sorted(srv_events.values()) == list(range(1, len(local) + 1)), f"{name}: lane_seq gaps"
            # 3. money adds up per lane
            srv_t = pg.execute("SELECT coalesce(sum(amount_fen), 0) FROM pos.tender WHERE lane_id = %s",
                               (lane_id,)).fetchone()[0]
            srv_s = pg.execute("SELECT count(*) FROM pos.sale WHERE lane_id = %s", (lane_id,)).fetchone()[0]
            assert (srv_t, srv_s) == (tenders_local, sales_local), f"{name}: money/sales differ"
            figures[name] = {"events": len(local), "sales": sales_local}
        # 2. no duplicates (the key exists; resends happened and were absorbed)
        assert pg.execute("SELECT count(*) = count(DISTINCT event_id) FROM pos.event").fetchone()[0]
        figures["resends"] = int(pg.execute("SELECT coalesce(sum(resends), 0) FROM pos.lane_epoch").fetchone()[0])
        # 4. points: cache = ledger, ledger = seeded + the lanes' own entries
        bad = pg.execute("SELECT p.member_id FROM pos.member_points p LEFT JOIN (SELECT member_id, sum(delta) s "
                         "FROM pos.points_entry GROUP BY member_id) e USING (member_id) "
                         "WHERE p.balance <> coalesce(e.s, 0)").fetchall()
        assert not bad, f"balance cache differs from the ledger for {bad}"
        local_sum: dict[str, int] = dict(seeded)
        for db in lanes.values():
            c = connect(db)
            try:
                for card, pts in c.execute("SELECT p.card_no, p.points FROM lane_journal j JOIN points_ledger p "
                                           "ON p.id = j.ref_id WHERE j.kind = 'points'"):
                    local_sum[card] = local_sum.get(card, 0) + int(pts)
            finally:
                c.close()
        srv = {r[0]: int(r[1]) for r in pg.execute("SELECT member_id, balance FROM pos.member_points")}
        assert srv == {k: v for k, v in local_sum.items() if k in srv or v}, "store balances != seeded + lanes' entries"
        # store totals = sum of lanes
        assert pg.execute("SELECT sum(total_fen) FROM pos.sale").fetchone()[0] == \
            pg.execute("SELECT sum(s) FROM (SELECT sum(total_fen) s FROM pos.sale GROUP BY lane_id) x").fetchone()[0]
    return figures
