"""Helpers for store tests: a real lane database with real services (cash sales), and its store link."""

from __future__ import annotations

import dataclasses
import random
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg

from pos_app.storage.db import connect
from pos_app.storage.lane_journal import SqliteLaneJournal
from pos_app.store import schema
from pos_app.store.connect import lane_conninfo
from pos_app.store.pull import Pull
from pos_app.store.uplink import Uplink, UplinkConfig
from tests.reliability.harness.env import CASHIER, ITEMS, MEMBERS, Services, build_services, init_db


@dataclass
class Lane:
    name: str
    db: Path
    conninfo: str
    svc: Services
    journal: SqliteLaneJournal
    links: list[Any] = dataclasses.field(default_factory=list)

    def uplink(self, deadline_s: float = 5.0) -> Uplink:
        up = Uplink(self.journal, UplinkConfig(self.conninfo, deadline_s=deadline_s))
        self.links.append(up)
        return up

    def pull(self) -> Pull:
        p = Pull(self.journal, self.conninfo)
        self.links.append(p)
        return p

    def cashier(self) -> Any:
        return self.svc.users.authenticate(CASHIER[0], CASHIER[1])

    def shift(self, cashier: Any) -> int:
        shift = self.svc.shifts.current_shift()
        if shift is None:
            shift = self.svc.shifts.open_shift(cashier, float_fen=10_000)
        return int(shift.id)

    def sell(self, rng: random.Random, member: str | None = None) -> str:
        cashier = self.cashier()
        sale = self.svc.checkout.new_sale()
        for _ in range(rng.randint(1, 3)):
            sale.add_item(rng.choice(ITEMS[:4]), rng.randint(1, 2))     # ITEMS[4] earns no points
        if member:
            view = self.svc.members.get(member, sale.totals().payable_fen)
            assert view is not None
            sale.attach_member(view.ref())
        shift_id = self.shift(cashier)
        committed = self.svc.checkout.commit_cash(sale, sale.totals().payable_fen, shift_id=shift_id,
                                                  cashier_id=cashier.id, cashier_name=cashier.name)
        return str(committed.receipt_no)

    def sqlite(self) -> Any:
        return connect(self.db)

    def close(self) -> None:
        for link in self.links:
            (link.drop if hasattr(link, "drop") else link.close)()
        self.journal.close()
        self.svc.close()


def make_lane(tmp: Path, store_db: Any, name: str, *, enable: bool = True) -> Lane:
    with store_db.admin() as c:
        creds = schema.add_lane(c, name)
    db = tmp / name / "pos.sqlite3"
    db.parent.mkdir(parents=True)
    init_db(db)
    journal = SqliteLaneJournal.open(db)
    if enable:
        journal.enable()
    info = lane_conninfo(store_db.server.dsn(store_db.name, creds.role), creds.password)
    return Lane(name, db, info, build_services(db, None), journal)


def seed_store_members(store_db: Any, balance: int = 1000) -> None:
    with store_db.admin() as c:
        for card_no, _ in MEMBERS:
            c.execute("INSERT INTO pos.member (member_id, name, level) VALUES (%s, '测试会员', 'VIP1') "
                      "ON CONFLICT DO NOTHING", (card_no,))
            c.execute("SELECT pos.adjust_points(%s, %s, gen_random_uuid())", (card_no, balance))


def server(store_db: Any, query: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    with psycopg.connect(store_db.admin_dsn, autocommit=True) as c:
        return list(c.execute(query, params).fetchall())  # type: ignore[arg-type]
