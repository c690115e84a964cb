"""Fixtures for the Alipay client tests: a sandbox gateway over real HTTP and a client for it."""

from __future__ import annotations

import sys
from pathlib import Path

_ROOT = str(Path(__file__).resolve().parents[3])
if _ROOT not in sys.path:  # `pytest` (not `python -m pytest`) does not put the repository root on sys.path
    sys.path.insert(0, _ROOT)

from tests.integration.sandbox.sandbox_support import client, sandbox, sandbox_keys  # noqa: E402, F401
