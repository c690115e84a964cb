"""Shared fixtures for the client and sandbox integration tests (imported by both conftest.py files)."""

from __future__ import annotations

import datetime as dt
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TypeVar

import pytest

from pos_app.alipay import AlipayClient, load_gateway_config
from pos_app.sandbox import SandboxServer

T = TypeVar("T")

__all__ = ["SandboxClock", "sandbox_keys", "sandbox", "client", "make_client", "restart"]


class SandboxClock:
    """A Clock whose "now" is the sandbox's (so moving the sandbox clock keeps timestamps valid)."""

    def __init__(self, server: SandboxServer) -> None:
        self._server = server

    def now(self) -> dt.datetime:
        return self._server.now().astimezone(dt.UTC)

    def monotonic(self) -> float:
        return time.monotonic()


@pytest.fixture(scope="session")
def sandbox_keys(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Key files generated once per session and copied into every sandbox's data dir."""
    d = tmp_path_factory.mktemp("sandbox-keys")
    SandboxServer(d).state.close()
    return d / "keys"


@pytest.fixture
def sandbox(tmp_path: Path, sandbox_keys: Path) -> Iterator[SandboxServer]:
    data = tmp_path / "sandbox"
    shutil.copytree(sandbox_keys, data / "keys")
    server = SandboxServer(data).start()
    try:
        yield server
    finally:
        server.stop()


def make_client(server: SandboxServer, *, read_timeout_s: float = 5.0, sign_type: str = "RSA2") -> AlipayClient:
    cfg = load_gateway_config(server.gateway_url, server.app_id, server.app_private_key_path,
                              server.alipay_public_key_path, read_timeout_s=read_timeout_s,
                              connect_timeout_s=2.0, sign_type=sign_type)
    return AlipayClient(cfg, clock=SandboxClock(server))


@pytest.fixture
def client(sandbox: SandboxServer) -> Iterator[AlipayClient]:
    c = make_client(sandbox)
    try:
        yield c
    finally:
        c.close()


def restart(server: SandboxServer) -> SandboxServer:
    """Stop ``server`` and start a new one on the same data dir and port (clients keep their URL)."""
    data, port = server.data_dir, server.port
    server.stop()
    return SandboxServer(data, port=port).start()


def answer(result: object, kind: type[T]) -> T:
    """The typed answer the client read from a successful (or in-progress) call, checked to be a ``kind``."""
    got = getattr(result, "answer", None)
    assert isinstance(got, kind), f"expected a {kind.__name__} answer, got {result!r}"
    return got
