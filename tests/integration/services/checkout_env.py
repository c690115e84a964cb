"""Helpers and fixtures for the checkout core: a migrated SQLite file, a cashier and shift, and the sandbox over HTTP."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from pos_app.alipay.card_requests import AlipayCardRequests
from pos_app.alipay.client import AlipayClient, load_gateway_config
from pos_app.domain.catalogue import CatalogueItem
from pos_app.domain.loyalty import LoyaltyRules
from pos_app.runtime import FixedClock, RandomIds, SystemClock
from pos_app.sandbox.server import SandboxServer
from pos_app.services.checkout import CheckoutConfig, CheckoutService
from pos_app.services.payment import PaymentConfig, PaymentService
from pos_app.storage.db import Database, connect
from pos_app.storage.seed import load_catalogue, load_members
from pos_app.storage.uow import SqliteUnitOfWork

MEMBER = "8800000000000001"
MEMBER_NO_BIZ = "8800000000000002"
COLA = "6901234567892"
BREAD = "6920000000012"
TOBACCO = "6930000000011"


def uow_factory_for(path: Path) -> Callable[[], SqliteUnitOfWork]:
    """One connection per thread (SQLite connections are never shared across threads)."""
    local = threading.local()

    def make() -> SqliteUnitOfWork:
        conn = getattr(local, "conn", None)
        if conn is None:
            conn = connect(path)
            local.conn = conn
        return SqliteUnitOfWork(conn)

    return make


def _valid_ean(body: str) -> str:
    from pos_app.domain.codes import gtin_check_digit

    return body + str(gtin_check_digit(body))


@pytest.fixture
def db(tmp_path: Path) -> Path:
    path = tmp_path / "pos.sqlite3"
    conn = Database(path).open_and_migrate()
    conn.execute("INSERT INTO users (id, number, name, role, pin_hash, created_at) VALUES "
                 "(1, '001', 'Alice', 'cashier', 'x', '2026-01-01'), (2, '900', 'Sam', 'supervisor', 'x', '2026-01-01')")
    conn.execute("INSERT INTO shifts (id, terminal_id, number, state, opened_by, opened_at, opening_float_fen)"
                 " VALUES (1, 'T1', 1, 'open', 1, '2026-01-01', 10000)")
    load_catalogue(conn, [
        CatalogueItem(_valid_ean("690123456789"), "可乐", "Cola", 350, category="drinks"),
        CatalogueItem(_valid_ean("692000000001"), "面包", "Bread", 1200, category="bakery"),
        CatalogueItem(_valid_ean("693000000001"), "香烟", "Tobacco", 2500, points_excluded=True),
        CatalogueItem("2300001000008", "苹果", "Apples", 1000, unit="kg"),
    ])
    load_members(conn, [
        {"card_no": MEMBER, "name": "张三明", "phone": "13812345678", "level": "GOLD", "points": 1000},
        {"card_no": MEMBER_NO_BIZ, "name": "李四", "phone": "13900001111", "level": "SILVER", "points": 50},
    ])
    conn.close()
    return path


@pytest.fixture
def uow(db: Path) -> Callable[[], SqliteUnitOfWork]:
    return uow_factory_for(db)


@pytest.fixture
def sandbox(tmp_path: Path) -> Iterator[SandboxServer]:
    server = SandboxServer(tmp_path / "sandbox").start()
    server.issue_card(external_card_no=MEMBER, name="张三明", phone="13812345678", level="GOLD", points=1000)
    server.issue_card(external_card_no=MEMBER_NO_BIZ, name="李四", phone="13900001111", level="SILVER", points=50)
    yield server
    server.stop()


def make_client(server: SandboxServer, read_timeout_s: float = 2.0) -> AlipayClient:
    cfg = load_gateway_config(server.gateway_url, server.app_id, server.app_private_key_path,
                              server.alipay_public_key_path, read_timeout_s=read_timeout_s, connect_timeout_s=1.0)
    return AlipayClient(cfg, clock=SystemClock())


@pytest.fixture
def client(sandbox: SandboxServer) -> Iterator[AlipayClient]:
    c = make_client(sandbox, read_timeout_s=0.5)
    yield c
    c.close()


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock()


RULES = LoyaltyRules(points_per_yuan=1, redeem_points_per_yuan=100, redeem_step_points=100, redeem_cap_pct=50)
FAST = PaymentConfig(query_max=3, query_interval_s=0.01, cancel_max=3, cancel_interval_s=0.01, store_id="S1",
                     terminal_id="T1")


@pytest.fixture
def checkout(uow: Callable[[], SqliteUnitOfWork], clock: FixedClock) -> CheckoutService:
    return CheckoutService(uow, clock, RandomIds("T1"),
                           CheckoutConfig(store_id="S1", terminal_id="T1", terminal_no=1, store_name="Demo Shop",
                                          loyalty=RULES), card_requests=AlipayCardRequests())


@pytest.fixture
def payments(uow: Callable[[], SqliteUnitOfWork], client: AlipayClient, clock: FixedClock,
             checkout: CheckoutService) -> PaymentService:
    return PaymentService(uow, client, clock, RandomIds("T1"), FAST, sleep=lambda s: None, checkout=checkout)
