"""Fixtures for the card-issuing tests (the sandbox over loopback HTTP)."""

from __future__ import annotations

import sys
from pathlib import Path

_ROOT = str(Path(__file__).resolve().parents[3])
if _ROOT not in sys.path:
    sys.path.insert(0, _ROOT)

from tests.integration.sandbox.sandbox_support import client, sandbox, sandbox_keys  # noqa: E402, F401
