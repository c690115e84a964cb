"""Promotions change while the terminal runs (issue 14): switched off or on at the supervisor's screen, or a new
file imported by `pos-app promotions import` in another process — the next sale is priced with what is stored now,
the sale being rung up keeps its prices, and each switch is audited. Real SQLite file."""

from __future__ import annotations

import datetime as dt
import sqlite3
from pathlib import Path

import pytest

from pos_app.alipay.card_requests import AlipayCardRequests
from pos_app.domain.catalogue import CatalogueItem
from pos_app.domain.loyalty import LoyaltyRules
from pos_app.domain.promotions import PriceBook, Promotion
from pos_app.domain.sale import SalePricing
from pos_app.runtime import FixedClock, RandomIds
from pos_app.services.checkout import CheckoutConfig, CheckoutService
from pos_app.services.promotions import PromotionError, PromotionsService
from pos_app.storage.audit import verify_chain
from pos_app.storage.db import Database, connect
from pos_app.storage.promotions import SqlitePromotionStore, apply_price_book, load_price_book
from pos_app.storage.uow import SqliteUnitOfWork

COLA = CatalogueItem("6901234567892", "可乐", "Cola", 1000, category="drinks")
HALF = Promotion.from_mapping({"id": "P50", "name": "半价", "kind": "percent_off", "codes": [COLA.code], "percent": 50})
TENTH = Promotion.from_mapping({"id": "P10", "name": "九折", "kind": "percent_off", "codes": [COLA.code], "percent": 10})


def _pricing(conn: sqlite3.Connection) -> SalePricing:
    return SalePricing(book=load_price_book(conn))


@pytest.fixture
def conn(tmp_path: Path) -> sqlite3.Connection:
    path = tmp_path / "pos.sqlite3"
    Database(path).open_and_migrate().close()
    c = connect(path)
    apply_price_book(c, PriceBook([HALF]), [], at=dt.datetime.now(dt.UTC), by_user="test", source="a.json",
                     sha256="-")
    return c


def test_a_switch_or_an_import_applies_from_the_next_sale(conn: sqlite3.Connection, tmp_path: Path) -> None:
    clock = FixedClock()
    service = PromotionsService(SqlitePromotionStore(lambda: conn, _pricing, clock.now))
    checkout = CheckoutService(lambda: SqliteUnitOfWork(conn), clock, RandomIds("T1"),
                               CheckoutConfig(loyalty=LoyaltyRules(), pricing=_pricing(conn)), card_requests=AlipayCardRequests())
    service.mark_loaded()
    checkout.pricing_refresh = service.refresh
    assert [(r.id, r.active) for r in service.rows()] == [("P50", True)]
    ringing = checkout.new_sale()
    ringing.add_item(COLA)
    assert ringing.totals().payable_fen == 500
    assert service.refresh() is None                         # nothing changed: no reload

    service.set_active("P50", False, user_id=2, user_name="Sam")
    assert [(r.id, r.active) for r in service.rows()] == [("P50", False)]
    ringing.add_item(COLA)
    assert ringing.totals().payable_fen == 1000              # the basket being rung up keeps its pricing
    nxt = checkout.new_sale()
    nxt.add_item(COLA)
    assert nxt.totals().payable_fen == 1000                  # the next sale: no half price
    service.set_active("P50", True, user_id=2, user_name="Sam")
    again = checkout.new_sale()
    again.add_item(COLA)
    assert again.totals().payable_fen == 500

    # another process imports a new file: the next sale sells with it
    other = connect(tmp_path / "pos.sqlite3")
    apply_price_book(other, PriceBook([TENTH]), [], at=dt.datetime.now(dt.UTC), by_user="ops", source="b.json",
                     sha256="-")
    other.close()
    imported = checkout.new_sale()
    imported.add_item(COLA)
    assert imported.totals().payable_fen == 900

    with pytest.raises(PromotionError, match="no promotion"):
        service.set_active("NOPE", False, user_id=2, user_name="Sam")
    actions = [r[0] for r in conn.execute("SELECT action FROM audit_log WHERE action LIKE 'promotions.%' ORDER BY id")]
    assert actions == ["promotions.import", "promotions.disable", "promotions.enable", "promotions.import"]
    assert verify_chain(conn)[1] is None


def test_a_failing_reload_keeps_selling_with_the_loaded_promotions(conn: sqlite3.Connection) -> None:
    clock = FixedClock()
    calls = {"n": 0}

    def broken(_c: sqlite3.Connection) -> SalePricing:
        calls["n"] += 1
        raise sqlite3.OperationalError("disk I/O error")

    service = PromotionsService(SqlitePromotionStore(lambda: conn, broken, clock.now))
    service.mark_loaded()
    service.set_active("P50", False, user_id=2, user_name="Sam")
    assert service.refresh() is None and calls["n"] == 1
