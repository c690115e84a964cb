"""Every rule on a printed receipt has the receipt's width (issue 14: the header rule was the printer's 48
columns, the body's 42)."""

from __future__ import annotations

from drivers.printer import render_document_text
from pos_app.printing import receipt_document
from pos_app.services.receipts import ReceiptContent, ReceiptLine


def test_every_rule_has_the_receipt_width() -> None:
    content = ReceiptContent(("Demo Shop", "Terminal T1  R001"), (ReceiptLine("水", "1 × ¥2.00", "¥2.00"),),
                             (("TOTAL", "¥2.00"),), (("Cash", "¥2.00"),), (), "", "R001", ("Thank you!",),
                             "en", (("VAT 13%  excl. VAT ¥1.77", "¥0.23"),))
    for width, cols in ((42, 48), (32, 48), (48, 48)):
        text = render_document_text(receipt_document(content, width), cols=cols)
        rules = [line for line in text.splitlines() if line and set(line) == {"-"}]
        assert len(rules) >= 3 and {len(r) for r in rules} == {width}, (width, cols, rules)
