"""Online redemption: the till asks the store server to take a member's points before the sale is paid.

``pos.redeem_points`` locks the member's balance row and inserts the redeem entry only if the balance covers it,
so two lanes cannot spend the same points. The call is made on the cashier's action, so it has a short deadline
(default 1.5 s, STORE-MODE.md §1.4); when it cannot answer the lane falls back to its capped offline redemption.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from typing import Any

import psycopg

from .connect import deadline, open_connection, still_open
from .errors import StoreUnavailable

__all__ = ["RedeemAnswer", "StoreRedeemer"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class RedeemAnswer:
    ok: bool
    balance: int       # the store balance after (ok) or as it stands (refused)


class StoreRedeemer:
    """One connection, kept between calls and dropped on any failure; calls are serialised."""

    def __init__(self, conninfo: str, *, deadline_s: float = 1.5) -> None:
        self._conninfo = conninfo
        self._deadline_s = deadline_s
        self._conn: psycopg.Connection[Any] | None = None
        self._lock = threading.Lock()

    def redeem(self, member_id: str, points: int, entry_id: str) -> RedeemAnswer:
        """Raises StoreUnavailable (no answer in time: the store may or may not hold it) or StoreRefused."""
        with self._lock:
            if not still_open(self._conn):   # e.g. the server restarted since the last redemption
                self._drop()
                self._conn = open_connection(self._conninfo)
            conn = self._conn
            try:
                with deadline(conn, self._deadline_s, "redeem"):
                    row = conn.execute(b"SELECT pos.redeem_points(%s, %s, %s)", (member_id, points, entry_id)).fetchone()
            except StoreUnavailable:
                self._drop()
                raise
            assert row is not None
            answer: dict[str, Any] = row[0]
            return RedeemAnswer(bool(answer.get("ok")), int(answer.get("balance") or 0))

    def _drop(self) -> None:
        if self._conn is not None:
            try:
                self._conn.close()
            except psycopg.Error:
                logger.debug("closing a broken store connection failed", exc_info=True)
            self._conn = None

    def close(self) -> None:
        with self._lock:
            self._drop()
