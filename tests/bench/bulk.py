"""Bulk loaders for the benchmarks: each inserts what it says or raises ``ShortInsert``.

A benchmark that silently runs on less data than it claims measures the wrong thing (issue 18: an
insert that ignored conflicts, of ``active=NULL``, dropped all 50 000 items and "start-up with 50 k
items" ran on the demo catalogue). So: no conflict-ignoring or replacing inserts, every loader counts the rows
of every table it fills before and after and raises when the difference is not what it meant to
insert, and each returns a one-line description of the data for the RESULTS.md row.
``tests/integration/storage/test_bench_bulk.py`` proves each loader refuses a short insert.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

__all__ = ["ShortInsert", "expect_rows", "bulk_items", "bulk_members", "bulk_outbox_backlog", "bulk_shift_sales",
           "item_code", "data_line", "seed_sandbox_cards", "bulk_card_members"]


class ShortInsert(AssertionError):
    """A bulk loader inserted fewer (or more) rows than it meant to."""


def _count(conn: sqlite3.Connection, table: str) -> int:
    return int(conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0])  # noqa: S608 - our own table names


@contextmanager
def expect_rows(conn: sqlite3.Connection, expected: Mapping[str, int]) -> Iterator[None]:
    """Raise ShortInsert unless each table gained exactly ``expected[table]`` rows inside the block."""
    before = {t: _count(conn, t) for t in expected}
    yield
    wrong = {t: _count(conn, t) - before[t] for t in expected}
    wrong = {t: got for t, got in wrong.items() if got != expected[t]}
    if wrong:
        raise ShortInsert("bulk load incomplete: " + ", ".join(
            f"{t}: meant to insert {expected[t]}, {got} arrived" for t, got in sorted(wrong.items())))


def _in_transaction(conn: sqlite3.Connection, fn: Callable[[], None]) -> None:
    conn.execute("BEGIN IMMEDIATE")
    try:
        fn()
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


def item_code(i: int) -> str:
    """The EAN-13 of bench item ``i`` (prefix 69, check digit computed)."""
    from pos_app.domain.codes import gtin_check_digit

    body = f"69{i:010d}"
    return body + str(gtin_check_digit(body))


def bulk_items(conn: sqlite3.Connection, n: int, *, start: int = 0) -> str:
    """``n`` real, active catalogue items through the catalogue import path (``storage.seed.load_catalogue``)."""
    from pos_app.domain.catalogue import CatalogueItem
    from pos_app.storage.seed import load_catalogue

    items = [CatalogueItem(item_code(i), f"商品{i}", f"Item {i}", 100 + i % 5000, category="bench")
             for i in range(start, start + n)]
    with expect_rows(conn, {"catalogue_items": n}):
        load_catalogue(conn, items)
    active = int(conn.execute("SELECT count(*) FROM catalogue_items WHERE active = 1 AND code LIKE '69%'"
                              ).fetchone()[0])
    if active < n:
        raise ShortInsert(f"catalogue_items: {n} bench items loaded but only {active} are active")
    return f"{n:,} active catalogue items"


def bulk_members(conn: sqlite3.Connection, n: int, *, prefix: str = "8801", start: int = 0) -> str:
    """``n`` cached members (card ``prefix`` + 12 digits) with their opening ledger entries (``load_members``)."""
    from pos_app.storage.seed import load_members

    members = [{"card_no": f"{prefix}{i:012d}", "name": f"会员{i}", "phone": f"139{i:08d}", "level": "SILVER",
                "points": i % 5000} for i in range(start, start + n)]
    with expect_rows(conn, {"members": n, "points_ledger": n}):
        load_members(conn, members)
    return f"{n:,} members"


def bulk_outbox_backlog(conn: sqlite3.Connection, *, cards: int, rows: int, trades: list[str],
                        biz: Mapping[str, str], base: dt.datetime, card_prefix: str = "88",
                        add_members: bool = True, event_prefix: str = "B") -> str:
    """A sync backlog of ``rows`` outbox rows over ``cards`` cards (alternating consume.sync / card.update,
    so nothing coalesces), in commit order interleaving the cards; with the members when ``add_members``."""
    from pos_app.alipay import card_requests as card_sync
    from pos_app.storage.outbox import enqueue

    per_card = rows // cards if rows else 0
    total = per_card * cards
    card_nos = [f"{card_prefix}{i:014d}" for i in range(cards)]

    def members() -> None:
        conn.executemany("INSERT INTO members (card_no, biz_card_no, name, level, updated_at) VALUES (?, ?, '', 'VIP1', ?)",
                         [(c, biz[c], base.isoformat()) for c in card_nos])

    def backlog() -> None:
        for r in range(per_card):
            for i, card in enumerate(card_nos):
                at = base + dt.timedelta(seconds=r * 60 + i % 60)
                points = (r + 1) * 10
                if r % 2 == 0:
                    body = card_sync.consume_sync_body(
                        card_no=card, biz_card_no=biz[card], level="VIP1", trade_no=trades[(i * 7 + r) % len(trades)],
                        trade_time=at, trade_type="TRADE", trade_name="bench", trade_amount_fen=1000,
                        act_pay_amount_fen=1000, points_after=points, points_redeemed=0, discount_fen=0,
                        shop_code="S001")
                    enqueue(conn, event_id=f"{event_prefix}{r}-{i}", kind="card.consume_sync", card_no=card, body=body,
                            method=card_sync.KIND_METHOD["card.consume_sync"],
                            created_at=at, points_after=points)
                else:
                    body = card_sync.card_update_body(card_no=card, biz_card_no=biz[card], level="VIP1",
                                                      occur_time=at, points_after=points, changed_point=10)
                    enqueue(conn, event_id=f"{event_prefix}{r}-{i}", kind="card.update", card_no=card, body=body, created_at=at,
                            method=card_sync.KIND_METHOD["card.update"],
                            points_after=points)

    if add_members:
        with expect_rows(conn, {"members": cards}):
            _in_transaction(conn, members)
    if total == 0:
        return f"{cards:,} card members"
    with expect_rows(conn, {"outbox": total}):
        _in_transaction(conn, backlog)
    return f"{total:,}-row sync backlog over {cards:,} cards"


def bulk_card_members(conn: sqlite3.Connection, biz: Mapping[str, str], *, base: dt.datetime,
                      card_prefix: str = "88") -> str:
    """The members of the cards in ``biz`` (external card no -> biz card no), as the sync backlog needs them."""
    cards = sum(1 for c in biz if c.startswith(card_prefix))
    return bulk_outbox_backlog(conn, cards=cards, rows=0, trades=[], biz=biz, base=base, card_prefix=card_prefix)


def bulk_shift_sales(conn: sqlite3.Connection, shift_id: int, n: int, *, base: dt.datetime,
                     cashier_ids: tuple[int, int] = (1, 2), member: str | None = None,
                     terminal_id: str = "T01") -> str:
    """``n`` committed sales in shift ``shift_id``: mixed cash (with change) / Alipay, a third with ``member``
    (which must exist), a voided line every 50th sale, a refund every 200th."""
    start = int(conn.execute("SELECT coalesce(max(id), 0) FROM sales").fetchone()[0])
    sales, lines, tenders, refunds = [], [], [], []
    for i in range(n):
        sid = start + i + 1
        at = (base + dt.timedelta(seconds=i * 2)).isoformat()
        total = 500 + (i * 37) % 9000
        card = member if (member and i % 3 == 0) else None
        sales.append((sid, f"B{sid:09d}", shift_id, terminal_id, cashier_ids[i % 2], card, total + 100, 100, total,
                      i % 5, total // 100, at, at, f"hash{sid}"))
        lines.append((sid, 1, "X", "item", 1, total + 100, total + 100, 0))
        if i % 50 == 0:
            lines.append((sid, 2, "V", "voided", 1, 300, 300, 1))
        if i % 2:
            tenders.append((sid, "alipay", total, total, 0))
        else:
            tendered = ((total // 1000) + 1) * 1000
            tenders.append((sid, "cash", total, tendered, tendered - total))
        if i % 200 == 0:
            refunds.append((sid, shift_id, f"RQ{sid}", "cash" if i % 400 else "alipay", 100, cashier_ids[0], at))

    def insert() -> None:
        conn.executemany("INSERT INTO sales (id, receipt_no, shift_id, terminal_id, cashier_id, card_no, state,"
                         " gross_fen, discount_fen, total_fen, points_redeemed, points_earned, started_at,"
                         " committed_at, receipt_hash) VALUES (?, ?, ?, ?, ?, ?, 'paid', ?, ?, ?, ?, ?, ?, ?, ?)",
                         sales)
        conn.executemany("INSERT INTO sale_lines (sale_id, line_no, code, name, quantity, unit_price_fen,"
                         " amount_fen, voided) VALUES (?, ?, ?, ?, ?, ?, ?, ?)", lines)
        conn.executemany("INSERT INTO tenders (sale_id, kind, amount_fen, tendered_fen, change_fen)"
                         " VALUES (?, ?, ?, ?, ?)", tenders)
        conn.executemany("INSERT INTO refunds (sale_id, shift_id, out_request_no, method, amount_fen, state, reason,"
                         " cashier_id, created_at) VALUES (?, ?, ?, ?, ?, 'done', 'r', ?, ?)", refunds)

    with expect_rows(conn, {"sales": len(sales), "sale_lines": len(lines), "tenders": len(tenders),
                            "refunds": len(refunds)}):
        _in_transaction(conn, insert)
    return f"{n:,}-sale shift"


def seed_sandbox_cards(data: Path, cards: int, trade_pool: int = 500, card_prefix: str = "88") -> tuple[list[str], dict[str, str]]:
    """Issue ``cards`` cards and ``trade_pool`` paid trades straight into a sandbox's state (set-up only);
    returns (trade numbers, external card no -> biz card no). Raises ShortInsert if a card is missing."""
    from pos_app.sandbox import SandboxServer

    server = SandboxServer(data)
    st = server.state
    with st.lock:
        st.template_create("sandbox", {"request_id": "bench-template", "biz_no_prefix": "BNCH",
                                       "write_off_type": "barcode", "biz_no_suffix_len": 14})
        tpl = next(t for t in st.templates.values() if t["request_id"] == "bench-template")
        for i in range(cards):
            st._issue(tpl, {"external_card_no": f"{card_prefix}{i:014d}", "level": "VIP1", "point": "0"},  # noqa: SLF001
                      user_id="", name="", phone="", out_serial_no=f"bench-{i}")
        trades = []
        for i in range(trade_pool):
            r = st.pay(server.app_id, {"out_trade_no": f"BENCH{i:06d}", "auth_code": f"28{i:016d}",
                                       "subject": "bench", "total_amount": "10.00"})
            trades.append(str(r["trade_no"]))
        biz = {c["external_card_no"]: c["biz_card_no"] for c in st.cards.values()}
    st.close()
    wanted = {f"{card_prefix}{i:014d}" for i in range(cards)}
    if not wanted <= set(biz) or len(set(trades)) != trade_pool:
        raise ShortInsert(f"sandbox: meant to issue {cards} cards and {trade_pool} trades, got "
                          f"{len(wanted & set(biz))} and {len(set(trades))}")
    return trades, biz


def data_line(*parts: str) -> str:
    """The "data:" line printed above a benchmark's table (what it ran on)."""
    return "data: " + "; ".join(p for p in parts if p)
