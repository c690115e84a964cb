"""While the store is down the uplink retries every few seconds and the pull every second. The terminal's pos.log
(shared by all its processes, written under a lock on the log folder that the till's own commit line takes too)
gets the first failure and the recovery at INFO, not a line per retry."""

from __future__ import annotations

import logging
import random
import threading

from pos_app.store.uplink import FailureLog, Uplink, UplinkConfig
from tests.store.lanekit import make_lane
from tests.store.tcpproxy import TcpProxy


def _info(caplog, text: str) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno >= logging.INFO and text in r.getMessage()]


def test_an_outage_is_logged_once_and_its_end_with_the_attempts(tmp_path, store_db, caplog):
    caplog.set_level(logging.DEBUG, logger="pos_app.store")
    lane = make_lane(tmp_path, store_db, "lane1")
    lane.sell(random.Random(3))
    proxy = TcpProxy(store_db.server.port)
    proxy.set_mode("refuse")
    up = Uplink(lane.journal, UplinkConfig(lane.conninfo.replace(f"port={store_db.server.port}", f"port={proxy.port}"),
                                           deadline_s=2.0, backoff_base_s=0.001, backoff_cap_s=0.001))
    stop = threading.Event()
    rounds: list[int] = []

    def on_round() -> None:
        rounds.append(up.failures)
        if len(rounds) == 6:
            proxy.set_mode("pass")           # the store is back
        if len(rounds) > 6 and up.failures == 0:
            stop.set()

    try:
        up.run(stop, on_round=on_round)
    finally:
        proxy.close()
        lane.close()
    assert rounds[:6] == [1, 2, 3, 4, 5, 6]
    assert len(_info(caplog, "store unreachable")) == 1           # the first failure; the 5 retries at DEBUG
    assert len([r for r in caplog.records if "store unreachable" in r.getMessage()]) == 6
    back = _info(caplog, "reachable again")
    assert len(back) == 1 and "after 6 failed attempt(s)" in back[0]


def test_a_different_error_is_logged_again(caplog):
    caplog.set_level(logging.DEBUG, logger="t")
    log = FailureLog("store pull", logging.getLogger("t"))
    for text in ("refused", "refused", "no answer within 10 s (deadline)", "no answer within 10 s (deadline)"):
        log.failure(OSError(text))
    log.success()
    log.success()                                                 # nothing failed since: nothing to say
    assert [(r.levelname, r.getMessage()) for r in caplog.records if r.levelno >= logging.INFO] == [
        ("INFO", "store pull failed: refused"), ("INFO", "store pull failed: no answer within 10 s (deadline)"),
        ("INFO", "store pull: store reachable again after 4 failed attempt(s) in 0 s")]


def test_an_idle_lane_shows_the_store_offline_within_seconds_and_online_only_after_a_round_trip(tmp_path, store_db):
    """With nothing to push the uplink asks the store only every heartbeat (30 s): the status bar said
    "Store server online" for up to half a minute after the store went down (seen on the walk). The pull, every
    second, marks it offline; only the uplink's next successful round trip marks it online again."""
    import time

    from pos_app.storage.lane_journal import SqliteLaneJournal
    from pos_app.store.link import LinkConfig, StoreLink, status_parts

    lane = make_lane(tmp_path, store_db, "idle1")
    proxy = TcpProxy(store_db.server.port)
    link = StoreLink(lambda: SqliteLaneJournal.open(lane.db),
                     LinkConfig(lane.conninfo.replace(f"port={store_db.server.port}", f"port={proxy.port}"),
                                deadline_s=2.0, pull_interval_s=0.1, poll_s=0.05, heartbeat_s=30.0))

    def status() -> str:
        return status_parts(lane.journal.state())[0]

    def wait_for(text: str, timeout: float = 10.0) -> float:
        t0 = time.monotonic()
        while status() != text and time.monotonic() - t0 < timeout:
            time.sleep(0.02)
        assert status() == text
        return time.monotonic() - t0

    link.start()
    try:
        wait_for("Store server online")
        proxy.set_mode("refuse")                  # the store is down; this lane has nothing to push
        assert wait_for("Store offline since {time}, {n} events waiting") < 3.0   # before: up to the heartbeat
        time.sleep(0.5)
        assert status().startswith("Store offline")   # the idle uplink does not mark it online by itself
        proxy.set_mode("pass")
        wait_for("Store server online")
    finally:
        link.stop()
        proxy.close()
        lane.close()


def test_while_backing_off_the_events_waiting_count_follows_the_sales(tmp_path, store_db):
    """The store is down and the uplink waits seconds between retries: a sale made meanwhile is counted in the
    status bar's "N events waiting" within a second, not at the next retry."""
    import time

    from pos_app.storage.lane_journal import SqliteLaneJournal

    lane = make_lane(tmp_path, store_db, "backoff1")
    proxy = TcpProxy(store_db.server.port)
    proxy.set_mode("refuse")
    cfg = UplinkConfig(lane.conninfo.replace(f"port={store_db.server.port}", f"port={proxy.port}"),
                       deadline_s=2.0, backoff_base_s=4.0, backoff_cap_s=4.0)
    stop = threading.Event()
    seen: list[tuple[float, int]] = []
    ups: list[Uplink] = []

    def run() -> None:   # as the link does: the uplink's thread has its own journal connection
        journal = SqliteLaneJournal.open(lane.db)
        up = Uplink(journal, cfg)
        ups.append(up)
        try:
            up.run(stop, on_round=lambda: seen.append((time.monotonic(), journal.state().backlog)))
        finally:
            journal.close()

    thread = threading.Thread(target=run)
    try:
        waiting = lane.journal.state().backlog
        thread.start()
        end = time.monotonic() + 5
        while not seen and time.monotonic() < end:
            time.sleep(0.02)
        assert ups and ups[0].failures == 1          # now backing off for 2-4 s
        lane.sell(random.Random(5))
        sold = time.monotonic()
        while not any(t > sold and n > waiting for t, n in seen) and time.monotonic() - sold < 1.5:
            time.sleep(0.02)
        assert any(t > sold and n > waiting for t, n in seen), seen
        assert ups[0].failures == 1                  # counted without another retry
    finally:
        stop.set()
        thread.join(10)
        proxy.close()
        lane.close()
