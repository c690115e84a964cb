"""ScanRouter: classification to handlers, payment waiting or not, masking, two readers."""

from __future__ import annotations

import logging

import pytest

from drivers.base import ScanEvent
from pos_app.domain.codes import CodeKind, ScanCode, make_receipt_code
from pos_app.services.routing import NO_PAYMENT_WAITING, Route, ScanRouter

PAYMENT = "284712345678901234"  # Alipay payment code shape
MEMBER = "8800123456789012"
EAN = "4006381333931"


def ev(text: str, source: str = "fake://", at: float = 0.0, sym: str = "") -> ScanEvent:
    return ScanEvent(raw=text, text=text, symbology=sym, source=source, at=at)


class Sink:
    def __init__(self) -> None:
        self.got: list[tuple[str, ScanCode]] = []
        self.rejected: list[tuple[str, str]] = []

    def handler(self, name: str):
        return lambda code: self.got.append((name, code))

    def router(self, **kw) -> ScanRouter:
        return ScanRouter(
            on_member_code=self.handler("member"),
            on_product_code=self.handler("product"),
            on_receipt_code=self.handler("receipt"),
            on_supervisor_card=self.handler("supervisor"),
            on_rejected=lambda m, r: self.rejected.append((m, r)),
            **kw,
        )


def test_routes_each_kind() -> None:
    s = Sink()
    r = s.router(on_payment_code=s.handler("payment"))
    receipt = make_receipt_code(1, 42)
    for i, text in enumerate([PAYMENT, MEMBER, EAN, receipt, "SUP1234", "2301234005006"]):
        r.route(ev(text, at=i))
    assert [n for n, _ in s.got] == ["payment", "member", "product", "receipt", "supervisor", "product"]
    assert s.got[1][1].kind is CodeKind.MEMBER_STATIC
    assert s.got[5][1].kind is CodeKind.WEIGHED_PRODUCT
    assert s.rejected == []


def test_payment_code_without_waiting_payment_is_rejected_masked(caplog: pytest.LogCaptureFixture) -> None:
    s = Sink()
    r = s.router()
    assert not r.payment_waiting
    with caplog.at_level(logging.DEBUG):
        out = r.route(ev(PAYMENT))
    assert out.route is Route.REJECTED and out.reason == NO_PAYMENT_WAITING
    assert s.rejected == [("**************1234", NO_PAYMENT_WAITING)]
    assert PAYMENT not in caplog.text and PAYMENT[:-4] not in caplog.text
    # the payment dialog starts waiting: the next scan goes to it
    r.set_handler(Route.PAYMENT, s.handler("payment"))
    assert r.payment_waiting
    assert r.route(ev(PAYMENT, at=5)).route is Route.PAYMENT
    r.set_handler(Route.PAYMENT, None)
    assert r.route(ev(PAYMENT, at=10)).route is Route.REJECTED


def test_unrecognised_and_other_wallet_give_reasons() -> None:
    s = Sink()
    r = s.router()
    r.route(ev("hello world"))
    r.route(ev("134567890123456789", at=1))  # WeChat Pay shape
    assert len(s.rejected) == 2
    assert all(m.endswith(t[-4:]) for (m, _), t in zip(s.rejected, ["hello world", "134567890123456789"]))
    assert "WeChat" in s.rejected[1][1]


def test_route_without_handler_is_rejected() -> None:
    rejected: list[tuple[str, str]] = []
    r = ScanRouter(on_rejected=lambda m, why: rejected.append((m, why)))
    assert r.route(ev(MEMBER)).route is Route.REJECTED
    assert rejected == [("************9012", "member codes are not accepted on this screen")]


def test_same_code_from_two_readers_at_once_counts_once() -> None:
    s = Sink()
    r = s.router()
    assert r.route(ev(EAN, "wedge://", 1.0)).route is Route.PRODUCT
    assert r.route(ev(EAN, "camera://0", 1.1)).route is Route.DUPLICATE
    # the same reader twice is two items; and later from another reader too
    assert r.route(ev(EAN, "camera://0", 1.2)).route is Route.PRODUCT
    assert r.route(ev(EAN, "wedge://", 2.0)).route is Route.PRODUCT
    assert len(s.got) == 3


def test_bad_route_slot() -> None:
    with pytest.raises(ValueError):
        ScanRouter().set_handler(Route.REJECTED, None)
