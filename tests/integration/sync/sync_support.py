"""Helpers for the sync worker tests: commit sales' outbox rows like checkout does, and check the sandbox."""

from __future__ import annotations

import dataclasses
import datetime as dt
import itertools
import sqlite3
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from pos_app.alipay import AlipayClient
from pos_app.alipay import card_requests as card_sync
from pos_app.runtime import SystemClock
from pos_app.sandbox import SandboxServer
from pos_app.services.ports.clock import Clock
from pos_app.services.ports.gateway import GatewaySuccess
from pos_app.services.sync import SyncConfig, SyncWorker
from pos_app.storage.db import connect, transaction
from pos_app.storage.outbox import SqliteOutboxQueue, enqueue

__all__ = ["Ledger", "make_trades", "make_worker", "wait_for", "card_events", "check_sandbox_matches"]

_seq = itertools.count(1)
BASE_TIME = dt.datetime(2026, 11, 25, 2, 0, tzinfo=dt.UTC)


def wait_for(cond: Callable[[], bool], timeout: float = 20.0, interval: float = 0.01) -> None:
    """Poll ``cond`` until true or fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(interval)


def make_trades(client: AlipayClient, n: int) -> list[str]:
    """``n`` paid Alipay trades in the sandbox (consume.sync needs a trade that exists)."""
    out = []
    for i in range(n):
        r = client.pay(f"SYNCT{next(_seq):08d}{i}", f"28{next(_seq):016d}", 100 + i, "sync test",
                       store_id="S001", terminal_id="T01", operator_id="1")
        assert isinstance(r, GatewaySuccess), r
        out.append(str(r.body["trade_no"]))
    return out


def make_worker(db_path: Path, gateway_factory: Callable[[], Any], *, clock: Clock | None = None,
                **config: Any) -> SyncWorker:
    defaults: dict[str, Any] = {"backoff_base_s": 0.05, "backoff_cap_s": 0.2, "probe_interval_s": 0.05,
                                "idle_poll_s": 0.2}
    defaults.update(config)
    return SyncWorker(lambda: SqliteOutboxQueue.open(db_path), gateway_factory, clock or SystemClock(),
                      SyncConfig(**defaults))


@dataclasses.dataclass
class Ledger:
    """Commits member sales the way checkout does: ledger entry + consume.sync + card.update, one transaction."""

    conn: sqlite3.Connection
    cards: dict[str, str | None] = dataclasses.field(default_factory=dict)   # card_no -> biz_card_no
    balance: dict[str, int] = dataclasses.field(default_factory=dict)
    clock_s: int = 0

    @classmethod
    def open(cls, db_path: Path) -> Ledger:
        return cls(connect(db_path))

    def add_member(self, sandbox: SandboxServer | None, card_no: str, opening: int = 0) -> str | None:
        """A cached member (and its card in the sandbox; without ``sandbox`` the card is addressed as
        EXTERNAL_CARD and does not exist there yet)."""
        biz: str | None = None
        if sandbox is not None:
            biz = sandbox.issue_card(external_card_no=card_no, name="测试", level="VIP1", points=opening)["biz_card_no"]
        self.cards[card_no] = biz
        self.balance[card_no] = opening
        now = BASE_TIME.isoformat()
        with transaction(self.conn):
            self.conn.execute(
                "INSERT INTO members (card_no, biz_card_no, name, level, points_synced, updated_at)"
                " VALUES (?, ?, '测试', 'VIP1', ?, ?)", (card_no, biz, opening, now))
            self.conn.execute(
                "INSERT INTO points_ledger (card_no, kind, points, balance_after, created_at)"
                " VALUES (?, 'opening', ?, ?, ?)", (card_no, opening, opening, now))
        return biz

    def _tick(self) -> dt.datetime:
        self.clock_s += 1
        return BASE_TIME + dt.timedelta(seconds=self.clock_s)

    def sale(self, card_no: str, points: int, trade_no: str | None, *, update: bool = True) -> list[int]:
        """One committed sale: ``points`` earned (negative: redeemed); returns the outbox ids."""
        at = self._tick()
        self.balance[card_no] += points
        bal = self.balance[card_no]
        biz = self.cards[card_no]
        ids = []
        with transaction(self.conn):
            self.conn.execute(
                "INSERT INTO points_ledger (card_no, kind, points, balance_after, created_at)"
                " VALUES (?, ?, ?, ?, ?)", (card_no, "earn" if points >= 0 else "redeem", points, bal, at.isoformat()))
            if trade_no is not None:
                body = card_sync.consume_sync_body(
                    card_no=card_no, biz_card_no=biz, level="VIP1", trade_no=trade_no, trade_time=at,
                    trade_type="TRADE", trade_name="test", trade_amount_fen=1000, act_pay_amount_fen=1000,
                    points_after=bal, points_redeemed=0, discount_fen=0, shop_code="S001")
                ids.append(enqueue(self.conn, event_id=f"E{next(_seq)}", kind="card.consume_sync", card_no=card_no,
                                   method=card_sync.KIND_METHOD["card.consume_sync"],
                                   body=body, created_at=at, points_after=bal))
            if update:
                body = card_sync.card_update_body(card_no=card_no, biz_card_no=biz, level="VIP1", occur_time=at,
                                                  points_after=bal, changed_point=points)
                ids.append(enqueue(self.conn, event_id=f"E{next(_seq)}", kind="card.update", card_no=card_no,
                                   method=card_sync.KIND_METHOD["card.update"],
                                   body=body, created_at=at, points_after=bal))
        return ids

    def ledger_sum(self, card_no: str) -> int:
        return int(self.conn.execute("SELECT coalesce(sum(points), 0) FROM points_ledger WHERE card_no = ?",
                                     (card_no,)).fetchone()[0])

    def pending(self) -> int:
        return int(self.conn.execute("SELECT count(*) FROM outbox WHERE state = 'pending'").fetchone()[0])

    def states(self) -> dict[str, int]:
        return {s: n for s, n in self.conn.execute("SELECT state, count(*) FROM outbox GROUP BY state")}

    def close(self) -> None:
        self.conn.close()


def card_events(sandbox: SandboxServer, card_no: str) -> list[dict[str, Any]]:
    """The card's history in the sandbox, without the 'open' entry."""
    card = sandbox.card(card_no)
    assert card is not None
    return [h for h in card["history"] if h["kind"] != "open"]


def _row_key(kind: str, body: dict[str, Any]) -> tuple[str, str]:
    if kind == "card.consume_sync":
        return ("consume_sync", str(body["trade_no"]))
    return ("update", str(body["occur_time"]))


def _explain(ledger: Ledger, card: dict[str, Any]) -> str:
    rows = ledger.conn.execute("SELECT id, kind, state, attempts, points_after, last_error, body_json FROM outbox"
                               " WHERE card_no = ? ORDER BY id", (card["external_card_no"],)).fetchall()
    lines = [str(tuple(r)[:6]) + " " + str(tuple(r)[6])[:200] for r in rows]
    lines += [str(h) for h in card["history"]]
    return "\n".join(lines)


def check_sandbox_matches(sandbox: SandboxServer, ledger: Ledger, cards: Iterable[str]) -> None:
    """Every card: points equal the ledger sum; each trade synced once; history in commit order."""
    import json

    for card_no in cards:
        card = sandbox.card(card_no)
        assert card is not None
        assert int(float(card["point"])) == ledger.ledger_sum(card_no), (card_no, _explain(ledger, card))
        rows = ledger.conn.execute(
            "SELECT id, kind, body_json, state FROM outbox WHERE card_no = ? ORDER BY id", (card_no,)).fetchall()
        order = {_row_key(r[1], json.loads(r[2])): r[0] for r in rows}
        trades = [r for r in rows if r[1] == "card.consume_sync"]
        assert sorted(card["synced_trades"]) == sorted(json.loads(r[2])["trade_no"] for r in trades)
        assert len(set(card["synced_trades"])) == len(card["synced_trades"])
        seen = [order[(h["kind"], h.get("trade_no") or h.get("occur_time"))] for h in card_events(sandbox, card_no)]
        assert seen == sorted(seen), f"card {card_no}: history out of commit order {seen}"
        synced = ledger.conn.execute("SELECT points_synced FROM members WHERE card_no = ?", (card_no,)).fetchone()[0]
        assert synced == ledger.ledger_sum(card_no)
