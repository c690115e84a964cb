"""Camera reader on generated MJPG videos (camera:///file.avi), and the decode pipeline."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import cv2
import numpy as np

from drivers import open_scanner
from drivers.base import ScanEvent, ScannerState
from drivers.camera import CameraScanner, StableFilter
from drivers.testing import _phone, render_code128, render_qr

W, H, FPS = 640, 360, 10.0


def write_video(path: Path, frames: list[np.ndarray]) -> None:
    vw = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), FPS, (W, H))
    assert vw.isOpened()
    for f in frames:
        vw.write(cv2.cvtColor(f, cv2.COLOR_GRAY2BGR))
    vw.release()


def scene(code: np.ndarray, x: int | None) -> np.ndarray:
    """The counter (gray) with the card's left edge at ``x`` (None: no card)."""
    frame = np.full((H, W), 150, np.uint8)
    if x is None:
        return frame
    ch, cw = code.shape
    y = (H - ch) // 2
    x0, x1 = max(0, x), min(W, x + cw)
    if x1 > x0:
        frame[y : y + ch, x0:x1] = code[:, x0 - x : x1 - x]
    return frame


def run_video(path: Path, **q: str) -> tuple[list[ScanEvent], CameraScanner]:
    query = "&".join(f"{k}={v}" for k, v in {"realtime": "0", **q}.items())
    sc = open_scanner(f"camera://{path}?{query}")
    assert isinstance(sc, CameraScanner)
    events: list[ScanEvent] = []
    previews: list[int] = []
    sc.set_preview(lambda frame, found: previews.append(len(found)))
    sc.start(events.append)
    assert sc.wait_finished(30)
    sc.stop()
    assert previews, "preview callback never called"
    return events, sc


def test_card_slides_in_stays_leaves_and_comes_back(tmp_path: Path) -> None:
    code = np.pad(render_code128("R0010000004217", module_px=2, height_px=60), 15, constant_values=255)
    cw = code.shape[1]
    mid = (W - cw) // 2
    xs: list[int | None] = [None] * 3
    xs += [-cw + k * (mid + cw) // 5 for k in range(5)]  # slides in
    xs += [mid] * 6  # stays
    xs += [None]  # one frame lost (hand over the lens): not gone long enough to count again
    xs += [mid] * 3
    xs += [mid + k * 120 for k in range(1, 4)]  # leaves to the right
    xs += [None] * 8  # 0.8 s out of view
    xs += [mid] * 5  # comes back
    xs += [None] * 2
    path = tmp_path / "card.avi"
    write_video(path, [scene(code, x) for x in xs])
    events, sc = run_video(path)
    assert [(e.text, e.symbology) for e in events] == [("R0010000004217", "CODE128")] * 2
    assert sc.frames_decoded == len(xs)
    assert sc.state is ScannerState.CLOSED


def test_qr_on_a_phone_screen(tmp_path: Path) -> None:
    qr = render_qr("284712345678901234", 4)
    rng = np.random.default_rng(1)
    frames = []
    for i in range(12):
        f = scene(qr, (W - qr.shape[1]) // 2 if 2 <= i < 10 else None)
        frames.append(_phone(f, rng))
    path = tmp_path / "phone.avi"
    write_video(path, frames)
    events, _ = run_video(path, roi="0.9")
    assert [(e.text, e.symbology) for e in events] == [("284712345678901234", "QR")]


def test_single_frame_flash_is_not_emitted(tmp_path: Path) -> None:
    code = np.pad(render_code128("ABC12345", 2, 60), 15, constant_values=255)
    xs = [None, None, 100, None, None, None, 100, None, None]
    path = tmp_path / "flash.avi"
    write_video(path, [scene(code, x) for x in xs])
    events, _ = run_video(path)
    assert events == []


def test_missing_file_fails_with_notice(tmp_path: Path) -> None:
    sc = open_scanner(f"camera://{tmp_path}/nope.avi")
    notices: list[str] = []
    states: list[ScannerState] = []
    sc.start(lambda e: None, lambda s, m: states.append(s), notices.append)
    assert isinstance(sc, CameraScanner) and sc.wait_finished(5)
    assert ScannerState.FAILED in states and "cannot open" in notices[0]
    sc.stop()


def test_virtual_source_and_cooperative_stop() -> None:
    from drivers.virtual import register_frame_source, unregister_frame_source

    qr = render_qr("8800123456789012", 4)
    frame = cv2.cvtColor(scene(qr, 200), cv2.COLOR_GRAY2BGR)
    register_frame_source("test-wallet", lambda: frame)
    sc = open_scanner("virtual://test-wallet?fps=60")
    got: list[ScanEvent] = []
    done = threading.Event()
    sc.start(lambda e: (got.append(e), done.set()))
    try:
        assert done.wait(10)
        time.sleep(0.2)  # let it see the code for a while: still one event
    finally:
        t0 = time.monotonic()
        sc.stop()
        assert time.monotonic() - t0 < 1.0
        unregister_frame_source("test-wallet")
    assert [(e.text, e.symbology) for e in got] == [("8800123456789012", "QR")]


def test_stable_filter_two_of_three_and_gone_time() -> None:
    f = StableFilter()
    k = ("X", "QR")
    assert f.update({k}, 0.0) == []
    assert f.update(set(), 0.1) == []
    assert f.update({k}, 0.2) == [k]  # 2 of the last 3
    assert f.update({k}, 0.3) == []
    assert f.update(set(), 0.5) == []
    assert f.update({k}, 0.6) == []  # gone only 0.3 s
    for t in (0.7, 0.9, 1.1, 1.3):
        f.update(set(), t)
    assert f.update({k}, 1.4) == []
    assert f.update({k}, 1.5) == [k]
