"""Pure parts of the sync worker: back-off with full jitter, and the transient/permanent classification."""

from __future__ import annotations

import random

import pytest

from pos_app.alipay.subcodes import business_failure
from pos_app.services.ports.gateway import GatewayInProgress, GatewaySuccess, GatewayUnknown
from pos_app.services.sync import SyncConfig, backoff, classify


def test_backoff_is_exponential_full_jitter_and_capped() -> None:
    rng = random.Random(1)
    for attempts in range(1, 40):
        ceiling = min(300.0, 2.0 * 2 ** (attempts - 1))
        draws = [backoff(attempts, rng, base_s=2.0, cap_s=300.0) for _ in range(200)]
        assert all(0.0 <= d <= ceiling for d in draws)
        assert max(draws) > ceiling * 0.8          # the whole range is used (full jitter)
    assert backoff(10_000, rng, base_s=2.0, cap_s=300.0) <= 300.0


@pytest.mark.parametrize(("result", "kind", "network"), [
    (GatewaySuccess("10000", {}), "ok", False),
    (GatewayUnknown("timeout", "timeout"), "transient", True),
    (GatewayUnknown("refused", "connection"), "transient", True),
    (GatewayUnknown("HTTP 500", "http_status"), "transient", True),
    (GatewayUnknown("20000", "service_unavailable"), "transient", True),
    (GatewayUnknown("ACQ.SYSTEM_ERROR", "system_error"), "transient", False),
    (GatewayUnknown("bad sign", "signature"), "transient", False),
    (GatewayUnknown("truncated", "format"), "transient", False),
    (GatewayInProgress({}), "transient", False),
    (business_failure("20000", "isv.service-busy", "busy", {}), "transient", False),  # rate limit: slow down
    (business_failure("40004", "ACQ.SYSTEM_ERROR", "err", {}), "transient", False),
    (business_failure("40002", "isv.invalid-timestamp", "clock", {}), "transient", False),
    (business_failure("40002", "isv.invalid-signature", "验签出错 app_id=1&biz_content=...", {}),
     "transient", False),
    (business_failure("40006", "isv.insufficient-isv-permissions", "", {}), "transient", False),
    (business_failure("40004", "CARD_NOT_EXIST", "会员卡不存在", {}, verified=False), "transient", False),
    (business_failure("40004", "CARD_NOT_EXIST", "会员卡不存在", {}), "permanent", False),
    (business_failure("40004", "TRADE_NOT_EXIST", "交易不存在", {}), "permanent", False),
    (business_failure("40002", "isv.invalid-parameter", "bad", {}), "permanent", False),
])
def test_classify(result: object, kind: str, network: bool) -> None:
    v = classify(result)  # type: ignore[arg-type]
    assert (v.kind, v.network) == (kind, network)
    assert "biz_content" not in v.reason                  # the echoed sign string is not kept


def test_config_is_validated() -> None:
    with pytest.raises(ValueError):
        SyncConfig(max_in_flight=0)
    with pytest.raises(ValueError):
        SyncConfig(backoff_base_s=10, backoff_cap_s=5)
