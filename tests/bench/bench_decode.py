"""Benchmark of the camera decode pipeline: real photographs, generated degraded frames, timings.

Run: ``.venv/bin/python tests/bench/bench_decode.py [--no-zxing]`` (prints Markdown tables; pins
itself to one core and prints the load average it ran under).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from drivers.decode import decode_frame, default_backend

SAMPLES = Path(os.environ.get("POS_BARCODE_SAMPLES", Path(__file__).resolve().parents[1] / "data" / "barcode-samples"))


def norm(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\r", "\n").strip()


def expected_of(img: Path) -> str | None:
    txt = img.with_suffix(".txt")
    return norm(txt.read_text(encoding="utf-8")) if txt.exists() else None


def matches(expected: str, text: str) -> bool:
    t = norm(text)
    return t == expected or (len(t) == 12 and t.isdigit() and "0" + t == expected)


def load_photos() -> list[tuple[str, Path, Any, str | None]]:
    out = []
    for folder in sorted(p for p in SAMPLES.iterdir() if p.is_dir()):
        for f in sorted(folder.iterdir()):
            if f.suffix.lower() not in (".png", ".jpg", ".jpeg", ".webp"):
                continue
            img = cv2.imread(str(f), cv2.IMREAD_GRAYSCALE)
            if img is None:
                from PIL import Image

                img = np.array(Image.open(f).convert("L"))
            out.append((folder.name, f, img, expected_of(f)))
    return out


def pyzbar_plain(gray: Any) -> list[str]:
    from pyzbar import pyzbar

    return [r.data.decode("utf-8", "replace") for r in pyzbar.decode(gray)]


def zxing_decode(gray: Any) -> list[str]:
    import zxingcpp  # type: ignore[import-not-found]

    f = zxingcpp.BarcodeFormat
    fmts = (f.Code128, f.EAN13, f.EAN8, f.UPCA, f.UPCE, f.QRCode)
    return [r.text for r in zxingcpp.read_barcodes(gray, formats=fmts)]


def score_photos(name: str, fn: Callable[[Any], list[str]], photos: list[Any]) -> tuple[dict[str, list[int]], list[float], list[str]]:
    per: dict[str, list[int]] = {}
    times: list[float] = []
    wrong: list[str] = []
    for folder, path, img, exp in photos:
        t0 = time.perf_counter()
        texts = fn(img)
        times.append((time.perf_counter() - t0) * 1000)
        row = per.setdefault(folder, [0, 0, 0])  # ok, total, wrong
        row[1] += 1
        if exp is None:
            ok = not texts
            if texts:
                row[2] += 1
                wrong.append(f"{name}: false read in {folder}/{path.name}: {texts!r}")
        else:
            ok = any(matches(exp, t) for t in texts)
            bad = [t for t in texts if not matches(exp, t)]
            if bad and not ok:
                row[2] += 1
                wrong.append(f"{name}: wrong value in {folder}/{path.name}: {bad[:2]!r}")
        row[0] += ok
    return per, times, wrong


def p95(xs: list[float]) -> float:
    return sorted(xs)[max(0, int(len(xs) * 0.95) - 1)]


def photo_table(use_zxing: bool) -> None:
    photos = load_photos()
    decoders: list[tuple[str, Callable[[Any], list[str]]]] = [
        ("pyzbar plain", pyzbar_plain),
        ("pyzbar pipeline fast", lambda g: [d.text for d in decode_frame(g, backend="pyzbar")]),
        ("pyzbar pipeline thorough", lambda g: [d.text for d in decode_frame(g, effort="thorough", backend="pyzbar")]),
    ]
    if use_zxing:
        decoders += [
            ("zxing-cpp plain", zxing_decode),
            ("zxing pipeline fast", lambda g: [d.text for d in decode_frame(g, backend="zxing")]),
        ]
    results = [(n, *score_photos(n, f, photos)) for n, f in decoders]
    folders = sorted({p[0] for p in photos})
    print(f"\n### Real photographs (`tests/data/barcode-samples/`, {len(photos)} images), images read correctly;"
          " pyzbar plain and zxing-cpp plain are the anchors\n")
    print("| folder | images | " + " | ".join(n for n, *_ in results) + " |")
    print("|---|---|" + "---|" * len(results))
    for folder in folders:
        cells = []
        for _n, per, _t, _w in results:
            ok, tot, bad = per[folder]
            cells.append(f"{ok}/{tot}" + (f" ({bad} wrong)" if bad else ""))
        print(f"| {folder} | {results[0][1][folder][1]} | " + " | ".join(cells) + " |")
    cells = []
    for _n, per, _t, _w in results:
        ok = sum(v[0] for v in per.values())
        tot = sum(v[1] for v in per.values())
        cells.append(f"**{100 * ok / tot:.1f} %**")
    print("| all | " + str(len(photos)) + " | " + " | ".join(cells) + " |")
    print("\n| figure | target | median | p95 |\n|---|---|---|---|")
    for n, _per, t, _w in results:
        print(f"| {n}: ms per photo | - | {statistics.median(t):.1f} | {p95(t):.1f} |")
    for *_r, w in results:
        for line in w:
            print(f"- {line}")


def frame_timings() -> None:
    """1280x720 frames holding a code (generated) and holding none (photos without codes)."""
    from drivers.testing import degraded_set

    with_code = [img for _name, img, _txt in degraded_set(seed=3)]
    none = []
    for f in sorted((SAMPLES / "falsepositives-1").iterdir()):
        img = cv2.imread(str(f), cv2.IMREAD_GRAYSCALE)
        if img is not None and min(img.shape) > 50:
            none.append(cv2.resize(img, (1280, 720)))
    blank = [np.full((720, 1280), v, np.uint8) for v in (40, 128, 220)]
    print("\n### Live-frame timings (one core, 1280x720, effort=fast), anchors beside the pipeline\n")
    print(f"data: {len(with_code)} generated frames holding a code, {len(none) * 3} photos holding none"
          f" (`{SAMPLES.name}/falsepositives-1`, resized, x3), {len(blank) * 5} plain grey frames\n")
    print("| figure | target | median | p95 | mean |\n|---|---|---|---|---|")
    decoders: list[tuple[str, Callable[[Any], object]]] = []
    for backend in dict.fromkeys((default_backend(), "pyzbar")):
        decoders.append((f"{backend} pipeline", lambda g, b=backend: decode_frame(g, backend=b)))
        decoders.append((f"{'zxing-cpp' if backend == 'zxing' else backend} plain (anchor)",
                         zxing_decode if backend == "zxing" else pyzbar_plain))
    rows = (("frame holding a code", "mean <= 15", with_code), ("frame holding none", "mean <= 30", none * 3),
            ("plain frame, no texture", "-", blank * 5))
    for label, target, frames in rows:
        for name, fn in decoders:
            ts = []
            for g in frames:
                t0 = time.perf_counter()
                fn(g)
                ts.append((time.perf_counter() - t0) * 1000)
            goal = target if name.endswith("pipeline") else "-"
            print(f"| {name}: {label} (ms) | {goal} | {statistics.median(ts):.1f} | {p95(ts):.1f} |"
                  f" {statistics.mean(ts):.1f} |")
    load = os.getloadavg() if hasattr(os, "getloadavg") else (float("nan"),) * 3
    print(f"\nload average after: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")


def degraded_table() -> None:
    from drivers.testing import degraded_set

    per: dict[str, list[int]] = {}
    times: list[float] = []
    for name, img, text in degraded_set(seed=11, copies=6):
        kind = name.split(":")[0]
        t0 = time.perf_counter()
        found = decode_frame(img)
        times.append((time.perf_counter() - t0) * 1000)
        row = per.setdefault(kind, [0, 0, 0])
        row[1] += 1
        row[0] += any(d.text == text for d in found)
        row[2] += any(d.text != text for d in found)
    print("\n### Generated degraded frames (effort=fast)\n")
    print("| degradation | frames | decoded | wrong |\n|---|---|---|---|")
    for k, (ok, tot, bad) in sorted(per.items()):
        print(f"| {k} | {tot} | {100 * ok / tot:.0f} % | {bad} |")
    ok = sum(v[0] for v in per.values())
    tot = sum(v[1] for v in per.values())
    print(f"| **all** | {tot} | **{100 * ok / tot:.1f} %** | {sum(v[2] for v in per.values())} |")
    print(f"\nmedian {statistics.median(times):.1f} ms, p95 {p95(times):.1f} ms per frame")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--zxing", action="store_true", default=True,
                    help="also measure zxing-cpp, the default backend (on by default)")
    ap.add_argument("--no-zxing", dest="zxing", action="store_false", help="measure pyzbar only")
    ap.add_argument("--photos-only", action="store_true")
    args = ap.parse_args(argv)
    cv2.setNumThreads(1)
    if hasattr(os, "sched_setaffinity"):  # per-frame timings on one core, as the target says
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[-1]})
    load = os.getloadavg() if hasattr(os, "getloadavg") else (float("nan"),) * 3
    cores = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else "?"
    print(f"load average before: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}; pinned to core(s) {cores}")
    photo_table(args.zxing)
    if not args.photos_only:
        degraded_table()
        frame_timings()
    return 0


if __name__ == "__main__":
    sys.exit(main())
