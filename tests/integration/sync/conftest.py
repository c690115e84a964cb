"""Fixtures for the sync worker tests: a sandbox gateway over real HTTP and a migrated database file."""

from __future__ import annotations

from tests.integration.sandbox.sandbox_support import client, sandbox, sandbox_keys  # noqa: F401
