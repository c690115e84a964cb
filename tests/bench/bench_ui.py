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
from tests.bench.bulk import bulk_items, bulk_members, item_code  # noqa: E402

MEMBER = "8800671208341214"


def _p95(xs: list[float]) -> float:
    return sorted(xs)[max(0, int(len(xs) * 0.95) - 1)]


def _wait(app: QApplication, cond: object, timeout: float = 5.0) -> None:
    end = time.perf_counter() + timeout
    while not cond():  # type: ignore[operator]
        app.processEvents()
        if time.perf_counter() > end:
            raise TimeoutError


def _bulk(db: Path, items: int, members: int) -> str:
    """Real catalogue items and members through the import paths; raises ShortInsert if any row is missing."""
    from pos_app.storage.db import connect

    conn = connect(db)
    try:
        return f"{bulk_items(conn, items)} + {bulk_members(conn, members)}"
    finally:
        conn.close()


def _demo_data(db: Path) -> str:
    """What the database holds, counted (the data column of RESULTS.md)."""
    from pos_app.storage.db import connect

    conn = connect(db)
    try:
        items = conn.execute("SELECT count(*) FROM catalogue_items WHERE active = 1").fetchone()[0]
        members = conn.execute("SELECT count(*) FROM members").fetchone()[0]
    finally:
        conn.close()
    return f"{items:,} active items, {members:,} members"


def main() -> None:
    app = QApplication.instance() or QApplication([])
    assert isinstance(app, QApplication)
    results: list[tuple[str, str, str, float, float]] = []
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
        demo = _demo_data(settings.db_path)
        results.append(("scan-to-screen member panel (ms)", demo, "<= 50", statistics.median(member_ms),
                        _p95(member_ms)))
        results.append(("scan-to-screen basket line (ms)", demo, "<= 50", statistics.median(line_ms), _p95(line_ms)))
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
        results.append(("commit a paid sale (ms)", demo, "<= 10", statistics.median(commit_ms), _p95(commit_ms)))
        results.append(("RSS after 1 000 sales (MB, peak)", demo, "<= 250", rss, rss))
        t.shutdown()
        t.window.close()
    # start-up with 50 000 items and 100 000 members
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "data"
        settings = load_settings(None, env={"POS_LANGUAGE": "en"}, data_dir=data)
        t = build_terminal(settings, demo=True, scanner_urls=("fake://",), show_wallet=False)
        t.shutdown()
        t.window.close()
        start_data = _bulk(settings.db_path, 50_000, 100_000)
        starts = []
        for _ in range(3):
            start = time.perf_counter()
            t = build_terminal(settings, demo=True, scanner_urls=("fake://",), show_wallet=False)
            t.window.show()
            _wait(app, lambda t=t: t.window.session is not None and t.window.checkout_view.isVisible())
            app.processEvents()
            starts.append(time.perf_counter() - start)
            found = t.services.checkout.find_product(item_code(49_999))
            assert found is not None, "the 50 000th bench item is not in the catalogue the terminal sees"
            t.shutdown()
            t.window.close()
        results.append(("start-up to checkout (s; p95 = max of 3 starts)", _demo_data(settings.db_path)
                        + f" (bulk: {start_data})", "<= 2", statistics.median(starts), max(starts)))
    print("| figure | data | target | median | p95 |")
    print("| --- | --- | --- | --- | --- |")
    for name, data_, target, med, p95 in results:
        print(f"| {name} | {data_} | {target} | {med:.2f} | {p95:.2f} |")


if __name__ == "__main__":
    main()
