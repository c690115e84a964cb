"""Common ground of the sandbox state: constants, reply helpers, persistence, clock and configuration."""

from __future__ import annotations

import datetime as dt
import logging
import re
import threading
from pathlib import Path
from typing import Any

from pos_app.domain.codes import mask_code
from pos_app.domain.errors import MoneyError
from pos_app.domain.money import parse_gateway_amount
from pos_app.services.ports.clock import BEIJING

from .store import KvStore

__all__ = [
    "AUTH_CODE_RE",
    "BEHAVIOURS",
    "DEFAULT_CONFIG",
    "MEMBER_CODE_TTL_S",
    "TS_FMT",
    "Reply",
    "SandboxError",
    "StateBase",
    "ok",
    "fail",
    "money",
    "parse_ts",
    "mask",
]

logger = logging.getLogger(__name__)

AUTH_CODE_RE = re.compile(r"^(2[5-9]|30)\d{14,22}$")
BEHAVIOURS = ("success", "wait_then_success", "wait_forever", "balance_not_enough", "invalid", "refuse")
TS_FMT = "%Y-%m-%d %H:%M:%S"
DEFAULT_TIMEOUT_EXPRESS_S = 3 * 3600
MEMBER_CODE_TTL_S = 120.0
DEFAULT_CONFIG: dict[str, Any] = {"timestamp_window_s": 900, "cancel_window_s": 86400, "refund_deadline_s": None,
                                  "single_use_codes": False,
                                  "bill_ready_hour": 9, "empty_bill": "file", "bill_not_exist_code": "isp.bill_not_exist",
                                  "spi_endpoint_url": None}

Reply = dict[str, Any]
"""The business part of a ``*_response`` object (code, msg, sub_code, fields)."""


class SandboxError(ValueError):
    """A bad admin request (unknown card, bad behaviour name, ...)."""


def ok(**fields: Any) -> Reply:
    return {"code": "10000", "msg": "Success", **{k: v for k, v in fields.items() if v is not None}}


def fail(sub_code: str, sub_msg: str, code: str = "40004", **fields: Any) -> Reply:
    msgs = {"40004": "Business Failed", "40002": "Invalid Arguments", "40001": "Missing Required Arguments",
            "20000": "Service Currently Unavailable"}
    return {"code": code, "msg": msgs.get(code, "Business Failed"), "sub_code": sub_code, "sub_msg": sub_msg,
            **{k: v for k, v in fields.items() if v is not None}}


def money(value: Any) -> int | None:
    if not isinstance(value, str):
        return None
    if not re.fullmatch(r"\d{1,11}(\.\d{1,2})?", value):
        return None
    try:
        return parse_gateway_amount(value)
    except MoneyError:
        return None


def parse_ts(value: Any) -> dt.datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return dt.datetime.strptime(value, TS_FMT).replace(tzinfo=BEIJING)
    except ValueError:
        return None


mask = mask_code  # the one masking function (pos_app.domain.codes)


class StateBase:
    """The stores, lock, persistence, clock and config shared by the trade and card rules."""

    KINDS = ("trade", "card", "template", "script", "dyncode", "meta")

    def __init__(self, data_dir: Path) -> None:
        self.lock = threading.RLock()
        self._store = KvStore(data_dir / "state.sqlite3")
        self._puts: dict[tuple[str, str], Any] = {}
        self._deletes: set[tuple[str, str]] = set()
        self.trades: dict[str, dict[str, Any]] = {}  # key: app_id + "/" + out_trade_no
        self.cards: dict[str, dict[str, Any]] = {}
        self.templates: dict[str, dict[str, Any]] = {}
        self.scripts: dict[str, dict[str, Any]] = {}
        self.dyncodes: dict[str, dict[str, Any]] = {}
        self.meta: dict[str, Any] = {}
        self.pending_notifications: list[dict[str, Any]] = []
        for kind, target in (("trade", self.trades), ("card", self.cards), ("template", self.templates),
                             ("script", self.scripts), ("dyncode", self.dyncodes), ("meta", self.meta)):
            for key, value in self._store.load(kind):
                target[key] = value
        self.meta.setdefault("clock_offset_s", 0.0)
        self.meta.setdefault("config", dict(DEFAULT_CONFIG))

    # --- persistence -----------------------------------------------------------------------

    def _dirty(self, kind: str, key: str, value: Any) -> None:
        self._puts[(kind, key)] = value
        self._deletes.discard((kind, key))

    def _gone(self, kind: str, key: str) -> None:
        self._puts.pop((kind, key), None)
        self._deletes.add((kind, key))

    def flush(self) -> None:
        """Write every change made since the last flush in one transaction."""
        with self.lock:
            puts = [(k, key, v) for (k, key), v in self._puts.items()]
            deletes = list(self._deletes)
            self._puts.clear()
            self._deletes.clear()
            self._store.write(puts, deletes)

    def close(self) -> None:
        self.flush()
        self._store.close()

    def _meta(self, key: str, value: Any) -> None:
        self.meta[key] = value
        self._dirty("meta", key, value)

    def _next_seq(self, name: str) -> int:
        n = int(self.meta.get(name, 0)) + 1
        self._meta(name, n)
        return n

    def reset(self) -> None:
        """Forget trades, cards, templates, scripts, codes and the clock offset (keys stay)."""
        with self.lock:
            for d in (self.trades, self.cards, self.templates, self.scripts, self.dyncodes):
                d.clear()
            app = self.meta.get("app")
            self.meta.clear()
            self._puts.clear()
            self._deletes.clear()
            self._store.clear(keep_kinds=())
            self.meta.update({"clock_offset_s": 0.0, "config": dict(DEFAULT_CONFIG)})
            if app is not None:
                self._meta("app", app)
            self._meta("clock_offset_s", 0.0)
            self._meta("config", self.meta["config"])
            self.flush()

    # --- clock and config ------------------------------------------------------------------

    def now(self) -> dt.datetime:
        """The sandbox's "now" (real time plus the settable offset), in GMT+8."""
        return (dt.datetime.now(dt.UTC) + dt.timedelta(seconds=float(self.meta["clock_offset_s"]))).astimezone(BEIJING)

    def now_text(self) -> str:
        return self.now().strftime(TS_FMT)

    def set_clock(self, when: dt.datetime | None = None, *, advance_s: float | None = None) -> dt.datetime:
        """Set "now" to ``when`` (naive = GMT+8) or move it by ``advance_s``; returns the new now."""
        with self.lock:
            if when is not None:
                if when.tzinfo is None:
                    when = when.replace(tzinfo=BEIJING)
                self._meta("clock_offset_s", (when - dt.datetime.now(dt.UTC)).total_seconds())
            if advance_s is not None:
                self._meta("clock_offset_s", float(self.meta["clock_offset_s"]) + advance_s)
            self.flush()
            return self.now()

    @property
    def config(self) -> dict[str, Any]:
        return dict(self.meta["config"])

    def configure(self, **changes: Any) -> dict[str, Any]:
        with self.lock:
            cfg = dict(self.meta["config"])
            for k, v in changes.items():
                if k not in cfg:
                    raise SandboxError(f"unknown config key {k!r} (known: {sorted(cfg)})")
                cfg[k] = v
            self._meta("config", cfg)
            self.flush()
            return cfg
