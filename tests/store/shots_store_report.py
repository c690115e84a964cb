"""Screenshots of the supervisor's store report at 1024x768 (not a test; run by hand):

    QT_QPA_PLATFORM=offscreen .venv/bin/python -m tests.store.shots_store_report docs/screenshots/store-pc

A real PostgreSQL (started here, as the tests do), two real lanes with cash sales, the real dialog offscreen:
en — store X with lane2 not complete and a lane notice; zh_CN — the store Z closed over lane2 (PROVISIONAL).
"""

from __future__ import annotations

import random
import sys
import tempfile
from pathlib import Path
from typing import Any

import psycopg
from PySide6.QtWidgets import QApplication

from pos_app.runtime import SystemClock
from pos_app.services.store_reports import StoreReportService
from pos_app.store import schema
from pos_app.store.report_port import StoreReportsClient
from pos_app.ui.i18n import Translator
from pos_app.ui.store_report_view import StoreReportDialog
from pos_app.ui.style import apply_style
from pos_app.ui.workers import TaskRunner
from tests.pgserver import PgServer
from tests.reliability.harness.env import SUPERVISOR
from tests.store.conftest import StoreDb
from tests.store.lanekit import make_lane
from tests.store.test_store_report_ui import _close_shift


def _wait(app: QApplication, dialog: StoreReportDialog) -> None:
    import time

    end = time.monotonic() + 20
    while dialog.panel.busy and time.monotonic() < end:
        app.processEvents()
        time.sleep(0.01)
    app.processEvents()


def main(out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    app = QApplication.instance() or QApplication([])
    assert isinstance(app, QApplication)
    server = PgServer().init().start()
    try:
        dsn = server.create_database("store")
        with psycopg.connect(dsn, autocommit=True) as c:
            prefix = schema.init_store(c)
        db = StoreDb(server, "store", dsn, prefix)
        tmp = Path(tempfile.mkdtemp(prefix="store-shots-"))
        lanes = [make_lane(tmp, db, "lane1"), make_lane(tmp, db, "lane2")]
        rng = random.Random(5)
        for lane, n in zip(lanes, (14, 9), strict=True):
            for _ in range(n):
                lane.sell(rng)
        _close_shift(lanes[0])
        for lane in lanes:
            lane.uplink().push()
        with db.admin() as c:
            c.execute("INSERT INTO pos.lane_notice (lane_id, kind, detail) SELECT lane_id, 'new_epoch', "
                      "'{\"old_acked_seq\": 41}' FROM pos.lane WHERE name = 'lane2'")
        lane1 = lanes[0]
        for language in ("en", "zh_CN"):
            apply_style(app, language)
            service = StoreReportService(StoreReportsClient(lane1.conninfo, deadline_s=5), lane1.svc.uow,
                                         SystemClock())
            tasks = TaskRunner()

            def approve(_parent: Any) -> Any:
                return lane1.svc.users.approve("store_close_override", "Store Z", SUPERVISOR[0], SUPERVISOR[1],
                                               "lane_offline", note="lane2 counted by hand")

            dialog = StoreReportDialog({"service": service, "tasks": tasks, "user_name": SUPERVISOR[2],
                                        "user_id": None, "ask_override": approve,
                                        "confirm": lambda _p, _q: True}, Translator(language))
            dialog.resize(1024, 768)
            dialog.show()
            _wait(app, dialog)
            if language == "zh_CN":
                dialog.panel.close_day()
                _wait(app, dialog)
                dialog.panel.close_with_override()
                _wait(app, dialog)
            dialog.grab().save(str(out / f"store-report-{language}.png"))
            dialog.close()
            tasks.wait_idle(5000)
            service.close()
        for lane in lanes:
            lane.close()
    finally:
        server.destroy()


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "docs/screenshots/store-pc"))
