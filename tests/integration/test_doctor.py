"""pos-app doctor against a real sandbox gateway, a closed port, a gateway whose clock is off, a real database."""

from __future__ import annotations

import email.utils
import http.server
import json
import os
import shutil
import socket
import sqlite3
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from pos_app.__main__ import main
from pos_app.doctor import check_gateway
from pos_app.sandbox.server import SandboxServer
from pos_app.settings import load_settings
from pos_app.storage.backup import backup_name, online_backup
from pos_app.storage.db import connect
from tests.integration.sandbox.sandbox_support import sandbox, sandbox_keys  # noqa: F401

ROOT = Path(__file__).resolve().parents[2]
FIXTURE = sorted((ROOT / "tests" / "data" / "db").glob("pos-schema-*.sqlite3"))[-1]


def _data(tmp_path: Path) -> Path:
    data = tmp_path / "data"
    data.mkdir(mode=0o700)
    shutil.copyfile(FIXTURE, data / "pos.sqlite3")
    os.chmod(data / "pos.sqlite3", 0o600)
    conn = connect(data / "pos.sqlite3")
    conn.execute("UPDATE outbox SET state = 'done', done_at = created_at")  # the fixture's rows were sent
    conn.close()
    import datetime as dt

    online_backup(data / "pos.sqlite3", data / "backups" / backup_name(dt.datetime.now()))
    return data


def _config(tmp_path: Path, url: str, keys: SandboxServer | Path) -> Path:
    if isinstance(keys, SandboxServer):
        priv, pub, app_id = keys.app_private_key_path, keys.alipay_public_key_path, keys.app_id
    else:
        priv, pub, app_id = keys / "app_private_key.pem", keys / "alipay_public_key.pem", "2021000000000001"
    cfg = tmp_path / "pos.toml"
    cfg.write_text(f'data_dir = "{tmp_path / "data"}"\n[gateway]\nurl = "{url}"\napp_id = "{app_id}"\n'
                   f'app_private_key = "{priv}"\nalipay_public_key = "{pub}"\n'
                   f'[scanners]\nurls = ["fake://"]\n[printer]\nurl = "file://{tmp_path}/receipts.bin"\n',
                   encoding="utf-8")
    return cfg


def _doctor(cfg: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, dict[str, dict[str, object]]]:
    rc = main(["doctor", "--json", "--config", str(cfg)])
    report = json.loads(capsys.readouterr().out)
    return rc, {f["check"]: f for f in report["findings"]}


def test_green_with_the_sandbox_gateway(tmp_path: Path, sandbox: SandboxServer,  # noqa: F811
                                        capsys: pytest.CaptureFixture[str]) -> None:
    _data(tmp_path)
    rc, found = _doctor(_config(tmp_path, sandbox.gateway_url, sandbox), capsys)
    assert rc == 0, found
    assert found["gateway"]["status"] == "ok" and found["clock"]["status"] == "ok"
    assert abs(float(found["clock"]["offset_s"])) < 2  # type: ignore[arg-type]
    for check in ("keys.app_private_key", "database", "sync", "backup", "disk", "files.database"):
        assert found[check]["status"] == "ok", found[check]
    assert found["keys.app_private_key"]["mode"] == "0600"


def test_unreachable_gateway_needs_a_person(tmp_path: Path, sandbox_keys: Path,  # noqa: F811
                                            capsys: pytest.CaptureFixture[str]) -> None:
    _data(tmp_path)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again when the block ends: nothing listens there
    rc, found = _doctor(_config(tmp_path, f"http://127.0.0.1:{port}/gateway.do", sandbox_keys), capsys)
    assert rc == 1
    assert found["gateway"]["status"] == "fail" and "cannot be reached" in str(found["gateway"]["detail"])
    assert "clock" not in found


class _SkewedHandler(http.server.BaseHTTPRequestHandler):
    skew_s = 600.0

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        self.send_response_only(200)
        self.send_header("Date", email.utils.formatdate(time.time() + self.skew_s, usegmt=True))
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - http.server's signature
        return


@pytest.fixture
def skewed_gateway() -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _SkewedHandler)
    t = threading.Thread(target=server.serve_forever, daemon=True)
    t.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/gateway.do"
    finally:
        server.shutdown()
        server.server_close()
        t.join()


def test_clock_ten_minutes_off_the_gateway_needs_a_person(tmp_path: Path, sandbox_keys: Path,  # noqa: F811
                                                          skewed_gateway: str) -> None:
    (tmp_path / "data").mkdir()
    settings = load_settings(_config(tmp_path, skewed_gateway, sandbox_keys), env={})
    gateway, clock = check_gateway(settings)
    assert gateway.status == "ok"
    assert clock.status == "fail" and "s behind the gateway" in clock.detail
    assert -601.5 < float(str(clock.data["offset_s"])) < -598.5  # the Date header has 1 s resolution
    assert "timedatectl set-ntp true" in clock.detail


def test_dead_sync_rows_and_a_missing_printer_need_a_person(tmp_path: Path, sandbox: SandboxServer,  # noqa: F811
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    data = _data(tmp_path)
    with sqlite3.connect(data / "pos.sqlite3") as c:
        c.execute("UPDATE outbox SET state = 'dead' WHERE id = (SELECT min(id) FROM outbox)")
    cfg = _config(tmp_path, sandbox.gateway_url, sandbox)
    cfg.write_text(cfg.read_text(encoding="utf-8").replace(f"file://{tmp_path}/receipts.bin",
                                                           "serial:///dev/pos-printer-not-here"), encoding="utf-8")
    rc, found = _doctor(cfg, capsys)
    assert rc == 1
    assert found["sync"]["status"] == "fail" and found["sync"]["dead"] == 1
    assert found["printer serial:///dev/pos-printer-not-here"]["status"] == "fail"
