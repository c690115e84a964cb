"""The sandbox gateway's business state: trades, refunds, scripted buyers, cards, templates, dynamic codes, clock."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from .base import AUTH_CODE_RE, BEHAVIOURS, MEMBER_CODE_TTL_S, Reply, SandboxError, fail, ok
from .bills import BillRules
from .card_issuing import CardIssuingRules
from .trades import TradeRules

__all__ = [
    "AUTH_CODE_RE",
    "BEHAVIOURS",
    "MEMBER_CODE_TTL_S",
    "Reply",
    "SandboxError",
    "SandboxState",
    "fail",
    "ok",
]

logger = logging.getLogger(__name__)


class SandboxState(TradeRules, CardIssuingRules, BillRules):
    """All sandbox state behind one lock. Every public method takes the lock and persists its changes."""

    # --- demo seeding ----------------------------------------------------------------------

    def seed_demo(self, members_path: Path) -> int:
        """Issue a card per member in ``members_path`` (tolerates a missing file); returns how many exist."""
        try:
            members = json.loads(members_path.read_text("utf-8"))
        except FileNotFoundError:
            logger.info("no demo members file at %s; nothing seeded", members_path)
            return 0
        except (OSError, ValueError) as exc:
            logger.warning("cannot read demo members %s: %s", members_path, exc)
            return 0
        if isinstance(members, Mapping):
            members = members.get("members", [])
        n = 0
        for m in members if isinstance(members, list) else []:
            if not isinstance(m, Mapping) or not m.get("card_no"):
                continue
            self.issue_card(external_card_no=str(m["card_no"]), name=str(m.get("name") or ""),
                            phone=str(m.get("phone") or ""), level=str(m.get("level") or ""),
                            points=int(m.get("points") or 0))
            n += 1
        return n

    # --- introspection ---------------------------------------------------------------------

    def trade_list(self) -> list[dict[str, Any]]:
        with self.lock:
            return [dict(self._refresh(t)) for t in self.trades.values() if not t.get("placeholder")]

    def card_list(self) -> list[dict[str, Any]]:
        with self.lock:
            return [dict(c) for c in self.cards.values()]

    def monotonic(self) -> float:
        return time.monotonic()
