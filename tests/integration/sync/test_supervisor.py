"""The sync worker in its own supervised process: drains, pushes its status, is restarted when it dies, stops."""

from __future__ import annotations

import os
import signal
import sqlite3
from pathlib import Path

import pytest

from pos_app.alipay import AlipayClient
from pos_app.background.sync import SyncSupervisor
from pos_app.sandbox import SandboxServer
from pos_app.services.sync import SyncStatus
from pos_app.settings import Settings, load_settings
from pos_app.storage.db import Database
from tests.integration.sync.sync_support import Ledger, make_trades, wait_for


def _settings(tmp_path: Path, sandbox: SandboxServer) -> Settings:
    env = {"POS_GATEWAY_URL": sandbox.gateway_url, "POS_GATEWAY_APP_ID": sandbox.app_id,
           "POS_GATEWAY_APP_PRIVATE_KEY": str(sandbox.app_private_key_path),
           "POS_GATEWAY_ALIPAY_PUBLIC_KEY": str(sandbox.alipay_public_key_path),
           "POS_SYNC_BACKOFF_BASE_S": "0.05", "POS_SYNC_BACKOFF_CAP_S": "0.2", "POS_SYNC_PROBE_INTERVAL_S": "0.1"}
    settings = load_settings(None, env=env, data_dir=tmp_path / "data")
    Database(settings.db_path).open_and_migrate().close()
    return settings


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_drains_in_its_own_process_and_pushes_status(tmp_path: Path, sandbox: SandboxServer,
                                                     client: AlipayClient, monkeypatch: pytest.MonkeyPatch) -> None:
    settings = _settings(tmp_path, sandbox)
    ledger = Ledger.open(settings.db_path)
    trades = make_trades(client, 2)
    ledger.add_member(sandbox, "8800000000000001")
    ledger.sale("8800000000000001", 25, trades[0])
    seen: list[SyncStatus] = []
    sup = SyncSupervisor(settings, listener=seen.append, status_interval_s=0.05)
    sup.start()
    try:
        wait_for(lambda: sup.pid is not None)
        assert sup.pid != os.getpid()
        wait_for(lambda: ledger.pending() == 0)
        assert ledger.states() == {"done": 2}
        assert sandbox.card("8800000000000001")["point"] == "25"
        wait_for(lambda: sup.status().pending == 0 and sup.status().last_error == "")
        # the status comes from the child: reading it opens no database connection in this process
        def no_sqlite(*_a: object, **_k: object) -> None:
            raise AssertionError("status() opened a SQLite connection")
        monkeypatch.setattr(sqlite3, "connect", no_sqlite)
        assert sup.status().up_to_date
        monkeypatch.undo()
        # a new sale: the nudge reaches the worker, the status follows
        ledger.sale("8800000000000001", 5, trades[1])
        sup.nudge()
        wait_for(lambda: ledger.pending() == 0)
        assert sandbox.card("8800000000000001")["point"] == "30"
        assert any(s.pending > 0 for s in seen) or len(seen) > 2
    finally:
        assert sup.stop(10)
    ledger.close()


def test_a_dead_worker_is_restarted_and_stop_ends_it(tmp_path: Path, sandbox: SandboxServer,
                                                     client: AlipayClient) -> None:
    settings = _settings(tmp_path, sandbox)
    ledger = Ledger.open(settings.db_path)
    trades = make_trades(client, 1)
    ledger.add_member(sandbox, "8800000000000002")
    sup = SyncSupervisor(settings, status_interval_s=0.05, restart_min_s=0.05)
    sup.start()
    try:
        wait_for(lambda: sup.pid is not None and sup.status().last_error == "")
        first = sup.pid
        assert first is not None
        os.kill(first, signal.SIGKILL)
        wait_for(lambda: sup.restarts == 1 and sup.pid not in (None, first))
        # the restarted worker syncs what is committed after the crash
        ledger.sale("8800000000000002", 12, trades[0])
        sup.nudge()
        wait_for(lambda: ledger.pending() == 0)
        assert sandbox.card("8800000000000002")["point"] == "12"
        second = sup.pid
        assert second is not None
    finally:
        assert sup.stop(10)
    assert not sup.running
    wait_for(lambda: not _alive(second), timeout=5)
    ledger.close()


def test_a_worker_that_cannot_start_says_why(tmp_path: Path, sandbox: SandboxServer) -> None:
    settings = _settings(tmp_path, sandbox)
    broken = tmp_path / "missing.pem"
    import dataclasses

    settings = dataclasses.replace(settings, gateway=dataclasses.replace(settings.gateway,
                                                                        app_private_key=str(broken)))
    sup = SyncSupervisor(settings, status_interval_s=0.05, restart_min_s=5.0)
    sup.start()
    try:
        wait_for(lambda: "cannot start" in sup.status().last_error)
        assert "missing.pem" in sup.status().last_error or "key" in sup.status().last_error.lower()
    finally:
        assert sup.stop(10)
