"""Users, settings and members are the store's (store mode, issue 13): the administrator puts them on the store
server, every lane pulls them; a cashier logs in at any lane, also while the store is down."""

from __future__ import annotations

import dataclasses
import os
import stat

import pytest

from pos_app.__main__ import main
from pos_app.runtime import SystemClock
from pos_app.services.users import Disabled, UserService, WrongPin
from pos_app.settings import load_settings
from pos_app.store.pinkey import read_pin_key
from pos_app.store_wiring import apply_store_settings
from tests.reliability.harness.env import uow_factory_for
from tests.store.lanekit import make_lane, server
from tests.store.test_cli_reports import _lane_config


def _users(lane, key: bytes | None) -> UserService:
    return UserService(uow_factory_for(lane.db, None), SystemClock(), terminal_id=lane.name,
                       pin_key=b"k" * 32, store_pin_key=key)


def test_a_cashier_added_at_the_store_logs_in_at_every_lane(tmp_path, store_db, monkeypatch, capsys):
    key_file = tmp_path / "store-pin.key"
    admin = ["--dsn", store_db.admin_dsn]
    assert main(["store", "init", *admin, "--pin-key-file", str(key_file)]) == 0
    assert stat.S_IMODE(os.stat(key_file).st_mode) == 0o600
    key = read_pin_key(key_file)
    monkeypatch.setenv("NEW_PIN", "246810")
    assert main(["store", "user", "add", "2001", "--name", "王芳", "--pin-key-file", str(key_file),
                 "--pin-env", "NEW_PIN", *admin]) == 0
    monkeypatch.setenv("SHORT_PIN", "1234")
    assert main(["store", "user", "add", "9002", "--name", "Boss", "--role", "supervisor",
                 "--pin-key-file", str(key_file), "--pin-env", "SHORT_PIN", *admin]) == 2   # supervisor: 6+ digits
    verifier = server(store_db, "SELECT pin_verifier FROM pos.store_user WHERE number = '2001'")[0][0]
    assert verifier.startswith("kscrypt$") and "246810" not in verifier
    a, b = make_lane(tmp_path, store_db, "lane_a"), make_lane(tmp_path, store_db, "lane_b")
    for lane in (a, b):
        lane.uplink().push()
        lane.pull().step()
        # without the store's PIN key the verifier is useless (a copied lane database is not enough)
        with pytest.raises(WrongPin):
            _users(lane, None).authenticate("2001", "246810")
        user = _users(lane, key).authenticate("2001", "246810")
        assert (user.name, user.role) == ("王芳", "cashier")
        with pytest.raises(WrongPin):
            _users(lane, key).authenticate("2001", "111111")
    # the lane re-hashed it under its own key at the first login: the store's copy wins when the store changes it
    with a.sqlite() as c:
        assert c.execute("SELECT pin_hash FROM users WHERE number = '2001'").fetchone()[0].startswith("kscrypt$")
    monkeypatch.setenv("NEW_PIN", "135790")
    assert main(["store", "user", "add", "2001", "--name", "王芳", "--pin-key-file", str(key_file),
                 "--pin-env", "NEW_PIN", *admin]) == 0
    assert main(["store", "user", "disable", "2001", *admin]) == 0
    a.pull().step()
    with pytest.raises(Disabled):
        _users(a, key).authenticate("2001", "135790")
    assert main(["store", "user", "enable", "2001", *admin]) == 0
    a.pull().step()
    assert _users(a, key).authenticate("2001", "135790").number == "2001"
    # the store is down: the pulled verifier still lets the cashier in
    b.pull().step()
    b.conninfo = b.conninfo.replace(f"port={store_db.server.port}", "port=1")
    assert _users(b, key).authenticate("2001", "135790").number == "2001"
    with a.sqlite() as c:
        assert c.execute("SELECT count(*) FROM audit_log WHERE action = 'users.store_pull'").fetchone()[0] >= 2
    capsys.readouterr()
    a.close()
    b.close()


def test_store_settings_reach_the_lane_at_its_next_start(tmp_path, store_db, capsys):
    admin = ["--dsn", store_db.admin_dsn]
    assert main(["store", "setting", "set", "store.name", '"一号店 Shop 1"', *admin]) == 0
    assert main(["store", "setting", "set", "store.offline_redeem_cap", "300", *admin]) == 0
    assert main(["store", "setting", "set", "shift.pin_max_failures", "3", *admin]) == 0
    assert main(["store", "setting", "set", "gateway.url", "http://x", *admin]) == 64     # not the store's
    assert main(["store", "setting", "set", "store.offline_redeem_cap", "-5", *admin]) == 64
    capsys.readouterr()
    cfg, db = _lane_config(tmp_path, store_db, "lane1", capsys)
    assert main(["store", "lane-sync", "--once", "--config", str(cfg)]) == 0
    settings = load_settings(cfg)
    applied = apply_store_settings(settings)
    assert (applied.store.name, applied.store.offline_redeem_cap, applied.shift.pin_max_failures) == \
        ("一号店 Shop 1", 300, 3)
    assert applied.store.terminal_id == "LANE1" and applied.store.dsn == settings.store.dsn   # the lane's own
    assert main(["store", "setting", "delete", "store.name", *admin]) == 0
    assert main(["store", "lane-sync", "--once", "--config", str(cfg)]) == 0
    assert apply_store_settings(settings).store.name == settings.store.name
    standalone = dataclasses.replace(settings, store=dataclasses.replace(settings.store, dsn=""))
    assert apply_store_settings(standalone) is standalone


def test_members_import_in_store_mode_loads_the_store_and_every_lane_pulls(tmp_path, store_db, capsys, monkeypatch):
    cfg, _db = _lane_config(tmp_path, store_db, "lane1", capsys)
    other = make_lane(tmp_path, store_db, "lane2")
    other.uplink().push()
    f = tmp_path / "members.csv"
    f.write_text("card number,phone,name,level,opening points,alipay card\n"
                 "8800000000077001,13800000001,李雷,VIP1,450,yes\n"
                 "8800000000077002,13800000002,韩梅梅,VIP2,0,no\n", encoding="utf-8")
    # the administrator's connection from the environment, as the README exports it (it is not a lane setting)
    monkeypatch.setenv("POS_STORE_ADMIN_DSN", store_db.admin_dsn)
    args = ["members", "import", str(f), "--config", str(cfg)]
    assert main([*args, "--dry-run"]) == 0
    assert server(store_db, "SELECT count(*) FROM pos.member")[0][0] == 0
    assert main(args) == 0
    assert "added 2" in capsys.readouterr().out
    assert main(args) == 0                                   # again: no second opening entry
    assert "unchanged 2" in capsys.readouterr().out
    assert server(store_db, "SELECT member_id, balance FROM pos.member_points ORDER BY 1") == \
        [("8800000000077001", 450), ("8800000000077002", 0)]
    # the card worker updates the card of the member who holds one, only
    assert server(store_db, "SELECT member_id FROM pos.card_outbox WHERE state = 'pending'") == \
        [("8800000000077001",)]
    other.pull().step()
    assert other.journal.points_shown("8800000000077001") == 450
    with other.sqlite() as c:
        assert c.execute("SELECT name FROM members WHERE card_no = '8800000000077002'").fetchone()[0] == "韩梅梅"
    other.close()
