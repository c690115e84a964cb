"""The supervisor's sync screen over a real database: rows, masking, Retry / Discard with approval, status text."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt

from pos_app.alipay.card_requests import KIND_METHOD
from pos_app.runtime import SystemClock
from pos_app.services.ports.outbox import SyncApprover
from pos_app.services.sync import SyncConfig, SyncStatus, SyncWorker
from pos_app.storage.db import connect, transaction
from pos_app.storage.outbox import SqliteOutboxQueue, enqueue
from pos_app.ui.sync_view import SyncStatusLabel, SyncView, status_text


def _seed(db_path: Path) -> tuple[int, int]:
    conn = connect(db_path)
    at = dt.datetime(2026, 11, 25, 2, 0, tzinfo=dt.UTC)
    with transaction(conn):
        a = enqueue(conn, event_id="E1", kind="card.consume_sync", card_no="8800123412345678",
                    method=KIND_METHOD["card.consume_sync"],
                    body={"trade_no": "T1"}, created_at=at, points_after=5)
        b = enqueue(conn, event_id="E2", kind="card.update", card_no="8800123412345678", method=KIND_METHOD["card.update"],
                    body={"occur_time": "x"}, created_at=at, points_after=5)
        enqueue(conn, event_id="E3", kind="card.update", card_no="8800999900001111", method=KIND_METHOD["card.update"],
                body={"occur_time": "y"},
                created_at=at, points_after=9)
        conn.execute("UPDATE outbox SET state='dead', attempts=1, last_error='40004 CARD_NOT_EXIST: 会员卡不存在'"
                     " WHERE id = ?", (a,))
    conn.close()
    return a, b


def _worker(db_path: Path) -> SyncWorker:
    def no_gateway() -> Any:
        raise AssertionError("the screen never sends")

    return SyncWorker(lambda: SqliteOutboxQueue.open(db_path), no_gateway, SystemClock(), SyncConfig())


def test_view_lists_rows_masked_and_supervisor_decides(qtbot: Any, qtmodeltester: Any, db_path: Path) -> None:
    dead_id, _ = _seed(db_path)
    worker = _worker(db_path)
    answers: list[object | None] = [None, SyncApprover(7, "Wang Sup"), SyncApprover(7, "Wang Sup")]
    asked: list[tuple[str, str]] = []

    def approve(action: str, subject: str) -> object | None:
        asked.append((action, subject))
        return answers.pop(0)

    view = SyncView(worker, approve, ask_reason=lambda w, row: "trade voided")
    qtbot.addWidget(view)
    qtmodeltester.check(view.model)
    assert view.model.rowCount() == 3
    first = [view.model.index(0, c).data() for c in range(7)]
    assert first[0] == str(dead_id) and first[2] == "************5678" and "CARD_NOT_EXIST" in first[6]
    assert all("8800123412345678" not in str(view.model.index(r, 2).data()) for r in range(3))
    assert "1 dead letters" in view.summary.text() and "2 pending" in view.summary.text()
    assert not view.retry_button.isEnabled()
    assert view.select_row(dead_id)
    assert view.retry_button.isEnabled() and view.discard_button.isEnabled()

    qtbot.mouseClick(view.retry_button, Qt.MouseButton.LeftButton)          # supervisor cancels the PIN
    assert asked == [("retry_dead_letter", f"outbox #{dead_id}")]
    assert view.model.row_at(0).state == "dead"
    qtbot.mouseClick(view.retry_button, Qt.MouseButton.LeftButton)          # approved: back to pending
    assert all(view.model.row_at(i).state == "pending" for i in range(3))

    conn = connect(db_path)
    conn.execute("UPDATE outbox SET state='dead' WHERE id = ?", (dead_id,))
    view.refresh()
    assert view.select_row(dead_id)
    assert view.discard_selected()
    assert conn.execute("SELECT state FROM outbox WHERE id = ?", (dead_id,)).fetchone()[0] == "discarded"
    actions = [r[0] for r in conn.execute("SELECT action FROM audit_log ORDER BY id")]
    assert actions == ["sync.dead_letter.retry", "sync.dead_letter.discard"]
    conn.close()
    assert view.model.rowCount() == 2


def test_status_text_and_label(qtbot: Any, db_path: Path) -> None:
    assert status_text(SyncStatus(0, None, 0, None, "")) == "Sync: up to date"
    text = status_text(SyncStatus(12, 600.0, 0, None, ""))
    assert text == "Sync: 12 pending (oldest 10 min)"
    offline = status_text(SyncStatus(3, 7200.0, 2, dt.datetime(2026, 11, 25, 2, 0, tzinfo=dt.UTC), "x"))
    assert "2 dead letters need attention" in offline and "offline since" in offline and "3 pending" in offline
    _seed(db_path)
    label = SyncStatusLabel(_worker(db_path).status, interval_ms=50)
    qtbot.addWidget(label)
    assert "2 pending" in label.text() and label.property("attention") is True


def test_the_sync_screen_speaks_the_terminal_language(qtbot: Any, db_path: Path) -> None:
    """Seen at a real zh_CN till: the whole F11 screen was English (Qt's translate with no catalogue)."""
    from pos_app.ui.i18n import Translator

    _seed(db_path)
    view = SyncView(_worker(db_path), lambda a, s: None, tr=Translator("zh_CN"))
    qtbot.addWidget(view)
    headers = [view.model.headerData(c, Qt.Orientation.Horizontal) for c in range(7)]
    assert headers[1:] == ["状态", "卡号", "类型", "尝试次数", "下次尝试", "最近错误"]
    assert view.summary.text().startswith("同步：") and "条失败记录待处理" in view.summary.text()
    assert (view.retry_button.text(), view.refresh_button.text()) == ("重试", "刷新")
    assert view.model.index(0, 1).data() == "失败" and view.model.index(0, 5).data() == "待主管处理"
    english = SyncView(_worker(db_path), lambda a, s: None)  # a screen without a translator is English again
    qtbot.addWidget(english)
    assert english.retry_button.text() == "Retry"
