"""A lane keeps its store connections between calls. When the server restarts (or ends the session) meanwhile,
the next call must get a new connection and its answer, not fail once on the dead one: found on the walk — the
first store X after a minute's outage said "the store server did not answer" though the store was back, and the
first redemption went to the offline rules (and their cap) for the same reason."""

from __future__ import annotations

import datetime as dt
import time
import uuid

import psycopg
import pytest

from pos_app.store.connect import open_connection, still_open
from pos_app.store.redeem import StoreRedeemer
from pos_app.store.report_port import StoreReportsClient
from tests.reliability.harness.env import MEMBERS
from tests.store.lanekit import make_lane, seed_store_members

MEMBER = MEMBERS[0][0]


def _end_sessions(store_db, role: str) -> None:
    """What a server restart does to a lane's idle session: FATAL "terminating connection due to administrator
    command", then the socket closes."""
    with store_db.admin() as c:
        c.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = %s", (role,))


def _role(conn: psycopg.Connection) -> str:
    return str(conn.execute("SELECT current_user").fetchone()[0])  # type: ignore[index]


def _wait_closed(conn: psycopg.Connection) -> None:
    end = time.monotonic() + 5
    while still_open(conn) and time.monotonic() < end:
        time.sleep(0.02)


def _open_then_ended_by_the_server(store_db, conninfo: str, *, fd_above: int = -1) -> psycopg.Connection:
    """A lane connection, seen open, then ended by the server (returned closed for the caller's checks)."""
    conn = open_connection(conninfo)
    try:
        assert conn.fileno() > fd_above
        assert still_open(conn)
        _end_sessions(store_db, _role(conn))
        _wait_closed(conn)
        assert not still_open(conn)
        return conn
    finally:
        conn.close()


def test_a_kept_connection_ended_by_the_server_is_seen_before_the_next_call(tmp_path, store_db):
    lane = make_lane(tmp_path, store_db, "kept_a")
    try:
        conn = _open_then_ended_by_the_server(store_db, lane.conninfo)
    finally:
        lane.close()
    assert not still_open(conn) and not still_open(None)


def test_store_x_and_a_redemption_after_the_server_ended_the_sessions_are_answered(tmp_path, store_db):
    seed_store_members(store_db, balance=1000)
    lane = make_lane(tmp_path, store_db, "kept_b")
    lane.uplink().push()
    reports = StoreReportsClient(lane.conninfo, deadline_s=3.0)
    redeemer = StoreRedeemer(lane.conninfo, deadline_s=3.0)
    try:
        today = dt.date.today()
        reports.figures(today, today)
        assert redeemer.redeem(MEMBER, 100, str(uuid.uuid4())).ok
        kept = (reports._conn, redeemer._conn)
        assert kept[0] is not None and kept[1] is not None
        _end_sessions(store_db, _role(kept[0]))
        for c in kept:
            _wait_closed(c)   # type: ignore[arg-type]
        # before: StoreUnavailable ("terminating connection due to administrator command") from both
        reports.figures(today, today)
        answer = redeemer.redeem(MEMBER, 100, str(uuid.uuid4()))
        assert answer.ok and answer.balance == 800
        assert reports._conn is not kept[0] and redeemer._conn is not kept[1]
    finally:
        reports.close()
        redeemer.close()
        lane.close()


def test_still_open_works_for_a_descriptor_above_1023(tmp_path, store_db):
    """select() cannot watch a descriptor above 1023: the check would call every kept connection gone and
    reconnect at every call in a process holding many files."""
    import os
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard < 2048:
        pytest.skip("this machine allows fewer than 2 048 open files")
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, 2048), hard))
    lane = make_lane(tmp_path, store_db, "kept_c")
    fillers = []
    try:
        while True:
            fd = os.open(os.devnull, os.O_RDONLY)
            fillers.append(fd)
            if fd > 1030:
                break
        _open_then_ended_by_the_server(store_db, lane.conninfo, fd_above=1023)
    finally:
        for fd in fillers:
            os.close(fd)
        lane.close()
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
