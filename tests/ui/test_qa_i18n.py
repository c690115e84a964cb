"""QA pass: zh_CN payment messages (#1), approval dialog labels and report reason labels (#5)."""

from __future__ import annotations

import re
from typing import Any

import pytest
from PySide6.QtWidgets import QDialogButtonBox

from pos_app.services import payment
from pos_app.services.approvals import reasons_for
from pos_app.ui.approval_dialog import ApprovalDialog
from pos_app.ui.i18n import Translator, translate_payment_message
from pos_app.ui.report_export import figure_label

_ENGLISH_WORD = re.compile(r"[A-Za-z]{3,}")
_STEPS = ("ask ", "scan ", "call a supervisor", "start the payment again", "checked again")


def _all_messages() -> list[str]:
    reasons = list(payment._SUB_CODE_REASONS.values())  # noqa: SLF001 - the catalogue of cashier texts
    failed = [f"payment failed: {r}" for r in reasons]
    return [*failed, payment.reason_for_sub_code("40004", "ACQ.SOMETHING_NEW"),
            payment._MSG_CANCELLED, payment._MSG_CANCELLED_REFUNDED,  # noqa: SLF001
            payment._MSG_SENDING, payment._MSG_CHECKING, payment._MSG_CANCELLING,  # noqa: SLF001
            f"{payment._MSG_UNKNOWN}: Alipay refused to cancel (ACQ.X)",  # noqa: SLF001
            "waiting for the customer to confirm in Alipay — 7 s", "paid ¥2.00 with Alipay"]


@pytest.mark.parametrize("message", _all_messages())
def test_payment_messages_are_chinese_qa1(message: str) -> None:
    out = translate_payment_message(Translator("zh_CN"), message)
    leftover = [w for w in _ENGLISH_WORD.findall(re.sub(r"ACQ\.\w+|\(code \w+\)", "", out)) if w != "ACQ"]
    assert not leftover, out


def test_failure_messages_end_with_the_next_step_qa1() -> None:
    failures = [*payment._SUB_CODE_REASONS.values(), payment.reason_for_sub_code("40004", ""),  # noqa: SLF001
                payment._MSG_CANCELLED, payment._MSG_CANCELLED_REFUNDED, payment._MSG_UNKNOWN]  # noqa: SLF001
    for text in failures:
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
