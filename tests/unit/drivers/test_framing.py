"""Pure framers: suffix framing, AIM ids, validation and wedge timing, with a fake clock."""

from __future__ import annotations

import pytest

from drivers.framing import (
    FrameRejected,
    SuffixFramer,
    WedgeConfig,
    WedgeDecoder,
    parse_aim,
    validate_frame,
)


def test_crlf_lf_swallowed_across_feeds() -> None:
    f = SuffixFramer("crlf")
    assert f.feed(b"ABC\r", 0.0) == [b"ABC"]
    assert f.feed(b"\nDEF\r", 0.1) == [b"DEF"]
    assert f.feed(b"\n", 0.2) == []
    assert not f.pending


@pytest.mark.parametrize("suffix", ["cr", "lf", "crlf"])
def test_line_modes_accept_cr_lf_crlf(suffix: str) -> None:
    f = SuffixFramer(suffix)
    assert f.feed(b"A1\rB2\nC3\r\nD4\n\n", 0) == [b"A1", b"B2", b"C3", b"D4"]


def test_etx_with_and_without_stx() -> None:
    notes: list[str] = []
    f = SuffixFramer("etx", on_notice=notes.append)
    assert f.feed(b"\x02AB", 0) == []
    assert f.feed(b"C\x03XY\x03", 0) == [b"ABC", b"XY"]
    assert f.feed(b"junk\x02OK\x03", 0) == [b"OK"]
    assert notes == ["4 bytes before STX discarded"]


def test_idle_gap_framing() -> None:
    f = SuffixFramer("none", gap_s=0.05)
    assert f.feed(b"123", 0.00) == []
    assert f.feed(b"456", 0.01) == []
    assert f.flush_if_idle(0.04) == []
    assert f.flush_if_idle(0.07) == [b"123456"]
    assert f.feed(b"7", 0.08) == []
    assert f.feed(b"8", 0.20) == [b"7"]  # a late byte first closes the earlier frame


def test_overlong_frame_dropped_until_terminator() -> None:
    notes: list[str] = []
    f = SuffixFramer("cr", max_len=8, on_notice=notes.append)
    assert f.feed(b"0123456789abc\rOK12\r", 0) == [b"OK12"]
    assert notes == ["frame longer than 8 bytes without a terminator dropped"]


@pytest.mark.parametrize("suffix", ["cr", "lf", "crlf", "etx"])
def test_unterminated_frame_delivered_after_idle_gap_with_a_notice(suffix: str) -> None:
    notes: list[str] = []
    f = SuffixFramer(suffix, on_notice=notes.append)
    assert f.feed(b"6901234567892", 0) == []
    assert f.flush_if_idle(0.29) == [] and f.pending
    assert f.flush_if_idle(0.31) == [b"6901234567892"]
    assert not f.pending
    assert len(notes) == 1 and "suffix=none" in notes[0]
    f.feed(b"ABC", 1.0)
    assert f.flush_if_idle(1.4) == [b"ABC"]
    assert len(notes) == 1  # told once
    # a terminated code right after still frames normally
    assert f.feed(b"123\r\n" if suffix != "etx" else b"\x02123\x03", 2.0) == [b"123"]


def test_overlong_unterminated_bytes_are_still_dropped() -> None:
    notes: list[str] = []
    f = SuffixFramer("cr", max_len=8, on_notice=notes.append)
    f.feed(b"0123456789abc", 0)
    assert f.flush_if_idle(1.0) == []
    assert notes == ["frame longer than 8 bytes without a terminator dropped"]


def test_bad_suffix() -> None:
    with pytest.raises(ValueError, match="suffix must be one of"):
        SuffixFramer("tab")


@pytest.mark.parametrize(
    ("text", "sym", "rest"),
    [
        ("]C0ABC", "CODE128", "ABC"),
        ("]C1010", "CODE128", "010"),
        ("]E04006381333931", "EAN13", "4006381333931"),
        ("]E0012345678905", "UPCA", "012345678905"),
        ("]E001234565", "UPCE", "01234565"),
        ("]E455123457", "EAN8", "55123457"),
        ("]E212345", "EAN_ADDON", "12345"),
        ("]Q1hello", "QR", "hello"),
        ("]d2DM", "DATAMATRIX", "DM"),
        ("]Y9x", "", "x"),
        ("ABC", None, "ABC"),
        ("]", None, "]"),
    ],
)
def test_parse_aim(text: str, sym: str | None, rest: str) -> None:
    assert parse_aim(text) == (sym, rest)


def test_validate_frame() -> None:
    assert validate_frame("会员123".encode()) == "会员123"
    with pytest.raises(FrameRejected, match="invalid UTF-8"):
        validate_frame(b"\xc3\x28")
    with pytest.raises(FrameRejected, match=r"U\+001B"):
        validate_frame(b"ab\x1bc")
    with pytest.raises(FrameRejected, match="empty"):
        validate_frame(b"  ")


# --- wedge -------------------------------------------------------------------------------


def run(dec: WedgeDecoder[int], keys: list[tuple[str, float]], end: float | None = None):
    """Feed keys; return (passed tokens in delivery order, scans)."""
    delivered: list[int] = []
    scans: list[str] = []
    for i, (ch, t) in enumerate(keys):
        d = dec.poll(t) if dec.deadline() is not None and t >= dec.deadline() else None  # type: ignore[operator]
        if d:
            delivered += d.release
            if d.scan:
                scans.append(d.scan)
        d = dec.key(ch, t, i)
        delivered += d.release
        if d.scan:
            scans.append(d.scan)
        if not d.consume:
            delivered.append(i)
    if end is not None:
        d = dec.poll(end)
        delivered += d.release
        if d.scan:
            scans.append(d.scan)
    return delivered, scans


def burst(text: str, t0: float, step: float) -> list[tuple[str, float]]:
    return [(c, t0 + i * step) for i, c in enumerate(text)]


def test_scanner_burst_with_enter_is_consumed() -> None:
    dec: WedgeDecoder[int] = WedgeDecoder()
    delivered, scans = run(dec, burst("4006381333931\r", 0, 0.005))
    assert scans == ["4006381333931"] and delivered == []


def test_scanner_burst_ended_by_silence() -> None:
    dec: WedgeDecoder[int] = WedgeDecoder()
    keys = burst("286000123456", 0, 0.004)
    delivered, scans = run(dec, keys, end=keys[-1][1] + 0.1)
    assert scans == ["286000123456"] and delivered == []


@pytest.mark.parametrize("step", [0.060, 0.070, 0.080, 0.150])
def test_fast_typist_is_never_swallowed_and_order_kept(step: float) -> None:
    dec: WedgeDecoder[int] = WedgeDecoder()
    keys = burst("hello world\r", 0, step)
    delivered, scans = run(dec, keys, end=10)
    assert scans == [] and delivered == list(range(len(keys)))


def test_short_fast_burst_is_typing() -> None:
    dec: WedgeDecoder[int] = WedgeDecoder()
    keys = burst("12\r", 0, 0.005)
    delivered, scans = run(dec, keys, end=10)
    assert scans == [] and delivered == [0, 1, 2]


def test_one_slow_gap_breaks_a_burst() -> None:
    dec: WedgeDecoder[int] = WedgeDecoder()
    keys = burst("123", 0, 0.005) + burst("456789\r", 0.2, 0.005)
    delivered, scans = run(dec, keys, end=10)
    assert scans == ["456789"] and delivered == [0, 1, 2]


def test_typing_then_scan() -> None:
    dec: WedgeDecoder[int] = WedgeDecoder()
    keys = burst("ab", 0, 0.07) + burst("99887766\t", 0.5, 0.005)
    delivered, scans = run(dec, keys, end=10)
    assert scans == ["99887766"] and delivered == [0, 1]


def test_prefix_key_removes_guessing() -> None:
    dec: WedgeDecoder[int] = WedgeDecoder(WedgeConfig(prefix="\x02"))
    keys = [("\x02", 0.0)] + burst("A1\r", 0.05, 0.06)  # slow, short: still a scan
    delivered, scans = run(dec, keys, end=10)
    assert scans == ["A1"] and delivered == []


def test_other_key_releases_held() -> None:
    dec: WedgeDecoder[int] = WedgeDecoder()
    assert dec.key("a", 0, 0).consume
    d = dec.other_key(0.01)
    assert d.release == [0] and not dec.holding
