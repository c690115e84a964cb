"""Benchmark of issue 16's integrity work: the start-up gate on a one-year database (200 000 sales, 50 000
items, 100 000 members), the commit with the keyed chain and the anchor, and the offline PIN search.

Run: ``.venv/bin/python tests/bench/bench_integrity.py [--sales N]`` (prints a Markdown table and writes the
``bench_integrity`` section of tests/bench/RESULTS.md), or through ``tests/bench/run_all.py``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

from pos_app.alipay.card_requests import AlipayCardRequests

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from pos_app.domain.catalogue import CatalogueItem  # noqa: E402
from pos_app.domain.codes import gtin_check_digit  # noqa: E402
from pos_app.domain.loyalty import LoyaltyRules  # noqa: E402
from pos_app.runtime import RandomIds, SystemClock  # noqa: E402
from pos_app.services.checkout import CheckoutConfig, CheckoutService  # noqa: E402
from pos_app.services.users import hash_pin, verify_pin  # noqa: E402
from pos_app.settings import load_settings  # noqa: E402
from pos_app.start_checks import integrity_gate, terminal_secret  # noqa: E402
from pos_app.storage import integrity  # noqa: E402
from pos_app.storage.audit import GENESIS, entry_hash  # noqa: E402
from pos_app.storage.db import Database, connect  # noqa: E402
from pos_app.storage.seed import load_catalogue, load_members  # noqa: E402
from pos_app.storage.uow import SqliteUnitOfWork  # noqa: E402

N_ITEMS = 50_000
N_MEMBERS = 100_000


def _ean(i: int) -> str:
    body = f"69{i:010d}"
    return body + str(gtin_check_digit(body))


def _p(samples: list[float], q: float) -> float:
    s = sorted(samples)
    return s[max(0, int(len(s) * q) - 1)] * 1000


def build(data: Path, n_sales: int) -> tuple[float, object]:
    """A data folder whose database holds a year of sealed, keyed sales (written directly, as the terminal would)."""
    settings = load_settings(None, data_dir=data, env={})
    secret = terminal_secret(settings)
    key = secret.key("audit")
    conn = Database(settings.db_path).open_and_migrate()
    t0 = time.perf_counter()
    conn.execute("INSERT INTO users (id, number, name, role, pin_hash, created_at) VALUES (1, '1001', 'A', 'cashier',"
                 " ?, '2026-01-01T00:00:00+00:00')", (hash_pin("4826", key=secret.key("pin")),))
    conn.execute("INSERT INTO shifts (id, terminal_id, number, state, opened_by, opened_at, opening_float_fen)"
                 " VALUES (1, 'T1', 1, 'open', 1, '2026-01-01T00:00:00+00:00', 0)")
    load_catalogue(conn, [CatalogueItem(_ean(i), f"商品{i}", f"Item {i}", 100 + i % 5000, category="c")
                          for i in range(N_ITEMS)])
    load_members(conn, [{"card_no": f"8800{i:012d}", "name": f"会员{i}", "phone": f"138{i:08d}", "level": "VIP1",
                         "points": i % 1000} for i in range(N_MEMBERS)])
    integrity.register_audit_key(conn, key, secret.path)
    start = dt.datetime(2025, 12, 1, tzinfo=dt.UTC)
    prev = GENESIS
    conn.execute("BEGIN")
    for sale_id in range(1, n_sales + 1):
        at = (start + dt.timedelta(seconds=150 * sale_id)).isoformat()
        receipt = f"R{sale_id:09d}"
        sale = (sale_id, receipt, 1, "T1", 1, None, 1200, 0, 1200, 0, 12, at, at)
        lines = [(2 * sale_id - 1, 1, _ean(sale_id % N_ITEMS), "Item", 1, "each", 500, 500, 0, 0),
                 (2 * sale_id, 2, _ean((sale_id + 7) % N_ITEMS), "Item", 1, "each", 700, 700, 0, 0)]
        tenders = [(sale_id, "cash", 1200, 2000, 800, None, "")]
        conn.execute("INSERT INTO sales (id, receipt_no, shift_id, terminal_id, cashier_id, card_no, state, gross_fen,"
                     " discount_fen, total_fen, points_redeemed, points_earned, started_at, committed_at)"
                     " VALUES (?,?,?,?,?,?,'paid',?,?,?,?,?,?,?)", sale)
        conn.executemany("INSERT INTO sale_lines (id, sale_id, line_no, code, name, quantity, unit, unit_price_fen,"
                         " amount_fen, discount_fen, voided) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                         [(ln[0], sale_id, *ln[1:]) for ln in lines])
        conn.execute("INSERT INTO tenders (id, sale_id, kind, amount_fen, tendered_fen, change_fen, attempt_id,"
                     " trade_no) VALUES (?,?,?,?,?,?,?,?)", (tenders[0][0], sale_id, *tenders[0][1:]))
        digest = integrity._digest([list(sale), [list(ln) for ln in lines], [list(t) for t in tenders]])
        detail = json.dumps({"rows_sha256": digest, "sale_id": sale_id}, sort_keys=True, separators=(",", ":"))
        h = entry_hash(prev, at, None, "", "sale.sealed", receipt, detail, key=key)
        conn.execute("INSERT INTO audit_log (at, user_id, user_name, action, subject, detail, prev_hash, hash)"
                     " VALUES (?, NULL, '', 'sale.sealed', ?, ?, ?, ?)", (at, receipt, detail, prev, h))
        prev = h
    conn.execute("COMMIT")
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    head = integrity.audit_head(conn)
    assert head is not None
    # anchored by the commits, never verified yet: the next start walks the whole chain once
    integrity.write_anchor(integrity.anchor_path_for(settings.db_path), key, integrity.Anchor(head[0], head[1], 0))
    conn.close()
    return time.perf_counter() - t0, settings


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sales", type=int, default=200_000)
    ap.add_argument("--commits", type=int, default=300)
    args = ap.parse_args(argv if argv is not None else [])
    rows: list[tuple[str, str, str, str]] = []
    notes: list[str] = []
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "data"
        data.mkdir()
        took, settings = build(data, args.sales)
        assert hasattr(settings, "db_path")
        db = settings.db_path  # type: ignore[attr-defined]
        size_mb = db.stat().st_size / 1e6
        notes.append(f"database: {args.sales:,} sealed keyed sales, {N_ITEMS:,} items, {N_MEMBERS:,} members, "
                     f"{size_mb:.0f} MB (built in {took:.0f} s)")
        secret = terminal_secret(settings)  # type: ignore[arg-type]
        key = secret.key("audit")
        # the first start after the upgrade walks everything once (no anchor yet)
        conn = connect(db)
        t0 = time.perf_counter()
        full = integrity.check(conn, key, None, full=True)
        t_full = time.perf_counter() - t0
        conn.close()
        assert full.ok, full.problems
        t0 = time.perf_counter()
        integrity_gate(settings, secret)  # type: ignore[arg-type]
        t_first = time.perf_counter() - t0
        gates = []
        for _ in range(5):
            t0 = time.perf_counter()
            Database(db).open_and_migrate().close()
            integrity_gate(settings, secret)  # type: ignore[arg-type]
            gates.append(time.perf_counter() - t0)
        conn = connect(db)
        t0 = time.perf_counter()
        integrity.quick_check(conn)
        t_quick = time.perf_counter() - t0
        conn.close()
        rows.append(("start-up gate (open + migrate + quick_check + verify since the anchor), 200k sales",
                     "≤ 2 s (whole start)", f"{statistics.median(gates):.2f} s", f"{max(gates):.2f} s (max of 5)"))
        rows.append(("  of which PRAGMA quick_check", "-", f"{t_quick:.2f} s", "-"))
        rows.append(("first start with a never-verified anchor (whole chain + every sealed sale)", "once",
                     f"{t_first:.2f} s", "-"))
        rows.append((f"`pos-app audit verify` (full: {full.entries_checked:,} entries, {full.rows_checked:,} sales)",
                     "-", f"{t_full:.2f} s", "-"))
        # commit with the keyed chain and the anchor, on the big database
        conn = connect(db)
        integrity.register_audit_key(conn, key, secret.path)
        clock, ids = SystemClock(), RandomIds("S1T1")
        checkout = CheckoutService(lambda: SqliteUnitOfWork(conn), clock, ids,
                                   CheckoutConfig(store_id="S1", terminal_id="T1", terminal_no=1, store_name="B",
                                                  loyalty=LoyaltyRules()), card_requests=AlipayCardRequests())
        from pos_app.storage.catalogue import SqliteCatalogue

        cat = SqliteCatalogue(conn)
        items = [cat.get(_ean(i)) for i in range(1, 6)]
        samples = []
        for _ in range(args.commits):
            sale = checkout.new_sale()
            for it in items:
                if it is not None:
                    sale.add_item(it, 1)
            t0 = time.perf_counter()
            checkout.commit_cash(sale, sale.totals().payable_fen, shift_id=1, cashier_id=1, cashier_name="A")
            samples.append(time.perf_counter() - t0)
        conn.close()
        rows.append((f"commit of a cash sale (5 lines) with keyed chain, seal and anchor ({args.commits} commits)",
                     "≤ 10 ms p95", f"{_p(samples, 0.5):.2f} ms", f"{_p(samples, 0.95):.2f} ms"))
        rep = integrity.check(connect(db), key, integrity.anchor_path_for(db), full=False)
        assert rep.ok and rep.rows_checked >= args.commits, rep
    # the offline PIN search
    legacy = hash_pin("4826")
    t0 = time.perf_counter()
    for _ in range(5):
        verify_pin("0000", legacy)
    per = (time.perf_counter() - t0) / 5
    keyed = hash_pin("482613", key=os.urandom(32))
    found = [pin for pin in ("482613", *(f"{i:06d}" for i in range(50))) if verify_pin(pin, keyed)]
    rows.append(("offline search of a copied database, before: one scrypt guess", "-", f"{per * 1000:.0f} ms", "-"))
    rows.append(("  before: all 4-digit PINs (10^4 guesses, 1 core)", "-", f"{per * 1e4:.0f} s", "-"))
    rows.append(("  before: all 6-digit PINs (10^6 guesses, 1 core)", "-", f"{per * 1e6 / 3600:.0f} h", "-"))
    rows.append(("  now: the right PIN tried against the keyed hash without the secret", "no match",
                 "no match" if not found else "MATCH", "search space 2^256 (the secret)"))
    out = ["| figure | target | median | p95 |", "|---|---|---|---|"]
    out += [f"| {a} | {b} | {c} | {d} |" for a, b, c, d in rows]
    text = "\n".join(f"({n})" for n in notes) + "\n\n" + "\n".join(out)
    print(text)
    if argv is not None:
        _write_results(text)


def _write_results(text: str) -> None:
    path = Path(__file__).resolve().parent / "RESULTS.md"
    report = path.read_text(encoding="utf-8") if path.exists() else "# Benchmark results\n"
    section = (f"## bench_integrity (run {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC with "
               f"`.venv/bin/python tests/bench/bench_integrity.py`)\n\n{text}\n")
    pattern = re.compile(r"## bench_integrity.*?(?=\n## |\Z)", re.S)
    report = pattern.sub(lambda _m: section.rstrip("\n"), report) if pattern.search(report) else \
        report.rstrip("\n") + "\n\n" + section
    path.write_text(report, encoding="utf-8")
    print(f"wrote {path}")


if __name__ == "__main__":
    main(sys.argv[1:])
