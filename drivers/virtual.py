"""Named frame sources for ``virtual://NAME`` cameras (the demo wallet window registers "wallet")."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

import numpy.typing as npt

__all__ = ["FrameSource", "register_frame_source", "unregister_frame_source", "get_frame_source"]

logger = logging.getLogger(__name__)

#: Returns the newest frame (BGR or grayscale uint8) or None when nothing is to be seen.
#: Called from the camera thread: it must be thread-safe (return a cached copy, touch no widget).
FrameSource = Callable[[], "npt.NDArray[Any] | None"]

# The one process-wide registry the brief asks for: a window registers itself, a camera URL
# names it. Guarded by a lock because the camera thread reads it.
_sources: dict[str, FrameSource] = {}
_lock = threading.Lock()


def register_frame_source(name: str, fn: FrameSource) -> None:
    """Make ``virtual://name`` read frames from ``fn`` (replaces an earlier registration)."""
    if not name or "/" in name:
        raise ValueError(f"bad frame source name {name!r}")
    with _lock:
        _sources[name] = fn
    logger.info("frame source %r registered", name)


def unregister_frame_source(name: str) -> None:
    """Forget ``name`` (a window closing); unknown names are ignored."""
    with _lock:
        _sources.pop(name, None)


def get_frame_source(name: str) -> FrameSource | None:
    """The registered source, or None."""
    with _lock:
        return _sources.get(name)
