"""The customer display's view from the till's snapshots, its 2×20 pole text, and the VFD driver on a pty."""

from __future__ import annotations

import os
import tty

import pytest
from checkout_env import BREAD, COLA

from drivers.base import ScannerUrlError
from drivers.pole_display import CLEAR, ESC_INIT, open_pole_display, pole_bytes
from pos_app.domain.codes import classify
from pos_app.services.checkout import CheckoutService
from pos_app.services.customer_display import CustomerView, pole_lines, text_width, view_from_till
from pos_app.services.till import Till, TillSession


def test_view_follows_the_till(checkout: CheckoutService) -> None:
    till = Till(checkout)
    till.start(TillSession(1, "Alice", 1))
    idle = view_from_till(till.snapshot(), join_url="https://x/join")
    assert idle.kind == "idle" and idle.join_url == "https://x/join"
    assert pole_lines(idle) == ("欢迎光临            ", "扫码领取会员卡      ")
    till.scan_product(classify(COLA))
    view = view_from_till(till.scan_product(classify(BREAD)), join_url="https://x/join")
    assert view.kind == "basket" and [ln.name for ln in view.lines] == ["可乐", "面包"]
    first, second = pole_lines(view)
    assert first == "面包           12.00" and second == "合计           15.50"
    assert pole_lines(view, chinese=False) == ("               12.00", "TOTAL          15.50")
    paying = view_from_till(till.take_total())
    assert paying.kind == "paying" and pole_lines(paying)[0] == "应付           15.50"


@pytest.mark.parametrize("view", [
    CustomerView("basket", savings_fen=500, total_fen=123456),
    CustomerView("thanks", total_fen=990, points_earned=9),
    CustomerView("paying", total_fen=100, payment_text="等待顾客确认支付，请稍候"),
])
def test_pole_lines_are_always_20_columns(view: CustomerView) -> None:
    for chinese in (True, False):
        assert [text_width(x) for x in pole_lines(view, chinese=chinese)] == [20, 20]


def test_vfd_driver_through_a_pseudo_terminal() -> None:
    master, slave = os.openpty()
    tty.setraw(slave)
    try:
        display = open_pole_display(f"serial://{os.ttyname(slave)}?baud=9600&charset=gb18030")
        display.show("面包           12.00", "合计           15.50")
        display.show("面包           12.00", "合计           15.50")  # unchanged: nothing sent again
        expected = ESC_INIT + CLEAR + pole_bytes("面包           12.00", "合计           15.50", "gb18030")
        got = b""
        while len(got) < len(expected):
            got += os.read(master, 1024)
        assert got == expected and "合计".encode("gb18030") in got
        display.close()
        assert os.read(master, 16) == CLEAR
    finally:
        os.close(master)
        os.close(slave)
    fake = open_pole_display("fake://counter?charset=ascii")
    assert not fake.chinese
    with pytest.raises(ScannerUrlError, match="unknown option 'colour'"):
        open_pole_display("serial:///dev/ttyUSB0?colour=red")
    with pytest.raises(ScannerUrlError, match="not a pole display URL"):
        open_pole_display("usb://1234")
