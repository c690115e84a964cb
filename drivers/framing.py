"""Pure framers for scanner input: byte suffix framing, AIM identifiers, validation, wedge timing.

Nothing here does I/O or reads a clock: callers pass bytes/keys together with the time they
arrived, which keeps every rule testable with a fake clock.
"""

from __future__ import annotations

import dataclasses
import logging
import unicodedata
from collections.abc import Callable
from typing import Generic, TypeVar

__all__ = [
    "SUFFIXES",
    "DEFAULT_GAP_S",
    "DEFAULT_MAX_FRAME",
    "SuffixFramer",
    "parse_aim",
    "AIM_SYMBOLOGIES",
    "validate_frame",
    "FrameRejected",
    "WedgeConfig",
    "WedgeDecision",
    "WedgeDecoder",
]

logger = logging.getLogger(__name__)

SUFFIXES = ("cr", "lf", "crlf", "etx", "none")
DEFAULT_GAP_S = 0.050
DEFAULT_MAX_FRAME = 512
UNTERMINATED_S = 0.3  # a partial suffixed frame idle this long is delivered as it is (scanner sends no terminator)

_CR, _LF, _STX, _ETX = 0x0D, 0x0A, 0x02, 0x03

Notice = Callable[[str], None]


def _no_notice(_msg: str) -> None:
    return None


class SuffixFramer:
    """Split a byte stream into frames.

    suffix: "cr", "lf", "crlf" (all three accept CR, LF or CRLF as the terminator, and an LF that
    directly follows a CR is swallowed, even when it arrives in a later ``feed``), "etx" (an
    optional STX starts a frame, ETX ends it) or "none" (a frame ends after ``gap_s`` of silence,
    see ``flush_if_idle``). A buffer growing beyond ``max_len`` bytes without a terminator is
    dropped (with a notice) together with everything up to the next terminator. Under a terminator
    framing, bytes left without their terminator for ``UNTERMINATED_S`` (or ``gap_s`` if longer) are
    delivered as a frame, never dropped; the first time with a notice suggesting ``suffix=none``.
    """

    def __init__(
        self,
        suffix: str = "crlf",
        gap_s: float = DEFAULT_GAP_S,
        max_len: int = DEFAULT_MAX_FRAME,
        on_notice: Notice | None = None,
    ) -> None:
        if suffix not in SUFFIXES:
            raise ValueError(f"suffix must be one of {', '.join(SUFFIXES)}, not {suffix!r}")
        if gap_s <= 0 or max_len <= 0:
            raise ValueError("gap_s and max_len must be positive")
        self.suffix = suffix
        self.gap_s = gap_s
        self.max_len = max_len
        self._notice = on_notice or _no_notice
        self._buf = bytearray()
        self._last_at: float | None = None
        self._after_cr = False
        self._skipping = False  # inside an over-long frame, waiting for its terminator
        self._in_stx = False
        self._told_unterminated = False

    @property
    def pending(self) -> bool:
        """True when bytes are buffered (or an over-long frame is being skipped)."""
        return bool(self._buf) or self._skipping

    def feed(self, data: bytes, now: float) -> list[bytes]:
        """Add bytes that arrived at ``now``; return the frames they complete (terminators removed)."""
        frames: list[bytes] = []
        if self.suffix == "none":
            if self._buf and self._last_at is not None and now - self._last_at >= self.gap_s:
                frames.extend(self._take())
            for b in data:
                self._append(b)
            self._last_at = now
            return frames
        for b in data:
            if self.suffix == "etx":
                self._feed_etx(b, frames)
            else:
                self._feed_line(b, frames)
        self._last_at = now
        return frames

    def flush_if_idle(self, now: float) -> list[bytes]:
        """Close the frame after the idle gap ("none"), or drop a stale partial frame."""
        if not self.pending or self._last_at is None:
            return []
        idle = now - self._last_at
        if self.suffix == "none":
            if idle >= self.gap_s:
                return self._take()
            return []
        if idle >= max(UNTERMINATED_S, self.gap_s):
            frames = self._take()
            if frames and not self._told_unterminated:
                self._told_unterminated = True
                self._notice(f"a code came without its {self.suffix} terminator and was taken after "
                             f"{max(UNTERMINATED_S, self.gap_s):g} s of silence; if this scanner sends no "
                             "terminator, add suffix=none to its URL so codes arrive at once")
            return frames
        return []

    def reset(self) -> None:
        """Forget everything buffered (after a reconnect)."""
        self._reset()
        self._after_cr = False

    # -- internals ------------------------------------------------------------------------

    def _reset(self) -> None:
        self._buf.clear()
        self._skipping = False
        self._in_stx = False

    def _take(self) -> list[bytes]:
        out = bytes(self._buf)
        was_skipping = self._skipping
        self._reset()
        if was_skipping or not out:
            return []
        return [out]

    def _append(self, b: int) -> None:
        if self._skipping:
            return
        self._buf.append(b)
        if len(self._buf) > self.max_len:
            self._notice(f"frame longer than {self.max_len} bytes without a terminator dropped")
            self._buf.clear()
            self._skipping = True

    def _feed_line(self, b: int, frames: list[bytes]) -> None:
        if b == _LF and self._after_cr:
            self._after_cr = False
            return
        self._after_cr = b == _CR
        if b in (_CR, _LF):
            frames.extend(self._take())
        else:
            self._append(b)

    def _feed_etx(self, b: int, frames: list[bytes]) -> None:
        if b == _STX:
            if self._buf and not self._skipping:
                self._notice(f"{len(self._buf)} bytes before STX discarded")
            self._reset()
            self._in_stx = True
        elif b == _ETX:
            frames.extend(self._take())
        else:
            self._append(b)


# --- AIM symbology identifiers (ISO/IEC 15424) ------------------------------------------

#: code character -> symbology name; E (EAN/UPC) is refined by modifier and length below.
AIM_SYMBOLOGIES: dict[str, str] = {
    "A": "CODE39",
    "C": "CODE128",
    "E": "EAN13",
    "F": "CODABAR",
    "G": "CODE93",
    "I": "ITF",
    "L": "PDF417",
    "Q": "QR",
    "d": "DATAMATRIX",
    "e": "DATABAR",
    "z": "AZTEC",
    "X": "OTHER",
}


def parse_aim(text: str) -> tuple[str | None, str]:
    """Split ``]Cm`` off ``text``; return (symbology, rest) or (None, text) when there is no AIM id.

    ``]E0`` is EAN-13 (UPC-A when 12 digits follow, UPC-E when 8 digits follow), ``]E4`` EAN-8,
    ``]E1``/``]E2`` a 2/5-digit add-on alone ("EAN_ADDON"), ``]E3`` EAN-13 with its add-on.
    An unknown code character gives symbology "" (stripped all the same).
    """
    if len(text) < 3 or text[0] != "]" or not text[1].isalpha() or not text[2].isalnum():
        return None, text
    code, mod, rest = text[1], text[2], text[3:]
    sym = AIM_SYMBOLOGIES.get(code, "")
    if code == "E":
        if mod == "4":
            sym = "EAN8"
        elif mod in ("1", "2"):
            sym = "EAN_ADDON"
        elif mod == "0" and len(rest) == 12:
            sym = "UPCA"
        elif mod == "0" and len(rest) == 8:
            sym = "UPCE"
    return sym, rest


# --- validation ---------------------------------------------------------------------------


class FrameRejected(ValueError):
    """A frame that is not a code: ``str()`` is the reason shown to the user."""


def validate_frame(frame: bytes) -> str:
    """Decode a frame as UTF-8 and refuse control characters; return the text or raise FrameRejected."""
    try:
        text = frame.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise FrameRejected(f"invalid UTF-8 at byte {exc.start} ({len(frame)} bytes)") from None
    for i, ch in enumerate(text):
        if unicodedata.category(ch) in ("Cc", "Cf", "Cs", "Co", "Cn"):
            raise FrameRejected(f"control character U+{ord(ch):04X} at position {i}")
    if not text.strip():
        raise FrameRejected("empty frame")
    return text


# --- keyboard wedge timing ----------------------------------------------------------------

T = TypeVar("T")


@dataclasses.dataclass(frozen=True, slots=True)
class WedgeConfig:
    """What makes a keyboard burst a scan (times in seconds)."""

    min_len: int = 6
    max_mean_gap: float = 0.030
    max_gap: float = 0.100
    silence: float = 0.100
    terminators: tuple[str, ...] = ("\r", "\n", "\t")
    prefix: str | None = None  # a key the scanner sends first: no guessing needed


@dataclasses.dataclass(slots=True)
class WedgeDecision(Generic[T]):
    """What to do with a key: ``consume`` the current key or let it through; first ``release``
    (replay, in order) the held tokens; ``scan`` is the completed code, if any."""

    consume: bool = False
    release: list[T] = dataclasses.field(default_factory=list)
    scan: str | None = None


class WedgeDecoder(Generic[T]):
    """Tell a scanner burst from typing by timing, key by key.

    Printable keys are held while they may still be a scan; as soon as the timing rules out a
    scan (``min_len`` characters could no longer average ``max_mean_gap``, or a gap exceeds
    ``max_gap``) the held keys are released to be replayed. ``token`` is opaque (the Qt layer
    stores a copy of its key event there).
    """

    def __init__(self, config: WedgeConfig | None = None) -> None:
        self.config = config or WedgeConfig()
        self._held: list[tuple[str, float, T]] = []
        self._prefixed = False
        self._prefix_token: T | None = None

    @property
    def holding(self) -> bool:
        return bool(self._held) or self._prefixed

    def deadline(self) -> float | None:
        """When ``poll`` must be called next (silence after the last held key), or None."""
        if not self.holding:
            return None
        last = self._held[-1][1] if self._held else self._prefix_at
        return last + self.config.silence

    def key(self, text: str, t: float, token: T) -> WedgeDecision[T]:
        """A key press carrying ``text`` (one character) at time ``t``."""
        cfg = self.config
        out: WedgeDecision[T] = WedgeDecision()
        if self._held and t - self._held[-1][1] > cfg.max_gap:
            self._close(out)
        if text in cfg.terminators:
            if self._prefixed:
                out.scan = self._take_text() or None
                out.consume = True
            elif self._held and self._qualifies():
                out.scan = self._take_text()
                out.consume = True
            else:
                out.release.extend(self._release())
            return out
        if cfg.prefix is not None and text == cfg.prefix and not self._prefixed:
            out.release.extend(self._release())
            self._prefixed = True
            self._prefix_at = t
            self._prefix_token = token
            out.consume = True
            return out
        self._held.append((text, t, token))
        if self._prefixed:
            out.consume = True
            return out
        gaps_sum = t - self._held[0][1]
        if gaps_sum > cfg.max_mean_gap * (cfg.min_len - 1) and not self._qualifies():
            held = self._release()
            out.release.extend(held[:-1])  # the current key goes through as itself
            out.consume = False
            return out
        out.consume = True
        return out

    def other_key(self, t: float) -> WedgeDecision[T]:
        """A key that never belongs to a scan (function keys, shortcuts, IME): release first."""
        out: WedgeDecision[T] = WedgeDecision()
        if self._prefixed:
            return out
        if self._held and t - self._held[-1][1] > self.config.max_gap:
            self._close(out)
        out.release.extend(self._release())
        return out

    def interrupt(self, t: float) -> WedgeDecision[T]:
        """Something a scanner never sends inside a burst (a click, a touch, a focus change) at ``t``.

        The burst, if any, ends here: held keys that already form a scan by their timing are the
        scan; anything else is typing and every held token is released, in order (after a prefix
        key, the prefix key's own token comes first).
        """
        out: WedgeDecision[T] = WedgeDecision()
        if not self._prefixed and self._held and self._qualifies():
            out.scan = self._take_text()
            return out
        if self._prefixed and self._prefix_token is not None:
            out.release.append(self._prefix_token)
        self._prefixed = False
        self._prefix_token = None
        out.release.extend(self._release())
        return out

    def poll(self, now: float) -> WedgeDecision[T]:
        """Call at ``deadline()``: silence closes a held burst (scan or release)."""
        out: WedgeDecision[T] = WedgeDecision()
        d = self.deadline()
        if d is not None and now >= d:
            self._close(out)
        return out

    # -- internals ------------------------------------------------------------------------

    _prefix_at: float = 0.0

    def _close(self, out: WedgeDecision[T]) -> None:
        if self._prefixed:
            out.scan = self._take_text() or None
        elif self._qualifies():
            out.scan = self._take_text()
        else:
            out.release.extend(self._release())

    def _qualifies(self) -> bool:
        cfg = self.config
        n = len(self._held)
        if n < cfg.min_len:
            return False
        times = [h[1] for h in self._held]
        gaps = [b - a for a, b in zip(times, times[1:], strict=False)]
        return max(gaps) <= cfg.max_gap and sum(gaps) / len(gaps) <= cfg.max_mean_gap

    def _take_text(self) -> str:
        text = "".join(h[0] for h in self._held)
        self._held.clear()
        self._prefixed = False
        self._prefix_token = None
        return text

    def _release(self) -> list[T]:
        tokens = [h[2] for h in self._held]
        self._held.clear()
        return tokens
