"""The float carried to the next shift (issue 14): the close says what stays in the drawer, the rest goes to the
safe; the next shift starts from it, its opening count is compared with it, and X/Z and the audit show both."""

from __future__ import annotations

import json

import pytest
from _shift_env import Env, Seeder

from pos_app.domain.errors import ShiftError


def test_the_float_left_at_close_is_carried_to_the_next_shift(env: Env, seed: Seeder) -> None:
    assert env.shifts.carried_float() is None
    shift = env.shifts.open_shift(env.cashier, {10000: 5})                 # 500.00
    seed.sale(shift.id, 1, [("cash", 12000, 12000)])                        # 120.00 taken: 620.00 in the drawer
    with pytest.raises(ShiftError, match="float left"):
        env.shifts.close_shift({10000: 6, 1000: 2}, env.cashier, float_left_fen=70000)
    result = env.shifts.close_shift({10000: 6, 1000: 2}, env.cashier, float_left_fen=50000)
    assert result.figures["float"] == {"left_fen": 50000, "to_safe_fen": 12000}
    assert "Left in the drawer for the next shift" in result.z.text and "Taken to the safe" in result.z.text
    assert env.shifts.carried_float() == 50000
    nxt = env.shifts.open_shift(env.cashier, {10000: 4, 5000: 1, 2000: 2})   # counted 490.00: 10.00 short
    x = env.reports.x_report().figures
    assert x["float"] == {"carried_fen": 50000, "opening_difference_fen": -1000}
    assert "Float left by the last shift" in env.reports.x_report().text
    detail = json.loads(env.conn.execute("SELECT detail FROM audit_log WHERE action = 'shift.open'"
                                         " ORDER BY id DESC LIMIT 1").fetchone()[0])
    assert (detail["carried_fen"], detail["float_difference_fen"]) == (50000, -1000)
    # a close that does not say what stays carries nothing
    env.shifts.close_shift({10000: 4, 5000: 1, 2000: 2}, env.cashier)
    assert env.shifts.carried_float() is None and nxt.number == 2
