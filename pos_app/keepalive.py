"""Bring the till back after a crash when no service manager does it (XDG autostart, a bare X session).

``pos-app run --keep-alive`` starts the terminal as a child process and starts it again when it dies,
with the same rules as the systemd user unit that ``pos-app setup desktop`` writes:

- exit 0 (the cashier or a supervisor closed it) ends the loop;
- exit 2 (bad settings) and 3 (an unusable database) need a person: restarting would only repeat the
  refusal, so the loop ends with that code;
- any other end (a crash, a signal) restarts the terminal after ``delay`` seconds, at most ``burst``
  times within ``window`` seconds; past that the loop gives up (the machine needs a person) with the
  child's code.

Every start and every end is logged, so a support call can read what happened from ``pos.log``.
"""

from __future__ import annotations

import logging
import signal
import subprocess
import sys
import time
from collections import deque
from collections.abc import Callable, Sequence
from types import FrameType

__all__ = ["NO_RESTART", "KeepAlive", "child_command"]

logger = logging.getLogger(__name__)

NO_RESTART = frozenset({0, 2, 3})  # the same as the unit's RestartPreventExitStatus=2 3 plus a clean exit


def child_command(argv: Sequence[str]) -> list[str]:
    """This interpreter running ``pos_app`` with ``argv`` minus ``--keep-alive`` (the child must not loop)."""
    return [sys.executable, "-m", "pos_app", *[a for a in argv if a != "--keep-alive"]]


class KeepAlive:
    """Runs ``cmd`` until it ends for a reason a restart cannot mend."""

    def __init__(self, cmd: Sequence[str], *, delay: float = 3.0, burst: int = 10, window: float = 300.0,
                 sleep: Callable[[float], None] = time.sleep,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.cmd = list(cmd)
        self.delay = delay
        self.burst = burst
        self.window = window
        self._sleep = sleep
        self._clock = clock
        self._starts: deque[float] = deque()
        self._child: subprocess.Popen[bytes] | None = None
        self._stopping = False
        self.exits: list[int] = []  # every child's exit code, in order (read by tests and the log)

    def _forward(self, signum: int, _frame: FrameType | None) -> None:
        """SIGTERM/SIGINT to the loop (logout, systemctl stop) end the till and the loop, not a restart."""
        self._stopping = True
        child = self._child
        if child is not None and child.poll() is None:
            child.send_signal(signum)

    def run(self) -> int:
        old = {s: signal.signal(s, self._forward) for s in (signal.SIGTERM, signal.SIGINT)}
        try:
            return self._loop()
        finally:
            for s, handler in old.items():
                signal.signal(s, handler)

    def _loop(self) -> int:
        while True:
            now = self._clock()
            while self._starts and now - self._starts[0] > self.window:
                self._starts.popleft()
            if len(self._starts) >= self.burst:
                code = self.exits[-1] if self.exits else 1
                logger.error("keep-alive: the terminal ended %d times within %.0f s; not starting it again "
                             "(last exit %d): see the log above", len(self._starts), self.window, code)
                return code
            self._starts.append(now)
            logger.info("keep-alive: starting the terminal: %s", " ".join(self.cmd))
            self._child = subprocess.Popen(self.cmd)  # noqa: S603 - our own interpreter and module
            code = self._child.wait()
            self._child = None
            self.exits.append(code)
            if self._stopping:
                logger.info("keep-alive: stopped by a signal; the terminal exited with %d", code)
                return code
            if code in NO_RESTART:
                why = "closed normally" if code == 0 else "refused to start: it needs a person, not a restart"
                logger.log(logging.INFO if code == 0 else logging.ERROR,
                           "keep-alive: the terminal %s (exit %d)", why, code)
                return code
            logger.error("keep-alive: the terminal ended with %d (a crash or a signal); starting it again "
                         "in %.1f s", code, self.delay)
            self._sleep(self.delay)
