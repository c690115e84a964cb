"""A local Alipay gateway (real HTTP on loopback) for demo mode and tests."""

from __future__ import annotations

from .faults import FAULT_KINDS
from .server import DEFAULT_APP_ID, SandboxServer
from .state import BEHAVIOURS

__all__ = ["SandboxServer", "DEFAULT_APP_ID", "FAULT_KINDS", "BEHAVIOURS"]
