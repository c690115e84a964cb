"""Wiring of the store's card worker: the Alipay client and body builders of the lane's sync worker,
pointed at the store's card_outbox in PostgreSQL (``pos-app store card-worker``)."""

from __future__ import annotations

import datetime as dt
import logging
import signal
import threading
from collections.abc import Mapping
from typing import Any

from pos_app.settings import Settings
from pos_app.store.cardworker import CardCalls, CardWorker, Outcome
from pos_app.store.errors import StoreError

__all__ = ["run_card_worker", "alipay_calls"]

logger = logging.getLogger(__name__)
EXIT_BUSY = 5


def alipay_calls(settings: Settings) -> CardCalls:
    """CardCalls sending through the configured gateway (one client per sending thread)."""
    from pos_app.alipay.card_requests import card_update_body
    from pos_app.alipay.client import AlipayClient
    from pos_app.gateway_setup import gateway_config
    from pos_app.runtime import SystemClock
    from pos_app.services.sync import classify

    cfg = gateway_config(settings)
    if cfg is None:
        raise StoreError("the card worker needs a gateway: set [gateway] url, app_id and the keys")
    local = threading.local()
    clock = SystemClock()
    made: list[AlipayClient] = []
    lock = threading.Lock()

    def client() -> AlipayClient:
        c = getattr(local, "client", None)
        if c is None:
            c = local.client = AlipayClient(cfg, clock=clock)
            with lock:
                made.append(c)
        return c

    def close() -> None:
        with lock:
            for c in made:
                c.close()
            made.clear()

    def build_update(member: Mapping[str, Any], points: int, changed: int, at: dt.datetime) -> dict[str, Any]:
        return card_update_body(card_no=str(member["member_id"]), biz_card_no=member.get("biz_card_no"),
                                level=str(member.get("level") or ""), occur_time=at, points_after=points,
                                changed_point=changed)

    def send(kind: str, body: Mapping[str, Any]) -> Outcome:
        c = client()
        result = c.card_update(body) if kind == "update" else c.consume_sync(body)
        v = classify(result)
        return Outcome("ok" if v.kind == "ok" else ("permanent" if v.kind == "permanent" else "retry"), v.reason)

    return CardCalls(build_update=build_update, send=send, close=close)


def run_card_worker(settings: Settings, dsn: str, *, once: bool = False) -> int:
    worker = CardWorker(dsn, alipay_calls(settings), max_in_flight=max(1, settings.sync.max_in_flight))
    try:
        worker.acquire()
    except StoreError as exc:
        print(f"store card-worker: {exc}")
        return EXIT_BUSY
    try:
        if once:
            while worker.step():
                pass
            print(f"card worker: {worker.sent} calls handled")
            return 0
        stop = threading.Event()
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
        signal.signal(signal.SIGINT, lambda *_: stop.set())
        print("card worker running; Ctrl+C to stop", flush=True)
        worker.run(stop)
        return 0
    finally:
        worker.close()
