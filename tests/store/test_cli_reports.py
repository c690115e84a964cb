"""`pos-app store ...` end to end on a real PostgreSQL: init, lane add, lane-sync, status, store X and Z."""

from __future__ import annotations

import datetime as dt
import os
import random
import stat

from pos_app.__main__ import main
from pos_app.services.errors import ServiceError
from tests.reliability.harness.env import CASHIER, SUPERVISOR, build_services, init_db
from tests.store.lanekit import server


def _today() -> str:
    """The store's business date now (read when used: a run that crosses midnight in Beijing stays right)."""
    return dt.datetime.now(dt.timezone(dt.timedelta(hours=8))).date().isoformat()


def _lane_config(tmp_path, store_db, name, capsys):
    pw = tmp_path / f"{name}.pw"
    assert main(["store", "lane", "add", name, "--password-file", str(pw), "--dsn", store_db.admin_dsn]) == 0
    out = capsys.readouterr().out
    assert stat.S_IMODE(os.stat(pw).st_mode) == 0o600
    assert pw.read_text().strip() not in out                     # the password is never printed
    dsn = next(line for line in out.splitlines() if line.startswith("dsn = "))
    data = tmp_path / name
    data.mkdir()
    init_db(data / "pos.sqlite3")
    cfg = tmp_path / f"{name}.toml"
    cfg.write_text(f'data_dir = "{data}"\n[store]\nterminal_id = "{name.upper()}"\n{dsn}\n'
                   f'password_file = "{pw}"\ndeadline_s = 5.0\n')
    return cfg, data / "pos.sqlite3"


def _sell_and_maybe_close(db, n, close, seed):
    svc = build_services(db, None)
    try:
        cashier = svc.users.authenticate(CASHIER[0], CASHIER[1])
        shift = svc.shifts.current_shift() or svc.shifts.open_shift(cashier, float_fen=10_000)
        rng = random.Random(seed)
        from tests.reliability.harness.env import ITEMS
        for _ in range(n):
            sale = svc.checkout.new_sale()
            sale.add_item(rng.choice(ITEMS), 1)
            svc.checkout.commit_cash(sale, sale.totals().payable_fen, shift_id=shift.id, cashier_id=cashier.id,
                                     cashier_name=cashier.name)
        if close:
            try:
                svc.shifts.close_shift({}, cashier)
            except ServiceError as exc:
                assert type(exc).__name__ == "DifferenceNeedsApproval"
                approval = svc.users.approve("close_difference", "close", SUPERVISOR[0], SUPERVISOR[1], "count",
                                             requested_by=cashier)
                svc.shifts.close_shift({}, cashier, approval)
    finally:
        svc.close()


def test_store_commands_and_reports(tmp_path, store_db, capsys, fresh_database):
    name, dsn = fresh_database
    assert main(["store", "init", "--dsn", dsn]) == 0
    assert f"user={name}_lane_NAME" in capsys.readouterr().out
    assert main(["store", "migrate", "--dsn", dsn]) == 0
    assert "up to date" in capsys.readouterr().out

    cfg1, db1 = _lane_config(tmp_path, store_db, "lane1", capsys)
    cfg2, db2 = _lane_config(tmp_path, store_db, "lane2", capsys)
    for cfg in (cfg1, cfg2):     # turn the journal on (first contact) before trading
        assert main(["store", "lane-sync", "--once", "--config", str(cfg)]) == 0
    _sell_and_maybe_close(db1, 3, close=True, seed=1)
    _sell_and_maybe_close(db2, 2, close=False, seed=2)
    for cfg in (cfg1, cfg2):
        assert main(["store", "lane-sync", "--once", "--config", str(cfg)]) == 0
    capsys.readouterr()

    assert main(["store", "report", "x", "--config", str(cfg1), "--date", _today(), "--json"]) == 0
    import json
    fig = json.loads(capsys.readouterr().out)
    assert [(ln["lane"], ln["sales"]) for ln in fig["lanes"]] == [("lane1", 3), ("lane2", 2)]
    assert fig["total_fen"] == server(store_db, "SELECT sum(amount_fen) FROM pos.tender")[0][0]
    assert [m["lane"] for m in fig["incomplete_lanes"]] == ["lane2"]

    # store Z is refused while lane2's shift is open; an override makes it provisional
    assert main(["store", "report", "z", "--config", str(cfg1), "--date", _today()]) == 2
    assert "lane2" in capsys.readouterr().err
    _sell_and_maybe_close(db2, 0, close=True, seed=3)
    assert main(["store", "lane-sync", "--once", "--config", str(cfg2)]) == 0
    capsys.readouterr()
    assert main(["store", "report", "z", "--config", str(cfg2), "--date", _today(), "--by", "9001"]) == 0
    out = capsys.readouterr().out
    assert "STORE Z" in out and "PROVISIONAL" not in out
    assert main(["store", "report", "z", "--config", str(cfg2), "--date", _today()]) == 2
    assert "already_closed" in capsys.readouterr().err
    assert server(store_db, "SELECT provisional, closed_by FROM pos.store_z") == [(False, "9001")]

    assert main(["store", "status", "--dsn", store_db.admin_dsn, "--json"]) == 0
    st = json.loads(capsys.readouterr().out)
    assert {ln["lane"]: ln["backlog"] for ln in st["lanes"]} == {"lane1": 0, "lane2": 0}


def test_forced_store_z_is_provisional_and_lists_the_missing_lane(tmp_path, store_db, capsys):
    cfg1, db1 = _lane_config(tmp_path, store_db, "lane1", capsys)
    assert main(["store", "lane-sync", "--once", "--config", str(cfg1)]) == 0
    _sell_and_maybe_close(db1, 1, close=False, seed=4)
    assert main(["store", "lane-sync", "--once", "--config", str(cfg1)]) == 0
    capsys.readouterr()
    assert main(["store", "report", "z", "--config", str(cfg1), "--date", _today(),
                 "--override-reason", "lane1 broken, counted by hand"]) == 0
    out = capsys.readouterr().out
    assert "PROVISIONAL: lanes missing: lane1" in out
    assert server(store_db, "SELECT provisional, override_reason FROM pos.store_z") == \
        [(True, "lane1 broken, counted by hand")]


def test_a_lane_without_store_settings_is_told_so(tmp_path, capsys):
    cfg = tmp_path / "solo.toml"
    cfg.write_text(f'data_dir = "{tmp_path}"\n')
    assert main(["store", "report", "x", "--config", str(cfg)]) == 2
    assert "not in store mode" in capsys.readouterr().err


