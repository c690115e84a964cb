"""Serial scanner through a real pseudo-terminal pair, bytes written at 9600-baud pace."""

from __future__ import annotations

import os
import pty
import threading
import time
import tty
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from drivers import open_scanner
from drivers.base import ScanEvent, ScannerState
from drivers.serial_scanner import SerialScanner

BYTE_S = 0.00104  # one byte at 9600 baud 8N1


class Pty:
    """A pty pair; the test writes to the master like a scanner would."""

    def __init__(self) -> None:
        self.master, self.slave = pty.openpty()
        tty.setraw(self.slave)
        self.path = os.ttyname(self.slave)

    def write_slowly(self, data: bytes) -> None:
        for i in range(len(data)):
            os.write(self.master, data[i : i + 1])
            time.sleep(BYTE_S)  # simulating the line rate, not waiting for a condition

    def close(self) -> None:
        for fd in (self.master, self.slave):
            try:
                os.close(fd)
            except OSError:
                pass


class Recorder:
    def __init__(self) -> None:
        self.events: list[ScanEvent] = []
        self.states: list[ScannerState] = []
        self.notices: list[str] = []
        self.lock = threading.Lock()

    def on_scan(self, e: ScanEvent) -> None:
        with self.lock:
            self.events.append(e)

    def on_state(self, s: ScannerState, msg: str) -> None:
        with self.lock:
            self.states.append(s)

    def on_notice(self, msg: str) -> None:
        with self.lock:
            self.notices.append(msg)

    def texts(self) -> list[tuple[str, str]]:
        with self.lock:
            return [(e.text, e.symbology) for e in self.events]


def wait_for(cond: Callable[[], bool], timeout: float = 3.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return
        time.sleep(0.002)
    raise AssertionError("condition not met in time")


@pytest.fixture
def ptyp() -> Iterator[Pty]:
    p = Pty()
    yield p
    p.close()


def started(url: str) -> tuple[SerialScanner, Recorder]:
    sc = open_scanner(url)
    assert isinstance(sc, SerialScanner)
    rec = Recorder()
    sc.start(rec.on_scan, rec.on_state, rec.on_notice)
    assert sc.wait_open(3.0)
    return sc, rec


@pytest.mark.parametrize(
    ("suffix", "wire"),
    [
        ("cr", b"4006381333931\r6901234567892\r"),
        ("lf", b"4006381333931\n6901234567892\n"),
        ("crlf", b"4006381333931\r\n6901234567892\r\n"),
        ("etx", b"\x024006381333931\x03\x026901234567892\x03"),
        ("none", None),
    ],
)
def test_each_framing(ptyp: Pty, suffix: str, wire: bytes | None) -> None:
    sc, rec = started(f"serial://{ptyp.path}?baud=9600&suffix={suffix}&gap_ms=40")
    try:
        if wire is None:
            ptyp.write_slowly(b"4006381333931")
            wait_for(lambda: len(rec.events) == 1)
            ptyp.write_slowly(b"6901234567892")
        else:
            ptyp.write_slowly(wire)
        wait_for(lambda: len(rec.events) == 2)
        assert rec.texts() == [("4006381333931", ""), ("6901234567892", "")]
        assert rec.notices == []
    finally:
        sc.stop()
    assert sc.state is ScannerState.CLOSED


def test_code_without_terminator_under_default_framing_is_delivered(ptyp: Pty) -> None:
    sc, rec = started(f"serial://{ptyp.path}?baud=9600")  # default suffix=crlf; this scanner sends none
    try:
        os.write(ptyp.master, b"4006381333931")
        wait_for(lambda: len(rec.events) == 1)
        assert rec.texts() == [("4006381333931", "")]
        assert len(rec.notices) == 1 and "suffix=none" in rec.notices[0]
        os.write(ptyp.master, b"6901234567892\r\n")  # a terminated code afterwards frames normally
        wait_for(lambda: len(rec.events) == 2)
        assert rec.texts()[1] == ("6901234567892", "")
    finally:
        sc.stop()


def test_lf_after_cr_swallowed_across_reads(ptyp: Pty) -> None:
    sc, rec = started(f"serial://{ptyp.path}?suffix=crlf")
    try:
        ptyp.write_slowly(b"ABC123\r")
        wait_for(lambda: len(rec.events) == 1)
        time.sleep(0.03)  # let the reader return from the read that held the CR
        ptyp.write_slowly(b"\nXYZ789\r\n")
        wait_for(lambda: len(rec.events) == 2)
        assert [t for t, _ in rec.texts()] == ["ABC123", "XYZ789"]
        assert rec.notices == []
    finally:
        sc.stop()


def test_aim_prefixes(ptyp: Pty) -> None:
    sc, rec = started(f"serial://{ptyp.path}?suffix=cr&aim=1")
    try:
        ptyp.write_slowly(
            b"]E04006381333931\r]C0R20261125-0001\r]Q1https://qr.alipay.com/x\r]E455123457\r]E0012345678905\r"
        )
        wait_for(lambda: len(rec.events) == 5)
        assert rec.texts() == [
            ("4006381333931", "EAN13"),
            ("R20261125-0001", "CODE128"),
            ("https://qr.alipay.com/x", "QR"),
            ("55123457", "EAN8"),
            ("012345678905", "UPCA"),
        ]
    finally:
        sc.stop()


def test_garbage_is_dropped_and_reader_keeps_going(ptyp: Pty) -> None:
    sc, rec = started(f"serial://{ptyp.path}?suffix=crlf&max_len=64")
    try:
        ptyp.write_slowly(b"\xff\xfe\x80abc\r\n")  # invalid UTF-8
        ptyp.write_slowly(b"ab\x07cdefg\r\n")  # control character
        ptyp.write_slowly(b"9" * 100 + b"\r\n")  # over-long
        ptyp.write_slowly("商品码123".encode() + b"\r\n")  # valid UTF-8 passes
        ptyp.write_slowly(b"4006381333931\r\n")
        wait_for(lambda: len(rec.events) == 2)
        assert [t for t, _ in rec.texts()] == ["商品码123", "4006381333931"]
        joined = " | ".join(rec.notices)
        assert "invalid UTF-8" in joined
        assert "control character U+0007" in joined
        assert "longer than 64 bytes" in joined
    finally:
        sc.stop()


def test_disconnect_and_reconnect(tmp_path: Path) -> None:
    link = tmp_path / "scanner0"
    first = Pty()
    link.symlink_to(first.path)
    sc = open_scanner(f"serial://{link}?suffix=cr&backoff_ms=100")
    rec = Recorder()
    sc.start(rec.on_scan, rec.on_state, rec.on_notice)
    second: Pty | None = None
    try:
        assert isinstance(sc, SerialScanner) and sc.wait_open(3.0)
        first.write_slowly(b"111111\r")
        wait_for(lambda: len(rec.events) == 1)
        # unplug: the device node goes away and the open port fails
        link.unlink()
        first.close()
        wait_for(lambda: sc.state is ScannerState.RECONNECTING)
        # plug back in: a new device node under the same name
        second = Pty()
        link.symlink_to(second.path)
        wait_for(lambda: sc.state is ScannerState.OPEN, timeout=5.0)
        second.write_slowly(b"222222\r")
        wait_for(lambda: len(rec.events) == 2)
        assert [t for t, _ in rec.texts()] == ["111111", "222222"]
        assert ScannerState.RECONNECTING in rec.states
        assert rec.states[-1] is ScannerState.OPEN
        assert any("disconnected" in n for n in rec.notices)
    finally:
        sc.stop()
        if second is not None:
            second.close()


def test_event_latency_after_terminator(ptyp: Pty) -> None:
    sc, rec = started(f"serial://{ptyp.path}?suffix=cr")
    try:
        ptyp.write_slowly(b"4006381333931")
        t0 = time.monotonic()
        os.write(ptyp.master, b"\r")
        wait_for(lambda: len(rec.events) == 1)
        assert rec.events[0].at - t0 < 0.02
    finally:
        sc.stop()


def test_loop_url_is_framed() -> None:
    sc = open_scanner("loop://?suffix=crlf&aim=1")
    assert isinstance(sc, SerialScanner)
    rec = Recorder()
    sc.start(rec.on_scan, rec.on_state, rec.on_notice)
    try:
        assert sc.wait_open(2.0)
        sc.write(b"]C0ABC-123\r\n")
        wait_for(lambda: len(rec.events) == 1)
        assert rec.texts() == [("ABC-123", "CODE128")]
        assert rec.events[0].source == "loop://?suffix=crlf&aim=1"
    finally:
        sc.stop()
