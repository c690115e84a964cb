"""QA pass: zh_CN payment messages (#1), approval dialog labels and report reason labels (#5)."""

from __future__ import annotations

import re
from typing import Any

import pytest
from PySide6.QtWidgets import QDialogButtonBox

from pos_app.alipay.subcodes import PAYMENT_REFUSALS
from pos_app.services.approvals import reasons_for
from pos_app.services.reasons import Reason
from pos_app.ui.approval_dialog import ApprovalDialog
from pos_app.ui.i18n import Translator
from pos_app.ui.messages import MESSAGES, REFUSALS, format_reason
from pos_app.ui.report_export import figure_label

_ENGLISH_WORD = re.compile(r"[A-Za-z]{3,}")
_STEPS = ("ask ", "scan ", "call a supervisor", "start the payment again", "checked again")
_PARAMS = {"seconds": "7", "amount": "¥2.00", "code": "ACQ.X", "points": "300", "balance": "200", "hours": "25",
           "cap": "500", "used": "400", "shown": "100", "above": "200"}


def _all_reasons() -> list[Reason]:
    """Every reason a service sends: each refusal inside "payment failed", and every other message."""
    failed = [Reason.of("payment.failed", refusal=r, code="ACQ.X") for r in REFUSALS]
    others = [Reason.of(code, **_PARAMS) for code in MESSAGES]
    return [*failed, Reason.of("payment.failed", refusal="", code="ACQ.SOMETHING_NEW"),
            Reason.of("payment.unknown_cancel_refused", code="ACQ.X"), *others]


@pytest.mark.parametrize("reason", _all_reasons(), ids=lambda r: f"{r.code}:{r.get('refusal')}")
def test_every_reason_is_worded_in_chinese_qa1(reason: Reason) -> None:
    out = format_reason(Translator("zh_CN"), reason)
    assert out
    leftover = [w for w in _ENGLISH_WORD.findall(re.sub(r"ACQ\.\w+|\(code \w+\)", "", out)) if w != "ACQ"]
    assert not leftover, out


def test_every_alipay_refusal_has_words_qa1() -> None:
    """The sub-code table of pos_app/alipay names only reasons the UI can word."""
    assert set(PAYMENT_REFUSALS.values()) <= set(REFUSALS)


def test_failure_messages_end_with_the_next_step_qa1() -> None:
    en = Translator("en")
    failures = [*_all_reasons()[: len(REFUSALS) + 1],
                *(Reason(c) for c in ("payment.cancelled", "payment.cancelled_refunded", "payment.unknown"))]
    for reason in failures:
        text = format_reason(en, reason)
        assert any(step in text.rsplit(":", 1)[-1] for step in _STEPS), text


def test_approval_dialog_and_report_reasons_in_chinese_qa5(qtbot: Any, terminal: Any) -> None:
    tr = Translator("zh_CN")
    dialog = ApprovalDialog(terminal.ctx.users, "no_sale", "", None, None, tr=tr)
    qtbot.addWidget(dialog)
    assert dialog.buttons.button(QDialogButtonBox.StandardButton.Ok).text() == "确定"
    assert dialog.buttons.button(QDialogButtonBox.StandardButton.Cancel).text() == "取消"
    assert dialog.reason.itemText(0) == tr(reasons_for("no_sale")[0][1])
    label = figure_label("pay_in drawer by 王主管 [float_top_up] note", tr)
    assert "float_top_up" not in label and tr("Float top-up") in label
    assert tr("No sale") != "No sale"
    assert not _ENGLISH_WORD.search(tr("the count differs from what was expected by more than the allowed "
                                       "amount: a supervisor must approve with a reason"))


def test_member_levels_are_translated(qtbot: Any) -> None:
    from pos_app.ui.checkout_view import CheckoutView
    from pos_app.ui.snapshot_view import MemberPanelView

    view = CheckoutView(Translator("zh_CN"))
    qtbot.addWidget(view)
    for level, zh in (("GOLD", "金卡"), ("SILVER", "银卡"), ("PLATINUM", "白金卡")):
        view.show_member(MemberPanelView("张*明", level, "****5130", 100, 0, 0, 0, ""))
        assert view.member_name.text().endswith(zh)


def test_qt_standard_buttons_follow_the_terminal_language(qtbot: Any, tmp_path: Any) -> None:
    """Seen on a real zh_CN terminal under Xvfb: the float dialog's Cancel stayed English (Qt's own words)."""
    from PySide6.QtWidgets import QApplication

    from pos_app.ui.style import install_qt_translations
    from tests.ui.conftest import make_terminal

    terminal = make_terminal(qtbot, tmp_path, language="zh_CN")
    try:
        box = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel | QDialogButtonBox.StandardButton.Ok)
        qtbot.addWidget(box)
        assert box.button(QDialogButtonBox.StandardButton.Cancel).text() == "取消"
        app = QApplication.instance()
        assert isinstance(app, QApplication)
        assert not install_qt_translations(app, "en")  # an English terminal takes Qt's own English back
        english = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        qtbot.addWidget(english)
        assert english.button(QDialogButtonBox.StandardButton.Cancel).text() == "Cancel"
    finally:
        terminal.shutdown()


_BAD_SCANS = ["", "x" * 65, "abc\x00defgh", "会员卡号12345678", "abc defgh", "ABC", "1234567", "69012340",
              "036000291453", "6901234567890", "10012345678901", "130012345678901234"]


@pytest.mark.parametrize("raw", _BAD_SCANS, ids=repr)
def test_every_rejected_scan_is_worded_in_chinese(raw: str) -> None:
    """Seen on a real zh_CN till: "无法识别：***aged（too short (7 characters): not a code this terminal knows）"."""
    from pos_app.domain.codes import classify

    code = classify(raw)
    assert code.reason, code
    zh = Translator("zh_CN")("Not recognised: {code} ({reason})", code="***", reason=Translator("zh_CN")(code.reason))
    assert not _ENGLISH_WORD.findall(re.sub(r"EAN-\d+|UPC-\w|GTIN-\d+|ASCII", "", zh)), zh


def test_routing_reasons_are_worded_in_chinese() -> None:
    from pos_app.services import routing

    reasons = [routing.NO_PAYMENT_WAITING, *routing._NOT_HERE.values()]  # noqa: SLF001 - every reason the router gives
    for reason in reasons:
        assert Translator("zh_CN")(reason) != reason, reason


def test_every_approval_the_screens_ask_for_is_named_in_chinese() -> None:
    """Seen on a zh_CN till: the approval dialog for F9 said "reports: X/Z 报表" (the action's key, untranslated)."""
    from pathlib import Path

    from pos_app.services.approvals import ACTIONS

    ui = Path(__file__).resolve().parents[2] / "pos_app"
    source = "\n".join(p.read_text(encoding="utf-8") for p in [*(ui / "ui").glob("*.py"), ui / "app.py"])
    asked = set(re.findall(r"(?:ask|approve|ask_approval)\(\s*[\w.]+,\s*\"([a-z_]+)\"", source))
    assert {"reports", "items", "card_join", "leave_kiosk"} <= asked, asked  # the pattern finds the calls
    zh = Translator("zh_CN")
    for action in asked:
        assert action in ACTIONS, action
        assert not _ENGLISH_WORD.findall(re.sub(r"X/Z", "", zh(ACTIONS[action]))), action
