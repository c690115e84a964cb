"""Real implementations of the Clock and IdSource ports (the only place that reads the system clock)."""

from __future__ import annotations

import datetime as dt
import re
import secrets
import time

__all__ = ["SystemClock", "RandomIds", "FixedClock"]


class SystemClock:
    """Wall time in UTC and the monotonic clock."""

    def now(self) -> dt.datetime:
        return dt.datetime.now(dt.UTC)

    def monotonic(self) -> float:
        return time.monotonic()


class FixedClock:
    """A settable clock for tests and the reliability harness (advance() moves both clocks)."""

    def __init__(self, start: dt.datetime | None = None) -> None:
        self._now = start or dt.datetime(2026, 11, 25, 2, 0, tzinfo=dt.UTC)
        self._mono = 1000.0

    def now(self) -> dt.datetime:
        return self._now

    def monotonic(self) -> float:
        return self._mono

    def advance(self, seconds: float) -> None:
        self._now += dt.timedelta(seconds=seconds)
        self._mono += seconds


class RandomIds:
    """Identifiers unique across terminals: prefix + terminal tag + UTC time + 48 random bits."""

    def __init__(self, terminal_tag: str = "") -> None:
        self._tag = re.sub(r"[^A-Za-z0-9]", "", terminal_tag)[:12]

    def new_id(self, prefix: str = "") -> str:
        stamp = time.strftime("%Y%m%d%H%M%S", time.gmtime())
        return f"{prefix}{self._tag}{stamp}{secrets.token_hex(6)}"[:64]
