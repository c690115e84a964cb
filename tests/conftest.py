"""Shared fixtures. Qt runs offscreen in every test (set before anything imports Qt)."""

from __future__ import annotations

import os

os.environ["QT_QPA_PLATFORM"] = "offscreen"
os.environ.setdefault("QT_LOGGING_RULES", "qt.qpa.*=false")

import sqlite3  # noqa: E402
from collections.abc import Iterator  # noqa: E402
from pathlib import Path  # noqa: E402

import pytest  # noqa: E402

from pos_app.storage.db import Database  # noqa: E402

pytest_plugins = ["tests.conftest_logscan"]  # secrets-in-logs scan of the whole session

DATA = Path(__file__).resolve().parent / "data"


@pytest.fixture
def data_dir() -> Path:
    """tests/data: test vectors and barcode photographs copied from the design folder (never read by tests)."""
    return DATA


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    """A migrated terminal database in a temporary directory."""
    path = tmp_path / "pos.sqlite3"
    Database(path).open_and_migrate().close()
    return path


@pytest.fixture
def conn(db_path: Path) -> Iterator[sqlite3.Connection]:
    """A connection to a fresh migrated database."""
    c = Database(db_path).connect()
    yield c
    c.close()
