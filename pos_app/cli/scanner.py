"""Scanner diagnostics: ``scanner list``, ``scanner test URL`` and ``decode IMAGE...``."""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import sys
import threading
import time
from typing import Any

__all__ = ["register"]

logger = logging.getLogger(__name__)


def register(sub: Any) -> None:
    """Add ``scanner`` (list, test) and ``decode`` to the pos-app command tree."""
    sc = sub.add_parser("scanner", help="find and test barcode readers")
    scsub = sc.add_subparsers(dest="scanner_command", metavar="SUBCOMMAND")
    sc.set_defaults(func=lambda args: (sc.print_help(), 2)[1])

    ls = scsub.add_parser("list", help="likely scanners (serial, by USB vendor) and cameras")
    ls.add_argument("--all", action="store_true", help="list every serial port, not only known scanner vendors")
    ls.add_argument("--no-probe", action="store_true", help="do not open cameras to check them")
    ls.set_defaults(func=_list)

    test = scsub.add_parser("test", help="print one JSON line per scan until interrupted")
    test.add_argument("url", help="serial:///dev/ttyACM0?suffix=crlf&aim=1, camera://0, loop://, ...")
    test.add_argument("--seconds", type=float, default=0.0, help="stop after this long (0: until Ctrl-C)")
    test.set_defaults(func=_test)

    dec = sub.add_parser("decode", help="run the camera decode pipeline on image files")
    dec.add_argument("images", nargs="+", metavar="IMAGE", help="image files (PNG, JPEG, WebP, ...)")
    dec.add_argument("--roi", type=float, default=1.0, help="central fraction of the image to search")
    dec.add_argument("--effort", choices=("fast", "thorough"), default="thorough",
                     help="fast: what the camera thread runs per frame; thorough: more passes, for still images")
    dec.add_argument("--backend", choices=("auto", "pyzbar", "zxing"), default="auto")
    dec.add_argument("--max-pixels", type=int, default=50_000_000,
                     help="refuse images with more pixels than this (default 50 000 000)")
    dec.set_defaults(func=_decode)


def _list(args: argparse.Namespace) -> int:
    from drivers.discovery import find_cameras, find_serial_scanners

    found = [*find_serial_scanners(all_ports=args.all), *find_cameras(probe=not args.no_probe)]
    for d in found:
        print(json.dumps(dataclasses.asdict(d), ensure_ascii=False))
    if not found:
        print("no scanners or cameras found (try --all; keyboard-wedge scanners are not listed)", file=sys.stderr)
    return 0


def _test(args: argparse.Namespace) -> int:
    from drivers import open_scanner
    from drivers.base import ScanEvent, ScannerError, ScannerState

    try:
        scanner = open_scanner(args.url)
    except ScannerError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.url.startswith("wedge:"):
        print("error: wedge:// needs the terminal window; type into `pos-app run` instead", file=sys.stderr)
        return 2
    lock = threading.Lock()

    def on_scan(e: ScanEvent) -> None:
        line = {"text": e.text, "raw": e.raw, "symbology": e.symbology, "source": e.source, "at": round(e.at, 4)}
        with lock:
            print(json.dumps(line, ensure_ascii=False), flush=True)

    def on_state(state: ScannerState, msg: str) -> None:
        print(f"state: {state.value} {msg}", file=sys.stderr, flush=True)

    def on_notice(msg: str) -> None:
        print(f"notice: {msg}", file=sys.stderr, flush=True)

    scanner.start(on_scan, on_state, on_notice)
    deadline = time.monotonic() + args.seconds if args.seconds > 0 else None
    stop = threading.Event()
    try:
        while not stop.wait(0.2):
            if deadline is not None and time.monotonic() >= deadline:
                break
    except KeyboardInterrupt:
        pass
    finally:
        scanner.stop()
    return 0


def _decode(args: argparse.Namespace) -> int:
    from drivers.decode import ImageRefused, decode_frame, read_image

    rc = 0
    for path in args.images:
        try:
            img = read_image(path, args.max_pixels)
        except ImageRefused as exc:
            logger.warning("decode %s: %s", path, exc)
            print(json.dumps({"image": path, "error": str(exc)}, ensure_ascii=False), flush=True)
            rc = 1
            continue
        t0 = time.perf_counter()
        found = decode_frame(img, roi=args.roi, effort=args.effort, backend=args.backend)
        ms = (time.perf_counter() - t0) * 1000
        codes = [{"text": d.text, "symbology": d.symbology, "polygon": d.polygon} for d in found]
        print(json.dumps({"image": path, "codes": codes, "ms": round(ms, 2)}, ensure_ascii=False), flush=True)
    return rc
