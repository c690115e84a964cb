"""Issue 16 §2: data at rest is the owner's only, and PINs do not fall to an offline search of a copied
database (they are keyed with a secret kept outside it)."""

from __future__ import annotations

import datetime as dt
import os
import sqlite3
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from pos_app.runtime import FixedClock
from pos_app.services.users import (
    LOGIN_REFUSED,
    BadPin,
    Locked,
    UnknownUser,
    UserService,
    WrongPin,
    hash_pin,
    verify_pin,
)
from pos_app.storage.db import Database
from pos_app.storage.secret import SecretFileError, load_or_create_secret
from pos_app.storage.uow import SqliteUnitOfWork

ROOT = Path(__file__).resolve().parents[2]


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


# --- file modes --------------------------------------------------------------------------------

def _run_cli(args: list[str], *, umask: int = 0o022) -> subprocess.CompletedProcess[str]:
    code = (f"import os, sys; os.umask({umask}); from pos_app.__main__ import main; "
            f"sys.exit(main({args!r}))")
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120,
                          check=False)


def test_a_new_install_is_owner_only_whatever_the_umask(tmp_path: Path) -> None:
    data = tmp_path / "data"
    proc = _run_cli(["users", "add", "1001", "Cashier", "--pin-env", "PIN_FOR_TEST", "--data-dir", str(data)])
    assert proc.returncode == 1, proc.stderr  # the variable is not set: refused, but the database exists
    proc = subprocess.run(
        [sys.executable, "-c", "import os, sys; os.umask(0o022); from pos_app.__main__ import main; "
         f"sys.exit(main(['users', 'add', '1001', 'Cashier', '--pin-env', 'PIN_FOR_TEST', '--data-dir', {str(data)!r}]))"],
        capture_output=True, text=True, cwd=ROOT, timeout=120, check=False, env={**os.environ, "PIN_FOR_TEST": "2468"})
    assert proc.returncode == 0, proc.stderr
    assert _mode(data) == 0o700
    files = [p for p in data.rglob("*")]
    names = {p.name for p in files}
    assert {"pos.sqlite3", "pos.log", "pos-secret.key"} <= names, names
    for p in files:
        assert _mode(p) == (0o700 if p.is_dir() else 0o600), f"{p} is {_mode(p):o}"


def test_wal_and_shm_are_owner_only(tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        conn = Database(tmp_path / "pos.sqlite3").open_and_migrate()
        conn.execute("INSERT INTO meta (key, value) VALUES ('x', 'y')")
        wal = tmp_path / "pos.sqlite3-wal"
        shm = tmp_path / "pos.sqlite3-shm"
        assert wal.exists() and shm.exists()
        assert (_mode(tmp_path / "pos.sqlite3"), _mode(wal), _mode(shm)) == (0o600, 0o600, 0o600)
        conn.close()
    finally:
        os.umask(old)


def test_an_existing_install_is_fixed_at_start_with_a_log_line(tmp_path: Path) -> None:
    data = tmp_path / "data"
    (data / "logs").mkdir(parents=True)
    (data / "exports").mkdir()
    Database(data / "pos.sqlite3").open_and_migrate().close()
    (data / "logs" / "pos.log.1").write_text("old log\n")
    (data / "exports" / "sales-2026-11-01.csv").write_text("receipt,total\n")
    for p in [data, data / "logs", data / "exports"]:
        os.chmod(p, 0o755)
    for p in [data / "pos.sqlite3", data / "logs" / "pos.log.1", data / "exports" / "sales-2026-11-01.csv"]:
        os.chmod(p, 0o644)
    proc = _run_cli(["db", "info", "--data-dir", str(data)])
    assert proc.returncode == 0, proc.stderr
    for p in data.rglob("*"):
        assert _mode(p) == (0o700 if p.is_dir() else 0o600), f"{p} is {_mode(p):o}"
    assert _mode(data) == 0o700
    log = (data / "logs" / "pos.log").read_text(encoding="utf-8")
    assert "owner-only" in log and "sales-2026-11-01.csv: 644 -> 600" in log


# --- the secret file ---------------------------------------------------------------------------

def test_secret_file_is_created_0600_and_reloaded(tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        s1 = load_or_create_secret(tmp_path / "pos-secret.key")
    finally:
        os.umask(old)
    assert _mode(tmp_path / "pos-secret.key") == 0o600
    s2 = load_or_create_secret(tmp_path / "pos-secret.key")
    assert s1.key("pin") == s2.key("pin") and s1.key("pin") != s1.key("audit")
    assert "pos-secret" in repr(s1) and s1.key("pin").hex() not in repr(s1)


@pytest.mark.parametrize("content", ["", "garbage\n", "pos-app-secret-v1\n12ab\n", "pos-app-secret-v1\n" + "zz" * 32])
def test_a_damaged_secret_file_is_refused_not_replaced(tmp_path: Path, content: str) -> None:
    path = tmp_path / "pos-secret.key"
    path.write_text(content)
    os.chmod(path, 0o600)
    with pytest.raises(SecretFileError, match="restore it from your backup"):
        load_or_create_secret(path)
    assert path.read_text() == content


# --- PINs ---------------------------------------------------------------------------------------

KEY = bytes(range(32))


def _users(tmp_path: Path, **kw: Any) -> tuple[UserService, FixedClock, sqlite3.Connection]:
    conn = Database(tmp_path / "pos.sqlite3").open_and_migrate()
    clock = FixedClock(dt.datetime(2026, 11, 25, 1, 0, tzinfo=dt.UTC))
    return UserService(lambda: SqliteUnitOfWork(conn), clock, **kw), clock, conn


def test_a_copied_database_does_not_give_up_a_supervisor_pin(tmp_path: Path) -> None:
    """Before: the supervisor's PIN fell to an offline scrypt loop over the stored hash (164 s for 4 digits).
    Now the hash is scrypt over HMAC(secret, PIN): the right PIN itself does not verify without the secret,
    so the loop over all PINs finds nothing; the search space is the 256-bit secret."""
    users, _, conn = _users(tmp_path, pin_key=KEY)
    users.add_user("9001", "Sup", "supervisor", "480264")
    stored = conn.execute("SELECT pin_hash FROM users WHERE number = '9001'").fetchone()[0]
    assert stored.startswith("kscrypt$")
    assert not verify_pin("480264", stored), "the right PIN must not verify without the secret"
    assert not verify_pin("480264", stored, key=bytes(32)), "nor with a wrong secret"
    assert verify_pin("480264", stored, key=KEY)
    assert users.authenticate("9001", "480264").number == "9001"


def test_existing_pin_hashes_keep_working_and_are_rehashed(tmp_path: Path) -> None:
    users, _, conn = _users(tmp_path, pin_key=KEY)
    conn.execute("INSERT INTO users (number, name, role, pin_hash, created_at) VALUES ('9001', 'Sup', 'supervisor', ?,"
                 " '2026-01-01T00:00:00+00:00')", (hash_pin("9876"),))   # an upgraded shop: legacy hash, 4 digits
    assert users.authenticate("9001", "9876").number == "9001"
    stored = conn.execute("SELECT pin_hash FROM users WHERE number = '9001'").fetchone()[0]
    assert stored.startswith("kscrypt$") and verify_pin("9876", stored, key=KEY)
    assert users.authenticate("9001", "9876").number == "9001"
    assert "user.pin_rehashed" in [r[0] for r in conn.execute("SELECT action FROM audit_log")]


def test_minimum_pin_length_supervisors_six_by_default_and_configurable(tmp_path: Path) -> None:
    users, _, _ = _users(tmp_path, pin_key=KEY)
    with pytest.raises(BadPin, match="6"):
        users.add_user("9001", "Sup", "supervisor", "4826")
    with pytest.raises(BadPin, match="6"):
        users.add_user("9002", "Adm", "admin", "48261")
    users.add_user("1001", "Cashier", "cashier", "4826")
    users.add_user("9001", "Sup", "supervisor", "482613")
    strict, _, _ = _users(tmp_path / "b", pin_key=KEY, min_pin_length=6, supervisor_min_pin_length=8)
    with pytest.raises(BadPin):
        strict.add_user("1001", "Cashier", "cashier", "48261")
    with pytest.raises(BadPin):
        strict.add_user("9001", "Sup", "supervisor", "4826135")
    strict.add_user("9001", "Sup", "supervisor", "48261357")


@pytest.mark.parametrize(("number", "pin"), [("1001\n", "482613"), ("1002", "482613\n")])
def test_user_numbers_and_pins_are_checked_whole(tmp_path: Path, number: str, pin: str) -> None:
    users, _, _ = _users(tmp_path, pin_key=KEY)
    with pytest.raises(Exception, match="user number|PIN"):
        users.add_user(number, "X", "cashier", pin)


def test_one_message_for_unknown_user_and_wrong_pin(tmp_path: Path) -> None:
    users, _, _ = _users(tmp_path, pin_key=KEY)
    users.add_user("1001", "Cashier", "cashier", "4826")
    with pytest.raises(WrongPin) as wrong:
        users.authenticate("1001", "1111")
    with pytest.raises(UnknownUser) as unknown:
        users.authenticate("1002", "1111")
    assert str(wrong.value) == str(unknown.value) == LOGIN_REFUSED


def test_lock_out_grows_with_repeated_failures(tmp_path: Path) -> None:
    """Before: 5 guesses then 15 minutes, forever: 480 guesses a day. Now every further lock doubles."""
    users, clock, _ = _users(tmp_path, pin_key=KEY, max_failures=5, lock_minutes=15)
    users.add_user("1001", "Cashier", "cashier", "4826")
    guesses = 0
    locks: list[dt.timedelta] = []
    start = clock.now()
    while clock.now() - start < dt.timedelta(days=1):
        try:
            users.authenticate("1001", "0000")
        except Locked as exc:
            if exc.until > clock.now():
                if not locks or exc.until - clock.now() != locks[-1]:
                    locks.append(exc.until - clock.now())
                clock.advance((exc.until - clock.now()).total_seconds() + 1)
                continue
        except WrongPin:
            pass
        guesses += 1
    assert locks[:4] == [dt.timedelta(minutes=m) for m in (15, 30, 60, 120)]
    assert guesses <= 50, f"{guesses} guesses in a day"
    clock.advance(2 * 86400)
    assert users.authenticate("1001", "4826").number == "1001"   # a good PIN ends it
    with pytest.raises(WrongPin) as exc:
        users.authenticate("1001", "0000")
    assert exc.value.remaining == 4
