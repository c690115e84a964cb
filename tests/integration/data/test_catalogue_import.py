"""Catalogue import: a good file is applied in one transaction; any bad row writes nothing."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import openpyxl
import pytest

from pos_app.__main__ import main
from pos_app.dataio.catalogue import parse_catalogue
from pos_app.dataio.tables import read_table
from tests.integration.data.helpers import catalogue_state, ean13, item_row, write_csv


def _import(tmp_path: Path, path: Path, *extra: str) -> int:
    return main(["catalogue", "import", str(path), "--data-dir", str(tmp_path / "data"), "--by", "9001", *extra])


def _db(tmp_path: Path) -> Path:
    return tmp_path / "data" / "pos.sqlite3"


def test_good_file_applied_then_reimport_changes_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    f = write_csv(tmp_path / "cat.csv", [item_row(n) for n in range(1, 51)])
    assert _import(tmp_path, f) == 0
    assert "added 50, changed 0, deactivated 0, unchanged 0" in capsys.readouterr().out
    before = catalogue_state(_db(tmp_path))
    assert len(before) == 100  # 50 items + 50 barcodes
    assert _import(tmp_path, f) == 0
    assert "added 0, changed 0, deactivated 0, unchanged 50" in capsys.readouterr().out
    assert catalogue_state(_db(tmp_path)) == before


def test_price_change_is_history_and_full_deactivates_only_when_asked(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert _import(tmp_path, write_csv(tmp_path / "a.csv", [item_row(n) for n in range(1, 4)])) == 0
    rows = [item_row(1, price="9.99"), item_row(2)]
    assert _import(tmp_path, write_csv(tmp_path / "b.csv", rows)) == 0
    assert "added 0, changed 1, deactivated 0, unchanged 1" in capsys.readouterr().out
    conn = sqlite3.connect(_db(tmp_path))
    hist = conn.execute("SELECT item_code, field, old_fen, new_fen, by_user FROM price_history").fetchall()
    assert hist == [("A000001", "price", 201, 999, "9001")]
    assert conn.execute("SELECT active FROM catalogue_items WHERE code='A000003'").fetchone() == (1,)
    audit = conn.execute("SELECT action, user_name FROM audit_log WHERE action='catalogue.import'").fetchall()
    assert audit == [("catalogue.import", "9001")] * 2
    conn.close()
    assert _import(tmp_path, write_csv(tmp_path / "b.csv", rows), "--full") == 0
    assert "deactivated 1" in capsys.readouterr().out
    conn = sqlite3.connect(_db(tmp_path))
    assert conn.execute("SELECT active FROM catalogue_items WHERE code='A000003'").fetchone() == (0,)
    conn.close()


def test_dry_run_writes_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert _import(tmp_path, write_csv(tmp_path / "a.csv", [item_row(1)]), "--dry-run") == 0
    assert "would have added 1" in capsys.readouterr().out
    assert catalogue_state(_db(tmp_path)) == []


def test_every_bad_row_is_reported_and_nothing_is_written(tmp_path: Path,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    assert _import(tmp_path, write_csv(tmp_path / "old.csv", [item_row(1)])) == 0
    before = catalogue_state(_db(tmp_path))
    capsys.readouterr()
    bad_check = ean13(7)[:-1] + str((int(ean13(7)[-1]) + 1) % 10)
    rows = [item_row(1, price="3.00"), item_row(2, barcode=bad_check), item_row(3, price="abc"),
            item_row(4, barcode=ean13(5)), item_row(5), item_row(6), item_row(6)]
    rows[4][8] = "17%"
    f = write_csv(tmp_path / "bad.csv", rows)
    assert _import(tmp_path, f) == 1
    err = capsys.readouterr().err
    assert "row 3, column B (barcodes)" in err and "bad check digit" in err
    assert "row 4, column G (price): 'abc': price not a number" in err
    assert "row 6, column I (tax rate): '17%': unknown tax rate" in err
    assert "duplicate barcode (also on row 5)" in err
    assert "row 8, column A (item code): 'A000006': duplicate item code (first on row 7)" in err
    assert "nothing was written" in err
    assert catalogue_state(_db(tmp_path)) == before


def test_chinese_headers_in_gb18030_and_upc_barcodes_scan(tmp_path: Path) -> None:
    zh = ["商品编码", "条码", "商品名称", "售价", "税率", "称重"]
    f = write_csv(tmp_path / "gbk.csv", [["S1", "036000291452", "可口可乐", "3.50", "13", "否"],
                                         ["S2", "01234565 2212345000005", "苹果", "12.80", "9%", "是"]],
                  headers=zh, encoding="gb18030")
    table = read_table(f)
    records, problems = parse_catalogue(table)
    assert problems == []
    assert records[0].name_zh == "可口可乐" and records[0].barcodes == ("0036000291452",)
    assert records[1].weighed and records[1].tax_rate_bp == 900 and records[1].unit_label == "kg"
    assert records[1].barcodes == ("01234565", "2212345000005")  # EAN-8 when both check digits fit, as the scanner reads it


@pytest.mark.parametrize("content, why", [
    (b"", "the file is empty"),
    (bytes(range(256)) * 4096, "not a text file"),
    ("商品编码;条码;商品名称;售价;税率\nA;;b;1;13\n".encode(), "separated by ';'"),
    (b"\xef\xbb\xbfitem code,name,price,tax rate\n", "no items"),
    (b"hello,world\n1,2\n", "no catalogue header row"),
])
def test_unreadable_files_get_one_clear_line(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                             content: bytes, why: str) -> None:
    f = tmp_path / "x.csv"
    f.write_bytes(content)
    assert _import(tmp_path, f) == 1
    err = capsys.readouterr().err
    assert why in err and "Traceback" not in err
    assert not _db(tmp_path).exists() or catalogue_state(_db(tmp_path)) == []


def test_garbage_named_xlsx_and_a_200000_row_file_are_refused(tmp_path: Path,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    g = tmp_path / "g.xlsx"
    g.write_bytes(b"\x8f" * 1_000_000)
    assert _import(tmp_path, g) == 1
    assert "not a readable Excel .xlsx file" in capsys.readouterr().err
    big = tmp_path / "big.csv"
    with big.open("w", encoding="utf-8") as fh:
        fh.write("item code,name (English),price,tax rate\n")
        fh.writelines(f"A{n},x,1.00,13%\n" for n in range(200_000))
    assert _import(tmp_path, big) == 1
    assert "more than 100000 rows: split the file" in capsys.readouterr().err
    assert not _db(tmp_path).exists() or catalogue_state(_db(tmp_path)) == []


def test_xlsx_formulas_dates_merged_cells_and_wrong_sheet(tmp_path: Path,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    import datetime as dt

    wb = openpyxl.Workbook()
    cover = wb.active
    cover.title = "说明"
    cover.append(["这是说明页"])
    ws = wb.create_sheet("商品")
    ws.append(["商品编码", "条码", "商品名称", "售价", "税率"])
    ws.append(["S1", ean13(1), "水", 2.5, "13%"])
    ws.append(["S2", ean13(2), "茶", "=B2*2", "13%"])
    ws.append(["S3", ean13(3), "酒", dt.datetime(2026, 1, 5), "13%"])
    ws.append(["S4", ean13(4), "饼", 1, "13%"])
    ws.append(["S5", ean13(5), "", 1, "13%"])
    ws.merge_cells("C5:C6")
    f = tmp_path / "c.xlsx"
    wb.save(f)
    assert _import(tmp_path, f) == 1
    assert "no catalogue header row" in capsys.readouterr().err
    assert _import(tmp_path, f, "--sheet", "nope") == 1
    assert "no sheet named 'nope'; the sheets are: 说明, 商品" in capsys.readouterr().err
    assert _import(tmp_path, f, "--sheet", "商品") == 1
    err = capsys.readouterr().err
    assert "row 3, column D (售价): '=B2*2': a formula" in err
    assert "row 4, column D (售价)" in err and "a date in a price column" in err
    assert "row 5, column C (商品名称)" in err and "merged cells" in err
    assert "row 6, column C (商品名称)" in err
    assert not _db(tmp_path).exists() or catalogue_state(_db(tmp_path)) == []


def test_template_export_and_reimport_round_trip(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    tpl = tmp_path / "t.xlsx"
    assert main(["catalogue", "template", "--out", str(tpl)]) == 0
    assert _import(tmp_path, tpl) == 0
    rows = [item_row(n) for n in range(1, 6)]
    rows[2][7] = "1.00"  # member price
    rows[3][10] = "1"    # no points
    assert _import(tmp_path, write_csv(tmp_path / "a.csv", rows)) == 0
    before = catalogue_state(_db(tmp_path))
    for out in ("e.xlsx", "e.csv"):
        assert main(["catalogue", "export", "--out", str(tmp_path / out), "--data-dir",
                     str(tmp_path / "data")]) == 0
        capsys.readouterr()
        assert _import(tmp_path, tmp_path / out, "--full") == 0
        assert "added 0, changed 0, deactivated 0, unchanged 6" in capsys.readouterr().out
        assert catalogue_state(_db(tmp_path)) == before
    assert (tmp_path / "e.csv").read_bytes().startswith(b"\xef\xbb\xbf")
