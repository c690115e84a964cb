"""Key configuration mistakes and PIN brute force."""

from __future__ import annotations

import logging
import os
import re
from pathlib import Path

import pytest

from pos_app.alipay.client import load_gateway_config
from pos_app.alipay.errors import KeyConfigError
from pos_app.alipay.keys import load_private_key_file
from pos_app.sandbox import SandboxServer
from pos_app.services.users import Locked, WrongPin
from tests.reliability.harness.env import CASHIER, Services


def test_alipay_public_key_set_to_the_merchants_own_key_is_refused(sandbox: SandboxServer) -> None:
    with pytest.raises(KeyConfigError) as err:
        load_gateway_config(sandbox.gateway_url, sandbox.app_id, sandbox.app_private_key_path,
                            sandbox.app_public_key_path)
    text = str(err.value)
    assert "merchant's own public key" in text and "支付宝公钥" in text
    assert "PRIVATE" not in text


def test_terminal_start_refuses_own_key_with_a_clear_message(sandbox: SandboxServer, tmp_path: Path,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    """Start-up (composition root) stops with the settings exit code and one clear line, not a traceback."""
    from pos_app import app as app_module

    config = tmp_path / "pos.toml"
    config.write_text(
        "[gateway]\n"
        f'url = "{sandbox.gateway_url}"\n'
        f'app_id = "{sandbox.app_id}"\n'
        f'app_private_key = "{sandbox.app_private_key_path}"\n'
        f'alipay_public_key = "{sandbox.app_public_key_path}"\n', encoding="utf-8")
    code = app_module.run_terminal(config, tmp_path / "data", False, None)
    err = capsys.readouterr().err
    assert code == app_module.EXIT_SETTINGS, err
    assert "merchant's own public key" in err


def test_world_readable_private_key_is_refused_unless_encrypted(tmp_path: Path, sandbox: SandboxServer,
                                                                  caplog: pytest.LogCaptureFixture) -> None:
    from cryptography.hazmat.primitives import serialization

    from pos_app.alipay.errors import KeyConfigError

    key = tmp_path / "app_private_key.pem"
    key.write_bytes(Path(sandbox.app_private_key_path).read_bytes())
    os.chmod(key, 0o600)
    with caplog.at_level(logging.WARNING, logger="pos_app.alipay"):
        load_private_key_file(key)
    assert not [r for r in caplog.records if "readable" in r.getMessage()]
    os.chmod(key, 0o644)
    with pytest.raises(KeyConfigError, match="chmod 600"):
        load_gateway_config(sandbox.gateway_url, sandbox.app_id, key, sandbox.alipay_public_key_path)
    # an encrypted key in a readable file: allowed, with a warning
    plain = load_private_key_file(Path(sandbox.app_private_key_path))
    enc = tmp_path / "enc.pem"
    enc.write_bytes(plain.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                        serialization.BestAvailableEncryption(b"pw")))
    os.chmod(enc, 0o644)
    with caplog.at_level(logging.WARNING, logger="pos_app.alipay"):
        load_private_key_file(enc, "pw")
    warnings = [r for r in caplog.records if r.levelno >= logging.WARNING and "readable" in r.getMessage()]
    assert warnings and "chmod 600" in warnings[0].getMessage()
    assert "PRIVATE KEY" not in caplog.text


def test_pin_brute_force_locks_the_user(services: Services) -> None:
    number, pin, _ = CASHIER
    for n in range(1, 5):
        with pytest.raises(WrongPin):
            services.users.authenticate(number, f"000{n}")
    with pytest.raises(Locked):
        services.users.authenticate(number, "0005")  # the 5th wrong PIN locks
    with pytest.raises(Locked):
        services.users.authenticate(number, pin)     # the right PIN is refused while locked
    with services.uow() as uow:
        rows = uow.conn.execute("SELECT action FROM audit_log ORDER BY id").fetchall()
        text = " ".join(str(tuple(r)) for r in uow.conn.execute("SELECT * FROM audit_log").fetchall())
    actions = [r[0] for r in rows]
    assert actions.count("login.wrong_pin") == 4 and "user.locked" in actions and "login.locked_out" in actions
    # as a value of its own, not inside a timestamp (".090005+00:00" failed this once)
    tried = {pin, *(f"000{n}" for n in range(1, 6))}
    assert not tried & set(re.findall(r"(?<![0-9A-Za-z.])[0-9]{4}(?![0-9A-Za-z])", text)), "PINs are never written to the audit log"
