"""A terminal's data dir and services, built the way the composition root builds them (shared by the harness and tests)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pos_app.alipay.card_requests import AlipayCardRequests
from pos_app.alipay.client import AlipayClient, load_gateway_config
from pos_app.domain.catalogue import CatalogueItem
from pos_app.domain.codes import gtin_check_digit
from pos_app.domain.loyalty import LoyaltyRules
from pos_app.runtime import RandomIds, SystemClock
from pos_app.services.checkout import CheckoutConfig, CheckoutService
from pos_app.services.members import MemberConfig, MemberService
from pos_app.services.payment import PaymentConfig, PaymentService
from pos_app.services.refunds import RefundService
from pos_app.services.reports import ReportService
from pos_app.services.shifts import ShiftService
from pos_app.services.sync import SyncConfig, SyncWorker
from pos_app.services.users import UserService, hash_pin
from pos_app.storage.db import Database, connect
from pos_app.storage.outbox import SqliteOutboxQueue
from pos_app.storage.seed import load_catalogue, load_members
from pos_app.storage.uow import SqliteUnitOfWork

__all__ = ["CASHIER", "SUPERVISOR", "MEMBERS", "ITEMS", "RULES", "GatewayInfo", "init_db", "issue_cards",
           "Services", "build_services", "make_client", "uow_factory_for"]

CASHIER = ("1001", "1234", "Cashier One")
SUPERVISOR = ("9001", "9876", "Supervisor")
MEMBERS: tuple[tuple[str, int], ...] = tuple((f"88000000000{n:05d}", 300 + 100 * n) for n in range(1, 7))
RULES = LoyaltyRules(points_per_yuan=1, redeem_points_per_yuan=100, redeem_step_points=100, redeem_cap_pct=50)


def _ean(body: str) -> str:
    return body + str(gtin_check_digit(body))


ITEMS: tuple[CatalogueItem, ...] = (
    CatalogueItem(_ean("690123456789"), "可乐", "Cola", 350, category="drinks"),
    CatalogueItem(_ean("692000000001"), "面包", "Bread", 1200, category="bakery"),
    CatalogueItem(_ean("692000000002"), "牛奶", "Milk", 680, category="dairy"),
    CatalogueItem(_ean("692000000003"), "大米", "Rice", 5990, category="grocery"),
    CatalogueItem(_ean("693000000001"), "香烟", "Tobacco", 2500, points_excluded=True),
)


@dataclasses.dataclass(frozen=True)
class GatewayInfo:
    """Where the sandbox is and the key files to talk to it (passed to the harness subprocess as JSON)."""

    url: str
    app_id: str
    app_private_key: str
    alipay_public_key: str

    @classmethod
    def of(cls, sandbox: Any) -> GatewayInfo:
        return cls(sandbox.gateway_url, sandbox.app_id, str(sandbox.app_private_key_path),
                   str(sandbox.alipay_public_key_path))


def issue_cards(sandbox: Any) -> dict[str, str]:
    """The members' cards in the sandbox (same opening points); card_no -> biz_card_no."""
    out = {}
    for card_no, points in MEMBERS:
        info = sandbox.issue_card(external_card_no=card_no, name="测试会员", phone="13800000000", level="VIP1",
                                  points=points)
        out[card_no] = str(info["biz_card_no"])
    return out


def init_db(path: Path, biz: dict[str, str] | None = None) -> None:
    """A migrated database with a cashier, a supervisor, the catalogue and the members (opening points)."""
    conn = Database(path).open_and_migrate()
    try:
        now = dt.datetime.now(dt.UTC).isoformat()
        for (number, pin, name), role in ((CASHIER, "cashier"), (SUPERVISOR, "supervisor")):
            conn.execute("INSERT INTO users (number, name, role, pin_hash, created_at) VALUES (?,?,?,?,?)",
                         (number, name, role, hash_pin(pin), now))
        load_catalogue(conn, ITEMS)
        load_members(conn, [{"card_no": c, "biz_card_no": (biz or {}).get(c), "name": "测试会员",
                             "phone": "13800000000", "level": "VIP1", "points": p} for c, p in MEMBERS])
    finally:
        conn.close()


def uow_factory_for(path: Path, prepare: Callable[[Any], None] | None = None) -> Callable[[], SqliteUnitOfWork]:
    """One connection per thread; ``prepare(conn)`` runs on each new connection (e.g. PRAGMA max_page_count)."""
    local = threading.local()

    def make() -> SqliteUnitOfWork:
        conn = getattr(local, "conn", None)
        if conn is None:
            conn = connect(path)
            if prepare is not None:
                prepare(conn)
            local.conn = conn
        return SqliteUnitOfWork(conn)

    return make


def make_client(gw: GatewayInfo, *, read_timeout_s: float = 1.0, connect_timeout_s: float = 0.5) -> AlipayClient:
    cfg = load_gateway_config(gw.url, gw.app_id, gw.app_private_key, gw.alipay_public_key,
                              read_timeout_s=read_timeout_s, connect_timeout_s=connect_timeout_s)
    return AlipayClient(cfg, clock=SystemClock())


@dataclasses.dataclass
class Services:
    uow: Callable[[], SqliteUnitOfWork]
    client: AlipayClient | None
    checkout: CheckoutService
    payment: PaymentService | None
    members: MemberService
    refunds: RefundService
    users: UserService
    shifts: ShiftService
    reports: ReportService
    payment_config: PaymentConfig
    sync: SyncWorker | None = None

    def close(self) -> None:
        if self.sync is not None:
            self.sync.stop(5.0)
        if self.client is not None:
            self.client.close()


def build_services(db_path: Path, gw: GatewayInfo | None, *, payment_config: PaymentConfig | None = None,
                   read_timeout_s: float = 1.0, sync_config: SyncConfig | None = None,
                   prepare: Callable[[Any], None] | None = None) -> Services:
    """The services of one terminal on ``db_path`` (no sync worker unless ``sync_config`` is given)."""
    clock = SystemClock()
    ids = RandomIds("S1T1")
    uow = uow_factory_for(db_path, prepare)
    client = make_client(gw, read_timeout_s=read_timeout_s) if gw is not None else None
    pconfig = payment_config or PaymentConfig(query_max=3, query_interval_s=0.05, cancel_max=3,
                                              cancel_interval_s=0.05, store_id="S1", terminal_id="T1")
    checkout = CheckoutService(uow, clock, ids, CheckoutConfig(store_id="S1", terminal_id="T1", terminal_no=1,
                                                               store_name="Reliability Shop", loyalty=RULES), card_requests=AlipayCardRequests())
    payment = PaymentService(uow, client, clock, ids, pconfig, checkout=checkout) if client is not None else None
    sync = None
    if sync_config is not None and gw is not None:
        def gateway_factory() -> AlipayClient:
            return make_client(gw, read_timeout_s=read_timeout_s)

        sync = SyncWorker(lambda: SqliteOutboxQueue.open(db_path), gateway_factory, clock, sync_config)
    return Services(
        uow=uow, client=client, checkout=checkout, payment=payment,
        members=MemberService(uow, client, clock, MemberConfig(loyalty=RULES)),
        refunds=RefundService(uow, client, clock, ids, store_id="S1", store_name="Reliability Shop", card_requests=AlipayCardRequests()),
        users=UserService(uow, clock, terminal_id="T1"),
        shifts=ShiftService(uow, clock, terminal_id="T1"),
        reports=ReportService(uow, clock, terminal_id="T1"),
        payment_config=pconfig, sync=sync)
