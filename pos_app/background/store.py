"""Store mode's link (uplink and pull) in its own process, supervised by the terminal (issue 18).

The uplink polls the lane journal every 0.1 s and the pull asks the store server every second; run as
threads of the terminal they shared its GIL with the GUI thread. ``StoreLinkSupervisor`` offers what the
terminal uses of a ``StoreLink`` (``start``, ``stop``, ``status``): the child (``run_store_child``) runs
the same ``StoreLink`` as ``pos-app store lane-sync`` and pushes its status whenever it changes (and every
few seconds), so ``status()`` never does I/O on the caller's thread.
"""

from __future__ import annotations

import logging
import threading
from multiprocessing.connection import Connection
from typing import Any

from pos_app.settings import Settings
from pos_app.store.errors import StoreRefused

from .child import ChildExited, Supervised

__all__ = ["StoreLinkSupervisor", "run_store_child", "STATUS_INTERVAL_S"]

logger = logging.getLogger(__name__)

STATUS_INTERVAL_S = 0.5
CONNECTING: tuple[str, dict[str, object]] = ("Store server: connecting", {})


class StoreLinkSupervisor:
    """The lane's store link as a supervised child process (started/stopped with the terminal)."""

    def __init__(self, settings: Settings, *, status_interval_s: float = STATUS_INTERVAL_S,
                 restart_min_s: float = 0.5, restart_max_s: float = 30.0) -> None:
        self._settings = settings
        self._lock = threading.Lock()
        self._status = CONNECTING
        self._child = Supervised("store", "pos_app.background.store:run_store_child",
                                 {"settings": settings, "status_interval_s": status_interval_s}, self._on_message,
                                 restart_min_s=restart_min_s, restart_max_s=restart_max_s)

    def start(self) -> None:
        """Check the settings and turn the lane journal on here, before any sale (StoreRefused for an unreadable
        password file); then start the link's process."""
        from pos_app.storage.lane_journal import SqliteLaneJournal
        from pos_app.store_wiring import link_config

        if link_config(self._settings) is None:
            raise StoreRefused("this lane has no [store] dsn")
        journal = SqliteLaneJournal.open(self._settings.db_path)
        try:
            st = journal.enable()
        finally:
            journal.close()
        logger.info("store mode: epoch %s, %d events waiting; the link runs in its own process", st.lane_epoch,
                    st.backlog)
        self._child.start()

    def stop(self, timeout: float = 10.0) -> bool:
        return self._child.stop(timeout)

    @property
    def running(self) -> bool:
        return self._child.running

    @property
    def pid(self) -> int | None:
        """The link's process (None between a death and its restart)."""
        return self._child.pid

    def status(self) -> tuple[str, dict[str, object]]:
        """The last status the link pushed, as a translatable template and its values (no I/O)."""
        with self._lock:
            return self._status

    def _on_message(self, message: object) -> None:
        """Supervisor thread: a status from the child, or the news that it died or could not start."""
        if isinstance(message, tuple) and len(message) == 2 and isinstance(message[0], str):
            status: tuple[str, dict[str, object]] = (message[0], dict(message[1]))
        elif isinstance(message, ChildExited) or (isinstance(message, dict) and "error" in message):
            status = CONNECTING     # restarting (the child logged why); what it sees next is pushed
        else:
            logger.warning("store link supervisor: unexpected message %r", type(message).__name__)
            return
        with self._lock:
            self._status = status


def run_store_child(payload: dict[str, Any], inbox: Connection, outbox: Connection) -> int:
    """Child process: the uplink and pull threads of store mode on the terminal's settings."""
    from pos_app.logs import setup_logging
    from pos_app.store.errors import StoreError
    from pos_app.store_wiring import start_store_link

    settings: Settings = payload["settings"]
    interval = float(payload.get("status_interval_s", STATUS_INTERVAL_S))
    setup_logging(settings.log_dir)
    try:
        link = start_store_link(settings)
    except StoreError as exc:   # e.g. an unreadable password file: the lane still sells, the log says why
        logger.error("store mode not started: %s", exc)
        outbox.send({"error": str(exc)})
        return 4
    if link is None:
        outbox.send({"error": "no [store] dsn"})
        return 4
    last: object = None
    quiet = 0.0
    try:
        while True:
            status = link.status()
            if status != last or quiet >= 5.0:
                outbox.send(status)
                last, quiet = status, 0.0
            if inbox.poll(interval):
                try:
                    message = inbox.recv()
                except EOFError:             # the terminal is gone
                    break
                if message == "stop":
                    break
            else:
                quiet += interval
    except (BrokenPipeError, EOFError, OSError):
        pass                                 # the terminal is gone
    finally:
        link.stop()
    return 0
