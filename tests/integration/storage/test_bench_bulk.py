"""The benchmarks' bulk loaders insert exactly what they claim, and refuse a short insert (issue 18)."""

from __future__ import annotations

import datetime as dt
import sqlite3
from pathlib import Path

import pytest

from pos_app.storage.db import Database
from pos_app.storage.errors import StorageBug
from tests.bench.bulk import (
    ShortInsert,
    bulk_items,
    bulk_members,
    bulk_outbox_backlog,
    bulk_shift_sales,
    item_code,
)

BASE = dt.datetime(2026, 11, 22, 2, 0, tzinfo=dt.UTC)


@pytest.fixture
def conn(tmp_path: Path) -> sqlite3.Connection:
    c = Database(tmp_path / "pos.sqlite3").open_and_migrate()
    c.execute("INSERT INTO users (id, number, name, role, pin_hash, created_at) VALUES"
              " (1, '1001', 'A', 'cashier', 'x', '2026-01-01'), (2, '1002', 'B', 'cashier', 'x', '2026-01-01')")
    c.execute("INSERT INTO shifts (id, terminal_id, number, state, opened_by, opened_at, opening_float_fen)"
              " VALUES (1, 'T01', 1, 'open', 1, '2026-01-01', 0)")
    return c


def _drop_every_7th(conn: sqlite3.Connection, table: str) -> None:
    """A silent short insert: SQLite skips the row without an error, as INSERT OR IGNORE did."""
    conn.execute(f"CREATE TRIGGER drop_some BEFORE INSERT ON {table} "
                 f"WHEN (SELECT count(*) FROM {table}) % 7 = 6 BEGIN SELECT RAISE(IGNORE); END")


def _backlog(conn: sqlite3.Connection, cards: int = 8, rows: int = 40) -> str:
    biz = {f"88{i:014d}": f"BIZ{i:010d}" for i in range(cards)}
    return bulk_outbox_backlog(conn, cards=cards, rows=rows, trades=["2026000001", "2026000002"], biz=biz,
                               base=BASE)


def _sales(conn: sqlite3.Connection, n: int = 450) -> str:
    conn.execute("INSERT INTO members (card_no, name, level, updated_at) VALUES ('8800000000001234', 'M', 'V', 'x')")
    return bulk_shift_sales(conn, 1, n, base=BASE, member="8800000000001234")


def test_loaders_insert_exactly_what_they_say(conn: sqlite3.Connection) -> None:
    assert bulk_items(conn, 120) == "120 active catalogue items"
    assert conn.execute("SELECT count(*) FROM catalogue_items WHERE active = 1 AND code = ?",
                        (item_code(119),)).fetchone()[0] == 1
    assert bulk_members(conn, 80) == "80 members"
    assert conn.execute("SELECT count(*) FROM members").fetchone()[0] == 80
    assert _backlog(conn) == "40-row sync backlog over 8 cards"
    assert conn.execute("SELECT count(*) FROM outbox WHERE state = 'pending'").fetchone()[0] == 40
    assert _sales(conn) == "450-sale shift"
    assert conn.execute("SELECT count(*) FROM sales WHERE shift_id = 1").fetchone()[0] == 450
    assert conn.execute("SELECT count(*) FROM refunds").fetchone()[0] == 3


# A dropped parent row (member, sale) is refused by its child's foreign key before the count is checked;
# either way the loader stops with an error instead of running the benchmark on less data.
@pytest.mark.parametrize(("table", "load", "refusal"), [
    ("catalogue_items", lambda c: bulk_items(c, 50), ShortInsert),
    ("members", lambda c: bulk_members(c, 50), (sqlite3.IntegrityError, StorageBug)),
    ("points_ledger", lambda c: bulk_members(c, 50), ShortInsert),
    ("outbox", _backlog, ShortInsert),
    ("members", _backlog, ShortInsert),
    ("sales", _sales, sqlite3.IntegrityError),
    ("sale_lines", _sales, ShortInsert),
    ("tenders", _sales, ShortInsert),
    ("refunds", lambda c: _sales(c, 2000), ShortInsert),
])
def test_each_loader_refuses_a_short_insert(conn: sqlite3.Connection, table: str, load: object,
                                            refusal: type[Exception] | tuple[type[Exception], ...]) -> None:
    _drop_every_7th(conn, table)
    with pytest.raises(refusal, match=f"{table}: meant to insert" if refusal is ShortInsert else "FOREIGN KEY"):
        load(conn)  # type: ignore[operator]
    assert conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0] < 50  # the set-up stopped, nothing hidden


def test_items_loaded_inactive_are_refused(conn: sqlite3.Connection) -> None:
    """The original fault: rows that arrive but are not usable items (active = 0 / NULL) do not count."""
    conn.execute("CREATE TRIGGER inactive AFTER INSERT ON catalogue_items BEGIN "
                 "UPDATE catalogue_items SET active = 0 WHERE code = NEW.code; END")
    with pytest.raises(ShortInsert, match="active"):
        bulk_items(conn, 20)


def test_bench_set_up_has_no_insert_or_ignore() -> None:
    bench = Path(__file__).resolve().parents[2] / "bench"
    offenders = [p.name for p in bench.glob("*.py")
                 if "insert or ignore" in p.read_text(encoding="utf-8").lower()
                 or "insert or replace" in p.read_text(encoding="utf-8").lower()]
    assert offenders == []
