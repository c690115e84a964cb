"""pos-app decode / scanner list / scanner test through the real command line entry point."""

from __future__ import annotations

import argparse
import json
import os
import pty
import threading
import time
import tty
from pathlib import Path
from types import SimpleNamespace

import cv2
import numpy as np
import pytest

from drivers.discovery import classify_ports
from drivers.testing import render_code128
from pos_app.cli.scanner import register


def main(argv: list[str]) -> int:
    """Run the commands through their own parser (pos_app.__main__ also sets up file logging)."""
    parser = argparse.ArgumentParser(prog="pos-app")
    register(parser.add_subparsers())
    args = parser.parse_args(argv)
    return int(args.func(args))


def test_decode_prints_one_json_line_per_image(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    img = np.pad(render_code128("R0010000004217", 2, 60), 30, constant_values=255)
    good = tmp_path / "code.png"
    cv2.imwrite(str(good), img)
    blank = tmp_path / "blank.png"
    cv2.imwrite(str(blank), np.full((100, 100), 255, np.uint8))
    assert main(["decode", str(good), str(blank)]) == 0
    lines = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    assert lines[0]["codes"][0]["text"] == "R0010000004217" and lines[0]["codes"][0]["symbology"] == "CODE128"
    assert lines[1]["codes"] == [] and lines[1]["ms"] >= 0


def test_scanner_test_prints_scans_from_a_pty(capsys: pytest.CaptureFixture[str]) -> None:
    master, slave = pty.openpty()
    tty.setraw(slave)
    path = os.ttyname(slave)

    def feed() -> None:
        time.sleep(0.3)  # the command opens the port meanwhile
        os.write(master, b"]E04006381333931\r\n")

    t = threading.Thread(target=feed)
    t.start()
    try:
        assert main(["scanner", "test", f"serial://{path}?suffix=crlf&aim=1", "--seconds", "0.8"]) == 0
    finally:
        t.join()
        os.close(master)
        os.close(slave)
    out = capsys.readouterr()
    line = json.loads(out.out.splitlines()[0])
    assert (line["text"], line["symbology"]) == ("4006381333931", "EAN13")
    assert "state: open" in out.err


def test_scanner_test_bad_url(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["scanner", "test", "serial:///dev/x?speed=1"]) == 2
    assert "unknown option 'speed'" in capsys.readouterr().err


def test_discovery_by_vendor_id() -> None:
    ports = [
        SimpleNamespace(device="/dev/ttyACM0", vid=0x0C2E, pid=0x0B61, product="Xenon 1900", description=""),
        SimpleNamespace(device="/dev/ttyUSB0", vid=0x0403, pid=0x6001, product="FT232R", description=""),
        SimpleNamespace(device="/dev/ttyS0", vid=None, pid=None, product=None, description="n/a"),
    ]
    found = classify_ports(ports)
    assert [(d.url, d.description) for d in found] == [("serial:///dev/ttyACM0", "Honeywell Xenon 1900")]
    assert len(classify_ports(ports, all_ports=True)) == 3


def test_decode_refuses_huge_and_truncated_images_clearly(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from PIL import Image

    huge = tmp_path / "huge.png"
    Image.new("1", (16000, 16000), 1).save(huge)  # 60 KB on disk, 256 megapixels decoded
    large = tmp_path / "large.png"
    Image.new("1", (8000, 8000), 1).save(large)  # below Pillow's own limit, above ours
    img = np.pad(render_code128("R0010000004217", 2, 60), 30, constant_values=255)
    ok, buf = cv2.imencode(".png", img)
    assert ok
    cut_png = tmp_path / "cut.png"
    cut_png.write_bytes(buf.tobytes()[: len(buf) // 2])
    ok, jbuf = cv2.imencode(".jpg", img)
    cut_jpg = tmp_path / "cut.jpg"
    cut_jpg.write_bytes(jbuf.tobytes()[: len(jbuf) // 2])
    good = tmp_path / "good.png"
    cv2.imwrite(str(good), img)
    assert main(["decode", str(huge), str(large), str(cut_png), str(cut_jpg), str(good)]) == 1
    lines = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    assert lines[0]["error"] == "256000000 pixels is above the limit of 50000000 (scale the image down)"
    assert lines[1]["error"] == "8000x8000 = 64000000 pixels is above the limit of 50000000 (scale the image down)"
    assert lines[2]["error"] == "cannot read image: truncated (the file is incomplete)"
    assert lines[3]["error"] == "cannot read image: truncated (the file is incomplete)"
    assert lines[4]["codes"][0]["text"] == "R0010000004217"  # the others did not stop it
    assert main(["decode", "--max-pixels", "1000", str(good)]) == 1
    assert "above the limit of 1000" in json.loads(capsys.readouterr().out)["error"]
