"""Serial / USB-CDC scanner: a pyserial reader thread, framing, AIM ids, reconnect with back-off."""

from __future__ import annotations

import dataclasses
import logging
import threading
import time
from collections.abc import Callable
from typing import Any

import serial

from drivers._common import ReaderBase
from drivers.base import (
    NoticeCallback,
    ScanCallback,
    ScanEvent,
    ScannerDisconnected,
    ScannerState,
    StateCallback,
)
from drivers.framing import (
    DEFAULT_GAP_S,
    DEFAULT_MAX_FRAME,
    FrameRejected,
    SuffixFramer,
    parse_aim,
    validate_frame,
)

__all__ = ["SerialConfig", "SerialScanner", "BACKOFF_START_S", "BACKOFF_MAX_S"]

logger = logging.getLogger(__name__)

BACKOFF_START_S = 0.1
BACKOFF_MAX_S = 2.0


@dataclasses.dataclass(frozen=True, slots=True)
class SerialConfig:
    """How to open and frame one serial reader."""

    port: str  # a device path or a pyserial URL (loop://)
    baud: int = 9600
    suffix: str = "crlf"
    aim: bool = False
    gap_s: float = DEFAULT_GAP_S
    max_len: int = DEFAULT_MAX_FRAME
    backoff_max_s: float = BACKOFF_MAX_S


class SerialScanner(ReaderBase):
    """A scanner on a serial port (or any pyserial URL) read by its own thread.

    Callbacks run on the reader thread. When the port fails (USB unplugged) the state goes to
    RECONNECTING and the port is reopened with exponential back-off until it comes back.
    """

    def __init__(
        self,
        url: str,
        config: SerialConfig,
        clock: Callable[[], float] = time.monotonic,
        port_factory: Callable[[SerialConfig], Any] | None = None,
    ) -> None:
        super().__init__(url)
        self.config = config
        self._clock = clock
        self._factory = port_factory or _open_port
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._port: Any = None
        self._port_lock = threading.Lock()
        self._framer = SuffixFramer(config.suffix, config.gap_s, config.max_len, on_notice=self._notice)

    def start(
        self,
        on_scan: ScanCallback,
        on_state: StateCallback | None = None,
        on_notice: NoticeCallback | None = None,
    ) -> None:
        self._bind(on_scan, on_state, on_notice)
        self._stop.clear()
        self._set_state(ScannerState.CONNECTING, self.config.port)
        self._thread = threading.Thread(target=self._run, name=f"scanner {self.url}", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 2.0) -> None:
        self._stop.set()
        with self._port_lock:
            port = self._port
        if port is not None:
            try:
                port.cancel_read()
            except (AttributeError, OSError, serial.SerialException):
                logger.debug("cancel_read unsupported on %s", self.url)
        if self._thread is not None:
            self._thread.join(timeout)
            if self._thread.is_alive():
                logger.error("%s: reader thread did not stop within %.1f s", self.url, timeout)
        self._thread = None
        self._close_port()
        self._set_state(ScannerState.CLOSED)
        self._unbind()

    def write(self, data: bytes) -> None:
        """Write to the port (for loop:// tests and demo feeds)."""
        with self._port_lock:
            port = self._port
        if port is None:
            raise ScannerDisconnected(f"{self.url}: port not open")
        port.write(data)

    def wait_open(self, timeout: float) -> bool:
        """Block until the port is open (tests, CLI); True if it opened in time."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._state is ScannerState.OPEN:
                return True
            self._stop.wait(0.005)
        return self._state is ScannerState.OPEN

    # -- reader thread --------------------------------------------------------------------

    def _run(self) -> None:
        backoff = BACKOFF_START_S
        first = True
        while not self._stop.is_set():
            try:
                port = self._factory(self.config)
            except (serial.SerialException, OSError, ValueError) as exc:
                state = ScannerState.CONNECTING if first else ScannerState.RECONNECTING
                message = f"cannot open {self.config.port}: {exc}; retry in {backoff:.1f} s"
                if state is self._state and backoff == BACKOFF_START_S:
                    self._notice(message)  # the state did not change: say why it is not open
                self._set_state(state, message)
                if self._stop.wait(backoff):
                    break
                backoff = min(backoff * 2, self.config.backoff_max_s)
                continue
            with self._port_lock:
                self._port = port
            self._framer.reset()
            first = False
            backoff = BACKOFF_START_S
            self._set_state(ScannerState.OPEN, self.config.port)
            try:
                self._read_loop(port)
            except ScannerDisconnected as exc:
                self._close_port()
                if self._stop.is_set():
                    break
                self._set_state(ScannerState.RECONNECTING, str(exc))
                self._notice(f"scanner disconnected: {exc}")
                continue
            break
        self._close_port()

    def _read_loop(self, port: Any) -> None:
        while not self._stop.is_set():
            try:
                waiting = port.in_waiting
                data = port.read(max(1, min(waiting, 4096)))
            except (serial.SerialException, OSError, TypeError) as exc:
                # TypeError: pyserial's posix read on a closed fd
                raise ScannerDisconnected(f"{self.config.port}: {exc}") from exc
            now = self._clock()
            frames = self._framer.feed(data, now) if data else []
            frames += self._framer.flush_if_idle(now)
            for frame in frames:
                self._handle(frame, now)

    def _handle(self, frame: bytes, at: float) -> None:
        logger.debug("%s: frame of %d bytes", self.url, len(frame))
        try:
            raw = validate_frame(frame)
        except FrameRejected as exc:
            self._notice(f"frame dropped: {exc}")
            return
        symbology = ""
        if self.config.aim:
            sym, rest = parse_aim(raw)
            if sym is None:
                self._notice("frame without AIM identifier (is AIM transmission on?)")
            else:
                symbology, raw = sym, rest
        text = raw.strip()
        if not text:
            self._notice("frame dropped: empty after AIM identifier")
            return
        self._emit(ScanEvent(raw=raw, text=text, symbology=symbology, source=self.url, at=at))

    def _close_port(self) -> None:
        with self._port_lock:
            port, self._port = self._port, None
        if port is not None:
            try:
                port.close()
            except (serial.SerialException, OSError):
                logger.debug("closing %s failed", self.url, exc_info=True)


def _open_port(cfg: SerialConfig) -> Any:
    timeout = min(cfg.gap_s / 2, 0.02)
    if "://" in cfg.port:
        port = serial.serial_for_url(cfg.port, baudrate=cfg.baud, timeout=timeout)
    else:
        port = serial.Serial(cfg.port, baudrate=cfg.baud, timeout=timeout, exclusive=True)
    return port
