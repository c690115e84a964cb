"""The supervisor's store report (Shift+F9 / F9's Store tab) on real widgets offscreen, real lane SQLite files
and the session's real PostgreSQL: both lanes and the right totals, store Z refused over an incomplete lane
then overridden with a reason (PROVISIONAL, audited on the lane), a lane notice marked reviewed, exports, and a
store that stops answering gives the plain message within the deadline while the GUI thread stays free."""

from __future__ import annotations

import csv
import io
import json
import random
import time
from typing import Any

import pytest
from psycopg.conninfo import conninfo_to_dict
from PySide6.QtCore import QModelIndex, Qt
from PySide6.QtWidgets import QPushButton

from pos_app.domain.money import format_ui
from pos_app.runtime import SystemClock
from pos_app.services.store_reports import StoreReportService
from pos_app.store.connect import lane_conninfo
from pos_app.store.report_port import StoreReportsClient
from pos_app.ui.i18n import Translator
from pos_app.ui.store_report_view import UNAVAILABLE, StoreReportPanel
from pos_app.ui.workers import TaskRunner
from tests.reliability.harness.env import SUPERVISOR
from tests.store.lanekit import Lane, make_lane, server
from tests.store.tcpproxy import TcpProxy
from tests.ui.modal import click


def _close_shift(lane: Lane) -> None:
    cashier = lane.cashier()
    from pos_app.services.errors import ServiceError

    try:
        lane.svc.shifts.close_shift({}, cashier)
    except ServiceError as exc:
        assert type(exc).__name__ == "DifferenceNeedsApproval"
        approval = lane.svc.users.approve("close_difference", "close", SUPERVISOR[0], SUPERVISOR[1], "count",
                                          requested_by=cashier)
        lane.svc.shifts.close_shift({}, cashier, approval)


@pytest.fixture
def two_lanes(tmp_path: Any, store_db: Any) -> Any:
    """lane1: 3 sales, shift closed; lane2: 2 sales, shift still open; both pushed to the store."""
    lanes = [make_lane(tmp_path, store_db, "lane1"), make_lane(tmp_path, store_db, "lane2")]
    rng = random.Random(13)
    for lane, n in zip(lanes, (3, 2), strict=True):
        for _ in range(n):
            lane.sell(rng)
    _close_shift(lanes[0])
    for lane in lanes:
        lane.uplink().push()
    yield lanes
    for lane in lanes:
        lane.close()


@pytest.fixture
def services() -> Any:
    """The store report services a test made: their connections are closed after it."""
    made: list[tuple[StoreReportService, TaskRunner]] = []
    yield made
    for service, tasks in made:
        tasks.wait_idle(5000)
        service.close()


def _panel(qtbot: Any, made: Any, lane: Lane, conninfo: str | None = None, *, deadline_s: float = 3.0,
           language: str = "en", approve: Any = None, printer: Any = None) -> tuple[StoreReportPanel, StoreReportService]:
    service = StoreReportService(StoreReportsClient(conninfo or lane.conninfo, deadline_s=deadline_s),
                                 lane.svc.uow, SystemClock(), terminal_id="T1")
    tasks = TaskRunner()
    panel = StoreReportPanel(service, tasks, user_name="Supervisor", user_id=None, tr=Translator(language),
                             ask_override=approve, confirm=lambda _parent, _question: True, printer=printer)
    made.append((service, tasks))
    qtbot.addWidget(panel)
    panel.resize(1000, 680)
    panel.show()
    return panel, service


def _shown(panel: StoreReportPanel) -> list[tuple[str, str, str]]:
    m = panel.model
    return [tuple(str(m.data(m.index(r, c), Qt.ItemDataRole.DisplayRole)) for c in range(3))  # type: ignore[misc]
            for r in range(m.rowCount(QModelIndex()))]


def _load(qtbot: Any, panel: StoreReportPanel) -> None:
    before = panel._token  # noqa: SLF001
    panel.load()
    assert panel.busy                     # asked on a worker thread: the GUI thread goes on
    qtbot.waitUntil(lambda: panel._token == before + 1 and not panel.busy, timeout=10_000)  # noqa: SLF001


def test_store_x_shows_both_lanes_then_store_z_is_refused_and_overridden(qtbot: Any, tmp_path: Any, store_db: Any,
                                                                         two_lanes: Any, services: Any) -> None:
    lane1, lane2 = two_lanes
    with store_db.admin() as c:   # a lane restored from an old backup, listed for the supervisor
        c.execute("INSERT INTO pos.lane_notice (lane_id, kind, detail) SELECT lane_id, 'new_epoch', "
                  "'{\"old_acked_seq\": 5}' FROM pos.lane WHERE name = 'lane2'")
    approvals: list[Any] = []

    def approve(_parent: Any) -> Any:     # the supervisor's PIN approval (ApprovalDialog records the same)
        approvals.append(lane1.svc.users.approve("store_close_override", "Store Z", SUPERVISOR[0], SUPERVISOR[1],
                                                 "lane_offline", note="lane2 counted by hand"))
        return approvals[-1]

    printed: list[str] = []
    panel, _service = _panel(qtbot, services, lane1, approve=approve, printer=printed.append)
    _load(qtbot, panel)
    fig = panel.figures
    assert fig is not None
    per_lane = {ln.lane: (ln.sales, ln.total_fen) for ln in fig.lanes}
    srv = dict(server(store_db, "SELECT l.name, sum(t.amount_fen) FROM pos.tender t JOIN pos.lane l USING (lane_id) "
                                "GROUP BY l.name"))
    assert per_lane == {"lane1": (3, srv["lane1"]), "lane2": (2, srv["lane2"])}
    assert fig.total_fen == srv["lane1"] + srv["lane2"] and fig.sales == 5
    rows = _shown(panel)
    assert ("Per lane", "Lane lane1: 3 sales", format_ui(int(srv["lane1"]))) in rows
    assert any(r[1] == "Lane lane2: 2 sales" for r in rows)
    assert panel.banner.isVisible() and "lane2" in panel.banner.text()        # not complete on the server

    # the notice is marked reviewed (the server has pos.review_notice) and leaves the list
    assert panel.notices.count() == 1 and panel.can_review
    panel.notices.setCurrentRow(0)
    click(panel.review_button)
    qtbot.waitUntil(lambda: not panel.busy and panel.notices.count() == 0, timeout=10_000)
    assert server(store_db, "SELECT reviewed_by FROM pos.lane_notice") == [("Supervisor",)]

    # a range of days: the same sales (all today); a store Z closes one day only
    panel.first.setDate(panel.first.date().addDays(-6))
    _load(qtbot, panel)
    assert panel.figures is not None and (panel.figures.last - panel.figures.first).days == 6
    assert panel.figures.sales == 5 and panel.figures.total_fen == fig.total_fen
    click(panel.close_button)
    assert "one day" in panel.status.text() and not panel.busy
    click(panel.today_button)
    qtbot.waitUntil(lambda: not panel.busy and panel.figures is not None and panel.figures.first == fig.first,
                    timeout=10_000)

    # store Z: refused while lane2's shift is open, the missing lane named; then overridden with a reason
    click(panel.close_button)
    qtbot.waitUntil(lambda: not panel.busy and panel.refused_day is not None, timeout=10_000)
    assert "lane2" in panel.banner.text() and panel.override_button.isVisible()
    assert server(store_db, "SELECT count(*) FROM pos.store_z") == [(0,)]
    click(panel.override_button)
    qtbot.waitUntil(lambda: not panel.busy and panel.figures is not None and panel.figures.closed, timeout=10_000)
    assert panel.banner.text() == (f"PROVISIONAL store Z for {fig.first}: lanes missing: lane2 — Override reason: "
                                   "A lane cannot reach the store server: lane2 counted by hand")
    (provisional, reason, by), = server(store_db, "SELECT provisional, override_reason, closed_by FROM pos.store_z")
    assert provisional and reason == "A lane cannot reach the store server: lane2 counted by hand"
    assert by == SUPERVISOR[2]
    with lane1.sqlite() as c:     # the lane's own audit log: the refusal, the close (and the approval)
        audit = [(r[0], json.loads(r[1]) if r[1] else {}) for r in c.execute(
            "SELECT action, detail FROM audit_log WHERE action LIKE 'store.%' OR action = 'approval' ORDER BY id")]
    actions = [a for a, _ in audit]
    assert actions[-3:] == ["store.close_day_refused", "approval", "store.close_day"]
    close = audit[-1][1]
    assert close["provisional"] is True and close["missing_lanes"] == ["lane2"]
    assert close["approval_id"] == approvals[0].id and "counted by hand" in close["override_reason"]

    # printed on the receipt printer (off the GUI thread), exported like the lane's X: CSV and PDF
    click(panel.print_button)
    qtbot.waitUntil(lambda: bool(printed), timeout=10_000)
    assert "Store Z" in printed[0] and "PROVISIONAL: lanes missing" in printed[0] and "Lane lane2: 2 sales" in printed[0]
    out = panel.export(tmp_path / "store-z.csv", "csv")
    table = list(csv.reader(io.StringIO(out.read_bytes().decode("utf-8-sig"))))
    assert table[0] == ["section", "figure", "value", "raw", "section_label", "figure_label"]
    assert ["header", "PROVISIONAL: lanes missing", "lane2", "lane2"] == table[3][:4]
    assert ["lanes", "Lane lane1: 3 sales"] == [r[:2] for r in table if r[1].startswith("Lane lane1: 3")][0]
    pdf = panel.export(tmp_path / "store-z.pdf", "pdf")
    assert pdf.read_bytes().startswith(b"%PDF") and pdf.stat().st_size > 1000

    # looking at the day again: the live X, and the Z as recorded (a closed day cannot be closed again)
    _load(qtbot, panel)
    assert panel.figures is not None and not panel.figures.closed and not panel.close_button.isEnabled()
    assert "Store Z recorded" in panel.status.text() and panel.stored_button.isVisible()
    click(panel.stored_button)
    stored = panel.figures
    assert stored is not None and stored.closed and stored.provisional and stored.closed_at is not None
    assert [m.lane for m in stored.missing_lanes] == ["lane2"] and stored.total_fen == fig.total_fen
    assert any(r[1] == "Day closed at" for r in _shown(panel)) and "PROVISIONAL" in panel.banner.text()


def test_store_not_answering_says_so_plainly_within_its_deadline(qtbot: Any, tmp_path: Any, store_db: Any,
                                                                 services: Any) -> None:
    lane = make_lane(tmp_path, store_db, "lane1")
    proxy = TcpProxy(store_db.server.port)
    try:
        lane.uplink().push()              # first contact: the lane is known to the store
        role = server(store_db, "SELECT role_name FROM pos.lane WHERE name = 'lane1'")[0][0]
        password = conninfo_to_dict(lane.conninfo)["password"]
        info = lane_conninfo(f"host=127.0.0.1 port={proxy.port} dbname={store_db.name} user={role}", password,
                             connect_timeout_s=2)
        panel, _service = _panel(qtbot, services, lane, info, deadline_s=0.5, language="zh_CN")
        panel.resize(1024, 768)           # a counter screen: every button shows its whole text
        for button in panel.findChildren(QPushButton):
            assert not button.isVisible() or button.width() >= button.sizeHint().width(), button.text()
        _load(qtbot, panel)
        assert panel.figures is not None and [ln.lane for ln in panel.figures.lanes] == ["lane1"]
        proxy.set_mode("stall")           # the path keeps ACKing, nothing answers: only the deadline helps
        started = time.monotonic()
        _load(qtbot, panel)
        assert time.monotonic() - started < 3.0
        tr = Translator("zh_CN")
        assert panel.status.text() == tr(UNAVAILABLE) != UNAVAILABLE
        assert panel.figures is None and panel.model.rowCount() == 0       # no stale figures shown as current
        assert not panel.pdf_button.isEnabled()
        proxy.set_mode("refuse")          # stopped: refused at once
        _load(qtbot, panel)
        assert panel.status.text() == tr(UNAVAILABLE)
        proxy.set_mode("pass")            # back: the next look works again
        _load(qtbot, panel)
        assert panel.figures is not None and panel.pdf_button.isEnabled()
    finally:
        proxy.close()
        lane.close()


def test_every_store_report_text_is_in_the_chinese_catalogue() -> None:
    """Every label the service makes and every text the screen passes to the translator has a zh_CN entry."""
    import ast
    import datetime as dt
    from pathlib import Path

    from pos_app.services.ports.store_reports import (
        CashierFigures,
        IncompleteLane,
        LaneFigures,
        LaneNotice,
        LaneSyncState,
        MemberFigures,
        PointsException,
        StoreFigures,
    )
    from pos_app.services.store_reports import NOTICE_LABELS, SECTION_TITLES, store_rows
    from pos_app.ui.store_report_view import localized_store_rows

    at = dt.datetime(2026, 12, 3, 4, 5, tzinfo=dt.UTC)
    gone = (IncompleteLane("lane2", 7, 9),)
    fig = StoreFigures(
        first=dt.date(2026, 12, 1), last=dt.date(2026, 12, 3),
        lanes=(LaneFigures("lane1", 3, 5000, 200, (("alipay", 3000), ("cash", 2000))),), sales=3, total_fen=5000,
        refunds_fen=200, tenders=(("alipay", 3000), ("cash", 2000)), cashiers=(CashierFigures("1001", 3, 5000),),
        members=MemberFigures(1, 50, 10), lanes_state=(LaneSyncState("lane1", 9, 0, at, 0),
                                                       LaneSyncState("lane2", 7, 2, None, None)),
        incomplete_lanes=gone, exceptions=(PointsException("2088000000001234", "overdraft", -20, at),
                                           PointsException("2088000000005678", "other", -1, at)),
        notices=tuple(LaneNotice(i, "lane2", kind, "", at) for i, kind in enumerate([*NOTICE_LABELS, "odd"])),
        closed=True, provisional=True, missing_lanes=gone, closed_by="Sup", override_reason="broken")
    tr = Translator("zh_CN")
    rows = localized_store_rows(store_rows(fig), tr)
    assert {r[0] for r in rows} == set(SECTION_TITLES)            # every section shown
    ui = Path(__file__).resolve().parents[2] / "pos_app"
    said = []
    for path in (ui / "ui" / "store_report_view.py", ui / "services" / "store_reports.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant) \
                    and isinstance(node.args[0].value, str) and (
                    getattr(node.func, "id", "") in ("t", "tr") or getattr(node.func, "attr", "") in ("_t", "tr")
                    or getattr(node.func, "id", "") == "ServiceError"):
                said.append(node.args[0].value)
    from pos_app.services.store_reports import MAX_DAYS

    said = [s.replace("{MAX_DAYS}", str(MAX_DAYS)) for s in said]
    assert len(said) > 20                                            # the walk finds the texts
    for text in [*said, UNAVAILABLE, "no store figures to export"]:
        tr(text)
    assert not tr._missing, sorted(tr._missing)  # noqa: SLF001 - the test looks inside
