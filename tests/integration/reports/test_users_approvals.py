"""Users: PIN login with lock-out, approvals by supervisors only, all audited without PINs."""

from __future__ import annotations

import pytest
from _shift_env import Env

from pos_app.services.errors import ServiceError
from pos_app.services.users import (
    BadPin,
    Disabled,
    Locked,
    NotAuthorized,
    UnknownUser,
    UserExists,
    WrongPin,
    hash_pin,
    verify_pin,
)
from pos_app.storage.audit import verify_chain


def test_pin_hash_format_and_salt() -> None:
    a, b = hash_pin("2468"), hash_pin("2468")
    assert a.startswith("scrypt$16384$8$1$") and a != b
    assert verify_pin("2468", a) and not verify_pin("2469", a)
    assert not verify_pin("2468", "garbage") and not verify_pin("2468", "md5$1$2$3$4$5")


def test_add_and_login_with_number_or_card(env: Env) -> None:
    u = env.users.add_user("2001", "Ada", "supervisor", "864209", card_code="SUP7777")
    row = env.conn.execute("SELECT pin_hash FROM users WHERE id = ?", (u.id,)).fetchone()
    assert "864209" not in row[0] and row[0].startswith("scrypt$")
    assert env.users.authenticate("2001", "864209").name == "Ada"
    assert env.users.authenticate("SUP7777", "864209").id == u.id
    with pytest.raises(UserExists):
        env.users.add_user("2001", "Other", "cashier", "1234")
    with pytest.raises(BadPin):
        env.users.add_user("2002", "Bad", "cashier", "12a4")
    with pytest.raises(BadPin):
        env.users.add_user("2003", "Bad", "cashier", "1111")
    with pytest.raises(ServiceError):
        env.users.add_user("2004", "Bad", "boss", "1234")
    assert [x.number for x in env.users.list_users()] == ["1001", "2001", "9001"]


def test_five_wrong_pins_lock_then_unlock_after_the_lock_time(env: Env) -> None:
    for remaining in (4, 3, 2, 1):
        with pytest.raises(WrongPin) as exc:
            env.users.authenticate("1001", "0000")
        assert exc.value.remaining == remaining
    with pytest.raises(Locked) as locked:
        env.users.authenticate("1001", "0000")
    assert locked.value.until == env.clock.now() + __import__("datetime").timedelta(minutes=15)
    with pytest.raises(Locked):
        env.users.authenticate("1001", "1357")  # right PIN, still locked
    env.clock.advance(15 * 60 + 1)
    assert env.users.authenticate("1001", "1357").number == "1001"
    actions = [r[0] for r in env.conn.execute("SELECT action FROM audit_log ORDER BY id")]
    assert actions.count("login.wrong_pin") == 4 and "user.locked" in actions and "login.locked_out" in actions
    assert actions[-1] == "login.ok"


def test_reset_pin_clears_lock_and_disable_blocks(env: Env) -> None:
    for _ in range(5):
        with pytest.raises((WrongPin, Locked)):
            env.users.authenticate("1001", "0000")
    env.users.reset_pin("1001", "5791")
    assert env.users.authenticate("1001", "5791").id == 1
    env.users.disable("1001")
    with pytest.raises(Disabled):
        env.users.authenticate("1001", "5791")
    env.users.enable("1001")
    with pytest.raises(UnknownUser):
        env.users.authenticate("nobody", "1234")


def test_approval_needs_a_supervisor_and_is_recorded(env: Env) -> None:
    with pytest.raises(NotAuthorized):
        env.users.approve("refund", "R1", "1001", "1357", "customer_return", requested_by=env.cashier)
    with pytest.raises(ServiceError):
        env.users.approve("refund", "R1", "9001", "1357", "", requested_by=env.cashier)
    with pytest.raises(WrongPin):
        env.users.approve("refund", "R1", "9001", "9999", "customer_return", requested_by=env.cashier)
    shift = env.shifts.open_shift(env.cashier, float_fen=0)
    a = env.users.approve("refund", "R1", "SUP0001", "1357", "customer_return", "box damaged",
                          requested_by=env.cashier)
    assert (a.approver_name, a.requested_by, a.reason_code, a.shift_id) == ("Sup Li", 1, "customer_return", shift.id)
    row = env.conn.execute("SELECT action, subject, approved_by, requested_by, reason_code, note, shift_id"
                           " FROM approvals WHERE id = ?", (a.id,)).fetchone()
    assert tuple(row) == ("refund", "R1", 2, 1, "customer_return", "box damaged", shift.id)
    details = " ".join(r[0] for r in env.conn.execute("SELECT detail || subject || user_name FROM audit_log"))
    assert "1357" not in details and "9999" not in details
    assert verify_chain(env.conn)[1] is None
