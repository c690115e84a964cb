"""An unsigned error answer to a trade call is never believed (it becomes an unknown outcome)."""

from __future__ import annotations

from typing import Any

from pos_app.services.gateway_trust import TrustedTradeGateway, believed
from pos_app.services.ports.gateway import (
    GatewayBusinessFailure,
    GatewayResult,
    GatewaySuccess,
    GatewayUnknown,
)


class _Recorded:
    """A TradeGateway that answers every call with one fixed result and records the calls."""

    def __init__(self, result: GatewayResult) -> None:
        self.result = result
        self.calls: list[tuple[str, tuple[Any, ...]]] = []

    def pay(self, *args: Any, **kwargs: Any) -> GatewayResult:
        self.calls.append(("pay", args))
        return self.result

    def query(self, *args: Any) -> GatewayResult:
        self.calls.append(("query", args))
        return self.result

    def cancel(self, *args: Any) -> GatewayResult:
        self.calls.append(("cancel", args))
        return self.result

    def refund(self, *args: Any) -> GatewayResult:
        self.calls.append(("refund", args))
        return self.result

    def refund_query(self, *args: Any) -> GatewayResult:
        self.calls.append(("refund_query", args))
        return self.result


FORGED = GatewayBusinessFailure("40004", "ACQ.TRADE_NOT_EXIST", "交易不存在", {"code": "40004"}, False)
SIGNED = GatewayBusinessFailure("40004", "ACQ.TRADE_NOT_EXIST", "交易不存在", {"code": "40004"}, True)


def test_unsigned_failure_becomes_unknown_signed_one_stays() -> None:
    forged = believed(FORGED)
    assert isinstance(forged, GatewayUnknown) and forged.cause == "signature"
    assert "ACQ.TRADE_NOT_EXIST" in forged.reason
    assert believed(SIGNED) is SIGNED
    ok = GatewaySuccess("10000", {"code": "10000"})
    assert believed(ok) is ok


def test_every_trade_call_is_filtered() -> None:
    inner = _Recorded(FORGED)
    gw = TrustedTradeGateway(inner)  # type: ignore[arg-type]
    results = [gw.pay("P1", "286648048691290423", 100, "s", store_id="S", terminal_id="T", operator_id="1"),
               gw.query("P1"), gw.cancel("P1"), gw.refund("P1", "R1", 100, "why"), gw.refund_query("P1", "R1")]
    assert all(isinstance(r, GatewayUnknown) for r in results)
    assert [c[0] for c in inner.calls] == ["pay", "query", "cancel", "refund", "refund_query"]
