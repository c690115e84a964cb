"""Only signed answers are believed: an unsigned error answer to a trade call is an unknown outcome.

The client accepts an unsigned error body (as Alipay's Java SDK does) and marks it ``verified=False``.
For money that is not enough: a forged unsigned ``ACQ.TRADE_NOT_EXIST`` to a cancel, or a forged
``ACQ.BUYER_BALANCE_NOT_ENOUGH`` to a pay, would otherwise end an attempt as "failed, no money moved".
DESIGN.md: "A response that fails the check is treated as an unknown outcome."
"""

from __future__ import annotations

from .ports.gateway import GatewayBusinessFailure, GatewayResult, GatewayUnknown, TradeGateway

__all__ = ["TrustedTradeGateway", "believed"]


def believed(result: GatewayResult) -> GatewayResult:
    """``result``, or GatewayUnknown when it is an error answer that carried no valid signature."""
    if isinstance(result, GatewayBusinessFailure) and not result.verified:
        return GatewayUnknown(f"unsigned error answer, not believed: {result.code} {result.sub_code}", "signature")
    return result


class TrustedTradeGateway:
    """A TradeGateway whose every answer has passed :func:`believed`."""

    def __init__(self, inner: TradeGateway) -> None:
        self._inner = inner

    def pay(self, out_trade_no: str, auth_code: str, amount_fen: int, subject: str, *,
            store_id: str | None = None, terminal_id: str | None = None, operator_id: str | None = None,
            scene: str = "bar_code") -> GatewayResult:
        return believed(self._inner.pay(out_trade_no, auth_code, amount_fen, subject, store_id=store_id,
                                        terminal_id=terminal_id, operator_id=operator_id, scene=scene))

    def query(self, out_trade_no: str) -> GatewayResult:
        return believed(self._inner.query(out_trade_no))

    def cancel(self, out_trade_no: str) -> GatewayResult:
        return believed(self._inner.cancel(out_trade_no))

    def refund(self, out_trade_no: str, out_request_no: str, amount_fen: int, reason: str) -> GatewayResult:
        return believed(self._inner.refund(out_trade_no, out_request_no, amount_fen, reason))

    def refund_query(self, out_trade_no: str, out_request_no: str) -> GatewayResult:
        return believed(self._inner.refund_query(out_trade_no, out_request_no))
