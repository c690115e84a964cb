"""Bench: scan-to-screen (member panel, new basket line painted), start-up with 50k items / 100k members, RSS."""

from __future__ import annotations

import os
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from PySide6.QtWidgets import QApplication  # noqa: E402

from pos_app.app import build_terminal  # noqa: E402
from pos_app.settings import load_settings  # noqa: E402

MEMBER = "8800671208341214"


def _p95(xs: list[float]) -> float:
    return sorted(xs)[max(0, int(len(xs) * 0.95) - 1)]


def _wait(app: QApplication, cond: object, timeout: float = 5.0) -> None:
    end = time.perf_counter() + timeout
    while not cond():  # type: ignore[operator]
        app.processEvents()
        if time.perf_counter() > end:
            raise TimeoutError


def _bulk(db: Path, items: int, members: int) -> None:
    import sqlite3

    from pos_app.domain.codes import gtin_check_digit

    conn = sqlite3.connect(db)
    cols = [r[1] for r in conn.execute("PRAGMA table_info(catalogue_items)")]
    rows = []
    for i in range(items):
        body = f"69{i:010d}"
        code = body + str(gtin_check_digit(body))
        rec = {"code": code, "name_zh": f"商品{i}", "name_en": f"Item {i}", "price_fen": 100 + i % 900,
               "unit": "each", "category": "bench", "points_excluded": 0, "sku": f"B{i}"}
        rows.append(tuple(rec.get(c) for c in cols))
    conn.execute("BEGIN")
    conn.executemany(f"INSERT OR IGNORE INTO catalogue_items ({','.join(cols)}) VALUES ({','.join('?' * len(cols))})",
                     rows)
    mcols = [r for r in conn.execute("PRAGMA table_info(members)")]
    names = [c[1] for c in mcols]
    mrows = []
    for i in range(members):
        rec = {"card_no": f"8801{i:012d}", "biz_card_no": None, "name": f"会员{i}", "phone": f"139{i:08d}",
               "level": "SILVER", "points_balance": i % 5000, "points_synced": i % 5000}
        mrows.append(tuple(rec.get(n, 0 if c[3] else None) for n, c in zip(names, mcols)))
    conn.executemany(f"INSERT OR IGNORE INTO members ({','.join(names)}) VALUES ({','.join('?' * len(names))})",
                     mrows)
    conn.commit()
    conn.close()


def main() -> None:
    app = QApplication.instance() or QApplication([])
    assert isinstance(app, QApplication)
    results: list[tuple[str, str, float, float]] = []
    with tempfile.TemporaryDirectory() as tmp:
        settings = load_settings(None, env={"POS_LANGUAGE": "en"}, data_dir=Path(tmp) / "data")
        t = build_terminal(settings, demo=True, scanner_urls=("fake://",), show_wallet=False)
        t.window.show()
        view = t.window.checkout_view
        fake = t.fake_scanner()
        # scan-to-screen: member panel for a cached member
        member_ms = []
        for _ in range(40):
            t.window.controller.do_remove_member()
            app.processEvents()
            start = time.perf_counter()
            fake.feed(MEMBER, "CODE128")
            _wait(app, lambda: MEMBER[-4:] in view.member_detail.text())
            view.member_box.repaint()
            member_ms.append((time.perf_counter() - start) * 1000)
        # new basket line painted
        line_ms = []
        codes = [it.code for it in t.services.checkout.search_catalogue("69", 200)][:100]
        for code in codes:
            n = view.model.rowCount()
            start = time.perf_counter()
            fake.feed(code, "EAN13")
            _wait(app, lambda n=n: view.model.rowCount() > n)
            view.table.viewport().repaint()
            line_ms.append((time.perf_counter() - start) * 1000)
        results.append(("scan-to-screen member panel (ms)", "<= 50", statistics.median(member_ms), _p95(member_ms)))
        results.append(("scan-to-screen basket line (ms)", "<= 50", statistics.median(line_ms), _p95(line_ms)))
        # RSS after 1 000 cash sales
        ctl = t.window.controller
        session = ctl.session
        commit_ms = []
        for i in range(1000):
            sale = t.services.checkout.new_sale()
            t.services.checkout.add_scan(sale, __import__("pos_app.domain.codes", fromlist=["classify"])
                                            .classify(codes[i % len(codes)]))
            start = time.perf_counter()
            t.services.checkout.commit_cash(sale, 100_000, shift_id=session.shift_id, cashier_id=session.user_id,
                                               cashier_name=session.user_name)
            commit_ms.append((time.perf_counter() - start) * 1000)
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        results.append(("commit a paid sale (ms)", "<= 10", statistics.median(commit_ms), _p95(commit_ms)))
        results.append(("RSS after 1 000 sales (MB, peak)", "<= 250", rss, rss))
        t.shutdown()
        t.window.close()
    # start-up with 50 000 items and 100 000 members
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "data"
        settings = load_settings(None, env={"POS_LANGUAGE": "en"}, data_dir=data)
        t = build_terminal(settings, demo=True, scanner_urls=("fake://",), show_wallet=False)
        t.shutdown()
        t.window.close()
        _bulk(settings.db_path, 50_000, 100_000)
        starts = []
        for _ in range(3):
            start = time.perf_counter()
            t = build_terminal(settings, demo=True, scanner_urls=("fake://",), show_wallet=False)
            t.window.show()
            _wait(app, lambda t=t: t.window.session is not None and t.window.checkout_view.isVisible())
            app.processEvents()
            starts.append(time.perf_counter() - start)
            t.shutdown()
            t.window.close()
        results.append(("start-up to checkout, 50k items / 100k members (s)", "<= 2", statistics.median(starts),
                        max(starts)))
    print("| figure | target | median | p95 |")
    print("| --- | --- | --- | --- |")
    for name, target, med, p95 in results:
        print(f"| {name} | {target} | {med:.2f} | {p95:.2f} |")


if __name__ == "__main__":
    main()
