"""The camera decode pipeline as a pure function: ``decode_frame(image) -> list[Decoded]``.

A plain zbar pass over the grayscale frame with only the shop's symbologies enabled; only when it
finds nothing, cheap fall-backs: 1D codes located with OpenCV (structure tensor + morphology +
minAreaRect) and decoded from a deskewed crop (any rotation), a half-scale pass, and an
adaptive-threshold pass. ``effort="thorough"`` adds scales and rotations for still images.
Every result passes format validation (EAN/UPC check digit, printable Code128, UTF-8 QR).
"""

from __future__ import annotations

import ctypes
import dataclasses
import logging
import math
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt
from pyzbar import pyzbar
from pyzbar import wrapper as zw

__all__ = ["Decoded", "decode_frame", "agreeing", "read_image", "ImageRefused", "MAX_IMAGE_PIXELS", "SYMBOLOGIES",
    "BACKENDS", "default_backend", "valid_code", "to_gray"]

logger = logging.getLogger(__name__)

Gray = npt.NDArray[Any]  # uint8 at run time; OpenCV stubs type results loosely
Point = tuple[int, int]

_ZSYM = pyzbar.ZBarSymbol
_NAMES = {
    _ZSYM.CODE128: "CODE128",
    _ZSYM.EAN13: "EAN13",
    _ZSYM.EAN8: "EAN8",
    _ZSYM.UPCA: "UPCA",
    _ZSYM.UPCE: "UPCE",
    _ZSYM.QRCODE: "QR",
}
SYMBOLOGIES = tuple(_NAMES.values())
_ALL = tuple(_NAMES)
_LINEAR = tuple(s for s in _ALL if s is not _ZSYM.QRCODE)


@dataclasses.dataclass(frozen=True, slots=True)
class Decoded:
    """One code found in a frame; ``polygon`` is in the input image's pixel coordinates."""

    text: str
    symbology: str
    polygon: tuple[Point, ...]


# --- validation ---------------------------------------------------------------------------


def _gs1_ok(digits: str) -> bool:
    total = sum(int(c) * (3 if i % 2 == 0 else 1) for i, c in enumerate(reversed(digits[:-1])))
    return (10 - total % 10) % 10 == int(digits[-1])


def _upce_to_upca(code: str) -> str:
    ns, d, chk = code[0], code[1:7], code[7]
    last = d[5]
    if last in "012":
        body = d[0:2] + last + "0000" + d[2:5]
    elif last == "3":
        body = d[0:3] + "00000" + d[3:5]
    elif last == "4":
        body = d[0:4] + "00000" + d[4]
    else:
        body = d[0:5] + "0000" + last
    return ns + body + chk


def valid_code(text: str, symbology: str) -> bool:
    """Format validation: check digits for EAN/UPC, printable ASCII Code128, no controls in QR."""
    if not text:
        return False
    if symbology in ("EAN13", "EAN8", "UPCA"):
        n = {"EAN13": 13, "EAN8": 8, "UPCA": 12}[symbology]
        if symbology == "UPCA" and len(text) == 13 and text[0] == "0":
            text = text[1:]
        return len(text) == n and text.isascii() and text.isdigit() and _gs1_ok(text)
    if symbology == "UPCE":
        return len(text) == 8 and text.isascii() and text.isdigit() and text[0] in "01" and _gs1_ok(_upce_to_upca(text))
    if symbology == "CODE128":
        return all(0x20 <= ord(c) < 0x7F or c == "\x1d" for c in text)
    if symbology == "QR":
        return all(c in "\r\n\t" or not (ord(c) < 0x20 or ord(c) == 0x7F) for c in text)
    return False


# --- zbar with our own configuration (density, symbologies) ------------------------------

_local = threading.local()


@contextmanager
def _scanner(symbols: Sequence[Any], density: int) -> Iterator[Any]:
    key = (tuple(symbols), density)
    cache: dict[tuple[Any, ...], Any] = getattr(_local, "scanners", None) or {}
    _local.scanners = cache
    sc = cache.get(key)
    if sc is None:
        sc = zw.zbar_image_scanner_create()
        zw.zbar_image_scanner_set_config(sc, 0, zw.ZBarConfig.CFG_ENABLE, 0)  # 0: every symbology
        for s in symbols:
            zw.zbar_image_scanner_set_config(sc, s, zw.ZBarConfig.CFG_ENABLE, 1)
        zw.zbar_image_scanner_set_config(sc, 0, zw.ZBarConfig.CFG_X_DENSITY, density)
        zw.zbar_image_scanner_set_config(sc, 0, zw.ZBarConfig.CFG_Y_DENSITY, density)
        cache[key] = sc
    yield sc


def _zbar(gray: Gray, symbols: Sequence[Any] = _ALL, density: int = 1) -> list[tuple[str, str, list[Point]]]:
    g = np.ascontiguousarray(gray)
    h, w = g.shape[:2]
    if h < 8 or w < 8:
        return []
    raw = g.tobytes()
    out: list[tuple[str, str, list[Point]]] = []
    with _scanner(symbols, density) as sc:
        img = zw.zbar_image_create()
        try:
            zw.zbar_image_set_format(img, pyzbar._FOURCC["L800"])
            zw.zbar_image_set_size(img, w, h)
            ptr = ctypes.cast(raw, ctypes.c_void_p)  # type: ignore[arg-type]
            zw.zbar_image_set_data(img, ptr, len(raw), None)
            if zw.zbar_scan_image(sc, img) < 0:
                return []
            for sym in pyzbar._decode_symbols(pyzbar._symbols_for_image(img)):
                kind = _NAMES.get(getattr(_ZSYM, sym.type, None))
                if kind is None:
                    continue
                try:
                    text = sym.data.decode("utf-8")
                except UnicodeDecodeError:
                    continue
                out.append((text, kind, [(int(p.x), int(p.y)) for p in sym.polygon]))
        finally:
            zw.zbar_image_destroy(img)
    return out


# --- zxing-cpp (optional; measured better on the real photographs, see tests/bench) -----

BACKENDS = ("auto", "pyzbar", "zxing")
_ZX: dict[str, Any] = {}


def _zxing_module() -> Any | None:
    if "mod" not in _ZX:
        try:
            import zxingcpp  # type: ignore[import-not-found, import-untyped, unused-ignore]
        except ImportError:
            _ZX["mod"] = None
        else:
            f = zxingcpp.BarcodeFormat
            _ZX["mod"] = zxingcpp
            _ZX["names"] = {f.Code128: "CODE128", f.EAN13: "EAN13", f.EAN8: "EAN8", f.UPCA: "UPCA", f.UPCE: "UPCE", f.QRCode: "QR"}
            _ZX["all"] = (f.Code128, f.EAN13, f.EAN8, f.UPCA, f.UPCE, f.QRCode)
            _ZX["linear"] = (f.Code128, f.EAN13, f.EAN8, f.UPCA, f.UPCE)
    return _ZX["mod"]


def default_backend() -> str:
    """"zxing" when zxing-cpp is installed (it reads more, faster), else "pyzbar"."""
    return "zxing" if _zxing_module() is not None else "pyzbar"


def _zxing(gray: Gray, linear: bool = False, deskewed: bool = False) -> list[tuple[str, str, list[Point]]]:
    """zxing-cpp on ``gray``; ``deskewed``: a crop whose bars are already vertical (no rotated or
    inverted retries, which halve the cost on the crops of frames that hold no code)."""
    zx = _zxing_module()
    if zx is None:
        raise RuntimeError("zxing-cpp is not installed (pip install zxing-cpp)")
    g = np.ascontiguousarray(gray)
    if g.shape[0] < 8 or g.shape[1] < 8:
        return []
    out: list[tuple[str, str, list[Point]]] = []
    fmts = _ZX["linear"] if linear else _ZX["all"]
    kw = {"try_rotate": False, "try_invert": False} if deskewed else {}
    for r in zx.read_barcodes(g, formats=fmts, **kw):
        kind = _ZX["names"].get(r.format)
        if kind is None or not r.valid:
            continue
        p = r.position
        pts = [(int(q.x), int(q.y)) for q in (p.top_left, p.top_right, p.bottom_right, p.bottom_left)]
        out.append((r.text, kind, pts))
    return out


# --- helpers ------------------------------------------------------------------------------


def to_gray(image: npt.NDArray[Any]) -> Gray:
    """BGR/BGRA/gray uint8 -> gray uint8."""
    if image.ndim == 2:
        return image.astype(np.uint8, copy=False)
    if image.shape[2] == 4:
        return cv2.cvtColor(image, cv2.COLOR_BGRA2GRAY)
    return cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)


class _Results:
    """Collects validated results, de-duplicated, mapping points back to input coordinates."""

    def __init__(self) -> None:
        self.items: dict[tuple[str, str], Decoded] = {}

    def add(self, found: list[tuple[str, str, list[Point]]], inv: npt.NDArray[Any] | None) -> int:
        n = 0
        for text, sym, pts in found:
            if sym == "UPCA" and len(text) == 13 and text[0] == "0":
                text = text[1:]
            if not valid_code(text, sym) or (text, sym) in self.items:
                continue
            if inv is not None and pts:
                arr = np.hstack([np.array(pts, np.float64), np.ones((len(pts), 1))]) @ inv.T
                pts = [(int(round(x)), int(round(y))) for x, y in arr]
            self.items[(text, sym)] = Decoded(text, sym, tuple(pts))
            n += 1
        return n


def _scale_inv(s: float) -> npt.NDArray[Any]:
    return np.array([[1 / s, 0, 0], [0, 1 / s, 0]], np.float64)


def _invert(m: npt.NDArray[Any]) -> npt.NDArray[Any]:
    return np.asarray(cv2.invertAffineTransform(m))


def _compose(outer: npt.NDArray[Any], inner: npt.NDArray[Any]) -> npt.NDArray[Any]:
    """Affine ``outer`` after ``inner`` (both 2x3)."""
    a = np.vstack([outer, [0, 0, 1]])
    b = np.vstack([inner, [0, 0, 1]])
    return np.asarray((a @ b)[:2], np.float64)


# --- 1D localisation ----------------------------------------------------------------------


def _locate_linear(gray: Gray, max_regions: int = 4) -> list[tuple[float, float, float, float, float]]:
    """Regions that look like 1D bars: (cx, cy, length across bars, height along bars, angle°)
    in ``gray`` coordinates; angle is the direction across the bars."""
    h, w = gray.shape
    s = min(1.0, 400.0 / max(h, w))
    small = cv2.resize(gray, None, fx=s, fy=s, interpolation=cv2.INTER_AREA) if s < 1 else gray
    f = small.astype(np.float32)
    gx = cv2.Sobel(f, cv2.CV_32F, 1, 0, ksize=3)
    gy = cv2.Sobel(f, cv2.CV_32F, 0, 1, ksize=3)
    k = (7, 7)
    jxx = cv2.blur(gx * gx, k)
    jyy = cv2.blur(gy * gy, k)
    jxy = cv2.blur(gx * gy, k)
    energy = jxx + jyy
    coh = np.sqrt((jxx - jyy) ** 2 + 4 * jxy**2) / (energy + 1e-3)
    mask = ((coh > 0.55) & (energy > 2500.0)).astype(np.uint8) * 255
    mask = cv2.morphologyEx(mask, cv2.MORPH_CLOSE, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (9, 9)))
    mask = cv2.morphologyEx(mask, cv2.MORPH_OPEN, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (5, 5)))
    contours, _ = cv2.findContours(mask, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    regions = []
    min_area = max(150.0, 0.002 * small.shape[0] * small.shape[1])
    for c in sorted(contours, key=cv2.contourArea, reverse=True)[: max_regions * 2]:
        area = cv2.contourArea(c)
        if area < min_area:
            break
        (cx, cy), (rw, rh), _ = cv2.minAreaRect(c)
        if min(rw, rh) < 6:
            continue
        m = np.zeros_like(mask)
        cv2.drawContours(m, [c], -1, 255, -1)
        sel = m > 0
        theta = 0.5 * math.degrees(math.atan2(2 * float(jxy[sel].sum()), float((jxx - jyy)[sel].sum())))
        # extent along / across the gradient direction from the contour points
        pts = c.reshape(-1, 2).astype(np.float64) - (cx, cy)
        u = (math.cos(math.radians(theta)), math.sin(math.radians(theta)))
        along = pts @ np.array(u)
        perp = pts @ np.array((-u[1], u[0]))
        length = float(along.max() - along.min())
        height = float(perp.max() - perp.min())
        regions.append((cx / s, cy / s, length / s, height / s, theta))
        if len(regions) >= max_regions:
            break
    return regions


def _deskewed_crops(gray: Gray, max_regions: int, max_h: int = 0) -> Iterator[tuple[Gray, npt.NDArray[Any]]]:
    """Crops with the bars vertical; ``max_h`` (0: no cap) keeps only a central band of that
    height: a 1D code reads from a few rows, and a tall band of texture costs the most."""
    for cx, cy, length, height, theta in _locate_linear(gray, max_regions):
        out_w = int(length * 1.3 + 40)
        out_h = int(max(height, 20) * 0.9 + 10)
        if max_h:
            out_h = min(out_h, max_h)
        m = cv2.getRotationMatrix2D((cx, cy), theta, 1.0)
        m[0, 2] += out_w / 2 - cx
        m[1, 2] += out_h / 2 - cy
        crop = cv2.warpAffine(gray, m, (out_w, out_h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        yield crop, m


# --- the pipeline -------------------------------------------------------------------------


def decode_frame(
    image: npt.NDArray[Any], *, roi: float = 1.0, effort: str = "fast", backend: str = "auto"
) -> list[Decoded]:
    """Decode the shop's codes in one frame (BGR or gray). Pure: no state, no I/O.

    roi: central fraction of the frame to search (1.0 = all). effort: "fast" for live video
    (plain pass, then cheap fall-backs) or "thorough" for still images (adds scales/rotations).
    backend: "pyzbar", "zxing" (zxing-cpp) or "auto" (zxing-cpp when installed).
    """
    if backend not in BACKENDS:
        raise ValueError(f"backend must be one of {', '.join(BACKENDS)}")
    if effort not in ("fast", "thorough"):
        raise ValueError("effort must be 'fast' or 'thorough'")
    if backend == "auto":
        backend = default_backend()
    dec: _Backend = _zxing if backend == "zxing" else _zbar_backend
    gray = to_gray(image)
    offset = np.array([[1, 0, 0], [0, 1, 0]], np.float64)
    if roi < 1.0:
        h, w = gray.shape
        rw, rh = int(w * roi), int(h * roi)
        x0, y0 = (w - rw) // 2, (h - rh) // 2
        gray = gray[y0 : y0 + rh, x0 : x0 + rw]
        offset = np.array([[1, 0, x0], [0, 1, y0]], np.float64)
    res = _Results()
    for found, inv in _passes(gray, effort, dec):
        res.add(found, _compose(offset, inv))
        if res.items:
            break
    return agreeing(list(res.items.values()))


def _box(d: Decoded, margin: float) -> tuple[float, float, float, float] | None:
    if not d.polygon:
        return None
    xs = [p[0] for p in d.polygon]
    ys = [p[1] for p in d.polygon]
    return min(xs) - margin, min(ys) - margin, max(xs) + margin, max(ys) + margin


def _overlap(a: Decoded, b: Decoded, margin: float = 3.0) -> bool:
    """Whether two reads may be of one printed code (an unknown position may be anywhere)."""
    ba, bb = _box(a, margin), _box(b, margin)
    if ba is None or bb is None:
        return True
    return ba[0] < bb[2] and bb[0] < ba[2] and ba[1] < bb[3] and bb[1] < ba[3]


def agreeing(found: list[Decoded]) -> list[Decoded]:
    """Drop every read whose region overlaps a read with a different value.

    Two decoders (or two passes) that read one code region differently cannot both be right, and a
    wrong one may still carry a valid check digit: emit neither and let the next frame decide.
    """
    bad: set[int] = set()
    for i, a in enumerate(found):
        for j in range(i + 1, len(found)):
            b = found[j]
            if a.text != b.text and _overlap(a, b):
                bad.update((i, j))
    if bad:
        logger.info("decode: %d overlapping reads disagree; none emitted", len(bad))
    return [d for i, d in enumerate(found) if i not in bad]


MAX_IMAGE_PIXELS = 50_000_000  # a 50-megapixel still; a 16000x16000 image would need gigabytes to decode


class ImageRefused(ValueError):
    """An image file that is not decoded: unreadable, truncated, or larger than the pixel limit."""


def read_image(path: str, max_pixels: int = MAX_IMAGE_PIXELS) -> Gray:
    """Read an image file as gray pixels; the size is checked from the header before any pixel is decoded."""
    import warnings

    from PIL import Image

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)  # our own limit is lower
            with Image.open(path) as im:
                w, h = im.size
                if w * h > max_pixels:
                    raise ImageRefused(f"{w}x{h} = {w * h} pixels is above the limit of {max_pixels} "
                                       "(scale the image down)")
                im.load()
                return np.asarray(im.convert("L"), dtype=np.uint8)
    except Image.DecompressionBombError as exc:  # Pillow's own, higher limit tripped while reading the header
        import re

        m = re.search(r"\((\d+) pixels\)", str(exc))
        size = f"{m.group(1)} pixels" if m else "the image"
        raise ImageRefused(f"{size} is above the limit of {max_pixels} (scale the image down)") from None
    except ImageRefused:
        raise
    except (OSError, ValueError, SyntaxError, EOFError, MemoryError) as exc:
        reason = "truncated (the file is incomplete)" if "truncated" in str(exc).lower() else str(exc)
        raise ImageRefused(f"cannot read image: {reason}") from None


Found = list[tuple[str, str, list[Point]]]
_Backend = Callable[[Gray, bool], Found]


def _zbar_backend(gray: Gray, linear: bool = False) -> Found:
    return _zbar(gray, _LINEAR if linear else _ALL)


def _bar_edges(crop: Gray) -> int:
    """Most black/white transitions along three rows of a deskewed crop (Otsu-binarised): a
    1D code of our symbologies has at least ~34 (UPC-E); a cheap way to drop crops of texture."""
    h = crop.shape[0]
    rows = crop[[h // 4, h // 2, (3 * h) // 4], :]
    _, binar = cv2.threshold(rows, 0, 1, cv2.THRESH_BINARY | cv2.THRESH_OTSU)
    return int(np.abs(np.diff(binar.astype(np.int8), axis=1)).sum(axis=1).max())


_MIN_EDGES = 24  # below UPC-E's 34, to allow for blur merging a few thin bars
_CROP_MAX_H = 160


def _zxing_fast(gray: Gray) -> Iterator[tuple[Found, npt.NDArray[Any]]]:
    """Live frames with zxing-cpp: the whole frame (it tries downscaled copies and binarises
    locally), then only the regions the structure tensor marks as bars, deskewed, as a band of
    at most ``_CROP_MAX_H`` rows, and only when a scanline across it shows enough bars. A frame
    with no bar-like region costs the full pass plus the 1/3-scale locator (~8 ms)."""
    ident = np.array([[1, 0, 0], [0, 1, 0]], np.float64)
    yield _zxing(gray), ident
    for crop, m in _deskewed_crops(gray, 3, _CROP_MAX_H):
        if _bar_edges(crop) < _MIN_EDGES:
            continue
        inv = _invert(m)
        yield _zxing(crop, True, True), inv
        yield _zxing(cv2.threshold(crop, 0, 255, cv2.THRESH_BINARY | cv2.THRESH_OTSU)[1], True, True), inv


def _zbar_fast(gray: Gray) -> Iterator[tuple[Found, npt.NDArray[Any]]]:
    """Live frames with zbar (no zxing-cpp): every 2nd scan line first, the bar-like regions as
    for zxing-cpp, then the full-density, half-scale and adaptive-threshold passes that cost the
    most (a frame with no code still costs ~50 ms: zbar cannot meet 30 ms on one core)."""
    ident = np.array([[1, 0, 0], [0, 1, 0]], np.float64)
    h, w = gray.shape
    yield _zbar(gray, _ALL, 2), ident
    for crop, m in _deskewed_crops(gray, 3, _CROP_MAX_H):
        if _bar_edges(crop) < _MIN_EDGES:
            continue
        inv = _invert(m)
        yield _zbar(crop, _LINEAR), inv
        yield _zbar(cv2.threshold(crop, 0, 255, cv2.THRESH_BINARY | cv2.THRESH_OTSU)[1], _LINEAR), inv
    if max(h, w) >= 480:
        half = cv2.resize(gray, None, fx=0.5, fy=0.5, interpolation=cv2.INTER_AREA)
        yield _zbar(half), _scale_inv(0.5)
    block = max(15, (min(h, w) // 24) | 1)
    yield _zbar(cv2.adaptiveThreshold(gray, 255, cv2.ADAPTIVE_THRESH_MEAN_C, cv2.THRESH_BINARY, block, 5)), ident


def _passes(gray: Gray, effort: str, dec: _Backend) -> Iterator[tuple[Found, npt.NDArray[Any]]]:
    if effort == "fast":
        yield from _zxing_fast(gray) if dec is _zxing else _zbar_fast(gray)
        return
    ident = np.array([[1, 0, 0], [0, 1, 0]], np.float64)
    h, w = gray.shape
    yield dec(gray, False), ident
    # 1D codes at any rotation: locate, deskew, decode the crop (also binarised)
    for crop, m in _deskewed_crops(gray, 3):
        inv = _invert(m)
        yield dec(crop, True), inv
        yield dec(cv2.threshold(crop, 0, 255, cv2.THRESH_BINARY | cv2.THRESH_OTSU)[1], True), inv
    # zxing-cpp already tries downscaled copies and binarises locally: the two passes below
    # only pay off for zbar (on frames with no code they cost the most)
    if dec is _zxing and effort == "fast":
        return
    # a blurred or very large code reads better smaller
    if max(h, w) >= 480:
        half = cv2.resize(gray, None, fx=0.5, fy=0.5, interpolation=cv2.INTER_AREA)
        yield dec(half, False), _scale_inv(0.5)
    block = max(15, (min(h, w) // 24) | 1)
    binar = cv2.adaptiveThreshold(gray, 255, cv2.ADAPTIVE_THRESH_MEAN_C, cv2.THRESH_BINARY, block, 5)
    yield dec(binar, False), ident
    if effort != "thorough":
        return
    for s in (0.25, 0.75, 1.5, 2.0):
        if max(h, w) * s < 120 or max(h, w) * s > 4000:
            continue
        interp = cv2.INTER_AREA if s < 1 else cv2.INTER_CUBIC
        scaled = cv2.resize(gray, None, fx=s, fy=s, interpolation=interp)
        yield dec(scaled, False), _scale_inv(s)
        for crop, m in _deskewed_crops(scaled, 4):
            yield dec(crop, True), _compose(_scale_inv(s), _invert(m))
    for angle in (30.0, 60.0, 15.0, 45.0, 75.0):
        m = cv2.getRotationMatrix2D((w / 2, h / 2), angle, 1.0)
        cos, sin = abs(m[0, 0]), abs(m[0, 1])
        nw, nh = int(h * sin + w * cos), int(h * cos + w * sin)
        m[0, 2] += nw / 2 - w / 2
        m[1, 2] += nh / 2 - h / 2
        rot = cv2.warpAffine(gray, m, (nw, nh), borderValue=255)
        yield dec(rot, True), _invert(m)
    sharp = cv2.addWeighted(gray, 1.8, cv2.GaussianBlur(gray, (0, 0), 2.0), -0.8, 0)
    yield dec(sharp, False), ident
    clahe = cv2.createCLAHE(clipLimit=3.0, tileGridSize=(8, 8)).apply(gray)
    yield dec(clahe, False), ident
