"""`pos-app audit verify`, `pos-app users ...` and `pos-app report x|z` on a real database file."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from _shift_env import Seeder, make_env

from pos_app.__main__ import main


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    env = make_env(tmp_path / "pos.sqlite3")
    seed = Seeder(env.conn, env.clock)
    shift = env.shifts.open_shift(env.cashier, {10000: 1})
    seed.sale(shift.id, 1, [("cash", 1250, 2000)], card_no="8800000000001234", earned=12)
    env.users.authenticate("1001", "1357")
    env.shifts.close_shift({10000: 1, 1000: 1, 100: 2, 50: 1}, env.cashier)
    env.shifts.open_shift(env.cashier, float_fen=500)
    env.conn.close()
    return tmp_path


def test_audit_verify_ok_then_detects_the_edited_row(data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["audit", "verify", "--data-dir", str(data_dir)]) == 0
    assert "chain intact" in capsys.readouterr().out
    conn = sqlite3.connect(data_dir / "pos.sqlite3")
    target = conn.execute("SELECT id FROM audit_log WHERE action = 'login.ok'").fetchone()[0]
    conn.execute("DROP TRIGGER audit_log_no_update")
    conn.execute("UPDATE audit_log SET user_name = 'someone else' WHERE id = ?", (target,))
    conn.commit()
    conn.close()
    assert main(["audit", "verify", "--data-dir", str(data_dir)]) == 1
    assert f"BROKEN at entry {target}" in capsys.readouterr().out


def test_audit_verify_detects_a_deleted_row(data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    conn = sqlite3.connect(data_dir / "pos.sqlite3")
    conn.execute("DROP TRIGGER audit_log_no_delete")
    conn.execute("DELETE FROM audit_log WHERE id = 2")
    conn.commit()
    conn.close()
    assert main(["audit", "verify", "--data-dir", str(data_dir)]) == 1
    assert "BROKEN at entry 3" in capsys.readouterr().out


def test_users_cli(data_dir: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NEW_PIN", "258036")
    d = ["--data-dir", str(data_dir)]
    assert main(["users", "add", "3001", "Zhao", "--role", "supervisor", "--card", "SUP3001",
                 "--pin-env", "NEW_PIN", *d]) == 0
    assert main(["users", "disable", "3001", *d]) == 0
    assert main(["users", "reset-pin", "3001", "--pin-env", "NEW_PIN", *d]) == 0
    assert main(["users", "list", *d]) == 0
    out = capsys.readouterr().out
    assert "3001" in out and "disabled" in out and "****3001" in out and "258036" not in out
    assert main(["users", "disable", "nobody", *d]) == 1
    monkeypatch.setattr("getpass.getpass", lambda prompt="": "1470")
    assert main(["users", "add", "3002", "Qian", *d]) == 0


def test_report_cli_text_csv_pdf(data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    d = ["--data-dir", str(data_dir)]
    assert main(["report", "z", *d]) == 0
    z_text = capsys.readouterr().out
    assert "Z report #1" in z_text and "Counted" in z_text
    assert main(["report", "z", "--shift", "1", "--format", "csv", "--out", str(data_dir / "z.csv"), *d]) == 0
    raw = (data_dir / "z.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf") and "王小明".encode() in raw
    assert main(["report", "x", "--format", "text", *d]) == 0
    assert "X report" in capsys.readouterr().out
    pdf = data_dir / "z.pdf"
    assert main(["report", "z", "--format", "pdf", "--page", "80mm", "--out", str(pdf), *d]) == 0
    assert pdf.read_bytes().startswith(b"%PDF")
    assert main(["report", "z", "--shift", "9", *d]) == 1
