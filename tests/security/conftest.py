"""Fixtures for the security checks: a sandbox with the members' cards, a terminal database, the services."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from pos_app.sandbox import SandboxServer
from tests.reliability.harness.env import GatewayInfo, Services, build_services, init_db, issue_cards


@pytest.fixture
def sandbox(tmp_path: Path) -> Iterator[SandboxServer]:
    server = SandboxServer(tmp_path / "sandbox").start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def db_file(tmp_path: Path, sandbox: SandboxServer) -> Path:
    path = tmp_path / "data" / "pos.sqlite3"
    path.parent.mkdir()
    init_db(path, issue_cards(sandbox))
    return path


@pytest.fixture
def services(db_file: Path, sandbox: SandboxServer) -> Iterator[Services]:
    svc = build_services(db_file, GatewayInfo.of(sandbox))
    try:
        yield svc
    finally:
        svc.close()
