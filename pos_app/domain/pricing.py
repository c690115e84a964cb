"""The pricing engine: unit prices, promotions, manual discounts, points, cash rounding and VAT, explained.

Pure and deterministic: the same basket, price book, time and member give the same result, whatever the
order promotions were defined in. Every fen taken off a line is a :class:`DiscountLine` that says why.

Order of work, each step on what the previous one left (the *net* of a line):

1. **Unit price**: the lowest of the list price, the member price for the member's level and any special
   price active when the line was scanned (``price_at``). A line with its own price (open price, a
   price-embedded code) keeps it. A lower unit price shows as a ``member_price`` / ``special_price`` line.
2. **Promotions** (``promotion``): item promotions (percent, amount, fixed price, buy X get Y) give at most
   one promotion per line; then 满减 thresholds apply in priority order on what is left. Which promotions
   apply is chosen for the customer: the engine prices the stack of all combinable promotions, the
   combinable thresholds alone, and every applicable promotion alone (the only way a non-combinable one is
   used), and keeps the largest discount (ties: that order; singles by priority, then id). So the result is
   never worse for the customer than any single promotion.
3. **Manual discounts** (``manual``): per line, then on the sale, with a reason code; a percent is of
   the net at that point; never more than what is left.
4. **Points redeemed** (``points``) and 5. **cash rounding** 抹零 (``rounding``, down to ¥0.1 or ¥1).

Order-level amounts (thresholds, the sale discount, points, rounding) are spread over the lines in
proportion to their nets with :func:`money.allocate` (largest remainder), so each line's net is exactly what
was paid for it: refunds and points follow it. VAT: retail prices include tax; for each rate the tax is
``round_half_up(net × r / (1 + r))`` on the sum of that rate's nets, then spread over its lines the same way.
Points are earned on the nets of lines that earn points (:func:`loyalty.earn`).
"""

from __future__ import annotations

import logging
import weakref
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from types import MappingProxyType
from typing import Any, NamedTuple

from .catalogue import MAX_EACH_QUANTITY, MAX_GRAMS, UNIT_EACH, UNIT_KG, UNITS, CatalogueItem, line_amount
from .errors import MoneyError, PricingError
from .loyalty import LoyaltyRules, earn, points_to_fen
from .money import MAX_FEN, allocate
from .promotions import ITEM_KINDS, PriceBook, Promotion

__all__ = [
    "VAT_RATES_BP",
    "ROUNDING_MODES",
    "PriceItem",
    "ManualDiscount",
    "BasketLine",
    "DiscountLine",
    "PricedLine",
    "TaxLine",
    "PricedBasket",
    "price_basket",
    "round_cash",
    "tax_included",
    "store_now",
]

logger = logging.getLogger(__name__)

VAT_RATES_BP = (1300, 900, 600, 300, 100, 0)
"""VAT rates in basis points (1300 = 13 %): general taxpayer 13/9/6/0 %, small-scale levy 3/1 % (as the
catalogue's ``tax_rate_bp``)."""

ROUNDING_MODES = {"none": 1, "jiao": 10, "yuan": 100}
"""Cash rounding 抹零: the fen step the cash total is rounded down to."""

DISCOUNT_KINDS = ("special_price", "member_price", "promotion", "manual", "points", "rounding")


STORE_TZ = timezone(timedelta(hours=8), "GMT+8")


def store_now() -> datetime:
    """Now in store time (GMT+8), without a time zone: the time promotions and special prices are written in."""
    return datetime.now(STORE_TZ).replace(tzinfo=None, microsecond=0)


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _pct_of(amount: int, percent: int) -> int:
    """``percent`` % of ``amount``, rounded half up."""
    return (amount * percent + 50) // 100


def tax_included(net_fen: int, rate_bp: int) -> int:
    """The VAT contained in a tax-inclusive ``net_fen`` at ``rate_bp`` basis points, rounded half up
    (``net × r / (1 + r)``; a negative amount mirrored)."""
    if rate_bp == 0:
        return 0
    magnitude = (abs(net_fen) * rate_bp * 2 + (10_000 + rate_bp)) // (2 * (10_000 + rate_bp))
    return -magnitude if net_fen < 0 else magnitude


def round_cash(total_fen: int, mode: str) -> int:
    """``total_fen`` rounded down to the step of ``mode`` (see :data:`ROUNDING_MODES`)."""
    if mode not in ROUNDING_MODES:
        raise PricingError(f"cash rounding must be one of {', '.join(ROUNDING_MODES)}, not {mode!r}")
    step = ROUNDING_MODES[mode]
    return total_fen - total_fen % step


@dataclass(frozen=True)
class PriceItem:
    """What the engine needs to know about a catalogue item.

    ``member_price_fen``: the price for any identified member (the catalogue's member price);
    ``member_prices`` maps a member level (upper case) to that level's own unit price.
    """

    code: str
    name: str
    price_fen: int
    unit: str = UNIT_EACH
    category: str = ""
    tax_rate_bp: int = 1300
    member_prices: Mapping[str, int] = field(default_factory=lambda: MappingProxyType({}))
    points_excluded: bool = False
    member_price_fen: int | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.code, str):
            raise PricingError("item code must be text")
        if not _is_int(self.price_fen) or not 0 <= self.price_fen <= MAX_FEN:
            raise PricingError(f"item {self.code}: price must be whole fen from 0 to {MAX_FEN}")
        if self.unit not in UNITS:
            raise PricingError(f"item {self.code}: unit must be one of {', '.join(UNITS)}")
        if self.tax_rate_bp not in VAT_RATES_BP:
            raise PricingError(f"item {self.code}: VAT rate must be one of "
                               f"{', '.join(f'{bp / 100:g} %' for bp in VAT_RATES_BP)}")
        if self.member_price_fen is not None and (not _is_int(self.member_price_fen)
                                                  or not 0 <= self.member_price_fen <= MAX_FEN):
            raise PricingError(f"item {self.code}: member price must be whole fen from 0 to {MAX_FEN}")
        prices: dict[str, int] = {}
        for level, fen in self.member_prices.items():
            if not isinstance(level, str) or not level or not _is_int(fen) or not 0 <= fen <= MAX_FEN:
                raise PricingError(f"item {self.code}: member prices must map a level to whole fen")
            prices[level.upper()] = fen
        object.__setattr__(self, "member_prices", MappingProxyType(prices))

    @classmethod
    def from_catalogue(cls, item: CatalogueItem, *, tax_rate_bp: int = 1300, member_price_fen: int | None = None,
                       member_prices: Mapping[str, int] | None = None, language: str = "zh") -> PriceItem:
        """The pricing view of a catalogue item (the catalogue's VAT rate and member prices passed in)."""
        return cls(item.code, item.display_name(language), item.price_fen, item.unit, item.category,
                   tax_rate_bp, member_prices or {}, item.points_excluded, member_price_fen)


@dataclass(frozen=True)
class ManualDiscount:
    """A discount the cashier keys: ``percent`` or ``amount_fen`` (one of them), with a reason code."""

    reason: str
    percent: int = 0
    amount_fen: int = 0
    approved_by: int | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.reason, str) or not self.reason.strip():
            raise PricingError("a manual discount needs a reason code")
        if not _is_int(self.percent) or not 0 <= self.percent <= 100:
            raise PricingError("a manual discount percent must be from 0 to 100")
        if not _is_int(self.amount_fen) or not 0 <= self.amount_fen <= MAX_FEN:
            raise PricingError(f"a manual discount amount must be whole fen from 0 to {MAX_FEN}")
        if bool(self.percent) == bool(self.amount_fen):
            raise PricingError("a manual discount is either a percent or an amount (more than zero)")

    def off(self, net_fen: int) -> int:
        """What this discount takes off ``net_fen`` (never more than it)."""
        return min(net_fen, _pct_of(net_fen, self.percent) if self.percent else self.amount_fen)


@dataclass(frozen=True)
class BasketLine:
    """One line to price. ``unit_price_fen`` set: the line's own price (open price, price-embedded code),
    no member or special price. ``price_at``: when the price was fixed (the scan), for special prices.
    """

    line_no: int
    item: PriceItem
    quantity: int
    unit_price_fen: int | None = None
    description: str = ""
    price_at: datetime | None = None
    manual: ManualDiscount | None = None

    def __post_init__(self) -> None:
        limit = MAX_GRAMS if self.item.unit == UNIT_KG else MAX_EACH_QUANTITY
        if not _is_int(self.quantity) or not 1 <= self.quantity <= limit:
            raise PricingError(f"line {self.line_no}: quantity must be a whole number from 1 to {limit}")
        if self.unit_price_fen is not None and (not _is_int(self.unit_price_fen)
                                                or not 0 <= self.unit_price_fen <= MAX_FEN):
            raise PricingError(f"line {self.line_no}: price must be whole fen from 0 to {MAX_FEN}")


class DiscountLine(NamedTuple):
    """One reason a line costs less: ``kind`` (see :data:`DISCOUNT_KINDS`), ``ref`` (promotion or special-price
    id, member level, reason code), ``label`` for people, and the fen it took off this line.
    """

    kind: str
    ref: str
    label: str
    amount_fen: int


@dataclass(frozen=True)
class PricedLine:
    """A priced line: list amount (``gross_fen``), the discounts, what is paid (``net_fen``) and its VAT."""

    line_no: int
    code: str
    name: str
    description: str
    quantity: int
    unit: str
    category: str
    list_unit_price_fen: int
    unit_price_fen: int
    gross_fen: int
    discounts: tuple[DiscountLine, ...]
    net_fen: int
    tax_rate_bp: int
    tax_fen: int
    points_excluded: bool

    @property
    def discount_fen(self) -> int:
        """Everything taken off this line."""
        return sum(d.amount_fen for d in self.discounts)


@dataclass(frozen=True)
class TaxLine:
    """VAT at one rate (basis points): ``gross_fen`` (tax-inclusive nets), ``tax_fen`` and ``net_ex_tax_fen``."""

    rate_bp: int
    gross_fen: int
    tax_fen: int

    @property
    def net_ex_tax_fen(self) -> int:
        """The amount before tax."""
        return self.gross_fen - self.tax_fen


@dataclass(frozen=True)
class PricedBasket:
    """The result: lines, totals (``total_fen`` = what the customer pays), VAT per rate, points to earn."""

    lines: tuple[PricedLine, ...]
    gross_fen: int
    discount_fen: int
    total_fen: int
    rounding_fen: int
    points_redeemed: int
    points_fen: int
    taxes: tuple[TaxLine, ...]
    tax_fen: int
    points_to_earn: int
    earn_explanation: str
    promotion_ids: tuple[str, ...]
    discount_summary: tuple[DiscountLine, ...]

    def to_mapping(self) -> dict[str, Any]:
        """A JSON-ready picture (what ``pos-app basket price`` prints)."""
        return {
            "lines": [{
                "line_no": ln.line_no, "code": ln.code, "name": ln.name, "description": ln.description,
                "quantity": ln.quantity, "unit": ln.unit, "category": ln.category,
                "list_unit_price_fen": ln.list_unit_price_fen, "unit_price_fen": ln.unit_price_fen,
                "gross_fen": ln.gross_fen,
                "discounts": [{"kind": d.kind, "ref": d.ref, "label": d.label, "amount_fen": d.amount_fen}
                              for d in ln.discounts],
                "net_fen": ln.net_fen, "tax_rate_bp": ln.tax_rate_bp, "tax_fen": ln.tax_fen,
                "points_excluded": ln.points_excluded,
            } for ln in self.lines],
            "totals": {"gross_fen": self.gross_fen, "discount_fen": self.discount_fen,
                       "rounding_fen": self.rounding_fen, "total_fen": self.total_fen,
                       "tax_fen": self.tax_fen, "points_redeemed": self.points_redeemed,
                       "points_fen": self.points_fen},
            "tax": [{"rate_bp": t.rate_bp, "gross_fen": t.gross_fen, "tax_fen": t.tax_fen,
                     "net_ex_tax_fen": t.net_ex_tax_fen} for t in self.taxes],
            "discounts": [{"kind": d.kind, "ref": d.ref, "label": d.label, "amount_fen": d.amount_fen}
                          for d in self.discount_summary],
            "promotions": list(self.promotion_ids),
            "points_to_earn": self.points_to_earn,
            "earn_explanation": self.earn_explanation,
        }


# --- step 1: unit prices --------------------------------------------------------------------------------


@dataclass
class _Work:
    """A line being priced (mutable, private)."""

    line: BasketLine
    list_unit: int
    unit_price: int
    gross: int
    net: int
    discounts: list[DiscountLine]

    @property
    def code(self) -> str:
        return self.line.item.code

    @property
    def category(self) -> str:
        return self.line.item.category

    @property
    def each(self) -> bool:
        return self.line.item.unit == UNIT_EACH


def _amount(unit_price: int, line: BasketLine) -> int:
    try:
        return line_amount(unit_price, line.quantity, line.item.unit)
    except MoneyError as exc:
        raise PricingError(f"line {line.line_no}: {exc}") from exc


_UnitKey = tuple[str, int, str, int, datetime, str | None, int | None, int | None]
_Unit = tuple[int, int, int, DiscountLine | None]
_UNIT_MEMO_MAX = 20_000
_unit_memos: weakref.WeakKeyDictionary[PriceBook, dict[_UnitKey, _Unit]] = weakref.WeakKeyDictionary()


def _unit_memo(book: PriceBook) -> dict[_UnitKey, _Unit]:
    """The unit prices already worked out with ``book`` (a new book, i.e. changed promotions or special
    prices, starts empty): a re-pricing after a scan works out only the new line."""
    memo = _unit_memos.get(book)
    if memo is None:
        memo = _unit_memos[book] = {}
    elif len(memo) > _UNIT_MEMO_MAX:
        memo.clear()
    return memo


def _start(line: BasketLine, book: PriceBook, at: datetime, level: str | None,
           memo: dict[_UnitKey, _Unit] | None = None) -> _Work:
    item = line.item
    if line.unit_price_fen is not None:
        gross = _amount(line.unit_price_fen, line)
        return _Work(line, line.unit_price_fen, line.unit_price_fen, gross, gross, [])
    upper = level.upper() if level is not None else None
    when = line.price_at or at
    # everything the result depends on besides the book (the memo is the book's own)
    key: _UnitKey = (item.code, item.price_fen, item.unit, line.quantity, when, upper,
                     item.member_price_fen if upper is not None else None,
                     item.member_prices.get(upper) if upper is not None else None)
    found = memo.get(key) if memo is not None else None
    if found is None:
        found = _unit_price(line, book, when, level, upper)
        if memo is not None:
            memo[key] = found
    unit_price, gross, net, discount = found
    return _Work(line, item.price_fen, unit_price, gross, net, [] if discount is None else [discount])


def _unit_price(line: BasketLine, book: PriceBook, when: datetime, level: str | None, upper: str | None) -> _Unit:
    """(unit price, gross, net, the member/special price discount or None) of a line without its own price."""
    item = line.item
    best: tuple[int, str, str, str] = (item.price_fen, "", "", "")
    if upper is not None:
        if item.member_price_fen is not None and item.member_price_fen < best[0]:
            best = (item.member_price_fen, "member_price", "MEMBER", "member price")
        fen = item.member_prices.get(upper)
        if fen is not None and fen < best[0]:
            best = (fen, "member_price", upper, f"member price {upper}")
    for special in book.specials_view(item.code):
        if special.price_fen < best[0] and special.applies_to(when, level):
            best = (special.price_fen, "special_price", special.id, f"special price {special.id}")
    gross = _amount(item.price_fen, line)
    if best[1]:
        amount = _amount(best[0], line)
        if gross - amount:
            return best[0], gross, amount, DiscountLine(best[1], best[2], best[3], gross - amount)
    return best[0], gross, gross, None


# --- step 2: promotions ----------------------------------------------------------------------------------


def _line_promo_off(promo: Promotion, work: _Work) -> int:
    """What an independent item promotion (percent, amount, fixed price) takes off one line's net."""
    net = work.net
    if promo.kind == "percent_off":
        return min(net, _pct_of(net, promo.percent))
    line = work.line
    unit = work.unit_price
    if promo.kind == "amount_off":
        new_unit = max(0, unit - promo.amount_fen)
    else:  # fixed_price
        if promo.price_fen >= unit:
            return 0
        new_unit = promo.price_fen
    return max(0, min(net, net - _amount(new_unit, line)))


def _bxgy_off(promo: Promotion, pool: Sequence[_Work]) -> dict[int, int]:
    """Buy X get Y: discounts per index into ``pool`` (the cheapest units are the discounted ones)."""
    units = sum(w.line.quantity for w in pool)
    discounted = units // (promo.buy_qty + promo.get_qty) * promo.get_qty
    out: dict[int, int] = {}
    if not discounted:
        return out
    order = sorted(range(len(pool)), key=lambda i: (pool[i].unit_price, pool[i].line.line_no))
    for i in order:
        if not discounted:
            break
        take = min(discounted, pool[i].line.quantity)
        discounted -= take
        off = min(pool[i].net, _pct_of(pool[i].unit_price * take, promo.percent))
        if off:
            out[i] = off
    return out


@dataclass
class _Plan:
    """The promotion discounts of one candidate combination: per line index, (promotion, fen) in order."""

    per_line: dict[int, list[tuple[Promotion, int]]]
    total: int
    nets: list[int] = field(default_factory=list)
    pending: list[tuple[Promotion, int]] = field(default_factory=list)
    touched: set[int] = field(default_factory=set)  # lines an item promotion discounted

    def complete(self) -> _Plan:
        """Spread the whole-basket threshold amounts still pending over the lines (in order)."""
        per_line, nets = self.per_line, self.nets
        for promo, off in self.pending:
            for i, share in enumerate(allocate(off, nets)):
                if share:
                    found = per_line.get(i)
                    if found is None:
                        per_line[i] = [(promo, share)]
                    else:
                        found.append((promo, share))
                    nets[i] -= share
        self.pending.clear()
        return self


def _threshold_off(promo: Promotion, base: int) -> int:
    """What a 满减 promotion takes off ``base`` spent in its scope."""
    if base < promo.threshold_fen:
        return 0
    steps = base // promo.threshold_fen if promo.repeat else 1
    off = steps * promo.amount_fen
    if promo.max_discount_fen:
        off = min(off, promo.max_discount_fen)
    return min(off, base)


class _Selector:
    """Chooses and applies the promotions for one basket (scopes and per-line offers worked out once)."""

    def __init__(self, candidates: Sequence[Promotion], scopes: Mapping[str, list[int]],
                 works: Sequence[_Work]) -> None:
        self.works = works
        self.scopes = scopes
        # in the order promotions are applied and tried alone: priority first, then id
        self.live = sorted((p for p in candidates if scopes.get(p.id)), key=lambda p: (-p.priority, p.id))
        self._each = [w.line.item.unit == UNIT_EACH for w in works]
        self._bxgy_alone: dict[str, tuple[list[int], dict[int, int]]] = {}
        self._total_net: int | None = None
        # independent item promotions: what each takes off each line of its scope
        self.offers: dict[str, list[tuple[int, int]]] = {}
        for promo in self.live:
            if promo.kind in ITEM_KINDS and promo.kind != "buy_x_get_y":
                self.offers[promo.id] = [(i, off) for i in scopes[promo.id]
                                         if (off := _line_promo_off(promo, works[i])) > 0]

    def _bxgy(self, promo: Promotion, exclude: set[int]) -> tuple[list[int], dict[int, int]]:
        scope = self.scopes[promo.id]
        alone = not exclude or exclude.isdisjoint(scope)  # nothing of its scope excluded: as if alone
        if alone:
            found = self._bxgy_alone.get(promo.id)
            if found is not None:
                return found
        each = self._each
        pool = [i for i in scope if each[i] and i not in exclude]
        offs = _bxgy_off(promo, [self.works[i] for i in pool])
        result = pool, {pool[j]: off for j, off in offs.items()}
        if alone:
            self._bxgy_alone[promo.id] = result
        return result

    def single_total(self, promo: Promotion) -> int:
        """The discount ``promo`` gives on its own."""
        if promo.kind == "threshold":
            scope = self.scopes[promo.id]
            if len(scope) == len(self.works):
                return _threshold_off(promo, self._basket_net())
            return _threshold_off(promo, sum(self.works[i].net for i in scope))
        if promo.kind == "buy_x_get_y":
            return sum(self._bxgy(promo, set())[1].values())
        return sum(off for _, off in self.offers[promo.id])

    def _basket_net(self) -> int:
        if self._total_net is None:
            self._total_net = sum(w.net for w in self.works)
        return self._total_net

    def thresholds_most(self, thresholds: Sequence[Promotion]) -> int:
        """An upper bound of ``evaluate(thresholds).total`` (thresholds only), without spreading anything.

        Each threshold's discount grows with its base, and a base only shrinks as earlier ones take their
        part: a scoped one takes at most what it would on its scope's nets, a whole-basket one at most what it
        would on the basket less the least the earlier ones take (and at least what it would on the basket
        less the most they take).
        """
        basket = self._basket_net()
        everything = len(self.works)
        most = least = 0
        for promo in thresholds:
            scope = self.scopes[promo.id]
            if len(scope) == everything:
                up, down = _threshold_off(promo, basket - least), _threshold_off(promo, basket - most)
            else:
                up, down = _threshold_off(promo, sum(self.works[i].net for i in scope)), 0
            most += up
            least += down
        return most

    def evaluate(self, promos: Sequence[Promotion]) -> _Plan:
        """Apply ``promos``: item promotions one per line (best for the customer), then thresholds.

        The plan's total is exact; call :meth:`_Plan.complete` before reading its lines.
        """
        per_line: dict[int, list[tuple[Promotion, int]]] = {}
        best: dict[int, tuple[int, int, str, Promotion]] = {}
        bxgys: list[Promotion] = []
        thresholds: list[Promotion] = []
        for promo in promos:
            if promo.kind == "threshold":
                thresholds.append(promo)
            elif promo.kind == "buy_x_get_y":
                bxgys.append(promo)
            else:
                for i, off in self.offers[promo.id]:
                    current = best.get(i)
                    if (current is None or (off, promo.priority) > current[:2]
                            or ((off, promo.priority) == current[:2] and promo.id < current[2])):
                        best[i] = (off, promo.priority, promo.id, promo)
        claimed: set[int] = set()
        for promo in bxgys:  # already in priority order (see __init__)
            pool, offs = self._bxgy(promo, claimed)
            if not offs or sum(offs.values()) - sum(best[i][0] for i in pool if i in best) <= 0:
                continue
            for i in pool:
                claimed.add(i)
                best.pop(i, None)
            for i, off in offs.items():
                per_line.setdefault(i, []).append((promo, off))
        for i, (off, _, _, promo) in best.items():
            per_line.setdefault(i, []).append((promo, off))
        nets = [w.net for w in self.works]
        for i, entries in per_line.items():
            nets[i] -= sum(off for _, off in entries)
        total = sum(off for entries in per_line.values() for _, off in entries)
        # thresholds in priority order, each on what is left in its scope; an amount over the whole basket is
        # spread over the lines only when a later threshold needs the lines, or in :meth:`_Plan.complete`
        plan = _Plan(per_line, total, nets, [], set(per_line))
        running = sum(nets)
        everything = len(self.works)
        for promo in thresholds:
            scope = self.scopes[promo.id]
            if len(scope) == everything:
                off = _threshold_off(promo, running)
                if off:
                    plan.pending.append((promo, off))
                    running -= off
                    plan.total += off
                continue
            if plan.pending:
                plan.complete()
            off = _threshold_off(promo, sum(nets[i] for i in scope))
            if not off:
                continue
            for i, share in zip(scope, allocate(off, [nets[i] for i in scope]), strict=True):
                if share:
                    per_line.setdefault(i, []).append((promo, share))
                    nets[i] -= share
            running -= off
            plan.total += off
        return plan

    def choose(self) -> _Plan:
        """The best plan for the customer among: all combinable, combinable thresholds alone, each one alone."""
        if not self.live:
            return _Plan({}, 0)
        combinable = [p for p in self.live if p.combinable]
        best: _Plan | Promotion | None = None
        best_total = -1
        if combinable:
            best = self.evaluate(combinable)
            best_total = best.total
            thresholds = [p for p in combinable if p.kind == "threshold"]
            # without the item promotions a threshold can only do better if they cut into its scope
            if thresholds and len(thresholds) < len(combinable) and any(
                    i in best.touched for p in thresholds for i in self.scopes[p.id]) and (
                    self.thresholds_most(thresholds) > best_total):
                plan = self.evaluate(thresholds)
                if plan.total > best_total:
                    best, best_total = plan, plan.total
        if len(self.live) > 1 or not combinable:
            for promo in self.live:
                total = self.single_total(promo)
                if total > best_total:
                    best, best_total = promo, total
        if isinstance(best, Promotion):
            return self.evaluate([best]).complete()
        return best.complete() if best is not None else _Plan({}, 0)


# --- steps 3-5: order-level amounts ------------------------------------------------------------------------


# DiscountLine(kind, ref, label, fen) without the namedtuple's Python-level __new__: the engine makes hundreds
# per pricing (every order-level amount is spread over every line)
_new_tuple = tuple.__new__


def _spread(works: Sequence[_Work], fen: int, kind: str, ref: str, label: str) -> None:
    if fen <= 0:
        return
    shares = allocate(fen, [w.net for w in works])
    for work, share in zip(works, shares, strict=True):
        if share:
            work.discounts.append(_new_tuple(DiscountLine, (kind, ref, label, share)))
            work.net -= share


def price_basket(lines: Iterable[BasketLine], book: PriceBook, *, at: datetime, member_level: str | None = None,
                 rules: LoyaltyRules | None = None, sale_discount: ManualDiscount | None = None,
                 points_redeemed: int = 0, rounding: str = "none") -> PricedBasket:
    """Price ``lines`` at store time ``at`` for a member of ``member_level`` (``None``: no member).

    ``points_redeemed`` are turned into fen with ``rules`` (their cap is the sale's business, checked before);
    ``rounding`` is the cash rounding mode, to be passed only when the sale is paid in cash.
    """
    lines = list(lines)
    if len({ln.line_no for ln in lines}) != len(lines):
        raise PricingError("basket line numbers must be unique")
    if points_redeemed and rules is None:
        raise PricingError("redeeming points needs the loyalty rules")
    if rounding not in ROUNDING_MODES:
        raise PricingError(f"cash rounding must be one of {', '.join(ROUNDING_MODES)}, not {rounding!r}")
    memo = _unit_memo(book)
    works = [_start(ln, book, at, member_level, memo) for ln in sorted(lines, key=lambda ln: ln.line_no)]
    # step 2
    scopes: dict[str, list[int]] = {}
    for i, work in enumerate(works):
        for promo_id in book.ids_for(work.code, work.category):
            scopes.setdefault(promo_id, []).append(i)
    if works:
        everything = list(range(len(works)))
        scopes.update((promo.id, everything) for promo in book.basket_wide)
    candidates = [p for p in book.candidates_by_id(scopes) if p.applies_to(at, member_level)]
    plan = _Selector(candidates, scopes, works).choose()
    applied: set[str] = set()
    for i, entries in sorted(plan.per_line.items()):
        work = works[i]
        for promo, off in entries:
            work.discounts.append(_new_tuple(DiscountLine, ("promotion", promo.id, promo.name, off)))
            work.net -= off
            applied.add(promo.id)
    # step 3
    for work in works:
        if work.line.manual is not None:
            off = work.line.manual.off(work.net)
            if off:
                work.discounts.append(DiscountLine("manual", work.line.manual.reason, "manual discount", off))
                work.net -= off
    if sale_discount is not None:
        _spread(works, sale_discount.off(sum(w.net for w in works)), "manual", sale_discount.reason,
                "sale discount")
    # step 4
    points_fen = 0
    if points_redeemed and rules is not None:
        points_fen = min(points_to_fen(points_redeemed, rules), sum(w.net for w in works))
        _spread(works, points_fen, "points", str(points_redeemed), f"{points_redeemed} points")
    # step 5
    before_rounding = sum(w.net for w in works)
    rounding_fen = before_rounding - round_cash(before_rounding, rounding)
    _spread(works, rounding_fen, "rounding", rounding, "cash rounding")
    return _finish(works, rules, member_level, points_redeemed, points_fen, rounding_fen, applied)


def _priced_line(**values: Any) -> PricedLine:
    """``PricedLine(**values)`` without the frozen dataclass's per-field ``object.__setattr__`` (a hundred
    lines per pricing); the same object, as PricedLine has no ``__post_init__``. Every field must be given."""
    line: PricedLine = object.__new__(PricedLine)
    line.__dict__.update(values)
    return line


def _finish(works: Sequence[_Work], rules: LoyaltyRules | None, member_level: str | None, points_redeemed: int,
            points_fen: int, rounding_fen: int, applied: set[str]) -> PricedBasket:
    by_rate: dict[int, list[int]] = {}
    for i, work in enumerate(works):
        by_rate.setdefault(work.line.item.tax_rate_bp, []).append(i)
    line_tax = [0] * len(works)
    taxes: list[TaxLine] = []
    for rate in sorted(by_rate, reverse=True):
        idx = by_rate[rate]
        gross = sum(works[i].net for i in idx)
        tax = tax_included(gross, rate)
        if tax:
            for i, share in zip(idx, allocate(tax, [works[i].net for i in idx]), strict=True):
                line_tax[i] = share
        taxes.append(TaxLine(rate, gross, tax))
    priced = tuple(_priced_line(
        line_no=w.line.line_no, code=w.code, name=w.line.item.name, description=w.line.description,
        quantity=w.line.quantity, unit=w.line.item.unit, category=w.category, list_unit_price_fen=w.list_unit,
        unit_price_fen=w.unit_price, gross_fen=w.gross, discounts=tuple(w.discounts), net_fen=w.net,
        tax_rate_bp=w.line.item.tax_rate_bp, tax_fen=line_tax[i], points_excluded=w.line.item.points_excluded,
    ) for i, w in enumerate(works))
    summary: dict[tuple[str, str], list[Any]] = {}
    for work in works:
        for d in work.discounts:
            entry = summary.setdefault((d.kind, d.ref), [d.label, 0])
            entry[1] += d.amount_fen
    order = {kind: n for n, kind in enumerate(DISCOUNT_KINDS)}
    discount_summary = tuple(DiscountLine(kind, ref, label, fen) for (kind, ref), (label, fen)
                             in sorted(summary.items(), key=lambda kv: (order[kv[0][0]], kv[0][1])))
    gross = sum(w.gross for w in works)
    total = sum(w.net for w in works)
    eligible = sum(w.net for w in works if not w.line.item.points_excluded)
    if member_level is not None and rules is not None:
        result = earn(eligible, member_level, rules)
        points, explanation = result.points, result.explanation
    else:
        points, explanation = 0, "no member: no points"
    return PricedBasket(priced, gross, gross - total, total, rounding_fen, points_redeemed, points_fen,
                        tuple(taxes), sum(t.tax_fen for t in taxes), points, explanation, tuple(sorted(applied)),
                        discount_summary)
