"""Shop data in and out: catalogue import (CSV, XLSX, 1 % bad rows), members import, a day's export, scans after.

``main()`` prints a Markdown table (as run_all.py expects); ``python tests/bench/bench_import.py --write``
also puts it into RESULTS.md under "## bench_import". Targets (issue 12): 50 000 items CSV ≤ 3 s,
XLSX ≤ 10 s, the same with 1 % bad rows reports every one in the same time, 100 000 members ≤ 10 s,
export of a 20 000-sale day ≤ 2 s, a scan after the import ≤ 1 ms p95. ``BENCH_IMPORT_SCALE=0.1`` runs
a tenth of the sizes (a quick look on a busy machine; the figures are then not the targets').
"""

from __future__ import annotations

import csv
import datetime as dt
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(ROOT))

from pos_app.alipay.card_requests import AlipayCardRequests  # noqa: E402
from pos_app.dataio.catalogue import parse_catalogue  # noqa: E402
from pos_app.dataio.members import parse_members  # noqa: E402
from pos_app.dataio.tables import read_table, write_xlsx  # noqa: E402
from pos_app.domain.codes import classify, gtin_check_digit  # noqa: E402
from pos_app.services.ports.clock import BEIJING  # noqa: E402
from pos_app.storage.catalogue import SqliteCatalogue  # noqa: E402
from pos_app.storage.catalogue_import import apply_catalogue  # noqa: E402
from pos_app.storage.db import Database  # noqa: E402
from pos_app.storage.journal_export import COLUMNS, journal_rows  # noqa: E402
from pos_app.storage.members_import import apply_members  # noqa: E402

SCALE = float(os.environ.get("BENCH_IMPORT_SCALE", "1"))
ITEMS = int(50_000 * SCALE)
MEMBERS = int(100_000 * SCALE)
SALES = int(20_000 * SCALE)
HEAD = ["item code", "barcodes", "name (Chinese)", "name (English)", "category", "unit", "price", "member price",
        "tax rate", "weighed", "no points", "active"]
NOW = dt.datetime(2026, 11, 25, 4, 0, tzinfo=dt.UTC)


def _ean(n: int) -> str:
    body = f"690{n:09d}"
    return body + str(gtin_check_digit(body))


def _rows(n: int, bad_every: int = 0) -> list[list[str]]:
    rows = []
    for i in range(n):
        price = f"{1 + i % 300}.{i % 100:02d}"
        barcode = _ean(i)
        if bad_every and i % bad_every == 7:
            kind = (i // bad_every) % 3
            if kind == 0:
                price = "12,3x"
            elif kind == 1:
                barcode = barcode[:-1] + str((int(barcode[-1]) + 1) % 10)
            else:
                barcode = _ean(i - 1)  # duplicate of the row before
        rows.append([f"A{i:07d}", barcode, f"商品{i}", f"Item {i}", f"cat{i % 40}", "个", price,
                     "", "13%" if i % 5 else "9%", "0", "0", "1"])
    return rows


def _csv(path: Path, rows: list[list[str]], headers: list[str] = HEAD) -> Path:
    with path.open("w", encoding="utf-8-sig", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(headers)
        w.writerows(rows)
    return path


class _Took(float):
    """Wall seconds, printed with the process CPU seconds beside (on a busy machine CPU is the honest figure)."""

    cpu: float

    def __format__(self, spec: str) -> str:
        return f"{float(self):{spec}} s wall, CPU {self.cpu:{spec}}"


def _timed(fn):  # type: ignore[no-untyped-def]
    t, c = time.perf_counter(), time.process_time()
    result = fn()
    took = _Took(time.perf_counter() - t)
    took.cpu = time.process_time() - c
    return took, result


def _import(db: Path, path: Path) -> tuple[int, int]:
    table = read_table(path)
    records, problems = parse_catalogue(table)
    if problems:
        return 0, len(problems)
    conn = Database(db).open_and_migrate()
    try:
        s = apply_catalogue(conn, records, full=False, by_user="bench", source=path.name, sha256="-", at=NOW)
    finally:
        conn.close()
    return s.added + s.changed + s.unchanged, 0


def _seed_day(db: Path, n: int) -> None:
    conn = Database(db).open_and_migrate()
    at = NOW.isoformat()
    with conn:
        conn.execute("BEGIN")
        conn.execute("INSERT INTO users (id, number, name, role, pin_hash, created_at) VALUES"
                     " (1, '1001', 'A', 'cashier', 'x', ?)", (at,))
        conn.execute("INSERT INTO shifts (id, terminal_id, number, state, opened_by, opened_at, opening_float_fen)"
                     " VALUES (1, 'T01', 1, 'open', 1, ?, 10000)", (at,))
        conn.executemany(
            "INSERT INTO sales (id, receipt_no, shift_id, terminal_id, cashier_id, state, gross_fen, total_fen,"
            " started_at, committed_at) VALUES (?, ?, 1, 'T01', 1, 'paid', 1500, 1500, ?, ?)",
            [(i, f"R{i:010d}", at, (NOW + dt.timedelta(seconds=i)).isoformat()) for i in range(1, n + 1)])
        conn.executemany(
            "INSERT INTO sale_lines (sale_id, line_no, code, name, quantity, unit_price_fen, amount_fen)"
            " VALUES (?, ?, 'A1', 'item', 1, 500, 500)", [(i, k) for i in range(1, n + 1) for k in (1, 2, 3)])
        conn.executemany("INSERT INTO tenders (sale_id, kind, amount_fen, tendered_fen) VALUES (?, 'cash', 1500, 1500)",
                         [(i,) for i in range(1, n + 1)])
        conn.execute("COMMIT")
    conn.close()


def main() -> None:
    rows: list[tuple[str, str, str]] = []
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        good = _csv(tmp / "items.csv", _rows(ITEMS))
        took, (n, _) = _timed(lambda: _import(tmp / "a.sqlite3", good))
        rows.append((f"catalogue import, CSV, {ITEMS:,} items (read, validate, apply)", "≤ 3 s", f"{took:.2f} s"))
        again, _ = _timed(lambda: _import(tmp / "a.sqlite3", good))
        rows.append((f"re-import of the same CSV (all {n:,} unchanged)", "-", f"{again:.2f} s"))
        bad = _csv(tmp / "bad.csv", _rows(ITEMS, bad_every=100))
        took, (_, problems) = _timed(lambda: _import(tmp / "b.sqlite3", bad))
        rows.append((f"validation, CSV with 1 % bad rows ({problems:,} problems reported)", "≈ the CSV import",
                     f"{took:.2f} s"))
        xlsx = tmp / "items.xlsx"
        write_xlsx(xlsx, HEAD, _rows(ITEMS), text_columns=range(len(HEAD)))
        took, _ = _timed(lambda: _import(tmp / "c.sqlite3", xlsx))
        rows.append((f"catalogue import, XLSX, {ITEMS:,} items", "≤ 10 s", f"{took:.2f} s"))
        # scans after the import: the till's lookup path (classify + barcode + item) on the imported file
        conn = Database(tmp / "a.sqlite3").connect()
        cat = SqliteCatalogue(conn)
        rnd = random.Random(7)
        times = []
        for _ in range(2000):
            code = _ean(rnd.randrange(ITEMS))
            t = time.perf_counter()
            item = cat.get(classify(code).item_code)
            times.append(time.perf_counter() - t)
            assert item is not None
        conn.close()
        p95 = statistics.quantiles(times, n=20)[18] * 1000
        rows.append(("scan after the import: classify + lookup by barcode", "≤ 1 ms p95",
                     f"{statistics.median(times) * 1000:.3f} ms median, {p95:.3f} ms p95"))
        members = _csv(tmp / "members.csv", [[f"8800{i:012d}", f"138{i:08d}", f"会员{i}", "GOLD", str(i % 5000),
                                              f"BC{i:08d}" if i % 10 == 0 else ""] for i in range(MEMBERS)],
                       headers=["card number", "phone", "name", "level", "opening points", "alipay card number"])

        def members_import() -> int:
            table = read_table(members)
            parsed, problems = parse_members(table, member_pattern=r"^8800\d{12}$")
            assert not problems, problems[:3]
            conn = Database(tmp / "m.sqlite3").open_and_migrate()
            try:
                s = apply_members(conn, parsed, by_user="bench", source="members.csv", at=NOW,
                                  card_requests=AlipayCardRequests())
            finally:
                conn.close()
            return s.added

        took, added = _timed(members_import)
        rows.append((f"members import, CSV, {added:,} members (ledger + audit each, card.update for 10 %)",
                     "≤ 10 s", f"{took:.2f} s"))
        _seed_day(tmp / "d.sqlite3", SALES)

        def export() -> int:
            from pos_app.dataio.journal import write_journal

            conn = Database(tmp / "d.sqlite3").open_and_migrate()
            try:
                day = NOW.astimezone(BEIJING).date()
                return write_journal(tmp / "day.csv", "csv", COLUMNS,
                                     journal_rows(conn, day, day, tz=BEIJING, now=NOW + dt.timedelta(days=1)))
            finally:
                conn.close()

        took, n_rows = _timed(export)
        rows.append((f"export of a {SALES:,}-sale day, CSV ({n_rows:,} rows, first numbering)", "≤ 2 s",
                     f"{took:.2f} s"))
        took, _ = _timed(export)
        rows.append(("the same export again (rows already numbered)", "-", f"{took:.2f} s"))
    scale = "" if SCALE == 1 else f" (BENCH_IMPORT_SCALE={SCALE}: sizes scaled, not the targets' sizes)"
    print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}{scale}\n")
    print("| figure | target | measured (wall, CPU) |\n|---|---|---|")
    for figure, target, measured in rows:
        print(f"| {figure} | {target} | {measured} |")


if __name__ == "__main__":
    import contextlib
    import io

    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        main()
    print(buf.getvalue(), end="")
    if "--write" in sys.argv:
        results = HERE / "RESULTS.md"
        text = results.read_text(encoding="utf-8") if results.exists() else "# Benchmark results\n"
        stamp = f"{dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC, `python tests/bench/bench_import.py --write`"
        section = f"## bench_import\n\nRun: {stamp}\n\n{buf.getvalue().strip()}\n"
        start = text.find("## bench_import")
        if start >= 0:
            end = text.find("\n## ", start + 1)
            text = text[:start] + section + (text[end + 1:] if end >= 0 else "")
        else:
            text = text.rstrip("\n") + "\n\n" + section
        results.write_text(text, encoding="utf-8")
