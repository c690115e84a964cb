"""Benchmark: X/Z report figures, PDF export, shift close and report screen for a shift of 20 000 sales."""

from __future__ import annotations

import datetime as dt
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "integration" / "reports"))
from _shift_env import Env, make_env  # noqa: E402

SALES = 20_000
RUNS = 7


def seed_shift(env: Env, shift_id: int, n: int = SALES) -> None:
    """n sales in one transaction: mixed cash (with change) / Alipay, members, some line voids and refunds."""
    conn = env.conn
    base = env.clock.now()
    start = int(conn.execute("SELECT coalesce(max(id), 0) FROM sales").fetchone()[0])
    conn.execute("INSERT OR IGNORE INTO members (card_no, name, level, updated_at) VALUES"
                 " ('8800000000001234', 'M', 'VIP', '2026-01-01T00:00:00+00:00')")
    conn.execute("BEGIN")
    sales, lines, tenders, refunds = [], [], [], []
    for i in range(n):
        sid = start + i + 1
        at = (base + dt.timedelta(seconds=i * 2)).isoformat()
        total = 500 + (i * 37) % 9000
        member = "8800000000001234" if i % 3 == 0 else None
        sales.append((sid, f"B{sid:09d}", shift_id, 1 + (i % 2) * 2 - (i % 2), member, total + 100, 100, total,
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
            refunds.append((sid, shift_id, f"RQ{sid}", "cash" if i % 400 else "alipay", 100, at))
    conn.executemany("INSERT INTO sales (id, receipt_no, shift_id, terminal_id, cashier_id, card_no, state,"
                     " gross_fen, discount_fen, total_fen, points_redeemed, points_earned, started_at, committed_at,"
                     " receipt_hash) VALUES (?, ?, ?, 'T01', ?, ?, 'paid', ?, ?, ?, ?, ?, ?, ?, ?)",
                     [(s[0], s[1], s[2], 1 if s[0] % 2 else 2, *s[4:]) for s in sales])
    conn.executemany("INSERT INTO sale_lines (sale_id, line_no, code, name, quantity, unit_price_fen, amount_fen,"
                     " voided) VALUES (?, ?, ?, ?, ?, ?, ?, ?)", lines)
    conn.executemany("INSERT INTO tenders (sale_id, kind, amount_fen, tendered_fen, change_fen)"
                     " VALUES (?, ?, ?, ?, ?)", tenders)
    conn.executemany("INSERT INTO refunds (sale_id, shift_id, out_request_no, method, amount_fen, state, reason,"
                     " cashier_id, created_at) VALUES (?, ?, ?, ?, ?, 'done', 'r', 1, ?)", refunds)
    conn.execute("COMMIT")


def timed(fn: Callable[[], object], runs: int = RUNS) -> list[float]:
    out = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t0) * 1000)
    return out


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def main() -> None:
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance() or QApplication([])
    rows: list[tuple[str, str, list[float]]] = []
    with tempfile.TemporaryDirectory() as tmp:
        env = make_env(Path(tmp) / "pos.sqlite3")
        shift = env.shifts.open_shift(env.cashier, float_fen=50_000)
        seed_shift(env, shift.id)
        rows.append(("X report figures + text, 20 000 sales", "≤ 300 ms", timed(lambda: env.reports.x_report())))
        from pos_app.ui.report_export import PAGE_80MM, export_pdf

        figures = env.reports.x_report().figures
        rows.append(("PDF export A4", "≤ 1 s", timed(lambda: export_pdf(figures, Path(tmp) / "x.pdf"), 5)))
        rows.append(("PDF export 80 mm", "≤ 1 s",
                     timed(lambda: export_pdf(figures, Path(tmp) / "x80.pdf", page=PAGE_80MM), 5)))
        from pos_app.ui.reports_view import ReportsView

        def open_screen() -> None:
            view = ReportsView(env.reports)
            view.show()
            app.processEvents()
            view.close()
            view.deleteLater()

        rows.append(("Report screen open (X + chart + Z list)", "≤ 500 ms", timed(open_screen, 5)))
        closes: list[float] = []
        z_reads: list[float] = []
        for k in range(3):
            if k:
                shift = env.shifts.open_shift(env.cashier, float_fen=50_000)
                seed_shift(env, shift.id)
            t0 = time.perf_counter()
            result = env.shifts.close_shift({}, env.cashier, env.users.approve(
                "close_difference", "", "9001", "1357", "other", "bench"))
            closes.append((time.perf_counter() - t0) * 1000)
            assert result.z.number == k + 1
            z_reads.extend(timed(lambda: env.reports.z_report(), 3))
        rows.append(("Close shift (figures + Z stored), 20 000 sales", "≤ 1 s", closes))
        rows.append(("Z report reprint (stored)", "≤ 300 ms", z_reads))
        env.conn.close()
    print("| figure | target | median | p95 |")
    print("|---|---|---|---|")
    for name, target, values in rows:
        print(f"| {name} | {target} | {statistics.median(values):.1f} ms | {p95(values):.1f} ms |")


if __name__ == "__main__":
    main()
