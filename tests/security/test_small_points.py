"""Issue 16 §5: the smaller points, each shown failing on the first build."""

from __future__ import annotations

import os
import socket
import sqlite3
import struct
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from pos_app.__main__ import main
from pos_app.alipay.errors import KeyConfigError
from pos_app.alipay.keys import generate_private_key, load_private_key_file, public_key_pem, write_private_key
from pos_app.sandbox import SandboxServer
from pos_app.storage.db import Database, connect

# --- key files: each problem named as what it is ------------------------------------------------


@pytest.fixture(scope="module")
def pem(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    path = tmp_path_factory.mktemp("k") / "good.pem"
    write_private_key(path, generate_private_key())
    return path.read_bytes()


def _key_file(tmp_path: Path, content: bytes) -> Path:
    path = tmp_path / "app_private_key.pem"
    path.write_bytes(content)
    os.chmod(path, 0o600)
    return path


@pytest.mark.parametrize(("case", "expect"), [
    ("empty", "is empty"),
    ("garbage", "damaged or not an RSA private key"),
    ("binary", "not PEM or Base64"),
    ("truncated", "truncated"),
    ("public", "PUBLIC key"),
])
def test_key_file_problems_are_reported_precisely(tmp_path: Path, pem: bytes, case: str, expect: str) -> None:
    content = {
        "empty": b"",
        "garbage": b"hello, this is not a key\n",
        "binary": bytes(range(256)),
        "truncated": pem[: len(pem) // 2],
        "public": public_key_pem(generate_private_key().public_key()),
    }[case]
    path = _key_file(tmp_path, content)
    with pytest.raises(KeyConfigError) as info:
        load_private_key_file(path)
    message = str(info.value)
    assert expect in message and "passphrase" not in message, message
    assert str(path) in message


def test_an_encrypted_key_without_passphrase_still_asks_for_it(tmp_path: Path) -> None:
    path = tmp_path / "enc.pem"
    write_private_key(path, generate_private_key(), "s3cret")
    with pytest.raises(KeyConfigError, match="encrypted: give its passphrase"):
        load_private_key_file(path)
    with pytest.raises(KeyConfigError, match="passphrase is wrong"):
        load_private_key_file(path, "wrong")
    assert load_private_key_file(path, "s3cret").key_size == 2048


# --- keygen ---------------------------------------------------------------------------------------

def test_keygen_passphrase_env_really_encrypts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("KEY_PASS", "")
    assert main(["keygen", "--out", str(tmp_path / "a"), "--passphrase-env", "KEY_PASS"]) == 2
    assert "empty" in capsys.readouterr().err
    assert not (tmp_path / "a" / "app_private_key.pem").exists()
    monkeypatch.setenv("KEY_PASS", "long passphrase")
    assert main(["keygen", "--out", str(tmp_path / "b"), "--passphrase-env", "KEY_PASS"]) == 0
    text = (tmp_path / "b" / "app_private_key.pem").read_text()
    assert "BEGIN ENCRYPTED PRIVATE KEY" in text


def test_keygen_does_not_follow_a_dangling_symlink(tmp_path: Path) -> None:
    out = tmp_path / "keys"
    out.mkdir()
    elsewhere = tmp_path / "elsewhere.pem"
    (out / "app_private_key.pem").symlink_to(elsewhere)
    assert main(["keygen", "--out", str(out)]) == 1   # something is there: refused without --force
    assert main(["keygen", "--out", str(out), "--force"]) == 0
    assert not elsewhere.exists(), "the key was written through the link"
    assert not (out / "app_private_key.pem").is_symlink()


def test_keygen_bad_bits_and_unwritable_out_are_clear(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["keygen", "--out", str(tmp_path / "k"), "--bits", "512"]) == 2
    assert "2048" in capsys.readouterr().err
    blocker = tmp_path / "file"
    blocker.write_text("x")
    assert main(["keygen", "--out", str(blocker / "sub")]) == 2
    err = capsys.readouterr().err
    assert "cannot write the key pair" in err and "Traceback" not in err


# --- file: URIs ------------------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["shop?mode=rwc", "shop#1", "shop%3F"])
def test_read_only_open_escapes_the_path(tmp_path: Path, name: str) -> None:
    folder = tmp_path / name
    folder.mkdir()
    db = folder / "pos.sqlite3"
    conn = Database(db).open_and_migrate()
    conn.execute("INSERT INTO meta (key, value) VALUES ('marker', 'here')")
    conn.close()
    before = sorted(str(p) for p in tmp_path.rglob("*") if p.parent != folder)
    ro = connect(db, readonly=True)
    try:
        assert ro.execute("SELECT value FROM meta WHERE key = 'marker'").fetchone()[0] == "here"
        with pytest.raises(sqlite3.OperationalError):
            ro.execute("INSERT INTO meta (key, value) VALUES ('x', 'y')")
    finally:
        ro.close()
    assert sorted(str(p) for p in tmp_path.rglob("*") if p.parent != folder) == before, \
        "another file was opened or created"


# --- the sandbox admin API ------------------------------------------------------------------------

@pytest.fixture
def sandbox(tmp_path: Path) -> Iterator[SandboxServer]:
    server = SandboxServer(tmp_path / "sb").start()
    try:
        yield server
    finally:
        server.stop()


def test_sandbox_admin_needs_its_token_and_masks_payment_codes(sandbox: SandboxServer) -> None:
    r = httpx.get(sandbox.admin_url + "/trades", trust_env=False)
    assert r.status_code == 401
    r = httpx.post(sandbox.admin_url + "/faults", json={"kind": "http500"}, trust_env=False,
                   headers={"Authorization": "Bearer wrong"})
    assert r.status_code == 401 and sandbox.faults() == []
    token = Path(sandbox.info()["admin_token_file"]).read_text()
    assert (Path(sandbox.info()["admin_token_file"]).stat().st_mode & 0o777) == 0o600
    from tests.reliability.harness.env import GatewayInfo, make_client

    code = "286648048691290423"
    with make_client(GatewayInfo.of(sandbox)) as client:
        client.pay("MASK1", code, 100, "t")
    r = httpx.get(sandbox.admin_url + "/requests", trust_env=False, headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 200 and "0423" in r.text
    assert code not in r.text, "the admin API shows full payment codes"


def test_a_client_connection_reset_prints_no_traceback(sandbox: SandboxServer,
                                                       capfd: pytest.CaptureFixture[str]) -> None:
    for _ in range(3):
        s = socket.create_connection(("127.0.0.1", sandbox.port))
        s.sendall(b"POST /gateway.do HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\npartial")
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))  # close = RST
        s.close()
    for _ in range(3):
        assert sandbox.client_resets.acquire(timeout=10), "the server did not see the reset"
    assert "Traceback" not in capfd.readouterr().err
