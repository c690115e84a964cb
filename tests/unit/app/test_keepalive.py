"""`pos-app run --keep-alive`: the till comes back after a crash, not after a refusal or a clean close."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from pos_app.keepalive import KeepAlive, child_command

# a stand-in terminal: each start takes the next exit code from the file (one per line) and records itself
_CHILD = """
import os, pathlib, sys, time
codes = pathlib.Path(sys.argv[1])
lines = codes.read_text().split()
code, rest = lines[0], lines[1:]
codes.write_text("\\n".join(rest))
with open(sys.argv[2], "a") as f:
    f.write(f"{os.getpid()}\\n")
if code == "kill":
    os.kill(os.getpid(), 9)
if code == "hang":
    time.sleep(60)
sys.exit(int(code))
"""


def _keepalive(tmp_path: Path, codes: list[str], **kw: object) -> tuple[KeepAlive, Path]:
    script = tmp_path / "child.py"
    script.write_text(_CHILD)
    (tmp_path / "codes").write_text("\n".join(codes))
    starts = tmp_path / "starts"
    waits: list[float] = []
    ka = KeepAlive([sys.executable, str(script), str(tmp_path / "codes"), str(starts)],
                   sleep=waits.append, **kw)  # type: ignore[arg-type]
    return ka, starts


@pytest.mark.parametrize("code", [0, 2, 3])
def test_a_clean_close_or_a_refusal_is_not_restarted(tmp_path: Path, code: int) -> None:
    ka, starts = _keepalive(tmp_path, [str(code), "0"])
    assert ka.run() == code
    assert ka.exits == [code] and len(starts.read_text().split()) == 1


def test_a_crash_and_a_kill_are_restarted_until_a_clean_close(tmp_path: Path,
                                                              caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, "pos_app.keepalive")
    ka, starts = _keepalive(tmp_path, ["1", "kill", "0"])
    assert ka.run() == 0
    assert ka.exits == [1, -signal.SIGKILL, 0]
    assert len(set(starts.read_text().split())) == 3  # three separate processes
    assert "ended with 1 (a crash or a signal); starting it again" in caplog.text
    assert "closed normally (exit 0)" in caplog.text


def test_too_many_crashes_in_the_window_give_up(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    ka, starts = _keepalive(tmp_path, ["1"] * 10, burst=3, window=300.0, clock=lambda: 100.0)
    assert ka.run() == 1
    assert ka.exits == [1, 1, 1]
    assert "ended 3 times within 300 s; not starting it again" in caplog.text


def test_a_term_signal_stops_the_till_and_the_loop(tmp_path: Path) -> None:
    ka, starts = _keepalive(tmp_path, ["hang", "0"])
    result: list[int] = []
    # run() installs its handlers on the main thread; the TERM comes from outside, like a logout
    timer = threading.Thread(target=lambda: _term_when_started(starts))
    timer.start()
    result.append(ka.run())
    timer.join()
    assert result == [-signal.SIGTERM] and ka.exits == [-signal.SIGTERM]
    assert len(starts.read_text().split()) == 1  # not started again


def _term_when_started(starts: Path) -> None:
    for _ in range(500):
        if starts.exists() and starts.read_text().strip():
            break
        threading.Event().wait(0.01)
    os.kill(os.getpid(), signal.SIGTERM)


def test_the_child_runs_this_module_without_the_flag() -> None:
    assert child_command(["run", "--keep-alive", "--config", "/etc/pos.toml"]) == [
        sys.executable, "-m", "pos_app", "run", "--config", "/etc/pos.toml"]


def test_the_cli_flag_restarts_a_real_pos_app_that_refuses(tmp_path: Path) -> None:
    # a real `pos-app run --keep-alive` with a bad setting: the child exits 2 and is not restarted
    bad = tmp_path / "pos.toml"
    bad.write_text("[sync]\nmax_in_flight = -4\n")
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "POS_DATA_DIR": str(tmp_path / "data")}
    proc = subprocess.run([sys.executable, "-m", "pos_app", "run", "--keep-alive", "--config", str(bad)],
                          capture_output=True, text=True, env=env, timeout=60)
    assert proc.returncode == 2
    assert proc.stderr.count("max_in_flight") == 1  # started once, refused once
