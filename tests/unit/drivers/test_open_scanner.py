"""open_scanner URL parsing and the FakeScanner."""

from __future__ import annotations

import pytest

from drivers import open_scanner
from drivers.base import ScanEvent, ScannerState, ScannerUrlError
from drivers.fake import FakeScanner
from drivers.serial_scanner import SerialScanner
from drivers.wedge import WedgeScanner


def test_serial_url_options() -> None:
    sc = open_scanner("serial:///dev/ttyACM0?baud=115200&suffix=etx&aim=1&gap_ms=20")
    assert isinstance(sc, SerialScanner)
    c = sc.config
    assert (c.port, c.baud, c.suffix, c.aim, c.gap_s) == ("/dev/ttyACM0", 115200, "etx", True, 0.02)
    assert sc.state is ScannerState.CLOSED


def test_defaults_fill_missing_options_only() -> None:
    sc = open_scanner("serial:///dev/ttyS0?suffix=lf", suffix="cr", aim=True, width=3)
    assert isinstance(sc, SerialScanner)
    assert sc.config.suffix == "lf" and sc.config.aim


def test_windows_style_port() -> None:
    sc = open_scanner("serial://COM3")
    assert isinstance(sc, SerialScanner) and sc.config.port == "COM3"


@pytest.mark.parametrize(
    ("url", "part"),
    [
        ("/dev/ttyACM0", "not a scanner URL"),
        ("usb://1234", "unknown scheme 'usb'"),
        ("serial:///dev/x?speed=9600", "unknown option 'speed'"),
        ("serial:///dev/x?baud=fast", "baud='fast' is not an integer"),
        ("serial:///dev/x?suffix=tab", "suffix='tab' must be one of"),
        ("serial:///dev/x?aim=maybe", "aim='maybe' is not a boolean"),
        ("serial:///dev/x?baud=1&baud=2", "given twice"),
        ("serial://", "missing device path"),
        ("wedge://?min_len=0", "min_len=0 out of range"),
        ("wedge://?prefix=ab", "prefix must be one character"),
        ("camera://abc", "device index"),
        ("camera://0?roi=2", "roi=2.0 out of range"),
        ("camera://0?zoom=2", "unknown option 'zoom'"),
        ("virtual://", "expected virtual://NAME"),
        ("fake://?x=1", "unknown option 'x'"),
        ("loop://host", "loop:// takes no host"),
    ],
)
def test_bad_urls_name_the_part(url: str, part: str) -> None:
    with pytest.raises(ScannerUrlError, match=part.replace("?", r"\?").replace("(", r"\(")):
        open_scanner(url)


def test_wedge_url() -> None:
    sc = open_scanner("wedge://?min_len=8&mean_ms=20&prefix=%02")
    assert isinstance(sc, WedgeScanner)
    assert sc.config.min_len == 8 and sc.config.max_mean_gap == 0.02 and sc.config.prefix == "\x02"


def test_fake_scanner_feeds_only_while_started() -> None:
    sc = open_scanner("fake://", clock=lambda: 5.0)
    assert isinstance(sc, FakeScanner)
    got: list[ScanEvent] = []
    states: list[ScannerState] = []
    sc.feed("early")
    sc.start(got.append, lambda s, m: states.append(s))
    ev = sc.feed(" 4006381333931 ", "EAN13")
    assert got == [ev] and ev.text == "4006381333931" and ev.raw == " 4006381333931 " and ev.at == 5.0
    sc.stop()
    sc.feed("late")
    assert sc.dropped == ["early", "late"]
    assert states == [ScannerState.OPEN, ScannerState.CLOSED]


def test_callback_errors_do_not_escape() -> None:
    sc = FakeScanner()

    def boom(_e: ScanEvent) -> None:
        raise RuntimeError("consumer bug")

    sc.start(boom)
    sc.feed("x")  # logged, not raised
    sc.stop()
