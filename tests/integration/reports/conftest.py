"""Fixtures for the shift/report tests: real SQLite, real services, and a raw-row seeder."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from _shift_env import Env, Seeder, make_env


@pytest.fixture
def env(tmp_path: Path) -> Iterator[Env]:
    e = make_env(tmp_path / "pos.sqlite3")
    yield e
    e.conn.close()


@pytest.fixture
def seed(env: Env) -> Seeder:
    return Seeder(env.conn, env.clock)
