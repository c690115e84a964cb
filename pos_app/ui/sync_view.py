"""Supervisor screen for the sync queue (pending and dead-letter rows, Retry / Discard) and the status-bar text."""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
from collections.abc import Callable
from typing import Protocol

from PySide6.QtCore import (
    QAbstractTableModel,
    QCoreApplication,
    QModelIndex,
    QPersistentModelIndex,
    Qt,
    QTimer,
)
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QInputDialog,
    QLabel,
    QMessageBox,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from pos_app.services.ports.outbox import OutboxRow, SyncApprover
from pos_app.services.sync import SyncError, SyncStatus, as_sync_approver, mask_card

__all__ = ["SyncSource", "RowSnapshot", "SyncQueueModel", "SyncView", "SyncStatusLabel", "status_text"]

logger = logging.getLogger(__name__)

Approve = Callable[[str, str], object | None]
"""``approve(action, subject)`` asks for a supervisor PIN; returns the approver (or approval) or None."""


class SyncSource(Protocol):
    """What the screen needs from the sync worker (SyncWorker implements it)."""

    def rows(self, states: tuple[str, ...] = ("pending", "dead"), limit: int = 500) -> list[OutboxRow]: ...

    def status(self) -> SyncStatus: ...

    def retry_dead(self, row_id: int, approver: SyncApprover) -> None: ...

    def discard_dead(self, row_id: int, approver: SyncApprover, reason: str) -> None: ...


_WORDING: list[Callable[[str], str]] = []  # the terminal's Translator, set by SyncView(tr=...): one language a till


def _t(text: str) -> str:
    """The template in the terminal's language (values go in afterwards with ``.format``)."""
    if _WORDING:
        return _WORDING[0](text)
    return QCoreApplication.translate("SyncView", text)


def _age(seconds: float) -> str:
    if seconds < 90:
        return _t("{n} s").format(n=int(seconds))
    if seconds < 5400:
        return _t("{n} min").format(n=int(seconds // 60))
    if seconds < 2 * 86400:
        return _t("{n} h").format(n=int(seconds // 3600))
    return _t("{n} d").format(n=int(seconds // 86400))


def status_text(status: SyncStatus, now: dt.datetime | None = None) -> str:
    """The compact status-bar text: up to date / N pending, oldest age / offline since / dead letters."""
    parts: list[str] = []
    if status.dead:
        parts.append(_t("{n} dead letters need attention").format(n=status.dead))
    if status.offline_since is not None:
        since = status.offline_since.astimezone().strftime("%H:%M")
        parts.append(_t("offline since {t}").format(t=since))
    if status.pending:
        pending = _t("{n} pending").format(n=status.pending)
        if status.oldest_pending_age_s is not None:
            pending += " " + _t("(oldest {age})").format(age=_age(status.oldest_pending_age_s))
        parts.append(pending)
    if not parts:
        return _t("Sync: up to date")
    return _t("Sync: ") + ", ".join(parts)


@dataclasses.dataclass(frozen=True, slots=True)
class RowSnapshot:
    """One row as shown: card masked, times as text."""

    id: int
    state: str
    card: str
    kind: str
    attempts: int
    next_attempt: str
    last_error: str

    @classmethod
    def of(cls, row: OutboxRow) -> RowSnapshot:
        if row.state == "dead":
            nxt = _t("supervisor decides")
        elif row.next_attempt_at <= 0:
            nxt = _t("now")
        else:
            nxt = dt.datetime.fromtimestamp(row.next_attempt_at).strftime("%H:%M:%S")
        return cls(id=row.id, state=row.state, card=mask_card(row.card_no), kind=row.kind, attempts=row.attempts,
                   next_attempt=nxt, last_error=row.last_error)


_COLUMNS = ("#", "State", "Card", "Kind", "Attempts", "Next attempt", "Last error")


class SyncQueueModel(QAbstractTableModel):
    """A read-only table over a list of RowSnapshot (replaced whole by ``set_rows``)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._rows: list[RowSnapshot] = []

    def set_rows(self, rows: list[RowSnapshot]) -> None:
        self.beginResetModel()
        self._rows = list(rows)
        self.endResetModel()

    def row_at(self, index: int) -> RowSnapshot | None:
        return self._rows[index] if 0 <= index < len(self._rows) else None

    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008, N802
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008, N802
        return 0 if parent.isValid() else len(_COLUMNS)

    def headerData(self, section: int, orientation: Qt.Orientation,  # noqa: N802
                   role: int = Qt.ItemDataRole.DisplayRole) -> object:
        if role == Qt.ItemDataRole.DisplayRole and orientation == Qt.Orientation.Horizontal \
                and 0 <= section < len(_COLUMNS):
            return _t(_COLUMNS[section])
        return None

    def data(self, index: QModelIndex | QPersistentModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> object:
        if not index.isValid() or not 0 <= index.row() < len(self._rows):
            return None
        r = self._rows[index.row()]
        if role == Qt.ItemDataRole.DisplayRole:
            return (str(r.id), _t(r.state), r.card, _t(r.kind), str(r.attempts), r.next_attempt,
                    r.last_error)[index.column()]
        if role == Qt.ItemDataRole.ToolTipRole and index.column() == 6:
            return r.last_error or None
        if role == Qt.ItemDataRole.TextAlignmentRole and index.column() in (0, 4):
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None


def _ask_reason(parent: QWidget, row: RowSnapshot) -> str | None:
    text, ok = QInputDialog.getText(parent, _t("Discard dead letter"),
                                    _t("Why is row #{id} ({kind}, card {card}) discarded?").format(
                                        id=row.id, kind=row.kind, card=row.card))
    return text.strip() if ok and text.strip() else None


class SyncView(QWidget):
    """Pending and dead-letter rows; Retry and Discard… need a supervisor (``approve``); Refresh reloads."""

    def __init__(self, source: SyncSource, approve: Approve, parent: QWidget | None = None, *,
                 ask_reason: Callable[[QWidget, RowSnapshot], str | None] = _ask_reason,
                 show_error: Callable[[QWidget, str], None] | None = None,
                 tr: Callable[[str], str] | None = None) -> None:
        super().__init__(parent)
        _WORDING[:] = [tr] if tr is not None else []
        self.setObjectName("syncView")
        self._source = source
        self._approve = approve
        self._ask_reason = ask_reason
        self._show_error = show_error or (lambda w, text: QMessageBox.warning(w, _t("Sync"), text) and None)
        self.model = SyncQueueModel(self)
        self.summary = QLabel()
        self.summary.setObjectName("syncSummary")
        self.table = QTableView()
        self.table.setObjectName("syncTable")
        self.table.setModel(self.model)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.retry_button = QPushButton(_t("Retry"))
        self.retry_button.setObjectName("syncRetry")
        self.discard_button = QPushButton(_t("Discard…"))
        self.discard_button.setObjectName("syncDiscard")
        self.refresh_button = QPushButton(_t("Refresh"))
        self.refresh_button.setObjectName("syncRefresh")
        buttons = QHBoxLayout()
        for b in (self.retry_button, self.discard_button):
            buttons.addWidget(b)
        buttons.addStretch(1)
        buttons.addWidget(self.refresh_button)
        layout = QVBoxLayout(self)
        layout.addWidget(self.summary)
        layout.addWidget(self.table, 1)
        layout.addLayout(buttons)
        self.retry_button.clicked.connect(self.retry_selected)
        self.discard_button.clicked.connect(self.discard_selected)
        self.refresh_button.clicked.connect(self.refresh)
        self.table.selectionModel().selectionChanged.connect(self._update_buttons)
        self.refresh()

    def refresh(self) -> None:
        """Reload the rows and the summary from the source."""
        try:
            rows = self._source.rows(("pending", "dead"), 500)
            status = self._source.status()
        except Exception as exc:  # noqa: BLE001 - the screen must stay usable
            logger.warning("sync view refresh failed: %s", exc)
            self.summary.setText(_t("Cannot read the sync queue: {e}").format(e=exc))
            return
        dead_first = sorted(rows, key=lambda r: (r.state != "dead", r.id))
        self.model.set_rows([RowSnapshot.of(r) for r in dead_first])
        self.summary.setText(status_text(status))
        self._update_buttons()

    def selected(self) -> RowSnapshot | None:
        rows = self.table.selectionModel().selectedRows()
        return self.model.row_at(rows[0].row()) if rows else None

    def select_row(self, row_id: int) -> bool:
        for i in range(self.model.rowCount()):
            snap = self.model.row_at(i)
            if snap is not None and snap.id == row_id:
                self.table.selectRow(i)
                return True
        return False

    def _update_buttons(self, *args: object) -> None:
        row = self.selected()
        dead = row is not None and row.state == "dead"
        self.retry_button.setEnabled(dead)
        self.discard_button.setEnabled(dead)

    def retry_selected(self) -> bool:
        """Resend the selected dead-letter row unchanged, after a supervisor approves."""
        row = self.selected()
        if row is None or row.state != "dead":
            return False
        who = self._approve("retry_dead_letter", f"outbox #{row.id}")
        if who is None:
            return False
        try:
            self._source.retry_dead(row.id, as_sync_approver(who))
        except SyncError as exc:
            self._show_error(self, str(exc))
            return False
        finally:
            self.refresh()
        return True

    def discard_selected(self) -> bool:
        """Discard the selected dead-letter row with a reason, after a supervisor approves."""
        row = self.selected()
        if row is None or row.state != "dead":
            return False
        reason = self._ask_reason(self, row)
        if not reason:
            return False
        who = self._approve("discard_dead_letter", f"outbox #{row.id}")
        if who is None:
            return False
        try:
            self._source.discard_dead(row.id, as_sync_approver(who), reason)
        except SyncError as exc:
            self._show_error(self, str(exc))
            return False
        finally:
            self.refresh()
        return True


class SyncStatusLabel(QLabel):
    """Status-bar label with the compact sync text, refreshed every ``interval_ms`` (and on ``refresh()``)."""

    def __init__(self, status: Callable[[], SyncStatus], parent: QWidget | None = None, *,
                 interval_ms: int = 2000) -> None:
        super().__init__(parent)
        self.setObjectName("syncStatus")
        self._status = status
        self._timer = QTimer(self)
        self._timer.setInterval(interval_ms)
        self._timer.timeout.connect(self.refresh)
        self._timer.start()
        self.refresh()

    def refresh(self) -> None:
        try:
            st = self._status()
        except Exception as exc:  # noqa: BLE001
            logger.debug("sync status failed: %s", exc)
            self.setText(_t("Sync: status unavailable"))
            return
        self.setText(status_text(st))
        self.setProperty("attention", bool(st.dead or st.offline_since is not None))
