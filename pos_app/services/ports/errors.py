"""The error every adapter raises when the environment stops an operation (not a bug, not a refusal)."""

from __future__ import annotations

__all__ = ["ServiceUnavailable"]


class ServiceUnavailable(Exception):
    """The environment stops us: the database is locked, full, read-only or damaged, a device is gone.

    ``str()`` is a sentence for the person at the counter; ``reason`` a stable code for the UI's messages
    (``disk_full``, ``locked``, ``read_only``, ``corrupt``, ``too_new``, ``unavailable``). Storage errors
    derive from it (pos_app.storage.errors), so services and the UI catch this type, never storage's.
    """

    reason: str = "unavailable"
