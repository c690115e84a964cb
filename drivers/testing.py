"""Test helpers shipped with the drivers: deterministic synthetic barcode frames and degradations."""

from __future__ import annotations

import io
import math
from collections.abc import Callable
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt

__all__ = [
    "render_code128",
    "render_ean13",
    "render_qr",
    "place_on_canvas",
    "DEGRADATIONS",
    "degraded_set",
    "SAMPLE_CODES",
]

Gray = npt.NDArray[Any]  # uint8 at run time; OpenCV stubs type results loosely

SAMPLE_CODES: tuple[tuple[str, str], ...] = (
    ("CODE128", "R0010000004217"),
    ("CODE128", "8800123456789012"),
    ("EAN13", "4006381333931"),
    ("EAN13", "6901234567892"),
    ("QR", "https://qr.alipay.com/bax01234abcd5678"),
    ("QR", "284712345678901234"),
)


def _barcode(kind: str, data: str, module_px: int, height_px: int) -> Gray:
    import barcode
    from barcode.writer import ImageWriter

    w = ImageWriter(format="PNG", mode="L")
    dpi = 254  # 0.1 mm per pixel
    img = barcode.get(kind, data, writer=w).render(
        {
            "module_width": module_px * 0.1,
            "module_height": height_px * 0.1,
            "quiet_zone": 10 * module_px * 0.1,
            "dpi": dpi,
            "write_text": False,
        }
    )
    return np.array(img.convert("L"), dtype=np.uint8)


def render_code128(data: str, module_px: int = 2, height_px: int = 80) -> Gray:
    """A clean Code128 image (white quiet zone) at ``module_px`` pixels per module."""
    return _barcode("code128", data, module_px, height_px)


def render_ean13(data: str, module_px: int = 2, height_px: int = 80) -> Gray:
    """A clean EAN-13 image (``data`` with or without its check digit)."""
    return _barcode("ean13", data[:12], module_px, height_px)


def render_qr(data: str, module_px: int = 4) -> Gray:
    """A clean QR code (4-module quiet zone)."""
    import qrcode

    q = qrcode.QRCode(border=4, box_size=module_px, error_correction=qrcode.constants.ERROR_CORRECT_M)
    q.add_data(data)
    q.make(fit=True)
    buf = io.BytesIO()
    q.make_image(fill_color="black", back_color="white").save(buf, format="PNG")
    arr = cv2.imdecode(np.frombuffer(buf.getvalue(), np.uint8), cv2.IMREAD_GRAYSCALE)
    return np.asarray(arr, dtype=np.uint8)


def render(symbology: str, data: str, module_px: int = 2) -> Gray:
    if symbology == "QR":
        return render_qr(data, max(3, module_px + 1))
    if symbology == "EAN13":
        return render_ean13(data, module_px)
    return render_code128(data, module_px)


def place_on_canvas(
    code: Gray, rng: np.random.Generator, size: tuple[int, int] = (1280, 720), background: int = 170
) -> Gray:
    """Paste ``code`` at a random place of a textured gray canvas ``size`` = (w, h)."""
    w, h = size
    canvas = np.full((h, w), background, np.uint8)
    noise = rng.normal(0, 6, (h // 8 + 1, w // 8 + 1)).astype(np.float32)
    canvas = np.clip(canvas + cv2.resize(noise, (w, h)), 0, 255).astype(np.uint8)
    ch, cw = code.shape
    if ch > h or cw > w:
        s = min(h / ch, w / cw) * 0.95
        code = cv2.resize(code, None, fx=s, fy=s, interpolation=cv2.INTER_AREA)
        ch, cw = code.shape
    y = int(rng.integers(0, h - ch + 1))
    x = int(rng.integers(0, w - cw + 1))
    canvas[y : y + ch, x : x + cw] = code
    return np.asarray(canvas, np.uint8)


def _rotate(img: Gray, angle: float) -> Gray:
    h, w = img.shape
    m = cv2.getRotationMatrix2D((w / 2, h / 2), angle, 1.0)
    c, s = abs(m[0, 0]), abs(m[0, 1])
    nw, nh = int(h * s + w * c), int(h * c + w * s)
    m[0, 2] += nw / 2 - w / 2
    m[1, 2] += nh / 2 - h / 2
    return cv2.warpAffine(img, m, (nw, nh), flags=cv2.INTER_LINEAR, borderValue=255)


def _tilt(img: Gray, rng: np.random.Generator) -> Gray:
    h, w = img.shape
    d = 0.12
    src = np.array([[0, 0], [w, 0], [w, h], [0, h]], np.float32)
    jit = rng.uniform(0, d, (4, 2)) * (w, h)
    dst = np.array(
        [[jit[0, 0], jit[0, 1]], [w - jit[1, 0], jit[1, 1]], [w - jit[2, 0], h - jit[2, 1]], [jit[3, 0], h - jit[3, 1]]],
        np.float32,
    )
    m = cv2.getPerspectiveTransform(src, dst)
    return cv2.warpPerspective(img, m, (w, h), borderValue=255)


def _shadow(img: Gray, rng: np.random.Generator) -> Gray:
    h, w = img.shape
    grad = np.linspace(1.0, 0.45, w, dtype=np.float32)[None, :] if rng.random() < 0.5 else np.linspace(0.45, 1.0, w, dtype=np.float32)[None, :]
    return np.asarray(np.clip(img.astype(np.float32) * grad, 0, 255), np.uint8)


def _glare(img: Gray, rng: np.random.Generator) -> Gray:
    h, w = img.shape
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    cx, cy = rng.uniform(0.2, 0.8) * w, rng.uniform(0.2, 0.8) * h
    r = 0.2 * max(w, h)
    spot = 120 * np.exp(-((xx - cx) ** 2 + (yy - cy) ** 2) / (2 * r * r))
    return np.asarray(np.clip(img.astype(np.float32) + spot, 0, 255), np.uint8)


def _jpeg(img: Gray, q: int) -> Gray:
    ok, buf = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, q])
    assert ok
    return np.asarray(cv2.imdecode(buf, cv2.IMREAD_GRAYSCALE), dtype=np.uint8)


def _phone(img: Gray, rng: np.random.Generator) -> Gray:
    """A code on a phone screen: bright emissive background, pixel grid, slight moire, reflection."""
    up: npt.NDArray[Any] = cv2.resize(img, None, fx=2, fy=2, interpolation=cv2.INTER_NEAREST).astype(np.float32)
    up = 40 + up * 0.8  # screen black is not black
    up[::3, :] *= 0.85  # pixel rows
    up = cv2.GaussianBlur(up, (3, 3), 0.8)
    up = np.asarray(cv2.resize(up, (img.shape[1], img.shape[0]), interpolation=cv2.INTER_AREA), np.float32)
    up = up + np.linspace(0, 35, img.shape[1], dtype=np.float32)[None, :]
    return np.asarray(np.clip(up, 0, 255), np.uint8)


def _noise(img: Gray, rng: np.random.Generator, sigma: float) -> Gray:
    return np.clip(img.astype(np.float32) + rng.normal(0, sigma, img.shape), 0, 255).astype(np.uint8)


Degrade = Callable[[Gray, np.random.Generator], Gray]

DEGRADATIONS: dict[str, Degrade] = {
    "clean": lambda g, r: g,
    "rotation": lambda g, r: _rotate(g, float(r.uniform(-180, 180))),
    "rotation15-45": lambda g, r: _rotate(g, float(r.choice([-1, 1]) * r.uniform(15, 45))),
    "tilt": _tilt,
    "blur": lambda g, r: cv2.GaussianBlur(g, (0, 0), float(r.uniform(0.6, 1.0))),
    "noise": lambda g, r: _noise(g, r, 12.0),
    "low-contrast": lambda g, r: (110 + g.astype(np.float32) * 0.3).astype(np.uint8),
    "shadow": _shadow,
    "glare": _glare,
    "jpeg": lambda g, r: _jpeg(g, 30),
    "phone-screen": _phone,
}


def degraded_set(seed: int = 0, copies: int = 1, canvas: tuple[int, int] = (1280, 720)) -> list[tuple[str, Gray, str]]:
    """(``"degradation:symbology"``, 1280x720 frame, expected text) for every code x degradation.

    Codes are in spec: >= 2 pixels per module (QR 3), mild blur and noise; placed on a canvas.
    """
    rng = np.random.default_rng(seed)
    out: list[tuple[str, Gray, str]] = []
    for _ in range(copies):
        for name, fn in DEGRADATIONS.items():
            for sym, data in SAMPLE_CODES:
                code = render(sym, data, 2)
                pad = cv2.copyMakeBorder(code, 20, 20, 20, 20, cv2.BORDER_CONSTANT, value=255)
                if name in ("low-contrast", "shadow", "glare", "jpeg", "phone-screen", "noise", "blur"):
                    frame = fn(place_on_canvas(pad, rng, canvas), rng)
                else:
                    frame = place_on_canvas(fn(pad, rng), rng, canvas)
                expected = data if sym != "EAN13" else data[:12] + str(_ean_check(data[:12]))
                out.append((f"{name}:{sym}", frame, expected))
    return out


def _ean_check(body: str) -> int:
    total = sum(int(c) * (3 if i % 2 == 0 else 1) for i, c in enumerate(reversed(body)))
    return (10 - total % 10) % 10


def angle_of(m: float) -> float:
    return math.degrees(m)
