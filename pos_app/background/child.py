"""A supervised child process: started, restarted when it dies, stopped; pickled messages over two pipes.

Parent side: ``Supervised(name, "module:function", payload, on_message).start()``. A thread of the
terminal (never the GUI thread) starts ``python -m pos_app.background.child --in R --out W
module:function``, sends ``payload`` first, then reads the child's messages and hands each to
``on_message`` (on that thread). When the child exits while not asked to, it is started again after
a back-off (0.5 s doubling to 30 s; back to 0.5 s after a minute of healthy running).

Child side: ``function(payload, inbox, outbox)`` runs until it returns; ``inbox.recv()`` raises
EOFError when the terminal is gone (its pipe closed), so a child never outlives its terminal.
Messages are pickled: both ends are this program, run by the same user from the same files.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from multiprocessing.connection import Connection
from typing import Any

__all__ = ["Supervised", "ChildExited", "main"]

logger = logging.getLogger(__name__)

BACKGROUND_NICE = 10
"""Children run at a lower CPU priority than the terminal (2 cores: the cashier's screen comes first; a
busy till only slows the background work, which catches up when the till is idle)."""


class ChildExited:
    """Handed to ``on_message`` when the child ended without being asked to (``code`` = its exit status)."""

    __slots__ = ("code", "restart_in_s")

    def __init__(self, code: int | None, restart_in_s: float) -> None:
        self.code = code
        self.restart_in_s = restart_in_s

    def __repr__(self) -> str:
        return f"ChildExited(code={self.code}, restart_in_s={self.restart_in_s})"


class Supervised:
    """One child process kept running by a supervisor thread until ``stop()``."""

    def __init__(self, name: str, target: str, payload: object, on_message: Callable[[object], None], *,
                 restart_min_s: float = 0.5, restart_max_s: float = 30.0, healthy_after_s: float = 60.0,
                 python: str | None = None, nice: int = BACKGROUND_NICE) -> None:
        self.name = name
        self.target = target
        self.payload = payload
        self._on_message = on_message
        self._restart_min_s = restart_min_s
        self._restart_max_s = restart_max_s
        self._healthy_after_s = healthy_after_s
        self._python = python or sys.executable
        self._nice = nice
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._proc: subprocess.Popen[bytes] | None = None
        self._to_child: Connection | None = None
        self.starts = 0

    @property
    def running(self) -> bool:
        """The supervisor is on duty (the child may be between a death and its restart)."""
        return self._thread is not None and self._thread.is_alive()

    @property
    def pid(self) -> int | None:
        proc = self._proc
        return proc.pid if proc is not None and proc.poll() is None else None

    @property
    def restarts(self) -> int:
        return max(0, self.starts - 1)

    def start(self) -> None:
        if self.running:
            return
        self._stopping.clear()
        self._thread = threading.Thread(target=self._supervise, name=f"supervise-{self.name}", daemon=True)
        self._thread.start()

    def send(self, message: object) -> bool:
        """Send to the child (any thread); False if no child is listening right now."""
        with self._lock:
            conn = self._to_child
            if conn is None:
                return False
            try:
                conn.send(message)
            except (OSError, ValueError):
                return False
        return True

    def stop(self, timeout: float | None = 10.0) -> bool:
        """Ask the child to stop, close its pipe, wait; kill it if it does not end in ``timeout``."""
        self._stopping.set()
        self.send("stop")
        with self._lock:
            conn, self._to_child = self._to_child, None
        if conn is not None:
            conn.close()
        proc = self._proc
        if proc is not None:
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                logger.warning("%s: the child did not stop in %s s; killing it", self.name, timeout)
                proc.kill()
                proc.wait(5)
        if self._thread is not None:
            self._thread.join(timeout)
            return not self._thread.is_alive()
        return True

    # --- the supervisor thread -------------------------------------------------------------------

    def _spawn(self) -> tuple[subprocess.Popen[bytes], Connection, Connection]:
        to_r, to_w = os.pipe()
        from_r, from_w = os.pipe()
        try:
            proc = subprocess.Popen(
                [self._python, "-m", "pos_app.background.child", "--in", str(to_r), "--out", str(from_w),
                 "--nice", str(self._nice), self.target],
                pass_fds=(to_r, from_w), stdin=subprocess.DEVNULL, close_fds=True)
        finally:
            os.close(to_r)
            os.close(from_w)
        return proc, Connection(to_w, readable=False), Connection(from_r, writable=False)

    def _supervise(self) -> None:
        delay = self._restart_min_s
        while not self._stopping.is_set():
            started = time.monotonic()
            try:
                proc, to_child, from_child = self._spawn()
            except OSError as exc:
                logger.error("%s: cannot start the child process: %s", self.name, exc)
                proc = None
            if proc is not None:
                self.starts += 1
                self._proc = proc
                with self._lock:
                    self._to_child = to_child
                if self._stopping.is_set():     # stop() came while starting: the child sees EOF and ends
                    self._release(to_child)
                elif not self.send(self.payload):
                    logger.error("%s: the child did not take its start message", self.name)
                self._read(from_child)
                from_child.close()
                self._release(to_child)
                code = proc.wait()
            else:
                code = None
            if self._stopping.is_set():
                break
            if time.monotonic() - started >= self._healthy_after_s:
                delay = self._restart_min_s
            logger.error("%s: the child process ended (exit %s); restarting it in %.1f s", self.name, code, delay)
            self._deliver(ChildExited(code, delay))
            if self._stopping.wait(delay):
                break
            delay = min(self._restart_max_s, delay * 2)

    def _release(self, conn: Connection) -> None:
        """Close our end of the child's inbox unless stop() already took it (one closer per descriptor)."""
        with self._lock:
            mine = self._to_child is conn
            if mine:
                self._to_child = None
        if mine:
            conn.close()

    def _read(self, conn: Connection) -> None:
        while True:
            try:
                message = conn.recv()
            except (EOFError, OSError):
                return
            except Exception:  # noqa: BLE001 - an unreadable frame: the child is broken, restart it
                logger.exception("%s: unreadable message from the child", self.name)
                return
            self._deliver(message)

    def _deliver(self, message: object) -> None:
        try:
            self._on_message(message)
        except Exception:  # noqa: BLE001 - a listener's bug must not stop the supervision
            logger.exception("%s: the message listener failed", self.name)


def main(argv: list[str] | None = None) -> int:
    """The child's entry point: ``python -m pos_app.background.child --in R --out W module:function``."""
    ap = argparse.ArgumentParser(prog="pos_app.background.child")
    ap.add_argument("--in", dest="fd_in", type=int, required=True)
    ap.add_argument("--out", dest="fd_out", type=int, required=True)
    ap.add_argument("--nice", type=int, default=0)
    ap.add_argument("target")
    args = ap.parse_args(argv)
    if args.nice and hasattr(os, "nice"):
        os.nice(args.nice)      # background work yields the CPU to the till's GUI process
    module, _, func = args.target.partition(":")
    inbox = Connection(args.fd_in, writable=False)
    outbox = Connection(args.fd_out, readable=False)
    try:
        payload = inbox.recv()
    except EOFError:
        return 0
    fn: Callable[[Any, Connection, Connection], int | None] = getattr(importlib.import_module(module), func)
    try:
        return int(fn(payload, inbox, outbox) or 0)
    finally:
        inbox.close()
        outbox.close()


if __name__ == "__main__":
    sys.exit(main())
