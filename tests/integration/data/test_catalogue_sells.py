"""An imported catalogue sells: barcodes (UPC-A, in-store weight code) resolve, a sale keeps its scanned price."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from pos_app.__main__ import main
from pos_app.alipay.card_requests import AlipayCardRequests
from pos_app.domain.codes import classify, gtin_check_digit
from pos_app.domain.loyalty import LoyaltyRules
from pos_app.runtime import FixedClock, RandomIds
from pos_app.services.checkout import CheckoutConfig, CheckoutService
from pos_app.storage.db import connect
from pos_app.storage.uow import SqliteUnitOfWork
from tests.integration.data.helpers import write_csv

HEAD = ["商品编码", "条码", "商品名称", "售价", "会员价", "税率", "称重", "不积分"]


def _file(tmp_path: Path, cola_price: str) -> Path:
    return write_csv(tmp_path / f"cat{cola_price}.csv", [
        ["C1", "036000291452 6901234567892", "可乐", cola_price, "3.00", "13%", "", ""],
        ["F1", "2300001000008", "苹果", "10.00", "", "9%", "是", ""],
        ["T1", "6930000000011", "香烟", "25.00", "", "13%", "", "是"],
    ], headers=HEAD)


def test_scan_by_any_barcode_and_the_sale_keeps_its_scanned_price(tmp_path: Path,
                                                                   capsys: pytest.CaptureFixture[str]) -> None:
    data = tmp_path / "data"
    assert main(["catalogue", "import", str(_file(tmp_path, "3.50")), "--data-dir", str(data)]) == 0
    db = data / "pos.sqlite3"
    conn = sqlite3.connect(db)
    conn.execute("INSERT INTO users (id, number, name, role, pin_hash, created_at) VALUES "
                 "(1, '001', 'Alice', 'cashier', 'x', '2026-01-01')")
    conn.execute("INSERT INTO shifts (id, terminal_id, number, state, opened_by, opened_at, opening_float_fen)"
                 " VALUES (1, 'T1', 1, 'open', 1, '2026-01-01', 10000)")
    conn.commit()
    conn.close()
    c = connect(db)
    checkout = CheckoutService(lambda: SqliteUnitOfWork(c), FixedClock(), RandomIds("T1"),
                               CheckoutConfig(store_id="S1", terminal_id="T1", terminal_no=1, store_name="Shop",
                                              loyalty=LoyaltyRules(points_per_yuan=1)), card_requests=AlipayCardRequests())
    sale = checkout.new_sale()
    upca = checkout.add_scan(sale, classify("036000291452"))       # UPC-A, stored as its GTIN-13
    ean = checkout.add_scan(sale, classify("6901234567892"))       # the same item's second barcode
    body = "230000101500"                                           # 1500 g of the weighed item
    apples = checkout.add_scan(sale, classify(body + str(gtin_check_digit(body))))
    tobacco = checkout.add_scan(sale, classify("6930000000011"))
    assert upca.code == ean.code == "C1" and upca.unit_price_fen == 350
    assert apples.code == "F1" and apples.amount_fen == 1500
    assert tobacco.points_excluded
    # the price changes while the sale is open: the sale keeps the price it scanned at
    assert main(["catalogue", "import", str(_file(tmp_path, "4.00")), "--data-dir", str(data)]) == 0
    assert "changed 1" in capsys.readouterr().out
    assert checkout.find_product("6901234567892").price_fen == 400  # type: ignore[union-attr]
    committed = checkout.commit_cash(sale, 100000, shift_id=1, cashier_id=1, cashier_name="Alice")
    prices = c.execute("SELECT code, quantity, unit_price_fen FROM sale_lines WHERE sale_id = ? ORDER BY line_no",
                       (committed.sale_id,)).fetchall()
    assert [tuple(p) for p in prices] == [("C1", 2, 350), ("F1", 1500, 1000), ("T1", 1, 2500)]
    c.close()
