"""Asynchronous trade_status_sync notifications: V1-signed form POSTs to loopback notify_urls, retried until "success"."""

from __future__ import annotations

import collections
import heapq
import itertools
import json
import logging
import threading
import time
import urllib.parse
from typing import Any

import httpx
from cryptography.hazmat.primitives.asymmetric import rsa

from pos_app.alipay.signing import notification_content_v1, sign_content
from pos_app.domain.money import format_gateway

__all__ = ["Notifier", "RETRY_SCHEDULE_S", "build_notification"]

logger = logging.getLogger(__name__)

RETRY_SCHEDULE_S = (0.2, 0.5, 1.0, 2.0, 4.0, 8.0, 15.0)
"""Compressed version of Alipay's 4m,10m,10m,1h,2h,6h,15h schedule (8 deliveries in all)."""
_LOOPBACK = {"127.0.0.1", "localhost", "::1"}
PayTrade = dict[str, Any]


def build_notification(t: PayTrade, *, app_id: str, notify_id: str, now_text: str,
                       key: rsa.RSAPrivateKey) -> dict[str, str]:
    """The form params of one notification, signed with the V1 rule (sign over all but sign/sign_type)."""
    paid = format_gateway(t["total_fen"]) if t.get("gmt_payment") else "0.00"
    params: dict[str, str | None] = {
        "notify_time": now_text, "notify_type": "trade_status_sync", "notify_id": notify_id,
        "app_id": app_id, "auth_app_id": app_id, "charset": "utf-8", "version": "1.0", "sign_type": "RSA2",
        "trade_no": t["trade_no"], "out_trade_no": t["out_trade_no"], "buyer_id": t["buyer_user_id"],
        "buyer_logon_id": t["buyer_logon_id"], "seller_id": "2088000000000001", "trade_status": t["status"],
        "total_amount": format_gateway(t["total_fen"]), "receipt_amount": paid, "invoice_amount": paid,
        "buyer_pay_amount": paid, "point_amount": "0.00", "subject": t["subject"], "gmt_create": t["gmt_create"],
        "gmt_payment": t.get("gmt_payment"), "gmt_close": t.get("gmt_close"),
        "refund_fee": format_gateway(t["refund_fen"]) if t.get("refund_fen") else None,
        "fund_bill_list": json.dumps([{"amount": paid, "fundChannel": "ALIPAYACCOUNT"}], separators=(",", ":")),
    }
    clean = {k: v for k, v in params.items() if v not in (None, "")}
    clean["sign"] = sign_content(notification_content_v1(clean), key, "RSA2")
    return clean



class Notifier:
    """One background thread delivering notifications with retries; records every attempt."""

    def __init__(self, key: rsa.RSAPrivateKey, schedule: tuple[float, ...] = RETRY_SCHEDULE_S) -> None:
        self._key = key
        self._schedule = schedule
        self._heap: list[tuple[float, int, dict[str, Any]]] = []
        self._seq = itertools.count()
        self._cv = threading.Condition()
        self._stop = False
        self.log: collections.deque[dict[str, Any]] = collections.deque(maxlen=2000)
        self._ids = itertools.count(1)
        self._thread = threading.Thread(target=self._run, name="sandbox-notifier", daemon=True)
        self._thread.start()

    def submit(self, trade: PayTrade, *, app_id: str, now_text: str) -> str | None:
        url = trade.get("notify_url")
        if not url:
            return None
        host = urllib.parse.urlsplit(url).hostname or ""
        if host not in _LOOPBACK:
            logger.info("notification for a non-loopback notify_url skipped (the sandbox stays on loopback)")
            return None
        notify_id = f"{int(time.time() * 1000)}{next(self._ids):020d}"
        params = build_notification(trade, app_id=app_id, notify_id=notify_id, now_text=now_text, key=self._key)
        self._push(0.0, {"url": url, "params": params, "attempt": 0})
        return notify_id

    def redeliver(self, notify_id: str) -> bool:
        """Send an already delivered notification once more (duplicate delivery)."""
        for entry in reversed(self.log):
            if entry["notify_id"] == notify_id:
                self._push(0.0, {"url": entry["url"], "params": entry["params"], "attempt": 0, "once": True})
                return True
        return False

    def _push(self, delay: float, item: dict[str, Any]) -> None:
        with self._cv:
            heapq.heappush(self._heap, (time.monotonic() + delay, next(self._seq), item))
            self._cv.notify()

    def stop(self) -> None:
        with self._cv:
            self._stop = True
            self._cv.notify()
        self._thread.join(timeout=5)

    def _run(self) -> None:
        with httpx.Client(timeout=2.0, trust_env=False) as http:
            while True:
                with self._cv:
                    while not self._stop and (not self._heap or self._heap[0][0] > time.monotonic()):
                        self._cv.wait(None if not self._heap else max(0.0, self._heap[0][0] - time.monotonic()))
                    if self._stop:
                        return
                    _, _, item = heapq.heappop(self._heap)
                self._deliver(http, item)

    def _deliver(self, http: httpx.Client, item: dict[str, Any]) -> None:
        item["attempt"] += 1
        try:
            resp = http.post(item["url"], data=item["params"])
            answer = resp.text.strip()
            status = resp.status_code
        except httpx.HTTPError as exc:
            answer, status = f"{type(exc).__name__}", 0
        ok = status == 200 and answer == "success"
        self.log.append({"notify_id": item["params"]["notify_id"], "url": item["url"], "attempt": item["attempt"],
                         "status": status, "answer": answer[:100], "delivered": ok,
                         "trade_status": item["params"]["trade_status"], "params": item["params"]})
        if ok or item.get("once") or item["attempt"] > len(self._schedule):
            return
        self._push(self._schedule[item["attempt"] - 1], item)
