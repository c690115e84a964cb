"""Fixtures for the checkout core tests (defined in checkout_env)."""

from __future__ import annotations

from checkout_env import checkout, client, clock, db, payments, sandbox, uow  # noqa: F401
