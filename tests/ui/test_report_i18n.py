"""Report labels follow the terminal language on screen and in PDF/CSV exports; the stored Z text never changes."""

from __future__ import annotations

import csv
import io
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QModelIndex, Qt
from PySide6.QtGui import QTextDocument

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "integration" / "reports"))
from _shift_env import Env, Seeder, make_env  # noqa: E402

from pos_app.services.reports import figure_rows, render_text  # noqa: E402
from pos_app.ui.i18n import Translator  # noqa: E402
from pos_app.ui.report_export import (  # noqa: E402
    CSV_HEADER,
    figure_label,
    localized_rows,
    render_localized_csv,
    report_html,
    section_label,
)
from pos_app.ui.reports_view import ReportsView  # noqa: E402
from tests.ui.report_fixtures import full_figures  # noqa: E402


@pytest.fixture
def env(tmp_path: Path) -> Iterator[Env]:
    e = make_env(tmp_path / "pos.sqlite3")
    yield e
    e.conn.close()


def _cells(view: ReportsView) -> list[tuple[str, str, str]]:
    m = view.x_model
    return [tuple(str(m.data(m.index(r, c), Qt.ItemDataRole.DisplayRole)) for c in range(3))  # type: ignore[misc]
            for r in range(m.rowCount(QModelIndex()))]


def test_every_label_has_a_chinese_translation() -> None:
    tr = Translator("zh_CN")
    for kind in ("X", "Z"):
        for sec, sec_label, name, label, value, raw in localized_rows(full_figures(kind), tr):
            assert sec_label != sec or sec == "", sec
            words = name.replace("Sup Li", "").replace("card.update", "").replace("wrong item", "")
            if any(c.isascii() and c.isalpha() for c in words) and not name.startswith(("R0", "T01-", "  ")):
                assert label != name, f"untranslated figure label {name!r}"
    # every catalogue key used by the report screen exists (no English fallback in zh_CN)
    missing = {k for k in tr._missing if not k.startswith(("R0", "T01-"))}  # noqa: SLF001 - test looks inside
    assert not missing


def test_english_labels_are_the_service_labels_and_sections_read_well() -> None:
    fig = full_figures("Z")
    rows = localized_rows(fig, Translator("en"))
    assert [(r[0], r[2], r[5]) for r in rows] == [(s, n, raw) for s, n, _v, raw in figure_rows(fig)]
    # English labels are the English keys (approval rows name the action in words: "refund" -> "Refund")
    assert all(r[2] == r[3] for r in rows if r[0] != "approvals")
    assert section_label("tender cash") == "Tender: Cash" and section_label("cashier 王小明") == "Cashier: 王小明"


def test_dynamic_labels_in_chinese() -> None:
    tr = Translator("zh_CN")
    assert figure_label("Pay-outs (2)", tr) == "支出现金（2 笔）"
    assert figure_label("2. Pay-out: milk (王小明, approved Sup Li) 10:30", tr) == "2. 支出现金：milk (王小明，Sup Li 授权) 10:30"
    assert figure_label("Sale R00000009 (王小明, approved Sup Li)", tr) == "交易 R00000009（王小明，Sup Li 授权）"
    assert figure_label("#7 card.update ****1214 tries 3", tr) == "#7 card.update ****1214 已尝试 3 次"
    assert figure_label("refund R1 by Sup Li for 王小明 [customer_return]", tr) == \
        "退款 R1，Sup Li 为 王小明 授权 [顾客退货]"  # QA #5: the reason label, not the code
    assert section_label("count cash", tr) == "清点：现金" and section_label("tender alipay", tr) == "支付方式：支付宝"


@pytest.mark.parametrize("language", ["zh_CN", "en"])
def test_csv_keeps_machine_columns_and_adds_labels(language: str) -> None:
    fig = full_figures("Z")
    data = render_localized_csv(fig, Translator(language))
    assert data.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert tuple(rows[0]) == CSV_HEADER
    assert [tuple(r[:4]) for r in rows[1:]] == figure_rows(fig)     # stable keys, untranslated values
    labels = {r[1]: (r[4], r[5]) for r in rows[1:]}
    if language == "zh_CN":
        assert labels["Gross"] == ("销售", "总销售额") and labels["Expected cash"] == ("钱箱", "应有现金")
    else:
        assert labels["Gross"] == ("Sales", "Gross")


@pytest.mark.parametrize("language", ["zh_CN", "en"])
def test_pdf_html_follows_language(language: str) -> None:
    page = report_html(full_figures("Z"), tr=Translator(language))
    doc = QTextDocument()
    doc.setHtml(page)
    text = doc.toPlainText()
    if language == "zh_CN":
        assert "Z 报表 #3" in text and "应有现金" in text and "钱箱" in text and "Expected cash" not in text
    else:
        assert "Z report #3" in text and "Expected cash" in text and "CASH DRAWER" not in text


@pytest.mark.parametrize("language", ["zh_CN", "en"])
def test_report_screen_and_exports_follow_language_but_stored_z_text_does_not(
        qtbot: Any, env: Env, tmp_path: Path, language: str) -> None:
    seed = Seeder(env.conn, env.clock)
    shift = env.shifts.open_shift(env.cashier, float_fen=0)
    seed.sale(shift.id, 1, [("cash", 1000, 2000)])
    result = env.shifts.close_shift({1000: 1}, env.cashier)
    stored_text = env.reports.z_report(1).text
    shift2 = env.shifts.open_shift(env.cashier, float_fen=0)
    seed.sale(shift2.id, 1, [("alipay", 2500, 2500)])
    printed: list[str] = []
    view = ReportsView(env.reports, printed_by="Sup Li", printer=printed.append, tr=Translator(language))
    qtbot.addWidget(view)
    cells = _cells(view)
    labels = {c[1] for c in cells}
    if language == "zh_CN":
        assert {"总销售额", "应有现金", "交易笔数"} <= labels and "Gross" not in labels
        assert ("报表", "报表", "X 报表") in cells
        assert view.tabs.tabText(0) == "X 报表"
    else:
        assert {"Gross", "Expected cash", "Transactions"} <= labels
    # the printed X text and the stored Z text are the service's, whatever the screen language
    assert view.x_text == render_text(view.x_figures)
    view._reprint()  # noqa: SLF001 - the Reprint button's slot
    assert printed == [stored_text] and "Z report #1" in stored_text
    assert result is not None and env.reports.z_report(1).text == stored_text
    z = view.selected_z()
    assert z is not None
    out = view.export(z.figures, tmp_path / "z.csv", "csv")
    rows = list(csv.reader(io.StringIO(out.read_bytes().decode("utf-8-sig"))))
    gross = next(r for r in rows if r[0] == "sales" and r[1] == "Gross")
    assert gross[:4] == ["sales", "Gross", "10.00", "1000"]
    assert gross[5] == ("总销售额" if language == "zh_CN" else "Gross")
    pdf = view.export(view.x_figures, tmp_path / "x.pdf", "pdf", page="80mm")
    assert pdf.read_bytes()[:4] == b"%PDF"


@pytest.mark.parametrize("language", ["zh_CN", "en"])
def test_the_close_dialog_shows_the_z_in_the_cashier_language(qtbot: Any, env: Env, language: str) -> None:
    """Seen at a real zh_CN till: the Z shown after the blind count was the English stored text."""
    from pos_app.ui.shift_dialogs import CloseShiftDialog

    shift = env.shifts.open_shift(env.cashier, float_fen=0)
    Seeder(env.conn, env.clock).sale(shift.id, 1, [("cash", 1000, 2000)])
    close = CloseShiftDialog(env.shifts, env.cashier, approver=lambda *_: None, tr=Translator(language))
    qtbot.addWidget(close)
    close.count.set_counts({1000: 1})
    close._close()  # noqa: SLF001 - the "Count done, close" button's slot
    assert close.pages.currentIndex() == 2
    shown = close.z_text.toPlainText()
    if language == "zh_CN":
        assert "Z 报表 #1" in shown and "应有现金" in shown and "Expected cash" not in shown
    else:
        assert "Z report #1" in shown and "Expected cash" in shown
    assert env.reports.z_report(1).text.startswith("=")  # the stored, printed record is unchanged
