"""The X report table changes only what changed: the report screen rebuilds the report every few seconds,
mostly with the same figures (issue 18: a reset repainted the whole table each time)."""

from __future__ import annotations

from typing import Any

from pos_app.ui.reports_view import FigureTableModel

ROWS = [("Sales", "Net", "¥100.00", "10000"), ("Sales", "Count", "3", "3"), ("Tenders", "Cash", "¥60.00", "6000")]


def test_the_same_rows_change_nothing_and_a_changed_figure_changes_its_row(qtbot: Any) -> None:
    model = FigureTableModel(ROWS)
    resets: list[int] = []
    changed: list[tuple[int, int]] = []
    model.modelReset.connect(lambda: resets.append(1))
    model.dataChanged.connect(lambda a, b, _roles=(): changed.append((a.row(), b.row())))
    model.set_rows(list(ROWS))
    assert resets == [] and changed == []
    model.set_rows([ROWS[0], ("Sales", "Count", "4", "4"), ROWS[2]])
    assert resets == [] and changed == [(1, 1)]
    assert model.data(model.index(1, 2)) == "4"
    model.set_rows(ROWS[:2])
    assert resets == [1] and model.rowCount() == 2
