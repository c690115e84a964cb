"""A lane's link to the store server: the uplink thread and the pull thread, never the GUI thread.

Each thread has its own lane-journal connection (SQLite connections are never shared across threads)
and its own PostgreSQL connection. ``status_line`` is what the status bar shows.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass

from .errors import StoreRefused, StoreUnavailable
from .ports import LaneJournalPort, LaneStatePort
from .pull import Pull
from .uplink import FailureLog, Uplink, UplinkConfig

__all__ = ["StoreLink", "LinkConfig", "status_line"]

logger = logging.getLogger(__name__)
STORE_TZ = dt.timezone(dt.timedelta(hours=8))


@dataclass(frozen=True)
class LinkConfig:
    conninfo: str
    deadline_s: float = 10.0
    pull_interval_s: float = 1.0
    poll_s: float = 0.1
    heartbeat_s: float = 30.0


def status_parts(st: LaneStatePort) -> tuple[str, dict[str, object]]:
    """The status as a translatable template and its values (the UI translates the template)."""
    if st.offline_since:
        at = dt.datetime.fromisoformat(st.offline_since).astimezone(STORE_TZ)
        return "Store offline since {time}, {n} events waiting", {"time": f"{at:%H:%M}", "n": st.backlog}
    if st.backlog:
        return "Store server online, {n} events waiting", {"n": st.backlog}
    if st.last_ok_at:
        return "Store server online", {}
    return "Store server: connecting", {}


def status_line(st: LaneStatePort) -> str:
    """"Store offline since HH:MM, N events waiting" (store time), or how far behind the uplink is."""
    if st.offline_since:
        at = dt.datetime.fromisoformat(st.offline_since).astimezone(STORE_TZ)
        return f"Store offline since {at:%H:%M}, {st.backlog} events waiting"
    if st.backlog:
        return f"Store online, {st.backlog} events waiting"
    if st.last_ok_at:
        return "Store online"
    return "Store: connecting"


class StoreLink:
    def __init__(self, journal_factory: Callable[[], LaneJournalPort], config: LinkConfig) -> None:
        self._factory = journal_factory
        self._cfg = config
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self.uplink: Uplink | None = None
        self.pull: Pull | None = None
        self._status: tuple[str, dict[str, object]] = ("Store server: connecting", {})

    def status(self) -> tuple[str, dict[str, object]]:
        """The last status the uplink thread saw (no I/O: safe on the GUI thread)."""
        return self._status

    def start(self) -> None:
        self._stop.clear()
        for name, target in (("store-uplink", self._run_uplink), ("store-pull", self._run_pull)):
            t = threading.Thread(target=target, name=name, daemon=True)
            t.start()
            self._threads.append(t)

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        for t in self._threads:
            t.join(timeout)
        self._threads.clear()

    def _run_uplink(self) -> None:
        journal = self._factory()
        try:
            self.uplink = Uplink(journal, UplinkConfig(self._cfg.conninfo, deadline_s=self._cfg.deadline_s,
                                                       poll_s=self._cfg.poll_s, heartbeat_s=self._cfg.heartbeat_s))

            def note() -> None:
                self._status = status_parts(journal.state())

            self.uplink.run(self._stop, on_round=note)
        except Exception:  # a bug here must not take the till down; it is logged and the lane keeps selling
            logger.exception("store uplink stopped")
        finally:
            journal.close()

    def _run_pull(self) -> None:
        journal = self._factory()
        pull = self.pull = Pull(journal, self._cfg.conninfo, deadline_s=self._cfg.deadline_s)
        failures = FailureLog("store pull", logger)
        try:
            while not self._stop.is_set():
                if journal.state().lane_id:          # the uplink said hello: we know our epoch
                    try:
                        pull.step()
                    except (StoreUnavailable, StoreRefused) as exc:
                        failures.failure(exc)
                        # an idle uplink asks the store only every heartbeat: the pull, every second, is the first
                        # to know it is down (the uplink clears this after its own round trip succeeds)
                        if isinstance(exc, StoreUnavailable) and not journal.state().offline_since:
                            journal.set_offline(dt.datetime.now(dt.UTC), str(exc))
                    else:
                        failures.success()
                self._stop.wait(self._cfg.pull_interval_s)
        except Exception:  # see above
            logger.exception("store pull stopped")
        finally:
            pull.drop()
            journal.close()
