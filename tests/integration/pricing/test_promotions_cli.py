"""`pos-app promotions import|export|list` and `pos-app basket price` on a real terminal database."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from pos_app.__main__ import main
from pos_app.domain.catalogue import CatalogueItem
from pos_app.storage.audit import verify_chain
from pos_app.storage.catalogue import load_items
from pos_app.storage.db import Database, transaction

PROMOS: dict[str, Any] = {
    "format": 1,
    "promotions": [
        {"id": "MJ100", "name": "乳品满100减20", "kind": "threshold", "categories": ["dairy"],
         "threshold_fen": 10000, "amount_fen": 2000, "starts": "2026-12-01T00:00", "ends": "2027-01-01T00:00"},
        {"id": "SOAP2", "name": "香皂第二件半价", "kind": "buy_x_get_y", "codes": ["6900000000035"], "buy_qty": 1,
         "get_qty": 1, "percent": 50},
    ],
    "special_prices": [{"id": "SP-YOG", "code": "6900000000028", "price_fen": 700,
                        "starts": "2026-12-01T00:00", "ends": "2026-12-08T00:00"}],
    "member_prices": [{"code": "6900000000011", "level": "GOLD", "price_fen": 1000}],
}


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    conn = Database(tmp_path / "pos.sqlite3").open_and_migrate()
    with transaction(conn):
        load_items(conn, [
            CatalogueItem("6900000000011", "牛奶", "Milk", 1200, category="dairy"),
            CatalogueItem("6900000000028", "酸奶", "Yogurt", 800, category="dairy"),
            CatalogueItem("6900000000035", "香皂", "Soap", 2500, category="home"),
        ])
        conn.execute("INSERT INTO members (card_no, name, level, updated_at) VALUES ('M1', '*三', 'GOLD', 'x')")
    conn.close()
    return tmp_path


def _write(path: Path, data: Any) -> Path:
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    return path


def test_import_then_price_a_basket_as_json(data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    promos = _write(data_dir / "promos.json", PROMOS)
    assert main(["promotions", "import", str(promos), "--by", "lee", "--data-dir", str(data_dir)]) == 0
    assert "3 added" in capsys.readouterr().out
    basket = _write(data_dir / "basket.json", {
        "lines": [{"code": "6900000000011", "quantity": 5}, {"code": "6900000000028", "quantity": 8},
                  {"code": "6900000000035", "quantity": 2}, {"price_fen": 500, "description": "bag", "tax_rate_bp": 600}],
        "member_card": "M1", "at": "2026-12-03T10:00"})
    assert main(["basket", "price", str(basket), "--data-dir", str(data_dir)]) == 0
    out = json.loads(capsys.readouterr().out)
    milk, yog, soap, bag = out["lines"]
    assert milk["unit_price_fen"] == 1000 and milk["discounts"][0]["kind"] == "member_price"
    assert yog["unit_price_fen"] == 700 and yog["discounts"][0]["ref"] == "SP-YOG"
    # dairy after prices: 5000 + 5600 = 10600 -> 2000 off, spread 5000:5600
    assert [d["amount_fen"] for d in milk["discounts"] if d["ref"] == "MJ100"] == [943]
    assert [d["amount_fen"] for d in yog["discounts"] if d["ref"] == "MJ100"] == [1057]
    assert soap["net_fen"] == 2500 + 1250 and bag["description"] == "bag"
    assert out["totals"]["total_fen"] == 8600 + 3750 + 500
    assert out["promotions"] == ["MJ100", "SOAP2"]
    assert {t["rate_bp"] for t in out["tax"]} == {1300, 600}
    assert sum(t["tax_fen"] for t in out["tax"]) == out["totals"]["tax_fen"]
    assert out["points_to_earn"] == (8600 + 3750 + 500) // 100 * 150 // 100


def test_a_bad_file_changes_nothing_and_names_every_problem(data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _ = main(["promotions", "import", str(_write(data_dir / "p.json", PROMOS)), "--data-dir", str(data_dir)])
    bad = {**PROMOS, "promotions": [{"id": "X", "kind": "percent_off", "percent": 500},
                                    {"id": "Y", "kind": "threshold", "threshold_fen": 0, "amount_fen": 1}]}
    assert main(["promotions", "import", str(_write(data_dir / "bad.json", bad)), "--data-dir", str(data_dir)]) == 2
    err = capsys.readouterr().err
    assert "promotions[1]: promotion X: percent must be from 1 to 100" in err
    assert "promotions[2]: promotion Y" in err and "nothing was changed" in err
    assert main(["promotions", "export", "--data-dir", str(data_dir)]) == 0
    exported = json.loads(capsys.readouterr().out)
    assert [p["id"] for p in exported["promotions"]] == ["MJ100", "SOAP2"]
    assert exported["member_prices"] == PROMOS["member_prices"]


def test_export_reads_back_and_imports_are_audited(data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["promotions", "import", str(_write(data_dir / "p.json", PROMOS)), "--data-dir", str(data_dir)]) == 0
    out_file = data_dir / "export.json"
    assert main(["promotions", "export", "--out", str(out_file), "--data-dir", str(data_dir)]) == 0
    assert main(["promotions", "import", str(out_file), "--data-dir", str(data_dir)]) == 0
    assert "0 added, 0 changed, 0 removed, 3 unchanged" in capsys.readouterr().out
    assert main(["promotions", "list", "--data-dir", str(data_dir)]) == 0
    listing = capsys.readouterr().out
    assert "MJ100\tthreshold" in listing and "SP-YOG\tspecial_price" in listing
    conn = Database(data_dir / "pos.sqlite3").open_and_migrate()
    actions = [r[0] for r in conn.execute("SELECT action FROM audit_log ORDER BY id")]
    assert actions.count("promotions.import") == 2 and verify_chain(conn)[1] is None
    conn.close()


def test_basket_errors_are_named(data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    basket = _write(data_dir / "b.json", {"lines": [{"code": "nope", "quantity": 1}]})
    assert main(["basket", "price", str(basket), "--data-dir", str(data_dir)]) == 2
    assert "line 1: no active item with code 'nope'" in capsys.readouterr().err
    basket = _write(data_dir / "b.json", {"lines": [{"code": "6900000000011", "quantity": 0}]})
    assert main(["basket", "price", str(basket), "--data-dir", str(data_dir)]) == 2
    assert "quantity must be a whole number" in capsys.readouterr().err
    basket = _write(data_dir / "b.json", {"lines": [{"code": "6900000000011"}], "member_card": "ZZ"})
    assert main(["basket", "price", str(basket), "--data-dir", str(data_dir)]) == 2
    assert "no member with card 'ZZ'" in capsys.readouterr().err
