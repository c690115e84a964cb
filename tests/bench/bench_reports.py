"""Benchmark: X/Z report figures, PDF export, shift close and report screen for a shift of 20 000 sales."""

from __future__ import annotations

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

from tests.bench.bulk import bulk_shift_sales  # noqa: E402

SALES = 20_000
RUNS = 7


MEMBER = "8800000000001234"


def seed_shift(env: Env, shift_id: int, n: int = SALES) -> str:
    """n sales in one transaction (row counts checked): mixed cash / Alipay, members, line voids, refunds."""
    conn = env.conn
    if conn.execute("SELECT 1 FROM members WHERE card_no = ?", (MEMBER,)).fetchone() is None:
        conn.execute("INSERT INTO members (card_no, name, level, updated_at) VALUES"
                     " (?, 'M', 'VIP', '2026-01-01T00:00:00+00:00')", (MEMBER,))
    return bulk_shift_sales(conn, shift_id, n, base=env.clock.now(), cashier_ids=(1, 2), member=MEMBER)


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
        data = seed_shift(env, shift.id)
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
    print("| figure | data | target | median | p95 |")
    print("|---|---|---|---|---|")
    for name, target, values in rows:
        print(f"| {name} | {data} (row counts checked) | {target} | {statistics.median(values):.1f} ms |"
              f" {p95(values):.1f} ms |")


if __name__ == "__main__":
    main()
