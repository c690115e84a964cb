"""Issue 16 §3: deleting ``pos.sqlite3-wal`` after a hard stop loses the last committed sales. Before, the
terminal started normally and `audit verify` said OK; now the anchor (written after each commit) shows the
database is older than it should be, and the start is refused with the way out."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from pos_app.__main__ import main
from pos_app.settings import load_settings
from pos_app.start_checks import StartRefused, integrity_gate, terminal_secret

ROOT = Path(__file__).resolve().parents[2]

_SELL_THEN_DIE = textwrap.dedent("""
    import os, signal, sys
    from pathlib import Path
    from pos_app.settings import load_settings
    from pos_app.start_checks import integrity_gate, terminal_secret
    from tests.reliability.harness.env import CASHIER, ITEMS, build_services, init_db

    settings = load_settings(None, data_dir=Path(sys.argv[1]), env={})
    init_db(settings.db_path)
    integrity_gate(settings, terminal_secret(settings))
    svc = build_services(settings.db_path, None)
    cashier = svc.users.authenticate(CASHIER[0], CASHIER[1])
    shift = svc.shifts.open_shift(cashier, float_fen=0)
    for n in range(8):
        sale = svc.checkout.new_sale()
        sale.add_item(ITEMS[n % len(ITEMS)], 1)
        svc.checkout.commit_cash(sale, 100_000, shift_id=shift.id, cashier_id=cashier.id, cashier_name=cashier.name)
    print("committed", flush=True)
    os.kill(os.getpid(), signal.SIGKILL)   # a hard stop: no checkpoint, the sales live in the WAL
""")


def _hard_stop_after_8_sales(data: Path) -> None:
    data.mkdir()
    proc = subprocess.run([sys.executable, "-c", _SELL_THEN_DIE, str(data)], cwd=ROOT, capture_output=True,
                          text=True, timeout=120, check=False)
    assert "committed" in proc.stdout, proc.stderr
    assert proc.returncode == -9
    assert (data / "pos.sqlite3-wal").stat().st_size > 0


def test_a_hard_stop_keeps_every_sale_and_starts(tmp_path: Path) -> None:
    data = tmp_path / "data"
    _hard_stop_after_8_sales(data)
    settings = load_settings(None, data_dir=data, env={})
    rep = integrity_gate(settings, terminal_secret(settings))
    assert rep.ok


def test_a_deleted_wal_after_a_hard_stop_is_detected(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = tmp_path / "data"
    _hard_stop_after_8_sales(data)
    (data / "pos.sqlite3-wal").unlink()
    (data / "pos.sqlite3-shm").unlink(missing_ok=True)
    settings = load_settings(None, data_dir=data, env={})
    with pytest.raises(StartRefused) as info:
        integrity_gate(settings, terminal_secret(settings))
    text = "\n".join(info.value.problems)
    assert "older than its anchor" in text and "restore the latest backup" in text
    capsys.readouterr()
    assert main(["audit", "verify", "--data-dir", str(data)]) == 1
    assert "older than its anchor" in capsys.readouterr().out
