"""Issue 14's "done when", keyboard only on the real terminal: a member (level) price, a 满减 promotion and a
manual discount approved by the supervisor; park, serve another customer, recall; pay half by Alipay (the sandbox
over loopback HTTP) and half in cash; later exchange one item. The receipts and the Z report show every discount
and the VAT per rate, and every Z figure reconciles with the raw rows."""

from __future__ import annotations

import datetime as dt
import secrets
import sqlite3
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

from pos_app.domain.promotions import LevelPrice, PriceBook, Promotion
from pos_app.domain.shift import DENOMINATIONS_FEN
from pos_app.services.receipts import receipt_text
from pos_app.storage.db import Database, connect
from pos_app.storage.promotions import apply_price_book
from tests.ui.conftest import WATER, make_terminal, scan
from tests.ui.modal import ModalScript, supervisor_approves

MEMBER = "8800433332545130"   # a SILVER member of the demo
MILK = "6942821807755"        # 伊利纯牛奶 250ml, ¥3.50 (dairy, VAT 9 % here)
PREMIUM = "6942821438423"     # 特仑苏纯牛奶 250ml, ¥6.00 (dairy, VAT 9 % here)
BOOK = PriceBook([Promotion.from_mapping({"id": "MJ10", "name": "饮料满10减1", "kind": "threshold",
                                          "categories": ["drinks"], "threshold_fen": 1000, "amount_fen": 100})])


def _prompt(qtbot: Any, controller: Any, text: str = "", down: int = 0) -> None:
    qtbot.waitUntil(lambda: controller.prompt is not None and controller.prompt.isVisible(), timeout=5_000)
    dialog = controller.prompt
    for _ in range(down):
        QTest.keyClick(dialog.focus_widget(), Qt.Key.Key_Down)
    if text:
        QTest.keyClicks(dialog.focus_widget(), text)
    QTest.keyClick(dialog.focus_widget(), Qt.Key.Key_Return)


def _cash(qtbot: Any, w: Any, tendered: str) -> None:
    qtbot.keyClick(w, Qt.Key.Key_F5)
    dialog = w.controller.cash_dialog
    assert dialog is not None
    qtbot.keyClicks(dialog.amount, tendered)
    qtbot.keyClick(dialog.amount, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: w.controller.cash_dialog is None, timeout=10_000)


def _yuan(fen: int) -> str:
    return f"{fen // 100}.{fen % 100:02d}"


def _count(fen: int) -> dict[int, int]:
    out: dict[int, int] = {}
    for d in DENOMINATIONS_FEN:
        out[d], fen = divmod(fen, d)
    return out


def _recompute(db: Path, shift_id: int) -> dict[str, Any]:
    """The Z figures this test checks, from the raw rows with plain Python (no SQL aggregates)."""
    conn = sqlite3.connect(db)
    conn.row_factory = sqlite3.Row
    try:
        sales = [dict(r) for r in conn.execute("SELECT * FROM sales WHERE shift_id = ? AND state != 'voided'",
                                               (shift_id,))]
        ids = {s["id"] for s in sales}
        tenders = [dict(r) for r in conn.execute("SELECT * FROM tenders") if r["sale_id"] in ids]
        refunds = [dict(r) for r in conn.execute("SELECT * FROM refunds WHERE shift_id = ? AND state = 'done'",
                                                 (shift_id,))]
        lines = [dict(r) for r in conn.execute("SELECT * FROM sale_lines WHERE voided = 0") if r["sale_id"] in ids]
        discounts = [dict(r) for r in conn.execute("SELECT * FROM sale_line_discounts") if r["sale_id"] in ids]
        float_fen = conn.execute("SELECT opening_float_fen FROM shifts WHERE id = ?", (shift_id,)).fetchone()[0]
    finally:
        conn.close()
    out: dict[str, Any] = {"transactions": len(sales), "sales_fen": sum(s["total_fen"] for s in sales),
                           "gross_fen": sum(s["gross_fen"] for s in sales),
                           "discount_fen": sum(s["discount_fen"] for s in sales),
                           "refunds_fen": sum(r["amount_fen"] for r in refunds)}
    out["net_fen"] = out["sales_fen"] - out["refunds_fen"]
    taken = {k: sum(t["tendered_fen"] - t["change_fen"] for t in tenders if t["kind"] == k) for k in ("cash", "alipay")}
    back = {k: sum(r["amount_fen"] for r in refunds if r["method"] == k) for k in ("cash", "alipay")}
    for kind in ("cash", "alipay"):
        out[f"tenders.{kind}"] = (taken[kind], back[kind])
    out["cash.expected_fen"] = float_fen + taken["cash"] - back["cash"]
    rates: dict[int, list[int]] = {}
    for ln in lines:
        r = rates.setdefault(ln["tax_rate_bp"], [0, 0])
        r[0] += ln["amount_fen"] - ln["discount_fen"]
        r[1] += ln["tax_fen"]
    out["tax"] = {k: tuple(v) for k, v in rates.items()}
    per: dict[tuple[str, str], int] = {}
    for d in discounts:
        per[(d["kind"], d["ref"])] = per.get((d["kind"], d["ref"]), 0) + d["amount_fen"]
    out["discounts"] = per
    return out


def _as_raw(fig: dict[str, Any]) -> dict[str, Any]:
    """The Z figures in :func:`_recompute`'s shape."""
    out = {k: fig[k] for k in ("transactions", "sales_fen", "gross_fen", "discount_fen", "refunds_fen", "net_fen")}
    for kind in ("cash", "alipay"):
        out[f"tenders.{kind}"] = (fig["tenders"][kind]["taken_fen"], fig["tenders"][kind]["refunds_fen"])
    out["cash.expected_fen"] = fig["cash"]["expected_fen"]
    out["tax"] = {t["rate_bp"]: (t["sales_fen"], t["tax_fen"]) for t in fig["tax"]}
    out["discounts"] = {(d["kind"], d["ref"]): d["amount_fen"] for d in fig["discounts"]}
    return out


def test_the_counter_done_when(qtbot: Any, tmp_path: Path) -> None:
    db = tmp_path / "data" / "pos.sqlite3"
    db.parent.mkdir(parents=True)
    conn = Database(db).open_and_migrate()
    apply_price_book(conn, BOOK, [LevelPrice(WATER, "SILVER", 180)], at=dt.datetime.now(dt.UTC), by_user="test",
                     source="promos.json", sha256="-")
    conn.close()
    terminal = make_terminal(qtbot, tmp_path)
    try:
        c = connect(db)
        c.execute("UPDATE catalogue_items SET tax_rate_bp = 900 WHERE code IN (?, ?)", (MILK, PREMIUM))
        c.close()
        w, view, ctl = terminal.window, terminal.window.checkout_view, terminal.window.controller
        # customer 1: member; 6 water at the SILVER price (10.80), 满10减1 (9.80), and one milk (3.50)
        scan(terminal, MEMBER, "QRCODE")
        qtbot.waitUntil(lambda: ctl.snapshot().member is not None, timeout=10_000)
        for _ in range(6):
            scan(terminal, WATER, "EAN13")
        scan(terminal, MILK, "EAN13")
        qtbot.waitUntil(lambda: ctl.snapshot().totals.payable_fen == 980 + 350, timeout=10_000)
        # 20 % off the water is above the cashier's 10 %: the supervisor approves it
        view.select_row(0)
        script = ModalScript([supervisor_approves()])
        qtbot.keyClick(w, Qt.Key.Key_D, Qt.KeyboardModifier.ControlModifier)
        _prompt(qtbot, ctl, "20% damaged")
        script.finish(qtbot)
        qtbot.waitUntil(lambda: ctl.snapshot().totals.payable_fen == 784 + 350, timeout=10_000)
        # park, serve another customer, recall
        qtbot.keyClick(w, Qt.Key.Key_H, Qt.KeyboardModifier.ControlModifier)
        _prompt(qtbot, ctl, "lady in red")
        qtbot.waitUntil(lambda: view.model.rowCount() == 0, timeout=5_000)
        scan(terminal, WATER, "EAN13")
        qtbot.waitUntil(lambda: view.model.rowCount() == 1, timeout=5_000)
        _cash(qtbot, w, "5")
        other = ctl.last_committed
        assert other.snapshot.totals.payable_fen == 200
        qtbot.keyClick(w, Qt.Key.Key_H, Qt.KeyboardModifier.ControlModifier)
        _prompt(qtbot, ctl)
        qtbot.waitUntil(lambda: view.model.rowCount() == 2, timeout=5_000)
        payable = ctl.snapshot().totals.payable_fen
        assert payable == 1134
        # half by Alipay: F4, F2 keys the amount, then the customer's payment code
        half = payable // 2
        qtbot.keyClick(w, Qt.Key.Key_F4)
        dialog = ctl.payment_dialog
        assert dialog is not None
        qtbot.keyClick(dialog, Qt.Key.Key_F2)
        qtbot.keyClicks(dialog.amount, _yuan(half))
        qtbot.keyClick(dialog.amount, Qt.Key.Key_Return)
        code = "28" + "".join(secrets.choice("0123456789") for _ in range(16))
        terminal.sandbox.script_auth_code(code, "success")
        qtbot.keyClicks(dialog.code, code)
        qtbot.keyClick(dialog.code, Qt.Key.Key_Return)
        qtbot.waitUntil(lambda: ctl.payment_dialog is None, timeout=15_000)
        assert ctl.till.snapshot().remaining_fen == payable - half
        # and half in cash
        _cash(qtbot, w, "10")
        sale = ctl.last_committed
        assert [(t.kind, t.amount_fen) for t in sale.snapshot.tenders] == [("alipay", half), ("cash", payable - half)]
        assert sale.change_fen == 1000 - (payable - half)
        text = receipt_text(terminal.ctx.nav.receipts.last_content)
        for part in ("Member price SILVER", "Promotion 饮料满10减1", "Discount damaged", "VAT 13%", "VAT 9%",
                     "Alipay", "Cash", "Change"):
            assert part in text, part

        # later: the milk comes back for the premium milk (Ctrl+E, the receipt number, the item, the supervisor)
        script = ModalScript([supervisor_approves()])
        qtbot.keyClick(w, Qt.Key.Key_E, Qt.KeyboardModifier.ControlModifier)
        _prompt(qtbot, ctl, sale.receipt_no)
        _prompt(qtbot, ctl, down=1)                          # the second line: the milk
        script.finish(qtbot)
        qtbot.waitUntil(lambda: ctl.till.snapshot().exchange is not None, timeout=10_000)
        assert ctl.till.snapshot().exchange.credit_fen == 350
        scan(terminal, PREMIUM, "EAN13")
        qtbot.waitUntil(lambda: view.model.rowCount() == 1, timeout=5_000)
        _cash(qtbot, w, "5")                                  # 6.00 - 3.50 = 2.50 to pay, 2.50 change
        exchange = ctl.last_committed
        assert exchange is not sale and exchange.exchange is not None
        assert [(t.kind, t.amount_fen, t.change_fen) for t in exchange.snapshot.tenders] == [
            ("cash", 350, 0), ("cash", 250, 250)]
        ex_text = receipt_text(terminal.ctx.nav.receipts.last_content)
        for part in (f"Exchange, returned from {sale.receipt_no}", "Exchange credit", "Difference paid", "VAT 9%"):
            assert part in ex_text, part

        # the Z report: every discount, VAT per rate, the split sale and the exchange, reconciled with raw rows
        x = terminal.ctx.reports.x_report().figures
        expected_cash = x["cash"]["expected_fen"]
        result = terminal.ctx.shifts.close_shift(_count(expected_cash), ctl.session.user)
        fig = result.figures
        assert {(d["kind"], d["ref"]) for d in fig["discounts"]} == {
            ("member_price", "SILVER"), ("promotion", "MJ10"), ("manual", "damaged")}
        assert {t["rate_bp"] for t in fig["tax"]} == {1300, 900}
        assert sum(t["sales_fen"] for t in fig["tax"]) == fig["sales_fen"] == 1134 + 200 + 600
        assert sum(t["tax_fen"] for t in fig["tax"]) == fig["tax_fen"]
        assert sum(d["amount_fen"] for d in fig["discounts"]) == fig["discount_fen"]
        assert fig["split_sales"] == 1
        assert fig["exchanges"] == {"count": 1, "returned_fen": 350, "new_fen": 600, "paid_fen": 250,
                                    "back_cash_fen": 0, "back_alipay_fen": 0, "credit_fen": 350}
        assert fig["tenders"]["alipay"]["taken_fen"] == half
        assert fig["cash"]["taken_fen"] - fig["cash"]["refunds_fen"] == (payable - half) + 200 + 250
        assert fig["cash"]["expected_fen"] == fig["cash"]["opening_float_fen"] + (payable - half) + 200 + 250
        assert _as_raw(fig) == _recompute(db, fig["shift_id"])
        z = terminal.ctx.reports.z_report(fig["z_number"]).text
        for part in ("VAT 13%", "VAT 9%", "Promotion MJ10", "Manual damaged", "Member price SILVER", "Exchanges"):
            assert part in z, part
    finally:
        terminal.shutdown()
