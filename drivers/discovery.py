"""Find likely scanners (serial ports by USB vendor id) and cameras (/dev/video*)."""

from __future__ import annotations

import dataclasses
import glob
import logging
from collections.abc import Iterable
from typing import Any

__all__ = ["SCANNER_VENDORS", "FoundDevice", "find_serial_scanners", "find_cameras", "classify_ports"]

logger = logging.getLogger(__name__)

SCANNER_VENDORS: dict[int, str] = {
    0x0C2E: "Honeywell",
    0x05E0: "Zebra (Symbol)",
    0x05F9: "Datalogic",
    0x1EAB: "Newland",
}


@dataclasses.dataclass(frozen=True, slots=True)
class FoundDevice:
    """One candidate reader: ``url`` can be passed to open_scanner as is."""

    kind: str  # "serial" or "camera"
    url: str
    description: str
    likely_scanner: bool
    vid: int | None = None
    pid: int | None = None


def classify_ports(ports: Iterable[Any], all_ports: bool = False) -> list[FoundDevice]:
    """Turn pyserial ListPortInfo-like objects into FoundDevice rows (scanner vendors first)."""
    out = []
    for p in ports:
        vid = getattr(p, "vid", None)
        vendor = SCANNER_VENDORS.get(vid) if vid is not None else None
        if vendor is None and not all_ports:
            continue
        desc = " ".join(x for x in (vendor, getattr(p, "product", None) or getattr(p, "description", "")) if x)
        out.append(FoundDevice("serial", f"serial://{p.device}", desc, vendor is not None, vid, getattr(p, "pid", None)))
    return sorted(out, key=lambda d: (not d.likely_scanner, d.url))


def find_serial_scanners(all_ports: bool = False) -> list[FoundDevice]:
    """Serial ports whose USB vendor is a known scanner maker (all ports with ``all_ports``)."""
    from serial.tools import list_ports

    return classify_ports(list_ports.comports(), all_ports)


def find_cameras(probe: bool = True) -> list[FoundDevice]:
    """/dev/video* devices; with ``probe`` only those OpenCV can open and read a frame from."""
    out = []
    for path in sorted(glob.glob("/dev/video*")):
        suffix = path.removeprefix("/dev/video")
        if not suffix.isdigit():
            continue
        desc = path
        if probe:
            import cv2

            cap = cv2.VideoCapture(int(suffix))
            try:
                ok = cap.isOpened() and cap.read()[0]
                if not ok:
                    continue
                desc = f"{path} {int(cap.get(cv2.CAP_PROP_FRAME_WIDTH))}x{int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT))}"
            finally:
                cap.release()
        out.append(FoundDevice("camera", f"camera://{suffix}", desc, False))
    return out
