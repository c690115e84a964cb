"""Shared plumbing of the readers: callback dispatch that never kills a reader thread, URL options."""

from __future__ import annotations

import logging
import threading
import urllib.parse
from collections.abc import Callable, Mapping

from drivers.base import (
    NoticeCallback,
    ScanCallback,
    ScanEvent,
    ScannerError,
    ScannerState,
    ScannerUrlError,
    StateCallback,
)

__all__ = ["ReaderBase", "parse_options", "opt_int", "opt_float", "opt_bool", "opt_choice", "mask"]

logger = logging.getLogger(__name__)


def mask(text: str) -> str:
    """Mask all but the last four characters (codes may be payment codes); short texts wholly.

    The same rule as ``pos_app.domain.codes.mask_code``, the one masking function of pos_app: drivers
    import nothing from pos_app (tests/test_architecture.py), so they keep this copy.
    """
    return "*" * len(text) if len(text) <= 4 else "*" * (len(text) - 4) + text[-4:]


def parse_options(url: str, query: str, allowed: set[str]) -> dict[str, str]:
    """Parse a URL query; an unknown or repeated option raises ScannerUrlError naming it."""
    try:
        pairs = urllib.parse.parse_qsl(query, keep_blank_values=True, strict_parsing=bool(query))
    except ValueError as exc:
        raise ScannerUrlError(f"{url}: malformed query {query!r}") from exc
    out: dict[str, str] = {}
    for key, value in pairs:
        if key not in allowed:
            known = ", ".join(sorted(allowed)) or "none"
            raise ScannerUrlError(f"{url}: unknown option {key!r} (known: {known})")
        if key in out:
            raise ScannerUrlError(f"{url}: option {key!r} given twice")
        out[key] = value
    return out


def opt_int(url: str, opts: Mapping[str, str], key: str, default: int, lo: int, hi: int) -> int:
    if key not in opts:
        return default
    try:
        v = int(opts[key])
    except ValueError:
        raise ScannerUrlError(f"{url}: option {key}={opts[key]!r} is not an integer") from None
    if not lo <= v <= hi:
        raise ScannerUrlError(f"{url}: option {key}={v} out of range {lo}..{hi}")
    return v


def opt_float(url: str, opts: Mapping[str, str], key: str, default: float, lo: float, hi: float) -> float:
    if key not in opts:
        return default
    try:
        v = float(opts[key])
    except ValueError:
        raise ScannerUrlError(f"{url}: option {key}={opts[key]!r} is not a number") from None
    if not lo <= v <= hi:
        raise ScannerUrlError(f"{url}: option {key}={v} out of range {lo}..{hi}")
    return v


def opt_bool(url: str, opts: Mapping[str, str], key: str, default: bool) -> bool:
    if key not in opts:
        return default
    v = opts[key].lower()
    if v in ("1", "true", "yes", "on"):
        return True
    if v in ("0", "false", "no", "off"):
        return False
    raise ScannerUrlError(f"{url}: option {key}={opts[key]!r} is not a boolean (use 0 or 1)")


def opt_choice(url: str, opts: Mapping[str, str], key: str, default: str, choices: tuple[str, ...]) -> str:
    v = opts.get(key, default).lower()
    if v not in choices:
        raise ScannerUrlError(f"{url}: option {key}={opts[key]!r} must be one of {', '.join(choices)}")
    return v


class ReaderBase:
    """State and callbacks common to every reader; subclasses call ``_emit``/``_set_state``/``_notice``."""

    def __init__(self, url: str) -> None:
        self.url = url
        self._state = ScannerState.CLOSED
        self._lock = threading.Lock()
        self._on_scan: ScanCallback | None = None
        self._on_state: StateCallback | None = None
        self._on_notice: NoticeCallback | None = None

    @property
    def state(self) -> ScannerState:
        return self._state

    def start(
        self,
        on_scan: ScanCallback,
        on_state: StateCallback | None = None,
        on_notice: NoticeCallback | None = None,
    ) -> None:
        """A passive reader (fed from outside, no thread of its own) is open as soon as it is bound."""
        self._bind(on_scan, on_state, on_notice)
        self._set_state(ScannerState.OPEN)

    def stop(self, timeout: float = 2.0) -> None:
        self._set_state(ScannerState.CLOSED)
        self._unbind()

    def _bind(self, on_scan: ScanCallback, on_state: StateCallback | None, on_notice: NoticeCallback | None) -> None:
        if self._on_scan is not None:
            raise ScannerError(f"{self.url}: already started")
        self._on_scan, self._on_state, self._on_notice = on_scan, on_state, on_notice

    def _unbind(self) -> None:
        self._on_scan = self._on_state = self._on_notice = None

    def _emit(self, event: ScanEvent) -> None:
        logger.debug("scan %s %s from %s", event.symbology or "?", mask(event.text), self.url)
        self._call(self._on_scan, event)

    def _set_state(self, state: ScannerState, message: str = "") -> None:
        with self._lock:
            changed = state is not self._state
            self._state = state
        if changed:
            logger.info("%s: %s %s", self.url, state.value, message)
            self._call(self._on_state, state, message)

    def _notice(self, message: str) -> None:
        logger.info("%s: notice: %s", self.url, message)
        self._call(self._on_notice, message)

    @staticmethod
    def _call(fn: Callable[..., None] | None, *args: object) -> None:
        if fn is None:
            return
        try:
            fn(*args)
        except Exception:  # a broken consumer must not kill the reader thread
            logger.exception("scanner callback %r raised", fn)
