"""A static card number unknown here is looked up at Alipay (BIZ_CARD, then EXTERNAL_CARD) and cached."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from pos_app.alipay.client import AlipayClient, load_gateway_config
from pos_app.domain.codes import classify
from pos_app.runtime import FixedClock, SystemClock
from pos_app.sandbox.server import SandboxServer
from pos_app.services.members import MemberService
from pos_app.storage.db import Database
from pos_app.storage.uow import SqliteUnitOfWork

CARD = "8800000000000077"


@pytest.fixture
def sandbox(tmp_path: Path) -> Iterator[SandboxServer]:
    server = SandboxServer(tmp_path / "sandbox").start()
    yield server
    server.stop()


def _client(server: SandboxServer) -> AlipayClient:
    cfg = load_gateway_config(server.gateway_url, server.app_id, server.app_private_key_path,
                              server.alipay_public_key_path, read_timeout_s=2.0, connect_timeout_s=1.0)
    return AlipayClient(cfg, clock=SystemClock())


def test_unknown_static_card_found_at_alipay_and_cached(tmp_path: Path, sandbox: SandboxServer) -> None:
    card = sandbox.issue_card(external_card_no=CARD, name="钱七", level="GOLD", points=500)
    conn = Database(tmp_path / "pos.sqlite3").open_and_migrate()
    client = _client(sandbox)
    try:
        members = MemberService(lambda: SqliteUnitOfWork(conn), client, FixedClock())
        found = members.resolve(classify(CARD))
        assert found.kind == "found" and found.member is not None
        assert found.member.card_no == CARD and found.member.points_balance == 500
        kinds = [json.loads(r["params"]["biz_content"])["target_card_no_type"] for r in sandbox.request_log()
                 if r["method"] == "alipay.marketing.card.query"]
        assert kinds == ["BIZ_CARD", "EXTERNAL_CARD"]
        # cached: found again without the gateway, by its number or by its Alipay card number
        offline = MemberService(lambda: SqliteUnitOfWork(conn), None, FixedClock())
        assert offline.resolve(classify(CARD)).kind == "found"
        assert offline.get(CARD) is not None
        row = conn.execute("SELECT biz_card_no FROM members WHERE card_no = ?", (CARD,)).fetchone()
        assert row[0] == card["biz_card_no"]
        ledger = conn.execute("SELECT kind, points FROM points_ledger WHERE card_no = ?", (CARD,)).fetchall()
        assert [tuple(x) for x in ledger] == [("opening", 500)]
        unknown = members.resolve(classify("8800000000000099"))
        assert unknown.kind == "not_found" and "at Alipay" in unknown.message
    finally:
        client.close()
        conn.close()


def test_static_card_lookup_offline_says_so(tmp_path: Path, sandbox: SandboxServer) -> None:
    conn = Database(tmp_path / "pos.sqlite3").open_and_migrate()
    client = _client(sandbox)
    sandbox.stop()
    try:
        lookup = MemberService(lambda: SqliteUnitOfWork(conn), client, FixedClock()).resolve(classify(CARD))
        assert lookup.kind == "offline" and "cannot be reached" in lookup.message
        assert conn.execute("SELECT count(*) FROM members").fetchone()[0] == 0
    finally:
        client.close()
        conn.close()
