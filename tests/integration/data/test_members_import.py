"""Members from another system: opening points once per member (audited), card holders synced; users from a file."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from pos_app.__main__ import main
from pos_app.services.users import hash_pin, verify_pin
from tests.integration.data.helpers import write_csv

HEAD = ["会员卡号", "手机号", "姓名", "等级", "积分", "支付宝卡号"]


def _run(tmp_path: Path, *argv: str) -> int:
    return main([*argv, "--data-dir", str(tmp_path / "data")])


def test_members_import_points_once_and_card_updates_queued(tmp_path: Path,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    f = write_csv(tmp_path / "m.csv", [["8800000000000101", "13800000001", "王一", "GOLD", "1200", "BC0001"],
                                       ["8800000000000102", "", "李二", "SILVER", "0", ""],
                                       ["8800000000000103", "13800000003", "赵三", "", "35", ""]], headers=HEAD)
    assert _run(tmp_path, "members", "import", str(f)) == 0
    out = capsys.readouterr().out
    assert "added 3, changed 0, unchanged 0; 3 opening points entries, 1 Alipay card updates queued" in out
    assert _run(tmp_path, "members", "import", str(f)) == 0
    assert "added 0, changed 0, unchanged 3; 0 opening points entries, 0 Alipay card" in capsys.readouterr().out
    conn = sqlite3.connect(tmp_path / "data" / "pos.sqlite3")
    ledger = conn.execute("SELECT card_no, kind, points, balance_after FROM points_ledger ORDER BY id").fetchall()
    assert ledger == [("8800000000000101", "opening", 1200, 1200), ("8800000000000102", "opening", 0, 0),
                      ("8800000000000103", "opening", 35, 35)]
    (kind, card, body), = conn.execute("SELECT kind, card_no, body_json FROM outbox").fetchall()
    assert kind == "card.update" and card == "8800000000000101"
    body = json.loads(body)
    assert body["target_card_no"] == "BC0001" and body["card_info"]["point"] == "1200"
    audits = conn.execute("SELECT count(*) FROM audit_log WHERE action = 'member.opening_points'").fetchone()
    assert audits == (3,)
    held = dict(conn.execute("SELECT card_no, alipay_card FROM members").fetchall())
    assert held == {"8800000000000101": 1, "8800000000000102": 0, "8800000000000103": 0}
    conn.close()
    # Alipay names a card for a member (a card query at the counter, a join by QR): points sync from then on
    from pos_app.storage.db import connect
    from pos_app.storage.members import SqliteMembers

    c = connect(tmp_path / "data" / "pos.sqlite3")
    SqliteMembers(c).upsert(card_no="8800000000000102", biz_card_no="BC0002", name="", phone="", level="",
                            points_synced=None, user_id="", refreshed_at=None, updated_at="2026-12-03T00:00:00")
    assert c.execute("SELECT alipay_card FROM members WHERE card_no = '8800000000000102'").fetchone()[0] == 1
    c.close()
    out_file = tmp_path / "back.xlsx"
    assert _run(tmp_path, "members", "export", "--out", str(out_file)) == 0
    capsys.readouterr()
    assert _run(tmp_path, "members", "import", str(out_file), "--dry-run") == 0
    assert "unchanged 3" in capsys.readouterr().out


def test_bad_members_file_writes_nothing_and_masks_card_numbers(tmp_path: Path,
                                                                capsys: pytest.CaptureFixture[str]) -> None:
    f = write_csv(tmp_path / "m.csv", [["8800000000000101", "13800000001", "王一", "GOLD", "12.5", ""],
                                       ["8800000000000101", "", "李二", "", "0", ""],
                                       ["1234", "abc", "x", "", "", ""]], headers=HEAD)
    assert _run(tmp_path, "members", "import", str(f)) == 1
    err = capsys.readouterr().err
    assert "row 2, column E (积分): '12.5': opening points must be a whole number" in err
    assert "row 3, column A (会员卡号): '************0101': duplicate card number (first on row 2)" in err
    assert "row 4, column A (会员卡号)" in err and "member_pattern" in err
    assert "8800000000000101" not in err
    conn = sqlite3.connect(tmp_path / "data" / "pos.sqlite3") if (tmp_path / "data" / "pos.sqlite3").exists() else None
    if conn is not None:
        assert conn.execute("SELECT count(*) FROM members").fetchone() == (0,)
        conn.close()


def test_users_import_hashes_kept_clear_pins_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    clear = write_csv(tmp_path / "u0.csv", [["1001", "A", "cashier", "1234"]],
                      headers=["工号", "姓名", "角色", "PIN"])
    assert _run(tmp_path, "users", "import", str(clear)) == 1
    err = capsys.readouterr().err
    assert "clear-text PINs are not accepted" in err and "1234" not in err.replace("1234 ", "")
    h = hash_pin("2468")
    f = write_csv(tmp_path / "u.csv", [["9001", "主管甲", "主管", h], ["1001", "收银乙", "", ""]],
                  headers=["工号", "姓名", "角色", "PIN哈希"])
    assert _run(tmp_path, "users", "import", str(f)) == 0
    out = capsys.readouterr().out
    assert "added 2" in out and "pos-app users reset-pin 1001" in out and h not in out
    conn = sqlite3.connect(tmp_path / "data" / "pos.sqlite3")
    rows = dict(conn.execute("SELECT number, role FROM users").fetchall())
    stored = conn.execute("SELECT pin_hash FROM users WHERE number = '9001'").fetchone()[0]
    conn.close()
    assert rows == {"9001": "supervisor", "1001": "cashier"} and verify_pin("2468", stored)
    for log in (tmp_path / "data" / "logs").glob("*"):
        assert h not in log.read_text(encoding="utf-8", errors="replace")
