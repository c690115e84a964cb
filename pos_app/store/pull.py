"""The lane's pull: reference data and store balances, paged by a snapshot-fenced (xid, change_seq) cursor.

Every page is read in one REPEATABLE READ transaction below the snapshot horizon
(``xid < pg_snapshot_xmin(pg_current_snapshot())``): every writing transaction below it has finished, so
no row can later appear behind the cursor. Store balances are read together with this lane's acked_seq in
the same snapshot, so the lane shows store balance + its own entries after acked_seq, never twice.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from typing import Any

import psycopg
from psycopg.rows import dict_row

from .connect import deadline, open_connection, still_open
from .errors import StoreUnavailable
from .ports import LaneJournalPort

__all__ = ["Pull", "TABLES", "PAGE"]

logger = logging.getLogger(__name__)
PAGE = 2000
TABLES: dict[str, bytes] = {
    "member": b"member_id, biz_card_no, name, phone, level, user_id, deleted",
    "item": b"code, name_zh, name_en, price_fen, unit, category, points_excluded, active, deleted, unit_label, "
            b"member_price_fen, tax_rate_bp, barcodes",
    "member_points": b"member_id, balance",
    "store_user": b"number, name, role, pin_verifier, card_code, active, deleted",
    "store_setting": b"key, value, deleted",
}


class Pull:
    def __init__(self, journal: LaneJournalPort, conninfo: str, *, deadline_s: float = 10.0,
                 clock: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC)) -> None:
        self._journal = journal
        self._conninfo = conninfo
        self._deadline_s = deadline_s
        self._clock = clock
        self._conn: psycopg.Connection[Any] | None = None
        self.rows_applied = 0

    def drop(self) -> None:
        if self._conn is not None:
            try:
                self._conn.close()
            except psycopg.Error:
                logger.debug("closing a broken store connection failed", exc_info=True)
            self._conn = None

    def step(self) -> int:
        """Pull every table until a short page; returns the rows applied."""
        if not still_open(self._conn):
            self.drop()
            self._conn = open_connection(self._conninfo)
        total = 0
        for table in TABLES:
            while True:
                try:
                    n = self._page(self._conn, table)
                except StoreUnavailable:
                    self.drop()
                    raise
                total += n
                if n < PAGE:
                    break
        self.rows_applied += total
        return total

    def _page(self, conn: psycopg.Connection[Any], table: str) -> int:
        st = self._journal.state()
        last_xid, last_seq = st.pull_cursor.get(table, [0, 0])
        query = (b"SELECT " + TABLES[table] + b", xid::text::bigint AS xid_n, change_seq FROM pos." + table.encode()
                 + b" WHERE (xid, change_seq) > (%s::text::xid8, %s)"
                 b" AND xid < pg_snapshot_xmin(pg_current_snapshot()) ORDER BY xid, change_seq LIMIT %s")
        with deadline(conn, self._deadline_s, f"pull {table}"):
            with conn.transaction():
                conn.execute(b"SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
                with conn.cursor(row_factory=dict_row) as cur:
                    rows = cur.execute(query, (str(last_xid), last_seq, PAGE)).fetchall()
                acked: int | None = None
                if table == "member_points":
                    r = conn.execute(b"SELECT acked_seq FROM pos.lane_epoch WHERE lane_id = pos.my_lane() "
                                     b"AND lane_epoch = %s", (st.lane_epoch,)).fetchone()
                    acked = int(r[0]) if r else 0
        if not rows:
            return 0
        cursor = (int(rows[-1]["xid_n"]), int(rows[-1]["change_seq"]))
        self._journal.apply_page(table, rows, cursor, acked_at_read=acked, at=self._clock())
        return len(rows)
