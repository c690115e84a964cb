"""Hardware drivers: scanners, cameras, printers; each opened by URL. Never imports pos_app.

``open_scanner(url)`` understands::

    serial:///dev/ttyACM0?baud=9600&suffix=crlf&aim=1&gap_ms=50&max_len=512
    loop://?suffix=cr&aim=0                pyserial's loop-back port, framed the same way
    wedge://?min_len=6&mean_ms=30&gap_ms=100&silence_ms=100&prefix=%02
    camera://0?width=1280&height=720&roi=0.6&fps=30
    camera:///path/to/video.avi?loop=0    a video file played as a camera
    virtual://wallet                       frames from drivers.virtual.register_frame_source
    fake://                                drivers.fake.FakeScanner
"""

from __future__ import annotations

import time
import urllib.parse
from collections.abc import Callable
from typing import Any

from drivers._common import opt_bool, opt_choice, opt_float, opt_int, parse_options
from drivers.base import Scanner, ScannerUrlError
from drivers.framing import SUFFIXES, WedgeConfig

__all__ = ["open_scanner", "SCHEMES"]

SCHEMES = ("serial", "loop", "wedge", "camera", "virtual", "fake")

_SERIAL_OPTS = {"baud", "suffix", "aim", "gap_ms", "max_len", "backoff_ms"}
_WEDGE_OPTS = {"min_len", "mean_ms", "gap_ms", "silence_ms", "prefix"}
_CAMERA_OPTS = {"width", "height", "roi", "fps", "preview_hz", "loop", "realtime"}


def open_scanner(url: str, clock: Callable[[], float] = time.monotonic, **defaults: object) -> Scanner:
    """Build (but do not start) the reader named by ``url``.

    ``defaults`` supply options the URL does not give (``suffix="cr"``); options that do not
    apply to the URL's scheme are ignored. A malformed URL or an unknown option written in the
    URL raises ScannerUrlError naming the wrong part.
    """
    if not isinstance(url, str) or "://" not in url:
        raise ScannerUrlError(f"{url!r}: not a scanner URL (expected scheme://..., one of {', '.join(SCHEMES)})")
    parts = urllib.parse.urlsplit(url)
    scheme = parts.scheme.lower()
    if parts.fragment:
        raise ScannerUrlError(f"{url}: unexpected fragment #{parts.fragment}")

    def opts(allowed: set[str]) -> dict[str, str]:
        given = parse_options(url, parts.query, allowed)
        merged = {k: str(v) for k, v in defaults.items() if k in allowed}
        merged.update(given)
        return merged

    if scheme in ("serial", "loop"):
        return _open_serial(url, parts, opts(_SERIAL_OPTS), clock)
    if scheme == "wedge":
        if parts.netloc or parts.path not in ("", "/"):
            raise ScannerUrlError(f"{url}: wedge:// takes no host or path, only options")
        from drivers.wedge import WedgeScanner

        o = opts(_WEDGE_OPTS)
        prefix = o.get("prefix") or None
        if prefix is not None and len(prefix) != 1:
            raise ScannerUrlError(f"{url}: option prefix must be one character (URL-encoded), got {prefix!r}")
        cfg = WedgeConfig(
            min_len=opt_int(url, o, "min_len", 6, 1, 512),
            max_mean_gap=opt_int(url, o, "mean_ms", 30, 1, 1000) / 1000,
            max_gap=opt_int(url, o, "gap_ms", 100, 1, 5000) / 1000,
            silence=opt_int(url, o, "silence_ms", 100, 1, 5000) / 1000,
            prefix=prefix,
        )
        return WedgeScanner(url, cfg, clock)
    if scheme in ("camera", "virtual"):
        return _open_camera(url, scheme, parts, opts(_CAMERA_OPTS), clock)
    if scheme == "fake":
        parse_options(url, parts.query, set())
        from drivers.fake import FakeScanner

        return FakeScanner(url, clock)
    raise ScannerUrlError(f"{url}: unknown scheme {parts.scheme!r} (expected one of {', '.join(SCHEMES)})")


def _open_serial(url: str, parts: urllib.parse.SplitResult, o: dict[str, str], clock: Callable[[], float]) -> Scanner:
    from drivers.serial_scanner import BACKOFF_MAX_S, SerialConfig, SerialScanner

    if parts.scheme.lower() == "loop":
        if parts.netloc or parts.path not in ("", "/"):
            raise ScannerUrlError(f"{url}: loop:// takes no host or path")
        port = "loop://"
    else:
        port = urllib.parse.unquote(parts.netloc + parts.path)
        if not port:
            raise ScannerUrlError(f"{url}: missing device path (serial:///dev/ttyACM0 or serial://COM3)")
    cfg = SerialConfig(
        port=port,
        baud=opt_int(url, o, "baud", 9600, 50, 4_000_000),
        suffix=opt_choice(url, o, "suffix", "crlf", SUFFIXES),
        aim=opt_bool(url, o, "aim", False),
        gap_s=opt_int(url, o, "gap_ms", 50, 1, 10_000) / 1000,
        max_len=opt_int(url, o, "max_len", 512, 1, 1 << 20),
        backoff_max_s=opt_int(url, o, "backoff_ms", int(BACKOFF_MAX_S * 1000), 10, 600_000) / 1000,
    )
    return SerialScanner(url, cfg, clock)


def _open_camera(
    url: str, scheme: str, parts: urllib.parse.SplitResult, o: dict[str, str], clock: Callable[[], float]
) -> Scanner:
    from drivers.camera import CameraConfig, CameraScanner

    source: Any
    if scheme == "virtual":
        name = parts.netloc
        if not name or parts.path not in ("", "/"):
            raise ScannerUrlError(f"{url}: expected virtual://NAME")
        source = ("virtual", name)
    elif parts.netloc:
        if not parts.netloc.isdigit() or parts.path not in ("", "/"):
            raise ScannerUrlError(f"{url}: camera host must be a device index (camera://0) or use camera:///path")
        source = ("device", int(parts.netloc))
    elif parts.path and parts.path != "/":
        source = ("file", urllib.parse.unquote(parts.path))
    else:
        raise ScannerUrlError(f"{url}: missing camera index or video path")
    roi = opt_float(url, o, "roi", 1.0, 0.1, 1.0)
    cfg = CameraConfig(
        width=opt_int(url, o, "width", 1280, 16, 8192),
        height=opt_int(url, o, "height", 720, 16, 8192),
        roi=roi,
        fps=opt_float(url, o, "fps", 30.0, 0.1, 240.0),
        preview_hz=opt_float(url, o, "preview_hz", 10.0, 0.0, 60.0),
        loop=opt_bool(url, o, "loop", False),
        realtime=opt_bool(url, o, "realtime", True),
    )
    return CameraScanner(url, source, cfg, clock)
