"""SQLite storage of promotions, special prices and per-level member prices (schema 40).

A promotions file is applied as the whole new set, in one transaction with its ``promotion_imports`` row and
an audit entry (``promotions.import``): a kill leaves either the old set or the new one.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import sqlite3
from dataclasses import dataclass
from typing import Any

from pos_app.domain.errors import PricingError
from pos_app.domain.promotions import LevelPrice, PriceBook, Promotion, SpecialPrice

from .audit import append_audit
from .db import transaction

__all__ = ["ImportSummary", "load_price_book", "apply_price_book", "export_price_book", "pricing_stamp",
           "set_promotion_active", "SqlitePromotionStore"]

logger = logging.getLogger(__name__)


def _canonical(value: dict[str, Any]) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


@dataclass(frozen=True)
class ImportSummary:
    """What an applied promotions file changed."""

    import_id: int
    added: int
    changed: int
    removed: int
    unchanged: int
    level_prices: int


def load_price_book(conn: sqlite3.Connection) -> PriceBook:
    """Every stored promotion and special price (:class:`PricingError` if a stored record no longer reads)."""
    try:
        promos = [Promotion.from_mapping(json.loads(body))
                  for (body,) in conn.execute("SELECT body FROM promotions ORDER BY id")]
        specials = [SpecialPrice.from_mapping(json.loads(body))
                    for (body,) in conn.execute("SELECT body FROM special_prices ORDER BY id")]
    except PricingError as exc:
        logger.error("a stored promotion does not read: %s", exc)
        raise PricingError(f"the stored promotions do not read ({exc}); import the promotions file again") from exc
    return PriceBook(promos, specials)


def _level_prices(conn: sqlite3.Connection) -> list[LevelPrice]:
    return [LevelPrice(code, level, fen) for code, level, fen in conn.execute(
        "SELECT item_code, level, price_fen FROM item_level_prices ORDER BY item_code, level")]


def export_price_book(conn: sqlite3.Connection) -> dict[str, Any]:
    """The promotions file for what is stored now (what :func:`apply_price_book` reads back)."""
    out = load_price_book(conn).to_mapping()
    out["member_prices"] = [{"code": p.code, "level": p.level, "price_fen": p.price_fen}
                            for p in _level_prices(conn)]
    return out


def apply_price_book(conn: sqlite3.Connection, book: PriceBook, level_prices: list[LevelPrice], *,
                     at: dt.datetime, by_user: str, source: str, sha256: str) -> ImportSummary:
    """Replace the stored promotions, special prices and level prices with ``book`` and ``level_prices``."""
    at_text = at.astimezone(dt.UTC).isoformat()
    new: dict[tuple[str, str], str] = {("promotion", p.id): _canonical(p.to_mapping()) for p in book.promotions}
    new.update({("special", s.id): _canonical(s.to_mapping()) for s in book.specials})
    with transaction(conn):
        old: dict[tuple[str, str], str] = {("promotion", i): b for i, b in conn.execute("SELECT id, body FROM promotions")}
        old.update({("special", i): b for i, b in conn.execute("SELECT id, body FROM special_prices")})
        added = sum(1 for k in new if k not in old)
        changed = sum(1 for k in new if k in old and old[k] != new[k])
        removed = sum(1 for k in old if k not in new)
        unchanged = len(new) - added - changed
        conn.execute("DELETE FROM promotions")
        conn.execute("DELETE FROM special_prices")
        conn.executemany("INSERT INTO promotions (id, kind, body, updated_at, updated_by) VALUES (?,?,?,?,?)",
                         [(p.id, p.kind, new[("promotion", p.id)], at_text, by_user) for p in book.promotions])
        conn.executemany("INSERT INTO special_prices (id, item_code, body, updated_at, updated_by) VALUES (?,?,?,?,?)",
                         [(s.id, s.code, new[("special", s.id)], at_text, by_user) for s in book.specials])
        conn.execute("DELETE FROM item_level_prices")
        conn.executemany("INSERT INTO item_level_prices (item_code, level, price_fen, updated_at) VALUES (?,?,?,?)",
                         [(p.code, p.level, p.price_fen, at_text) for p in level_prices])
        cur = conn.execute(
            "INSERT INTO promotion_imports (at, by_user, source, sha256, added, changed, removed, unchanged)"
            " VALUES (?,?,?,?,?,?,?,?)", (at_text, by_user, source, sha256, added, changed, removed, unchanged))
        import_id = int(cur.lastrowid or 0)
        append_audit(conn, at=at, user_id=None, user_name=by_user, action="promotions.import", subject=source,
                     detail={"sha256": sha256, "added": added, "changed": changed, "removed": removed,
                             "unchanged": unchanged, "member_prices": len(level_prices), "import_id": import_id})
    logger.info("promotions file %s applied by %s: %d added, %d changed, %d removed", source, by_user, added,
                changed, removed)
    return ImportSummary(import_id, added, changed, removed, unchanged, len(level_prices))


def pricing_stamp(conn: sqlite3.Connection) -> tuple[Any, ...]:
    """Changes whenever the stored promotions, special prices or level prices change (schema 44's version,
    moved by triggers; one row)."""
    row = conn.execute("SELECT version FROM pricing_version WHERE id = 1").fetchone()
    return (int(row[0]) if row is not None else -1,)


def set_promotion_active(conn: sqlite3.Connection, promo_id: str, active: bool, *, at: dt.datetime,
                         user_id: int | None, user_name: str) -> bool:
    """Switch one stored promotion on or off (audited ``promotions.enable`` / ``promotions.disable``);
    False when there is no such promotion."""
    with transaction(conn):
        row = conn.execute("SELECT body FROM promotions WHERE id = ?", (promo_id,)).fetchone()
        if row is None:
            return False
        data = json.loads(row[0])
        promo = Promotion.from_mapping({**data, "active": active})
        conn.execute("UPDATE promotions SET body = ?, updated_at = ?, updated_by = ? WHERE id = ?",
                     (_canonical(promo.to_mapping()), at.astimezone(dt.UTC).isoformat(), user_name, promo_id))
        append_audit(conn, at=at, user_id=user_id, user_name=user_name,
                     action="promotions.enable" if active else "promotions.disable", subject=promo_id,
                     detail={"name": promo.name, "kind": promo.kind})
    return True


class SqlitePromotionStore:
    """:class:`pos_app.services.promotions.PromotionStore` on this thread's connection; ``load`` builds the
    sale pricing (promotions, level prices, the cash rounding setting) from a connection."""

    def __init__(self, connect: Any, load: Any, now: Any) -> None:
        self._connect = connect
        self._load = load
        self._now = now

    def promotions(self) -> list[Promotion]:
        return list(load_price_book(self._connect()).promotions)

    def set_active(self, promo_id: str, active: bool, *, user_id: int | None, user_name: str) -> bool:
        return set_promotion_active(self._connect(), promo_id, active, at=self._now(), user_id=user_id,
                                    user_name=user_name)

    def stamp(self) -> tuple[Any, ...]:
        return pricing_stamp(self._connect())

    def pricing(self) -> Any:
        return self._load(self._connect())
