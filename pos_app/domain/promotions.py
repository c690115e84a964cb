"""Price rules a supervisor defines: special prices (单品特价) and promotions, validated, with their windows.

A promotion is one of these kinds (amounts in fen, percentages whole):

* ``percent_off``: ``percent`` off each unit in scope;
* ``amount_off``: ``amount_fen`` off each unit in scope (per kg on weighed lines), never below zero;
* ``fixed_price``: each unit in scope sells at ``price_fen`` (only when that is cheaper);
* ``buy_x_get_y``: for every ``buy_qty`` units bought, ``get_qty`` more units get ``percent`` off (100 = free;
  "second item half price" is buy 1 get 1 at 50 %); the cheapest units in scope are the discounted ones;
  weighed lines never take part;
* ``threshold``: 满减, ``amount_fen`` off for every ``threshold_fen`` spent in scope (or once, when
  ``repeat`` is false), at most ``max_discount_fen`` when that is set; computed on what is left after
  the item promotions.

The scope is a set of item codes and/or categories; an empty scope is the whole basket. A promotion may
be limited to members (``member_only``) or to some member levels, to a period (``starts``/``ends``, store
time, end excluded), to weekdays (1 = Monday) and to a daily time window. ``priority`` orders how the
engine applies promotions and breaks ties; ``combinable = False`` means the promotion is only ever
applied alone. :mod:`pos_app.domain.pricing` decides which combination applies.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, time
from typing import Any

from .errors import PricingError
from .money import MAX_FEN

__all__ = [
    "PROMOTION_KINDS",
    "ITEM_KINDS",
    "Promotion",
    "SpecialPrice",
    "PriceBook",
    "LevelPrice",
    "parse_level_prices",
]

logger = logging.getLogger(__name__)

ITEM_KINDS = ("percent_off", "amount_off", "fixed_price", "buy_x_get_y")
PROMOTION_KINDS = (*ITEM_KINDS, "threshold")
_MAX_ID = 40


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _fen(what: str, value: object, *, low: int = 0) -> int:
    if not _is_int(value) or not low <= value <= MAX_FEN:  # type: ignore[operator]
        raise PricingError(f"{what} must be whole fen from {low} to {MAX_FEN}")
    return value  # type: ignore[return-value]


def _text_set(what: str, value: object) -> frozenset[str]:
    if isinstance(value, str) or not isinstance(value, (list, tuple, set, frozenset)):
        raise PricingError(f"{what} must be a list of text")
    items = frozenset(value)
    if not all(isinstance(v, str) and v.strip() for v in items):
        raise PricingError(f"{what} must be a list of non-empty text")
    return items


def _when(what: str, value: object) -> datetime | None:
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value
    if not isinstance(value, str):
        raise PricingError(f"{what} must be a date and time like 2026-12-01T08:00")
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise PricingError(f"{what} is not a date and time: {value!r} (use 2026-12-01T08:00)") from None
    if parsed.tzinfo is not None:
        raise PricingError(f"{what}: give store time without a time zone ({value!r})")
    return parsed


def _clock(what: str, value: object) -> time | None:
    if value is None or value == "":
        return None
    if isinstance(value, time):
        return value
    if not isinstance(value, str):
        raise PricingError(f"{what} must be a time of day like 18:00")
    try:
        return time.fromisoformat(value)
    except ValueError:
        raise PricingError(f"{what} is not a time of day: {value!r} (use 18:00)") from None


def _check_id(what: str, value: object) -> str:
    if not isinstance(value, str) or not value.strip() or len(value) > _MAX_ID or value != value.strip():
        raise PricingError(f"{what} id must be 1-{_MAX_ID} characters without surrounding spaces")
    return value


@dataclass(frozen=True)
class _Window:
    starts: datetime | None = None
    ends: datetime | None = None
    weekdays: frozenset[int] = frozenset()
    daily_from: time | None = None
    daily_to: time | None = None

    def active_at(self, at: datetime) -> bool:
        if self.starts is not None and at < self.starts:
            return False
        if self.ends is not None and at >= self.ends:
            return False
        if self.weekdays and at.isoweekday() not in self.weekdays:
            return False
        now = at.time()
        if self.daily_from is not None and self.daily_to is not None and self.daily_to < self.daily_from:
            return now >= self.daily_from or now < self.daily_to  # a window over midnight
        if self.daily_from is not None and now < self.daily_from:
            return False
        return not (self.daily_to is not None and now >= self.daily_to)


def _window(data: Mapping[str, Any], what: str) -> _Window:
    starts = _when(f"{what} starts", data.get("starts"))
    ends = _when(f"{what} ends", data.get("ends"))
    if starts is not None and ends is not None and ends <= starts:
        raise PricingError(f"{what}: ends must be after starts")
    days_raw = data.get("weekdays", [])
    if isinstance(days_raw, str) or not isinstance(days_raw, (list, tuple, set, frozenset)):
        raise PricingError(f"{what} weekdays must be a list of 1 (Monday) to 7 (Sunday)")
    days = frozenset(days_raw)
    if not all(_is_int(d) and 1 <= d <= 7 for d in days):
        raise PricingError(f"{what} weekdays must be a list of 1 (Monday) to 7 (Sunday)")
    daily_from = _clock(f"{what} daily_from", data.get("daily_from"))
    daily_to = _clock(f"{what} daily_to", data.get("daily_to"))
    if (daily_from is None) != (daily_to is None):
        raise PricingError(f"{what}: give both daily_from and daily_to, or neither")
    if daily_from is not None and daily_from == daily_to:
        raise PricingError(f"{what}: daily_from and daily_to must differ")
    return _Window(starts, ends, days, daily_from, daily_to)


def _window_mapping(w: _Window) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if w.starts is not None:
        out["starts"] = w.starts.isoformat(timespec="minutes")
    if w.ends is not None:
        out["ends"] = w.ends.isoformat(timespec="minutes")
    if w.weekdays:
        out["weekdays"] = sorted(w.weekdays)
    if w.daily_from is not None and w.daily_to is not None:
        out["daily_from"] = w.daily_from.isoformat(timespec="minutes")
        out["daily_to"] = w.daily_to.isoformat(timespec="minutes")
    return out


_PROMO_FIELDS = {"id", "name", "kind", "codes", "categories", "percent", "amount_fen", "price_fen", "buy_qty",
                 "get_qty", "threshold_fen", "repeat", "max_discount_fen", "member_only", "member_levels",
                 "starts", "ends", "weekdays", "daily_from", "daily_to", "priority", "combinable", "active"}


@dataclass(frozen=True)
class Promotion:
    """One promotion (see the module docstring for the kinds). Build with :meth:`from_mapping` to validate."""

    id: str
    name: str
    kind: str
    codes: frozenset[str] = frozenset()
    categories: frozenset[str] = frozenset()
    percent: int = 0
    amount_fen: int = 0
    price_fen: int = 0
    buy_qty: int = 0
    get_qty: int = 0
    threshold_fen: int = 0
    repeat: bool = True
    max_discount_fen: int = 0
    member_only: bool = False
    member_levels: frozenset[str] = frozenset()
    window: _Window = field(default_factory=_Window)
    priority: int = 0
    combinable: bool = True
    active: bool = True

    @property
    def whole_basket(self) -> bool:
        """True when the scope is the whole basket (no codes, no categories)."""
        return not self.codes and not self.categories

    def in_scope(self, code: str, category: str) -> bool:
        """Whether an item with ``code`` and ``category`` is in this promotion's scope."""
        return self.whole_basket or code in self.codes or (bool(category) and category in self.categories)

    def applies_to(self, at: datetime, member_level: str | None) -> bool:
        """Active, in its window at ``at`` and open to this customer (``None``: no member)."""
        if not self.active or not self.window.active_at(at):
            return False
        if self.member_only or self.member_levels:
            if member_level is None:
                return False
            if self.member_levels and member_level.upper() not in self.member_levels:
                return False
        return True

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> Promotion:
        """Build from a JSON record; :class:`PricingError` names the promotion and what is wrong."""
        if not isinstance(data, Mapping):
            raise PricingError("a promotion must be a JSON object")
        pid = _check_id("promotion", data.get("id"))
        what = f"promotion {pid}"
        unknown = sorted(set(data) - _PROMO_FIELDS)
        if unknown:
            raise PricingError(f"{what}: unknown field(s) {', '.join(map(str, unknown))}")
        kind = data.get("kind")
        if kind not in PROMOTION_KINDS:
            raise PricingError(f"{what}: kind must be one of {', '.join(PROMOTION_KINDS)}, not {kind!r}")
        name = data.get("name", pid)
        if not isinstance(name, str) or not name.strip():
            raise PricingError(f"{what}: name must be non-empty text")
        codes = _text_set(f"{what} codes", data.get("codes", []))
        categories = _text_set(f"{what} categories", data.get("categories", []))
        if kind in ITEM_KINDS and not codes and not categories and kind != "percent_off":
            raise PricingError(f"{what}: a {kind} promotion needs codes or categories")
        ints: dict[str, int] = {}
        for key in ("percent", "buy_qty", "get_qty", "priority"):
            value = data.get(key, 0)
            if not _is_int(value):
                raise PricingError(f"{what}: {key} must be a whole number")
            ints[key] = value
        for key in ("amount_fen", "price_fen", "threshold_fen", "max_discount_fen"):
            ints[key] = _fen(f"{what} {key}", data.get(key, 0))
        flags: dict[str, bool] = {}
        for key, default in (("repeat", True), ("member_only", False), ("combinable", True), ("active", True)):
            value = data.get(key, default)
            if not isinstance(value, bool):
                raise PricingError(f"{what}: {key} must be true or false")
            flags[key] = value
        if not -1000 <= ints["priority"] <= 1000:
            raise PricingError(f"{what}: priority must be from -1000 to 1000")
        if kind == "percent_off" and not 1 <= ints["percent"] <= 100:
            raise PricingError(f"{what}: percent must be from 1 to 100")
        if kind == "amount_off" and ints["amount_fen"] == 0:
            raise PricingError(f"{what}: amount_fen must be more than zero")
        if kind == "buy_x_get_y":
            if not 1 <= ints["buy_qty"] <= 99 or not 1 <= ints["get_qty"] <= 99:
                raise PricingError(f"{what}: buy_qty and get_qty must be from 1 to 99")
            if not 1 <= ints["percent"] <= 100:
                raise PricingError(f"{what}: percent (off the extra items; 100 = free) must be from 1 to 100")
        if kind == "threshold":
            if ints["threshold_fen"] == 0 or ints["amount_fen"] == 0:
                raise PricingError(f"{what}: threshold_fen and amount_fen must be more than zero")
            if ints["amount_fen"] > ints["threshold_fen"]:
                raise PricingError(f"{what}: amount_fen must not be more than threshold_fen")
        levels = frozenset(level.upper() for level in _text_set(f"{what} member_levels",
                                                                data.get("member_levels", [])))
        return cls(id=pid, name=name.strip(), kind=kind, codes=codes, categories=categories,
                   percent=ints["percent"], amount_fen=ints["amount_fen"], price_fen=ints["price_fen"],
                   buy_qty=ints["buy_qty"], get_qty=ints["get_qty"], threshold_fen=ints["threshold_fen"],
                   repeat=flags["repeat"], max_discount_fen=ints["max_discount_fen"],
                   member_only=flags["member_only"], member_levels=levels, window=_window(data, what),
                   priority=ints["priority"], combinable=flags["combinable"], active=flags["active"])

    def to_mapping(self) -> dict[str, Any]:
        """The JSON record :meth:`from_mapping` reads back (defaults left out)."""
        out: dict[str, Any] = {"id": self.id, "name": self.name, "kind": self.kind}
        if self.codes:
            out["codes"] = sorted(self.codes)
        if self.categories:
            out["categories"] = sorted(self.categories)
        for key in ("percent", "amount_fen", "price_fen", "buy_qty", "get_qty", "threshold_fen",
                    "max_discount_fen", "priority"):
            if getattr(self, key):
                out[key] = getattr(self, key)
        if not self.repeat:
            out["repeat"] = False
        if self.member_only:
            out["member_only"] = True
        if self.member_levels:
            out["member_levels"] = sorted(self.member_levels)
        out.update(_window_mapping(self.window))
        if not self.combinable:
            out["combinable"] = False
        if not self.active:
            out["active"] = False
        return out


_SPECIAL_FIELDS = {"id", "code", "price_fen", "member_only", "member_levels", "starts", "ends", "weekdays",
                   "daily_from", "daily_to"}


@dataclass(frozen=True)
class SpecialPrice:
    """A time-limited price for one item (单品特价), optionally for members or some levels only."""

    id: str
    code: str
    price_fen: int
    member_only: bool = False
    member_levels: frozenset[str] = frozenset()
    window: _Window = field(default_factory=_Window)

    def applies_to(self, at: datetime, member_level: str | None) -> bool:
        """In its window at ``at`` and open to this customer."""
        if not self.window.active_at(at):
            return False
        if self.member_only or self.member_levels:
            if member_level is None:
                return False
            if self.member_levels and member_level.upper() not in self.member_levels:
                return False
        return True

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> SpecialPrice:
        """Build from a JSON record; :class:`PricingError` names what is wrong."""
        if not isinstance(data, Mapping):
            raise PricingError("a special price must be a JSON object")
        sid = _check_id("special price", data.get("id"))
        what = f"special price {sid}"
        unknown = sorted(set(data) - _SPECIAL_FIELDS)
        if unknown:
            raise PricingError(f"{what}: unknown field(s) {', '.join(map(str, unknown))}")
        code = data.get("code")
        if not isinstance(code, str) or not code.strip():
            raise PricingError(f"{what}: needs the item code")
        member_only = data.get("member_only", False)
        if not isinstance(member_only, bool):
            raise PricingError(f"{what}: member_only must be true or false")
        levels = frozenset(level.upper() for level in _text_set(f"{what} member_levels",
                                                                data.get("member_levels", [])))
        window = _window(data, what)
        if window.starts is None or window.ends is None:
            raise PricingError(f"{what}: a special price needs starts and ends")
        return cls(sid, code.strip(), _fen(f"{what} price_fen", data.get("price_fen")), member_only, levels,
                   window)

    def to_mapping(self) -> dict[str, Any]:
        """The JSON record :meth:`from_mapping` reads back."""
        out: dict[str, Any] = {"id": self.id, "code": self.code, "price_fen": self.price_fen}
        if self.member_only:
            out["member_only"] = True
        if self.member_levels:
            out["member_levels"] = sorted(self.member_levels)
        out.update(_window_mapping(self.window))
        return out


class PriceBook:
    """Promotions and special prices indexed by item code and category, built once, read on every scan."""

    def __init__(self, promotions: Iterable[Promotion] = (), specials: Iterable[SpecialPrice] = ()) -> None:
        self.promotions: tuple[Promotion, ...] = tuple(sorted(promotions, key=lambda p: p.id))
        self.specials: tuple[SpecialPrice, ...] = tuple(sorted(specials, key=lambda s: s.id))
        seen: set[str] = set()
        for promo in self.promotions:
            if promo.id in seen:
                raise PricingError(f"promotion id {promo.id} is used twice")
            seen.add(promo.id)
        seen.clear()
        for special in self.specials:
            if special.id in seen:
                raise PricingError(f"special price id {special.id} is used twice")
            seen.add(special.id)
        self._by_code: dict[str, list[Promotion]] = {}
        self._by_category: dict[str, list[Promotion]] = {}
        self._basket_wide: list[Promotion] = []
        special_lists: dict[str, list[SpecialPrice]] = {}
        self._by_id: dict[str, Promotion] = {p.id: p for p in self.promotions}
        self._ids_by_key: dict[tuple[str, str], list[str]] = {}
        for promo in self.promotions:
            if not promo.active:
                continue
            if promo.whole_basket:
                self._basket_wide.append(promo)
            for code in promo.codes:
                self._by_code.setdefault(code, []).append(promo)
            for category in promo.categories:
                self._by_category.setdefault(category, []).append(promo)
        for special in self.specials:
            special_lists.setdefault(special.code, []).append(special)
        self._special_by_code: dict[str, tuple[SpecialPrice, ...]] = {
            code: tuple(found) for code, found in special_lists.items()}

    def candidates(self, items: Iterable[tuple[str, str]]) -> list[Promotion]:
        """Active promotions that could touch a basket of (code, category) pairs, in id order."""
        found: dict[str, Promotion] = {p.id: p for p in self._basket_wide}
        for code, category in items:
            for promo in self._by_code.get(code, ()):
                found[promo.id] = promo
            if category:
                for promo in self._by_category.get(category, ()):
                    found[promo.id] = promo
        return [found[k] for k in sorted(found)]

    def ids_for(self, code: str, category: str) -> list[str]:
        """The ids of the active promotions for ``code`` or ``category`` (whole-basket ones: :attr:`basket_wide`)."""
        found = self._ids_by_key.get((code, category))
        if found is None:
            ids: set[str] = set()
            ids.update(p.id for p in self._by_code.get(code, ()))
            if category:
                ids.update(p.id for p in self._by_category.get(category, ()))
            found = sorted(ids)
            if len(self._ids_by_key) < 100_000:
                self._ids_by_key[(code, category)] = found
        return found

    @property
    def basket_wide(self) -> tuple[Promotion, ...]:
        """The active promotions whose scope is the whole basket."""
        return tuple(self._basket_wide)

    def candidates_by_id(self, ids: Iterable[str]) -> list[Promotion]:
        """The promotions with these ids, in id order."""
        return [self._by_id[i] for i in sorted(ids)]

    def specials_for(self, code: str) -> list[SpecialPrice]:
        """The special prices defined for ``code`` (any window)."""
        return list(self._special_by_code.get(code, ()))

    def specials_view(self, code: str) -> tuple[SpecialPrice, ...]:
        """:meth:`specials_for` without the copy (read only; the pricing engine's per-line look-up)."""
        return self._special_by_code.get(code, ())

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> PriceBook:
        """Read ``{"promotions": [...], "special_prices": [...]}``; every record is checked before any is used."""
        if not isinstance(data, Mapping):
            raise PricingError("a promotions file must be a JSON object with promotions and special_prices")
        unknown = sorted(set(data) - {"promotions", "special_prices", "member_prices", "format"})
        if unknown:
            raise PricingError(f"promotions file: unknown section(s) {', '.join(map(str, unknown))}")
        promos_raw = data.get("promotions", [])
        specials_raw = data.get("special_prices", [])
        if not isinstance(promos_raw, list) or not isinstance(specials_raw, list):
            raise PricingError("promotions and special_prices must be lists")
        errors: list[str] = []
        promos: list[Promotion] = []
        specials: list[SpecialPrice] = []
        for index, raw in enumerate(promos_raw, 1):
            try:
                promos.append(Promotion.from_mapping(raw))
            except PricingError as exc:
                errors.append(f"promotions[{index}]: {exc}")
        for index, raw in enumerate(specials_raw, 1):
            try:
                specials.append(SpecialPrice.from_mapping(raw))
            except PricingError as exc:
                errors.append(f"special_prices[{index}]: {exc}")
        if errors:
            raise PricingError("; ".join(errors[:20]) + (f" (and {len(errors) - 20} more)" if len(errors) > 20
                                                         else ""))
        return cls(promos, specials)

    def to_mapping(self) -> dict[str, Any]:
        """The file :meth:`from_mapping` reads back."""
        return {"format": 1, "promotions": [p.to_mapping() for p in self.promotions],
                "special_prices": [s.to_mapping() for s in self.specials]}


@dataclass(frozen=True)
class LevelPrice:
    """A member level's own unit price for one item (会员价 per level)."""

    code: str
    level: str
    price_fen: int


def parse_level_prices(data: Mapping[str, Any]) -> list[LevelPrice]:
    """The ``member_prices`` section of a promotions file: ``[{"code", "level", "price_fen"}]``, checked."""
    raw = data.get("member_prices", [])
    if not isinstance(raw, list):
        raise PricingError("member_prices must be a list of {code, level, price_fen}")
    out: list[LevelPrice] = []
    seen: set[tuple[str, str]] = set()
    errors: list[str] = []
    for index, rec in enumerate(raw, 1):
        where = f"member_prices[{index}]"
        if not isinstance(rec, Mapping) or set(rec) != {"code", "level", "price_fen"}:
            errors.append(f"{where}: needs exactly code, level and price_fen")
            continue
        code, level = rec["code"], rec["level"]
        if not isinstance(code, str) or not code.strip() or not isinstance(level, str) or not level.strip():
            errors.append(f"{where}: code and level must be non-empty text")
            continue
        try:
            price = _fen(f"{where} price_fen", rec["price_fen"])
        except PricingError as exc:
            errors.append(str(exc))
            continue
        key = (code.strip(), level.strip().upper())
        if key in seen:
            errors.append(f"{where}: {key[0]} at level {key[1]} is given twice")
            continue
        seen.add(key)
        out.append(LevelPrice(key[0], key[1], price))
    if errors:
        raise PricingError("; ".join(errors[:20]))
    return out
