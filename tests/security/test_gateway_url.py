"""Issue 16 §1: the gateway URL must be https, except a gateway on this machine (loopback)."""

from __future__ import annotations

from pathlib import Path

import pytest

from pos_app.__main__ import main
from pos_app.alipay.client import load_gateway_config
from pos_app.alipay.errors import KeyConfigError
from pos_app.alipay.urls import gateway_url_problem
from pos_app.sandbox.server import SandboxServer


@pytest.mark.parametrize(("url", "ok"), [
    ("https://openapi.alipay.com/gateway.do", True),
    ("http://openapi.alipay.com/gateway.do", False),
    ("http://openapi-sandbox.dl.alipaydev.com/gateway.do", False),
    ("http://10.0.0.5:8080/gateway.do", False),
    ("http://127.0.0.1:9/gateway.do", True),
    ("http://[::1]:9/gateway.do", True),
    ("http://localhost:9/gateway.do", True),
    ("http://127.0.0.1.evil.example/gateway.do", False),
    ("ftp://openapi.alipay.com/", False),
    ("https:///gateway.do", False),
])
def test_gateway_url_rule(url: str, ok: bool) -> None:
    assert (gateway_url_problem(url) == "") is ok


@pytest.fixture(scope="module")
def keys(tmp_path_factory: pytest.TempPathFactory) -> SandboxServer:
    server = SandboxServer(tmp_path_factory.mktemp("sb"))
    server.start()
    server.stop()
    return server


def _config(tmp_path: Path, keys: SandboxServer, url: str) -> Path:
    cfg = tmp_path / "pos.toml"
    cfg.write_text("\n".join(['[gateway]', f'url = "{url}"', f'app_id = "{keys.app_id}"',
                              f'app_private_key = "{keys.app_private_key_path}"',
                              f'alipay_public_key = "{keys.alipay_public_key_path}"',
                              "[loyalty]", "points_per_yuan = 1"]) + "\n", encoding="utf-8")
    return cfg


def test_config_check_refuses_plain_http_gateway(tmp_path: Path, keys: SandboxServer,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    cfg = _config(tmp_path, keys, "http://openapi.alipay.com/gateway.do")
    assert main(["config", "check", "--config", str(cfg), "--data-dir", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "gateway.url" in err and "https" in err
    cfg = _config(tmp_path, keys, "https://openapi.alipay.com/gateway.do")
    assert main(["config", "check", "--config", str(cfg), "--data-dir", str(tmp_path)]) == 0


def test_the_client_configuration_refuses_plain_http(keys: SandboxServer) -> None:
    """What the terminal builds at start (and the sync worker, the CLI): refused, whatever the caller."""
    with pytest.raises(KeyConfigError, match="https"):
        load_gateway_config("http://openapi.alipay.com/gateway.do", keys.app_id, keys.app_private_key_path,
                            keys.alipay_public_key_path)
    cfg = load_gateway_config("http://127.0.0.1:9/gateway.do", keys.app_id, keys.app_private_key_path,
                              keys.alipay_public_key_path)
    assert cfg.gateway_url.startswith("http://127.0.0.1")
