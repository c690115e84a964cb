"""Camera reader: OpenCV capture + the decode pipeline on its own threads, newest frame only.

Sources: a device index (``camera://0``), a video file played as a camera (``camera:///x.avi``)
or a registered frame source (``virtual://wallet``). A code is emitted when the same text is
seen in 2 of the last 3 decoded frames and passes format validation, and not again until it has
been out of view for ``gone_s``. Preview frames with the decoded outline go to an optional
callback at ``preview_hz``. Stopping is cooperative (flag + join).
"""

from __future__ import annotations

import collections
import dataclasses
import logging
import threading
import time
from collections.abc import Callable
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt

from drivers._common import ReaderBase
from drivers.base import NoticeCallback, ScanCallback, ScanEvent, ScannerState, StateCallback
from drivers.decode import Decoded, decode_frame, to_gray

__all__ = ["CameraConfig", "CameraScanner", "PreviewCallback", "Decoded", "decode_frame", "StableFilter"]

logger = logging.getLogger(__name__)

Frame = npt.NDArray[Any]
PreviewCallback = Callable[[Frame, list[Decoded]], None]


@dataclasses.dataclass(frozen=True, slots=True)
class CameraConfig:
    """Capture and emission settings (see module docstring)."""

    width: int = 1280
    height: int = 720
    roi: float = 1.0
    fps: float = 30.0
    preview_hz: float = 10.0
    loop: bool = False  # video files: start again at the end
    realtime: bool = True  # video files: play at their frame rate (False: decode every frame)
    backend: str = "auto"
    seen_needed: int = 2
    window: int = 3
    gone_s: float = 0.5


class StableFilter:
    """Emit a text seen in ``needed`` of the last ``window`` frames, once until gone ``gone_s``."""

    def __init__(self, needed: int = 2, window: int = 3, gone_s: float = 0.5) -> None:
        self.needed, self.gone_s = needed, gone_s
        self._history: collections.deque[set[tuple[str, str]]] = collections.deque(maxlen=window)
        self._emitted: dict[tuple[str, str], float] = {}  # key -> last time seen

    def update(self, found: set[tuple[str, str]], t: float) -> list[tuple[str, str]]:
        self._history.append(found)
        for key in found:
            if key in self._emitted:
                self._emitted[key] = t
        for key, last in list(self._emitted.items()):
            if key not in found and t - last >= self.gone_s:
                del self._emitted[key]
        out = []
        for key in sorted(found):
            if key in self._emitted:
                continue
            if sum(key in h for h in self._history) >= self.needed:
                self._emitted[key] = t
                out.append(key)
        return out


class _Latest:
    """A one-slot mailbox: the reader overwrites, the decoder takes the newest (no stale queue)."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._item: tuple[Frame, float] | None = None
        self.closed = False

    def put(self, frame: Frame, t: float, lockstep: bool, stop: threading.Event) -> None:
        with self._cond:
            while lockstep and self._item is not None and not stop.is_set():
                self._cond.wait(0.05)
            self._item = (frame, t)
            self._cond.notify_all()

    def take(self, stop: threading.Event) -> tuple[Frame, float] | None:
        with self._cond:
            while self._item is None and not self.closed and not stop.is_set():
                self._cond.wait(0.05)
            item, self._item = self._item, None
            self._cond.notify_all()
            return item

    def close(self) -> None:
        with self._cond:
            self.closed = True
            self._cond.notify_all()


class CameraScanner(ReaderBase):
    """A camera (or video file, or virtual source) read by a capture thread and a decode thread."""

    def __init__(
        self,
        url: str,
        source: tuple[str, Any],
        config: CameraConfig | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__(url)
        self.source = source
        self.config = config or CameraConfig()
        self._clock = clock
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._preview: PreviewCallback | None = None
        self._latest = _Latest()
        self.frames_decoded = 0

    def set_preview(self, callback: PreviewCallback | None) -> None:
        """Receive BGR preview frames with outlines (on the decode thread) at ``preview_hz``."""
        self._preview = callback

    def start(
        self,
        on_scan: ScanCallback,
        on_state: StateCallback | None = None,
        on_notice: NoticeCallback | None = None,
    ) -> None:
        self._bind(on_scan, on_state, on_notice)
        self._stop.clear()
        self._latest = _Latest()
        self._set_state(ScannerState.CONNECTING, str(self.source[1]))
        self._threads = [
            threading.Thread(target=self._capture_loop, name=f"capture {self.url}", daemon=True),
            threading.Thread(target=self._decode_loop, name=f"decode {self.url}", daemon=True),
        ]
        for t in self._threads:
            t.start()

    def stop(self, timeout: float = 2.0) -> None:
        self._stop.set()
        self._latest.close()
        for t in self._threads:
            t.join(timeout)
            if t.is_alive():
                logger.error("%s: thread %s did not stop within %.1f s", self.url, t.name, timeout)
        self._threads = []
        self._set_state(ScannerState.CLOSED)
        self._unbind()

    def wait_finished(self, timeout: float) -> bool:
        """For video files without loop: wait until every frame was decoded (tests, CLI)."""
        for t in self._threads:
            t.join(timeout)
        return not any(t.is_alive() for t in self._threads)

    # -- capture ------------------------------------------------------------------------

    def _open(self) -> tuple[Callable[[], Frame | None], Callable[[], None], float]:
        kind, value = self.source
        if kind == "virtual":
            from drivers.virtual import get_frame_source

            if get_frame_source(value) is None:  # not yet (or no longer): retry with back-off
                raise OSError(f"no frame source registered as {value!r}")

            def read_virtual() -> Frame | None:
                fn = get_frame_source(value)
                if fn is None:
                    raise OSError(f"no frame source registered as {value!r}")
                return fn()

            return read_virtual, lambda: None, self.config.fps
        cap = cv2.VideoCapture(value) if kind == "file" else cv2.VideoCapture(int(value))
        if not cap.isOpened():
            cap.release()
            raise OSError(f"cannot open {'video file' if kind == 'file' else 'camera'} {value}")
        if kind == "device":
            cap.set(cv2.CAP_PROP_FRAME_WIDTH, self.config.width)
            cap.set(cv2.CAP_PROP_FRAME_HEIGHT, self.config.height)
            cap.set(cv2.CAP_PROP_BUFFERSIZE, 1)
        fps = float(cap.get(cv2.CAP_PROP_FPS) or 0.0) or self.config.fps

        def read_cap() -> Frame | None:
            ok, frame = cap.read()
            return frame if ok else None

        return read_cap, cap.release, fps

    def _capture_loop(self) -> None:
        kind = self.source[0]
        is_file = kind == "file"
        lockstep = is_file and not self.config.realtime
        backoff = 0.2
        try:
            while not self._stop.is_set():
                try:
                    read, release, fps = self._open()
                except OSError as exc:
                    if is_file:
                        self._set_state(ScannerState.FAILED, str(exc))
                        self._notice(str(exc))
                        return
                    self._set_state(ScannerState.RECONNECTING, f"{exc}; retry in {backoff:.1f} s")
                    if self._stop.wait(backoff):
                        return
                    backoff = min(backoff * 2, 5.0)
                    continue
                backoff = 0.2
                self._set_state(ScannerState.OPEN, str(self.source[1]))
                try:
                    ended = self._pump(read, fps, is_file, lockstep)
                finally:
                    release()
                if ended and not self.config.loop:
                    return
        finally:
            self._latest.close()

    def _pump(self, read: Callable[[], Frame | None], fps: float, is_file: bool, lockstep: bool) -> bool:
        """Read frames until stop (False) or end of file (True)."""
        n = 0
        start = self._clock()
        period = 1.0 / fps
        while not self._stop.is_set():
            try:
                frame = read()
            except (OSError, cv2.error) as exc:
                self._set_state(ScannerState.RECONNECTING, str(exc))
                self._stop.wait(0.2)  # never spin re-opening a source that keeps failing
                return False
            if frame is None:
                if is_file:
                    return True
                if self._stop.wait(period):
                    return False
                continue
            # video files carry their own time base; live frames the clock's
            t = start + n * period if is_file else self._clock()
            n += 1
            self._latest.put(frame, t, lockstep, self._stop)
            if is_file and self.config.realtime:
                delay = start + n * period - self._clock()
                if delay > 0 and self._stop.wait(delay):
                    return False
            elif self.source[0] == "virtual" and self._stop.wait(period):
                return False
        return False

    # -- decode -------------------------------------------------------------------------

    def _decode_loop(self) -> None:
        try:
            self._decode_frames()
        except Exception as exc:  # noqa: BLE001 - a bug must not leave the capture thread waiting
            logger.exception("%s: decode thread failed", self.url)
            self._set_state(ScannerState.FAILED, f"decoder failed: {exc!r}")
            self._stop.set()

    def _decode_frames(self) -> None:
        cfg = self.config
        stable = StableFilter(cfg.seen_needed, cfg.window, cfg.gone_s)
        last_preview = -1e9
        while not self._stop.is_set():
            item = self._latest.take(self._stop)
            if item is None:
                if self._latest.closed:
                    return
                continue
            frame, t = item
            try:
                found = decode_frame(to_gray(frame), roi=cfg.roi, backend=cfg.backend)
            except (cv2.error, ValueError) as exc:
                self._notice(f"frame not decoded: {exc}")
                continue
            self.frames_decoded += 1
            for text, sym in stable.update({(d.text, d.symbology) for d in found}, t):
                self._emit(ScanEvent(raw=text, text=text.strip(), symbology=sym, source=self.url, at=self._clock()))
            preview = self._preview
            if preview is not None and cfg.preview_hz > 0 and t - last_preview >= 1.0 / cfg.preview_hz:
                last_preview = t
                self._call(preview, _outlined(frame, found, cfg.roi), found)


def _outlined(frame: Frame, found: list[Decoded], roi: float) -> Frame:
    out = frame.copy() if frame.ndim == 3 else cv2.cvtColor(frame, cv2.COLOR_GRAY2BGR)
    h, w = out.shape[:2]
    if roi < 1.0:
        rw, rh = int(w * roi), int(h * roi)
        cv2.rectangle(out, ((w - rw) // 2, (h - rh) // 2), ((w + rw) // 2, (h + rh) // 2), (200, 200, 200), 1)
    for d in found:
        if d.polygon:
            pts = np.array(d.polygon, np.int32).reshape(-1, 1, 2)
            cv2.polylines(out, [pts], True, (0, 200, 0), 3)
    return np.asarray(out, dtype=np.uint8)
