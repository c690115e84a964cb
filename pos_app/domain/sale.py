"""The sale aggregate: basket lines, member, points redemption, totals, tenders and states.

States and the moves between them (anything else raises :class:`SaleStateError`)::

    OPEN --begin_payment--> AWAITING_PAYMENT --mark_paid--> PAID --mark_refunded--> PARTLY_REFUNDED / REFUNDED
      ^                        |                                                   (PARTLY_REFUNDED -> either)
      +----cancel_payment------+
    OPEN / AWAITING_PAYMENT --void_sale--> VOIDED

The basket changes only while OPEN. A sale is paid by one tender (Alipay or cash) or split over several: parts
(:meth:`Sale.add_part`) each cover less than what is left; the last tender covers exactly the rest and completes
the sale. While a part is paid the payment cannot be cancelled (the part must be given back first, see
:meth:`Sale.drop_part`). A split sale is never cash-rounded (抹零 applies when cash pays the whole sale).
Prices, promotions, manual discounts, points redeemed, VAT and cash rounding come from the pricing engine
(:func:`pricing.price_basket`, with the sale's :class:`SalePricing`); every discount is spread over the lines,
so a line's ``paid_fen`` is exactly what was paid for it. Points are earned only on the *eligible paid*
amount: the paid amounts of lines that are not points-excluded; never on the discount. A sale rebuilt after
its total was taken (:meth:`Sale.from_snapshot`) keeps the discounts stored on its lines.
"""

from __future__ import annotations

import enum
import logging
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field, fields, replace
from datetime import datetime
from types import MappingProxyType
from typing import Any

from .catalogue import MAX_EACH_QUANTITY, MAX_GRAMS, UNIT_EACH, UNIT_KG, CatalogueItem, line_amount
from .codes import mask_code
from .errors import LoyaltyError, MoneyError, SaleRuleError, SaleStateError
from .exchange import EXCHANGE_REF_PREFIX
from .loyalty import LoyaltyRules, RedeemOption, check_redeem, earn, redeem_options
from .money import MAX_FEN
from .pricing import (
    BasketLine,
    DiscountLine,
    ManualDiscount,
    PricedBasket,
    PriceItem,
    price_basket,
    store_now,
)
from .promotions import PriceBook
from .refunds import RefundAllocation, RefundLine, refund_allocation

__all__ = [
    "SaleState",
    "MemberRef",
    "SaleLine",
    "SalePricing",
    "Tender",
    "TENDER_KINDS",
    "SaleTotals",
    "SaleSnapshot",
    "Sale",
    "RefundLine",
    "RefundAllocation",
    "refund_allocation",
]

logger = logging.getLogger(__name__)

TENDER_KINDS = ("alipay", "cash")


class SaleState(enum.Enum):
    """Where a sale is in its life."""

    OPEN = "open"
    AWAITING_PAYMENT = "awaiting_payment"
    PAID = "paid"
    VOIDED = "voided"
    REFUNDED = "refunded"
    PARTLY_REFUNDED = "partly_refunded"


@dataclass(frozen=True)
class MemberRef:
    """The member attached to a sale. ``repr()`` masks the card numbers to their last four digits."""

    card_no: str
    name_masked: str
    level: str
    points_balance: int
    biz_card_no: str = ""

    def __repr__(self) -> str:
        return (f"MemberRef(card_no={mask_code(self.card_no)!r}, name_masked={self.name_masked!r}, "
                f"level={self.level!r}, points_balance={self.points_balance}, "
                f"biz_card_no={mask_code(self.biz_card_no)!r})")


@dataclass(frozen=True)
class SaleLine:
    """One basket line. ``quantity`` is pieces, or grams when ``unit == "kg"`` (then the price is per kg).

    Voided lines stay in the basket, flagged, and count for nothing. ``discount_fen`` is everything taken
    off this line (0 on voided lines), each part explained in ``discounts`` (member or special price, promotions,
    manual discounts, points, cash rounding: :mod:`pos_app.domain.pricing`); ``tax_fen`` is the VAT in what is
    paid for it at ``tax_rate_bp``. ``price_at`` (ISO store time) is when its price was fixed (the scan).
    """

    line_no: int
    code: str
    name: str
    quantity: int
    unit: str
    unit_price_fen: int
    amount_fen: int
    open_price: bool
    points_excluded: bool
    voided: bool
    void_reason: str
    discount_fen: int
    name_en: str = ""
    voided_by: int | None = None  # the supervisor who approved the void, when one had to
    category: str = ""
    tax_rate_bp: int = 1300
    tax_fen: int = 0
    member_price_fen: int | None = None
    price_at: str = ""
    manual: ManualDiscount | None = None
    discounts: tuple[DiscountLine, ...] = ()

    def __post_init__(self) -> None:
        # a line read back from JSON (a stored basket) carries lists and mappings: make them typed again
        if self.discounts and not all(isinstance(d, DiscountLine) for d in self.discounts):
            object.__setattr__(self, "discounts", tuple(DiscountLine(*d) if not isinstance(d, Mapping)
                                                        else DiscountLine(**d) for d in self.discounts))
        elif not isinstance(self.discounts, tuple):
            object.__setattr__(self, "discounts", tuple(self.discounts))
        if isinstance(self.manual, Mapping):
            object.__setattr__(self, "manual", ManualDiscount(**self.manual))

    @property
    def paid_fen(self) -> int:
        """What the customer paid for this line: amount less its discount share (0 if voided)."""
        return 0 if self.voided else self.amount_fen - self.discount_fen

    def to_dict(self) -> dict[str, Any]:
        """The line as ``dataclasses.asdict`` gives it (``manual`` a dict), built directly: a sale's lines become
        rows at each commit and JSON at each scan (the open basket), and ``asdict`` walks every value."""
        out = {name: getattr(self, name) for name in _LINE_FIELDS}
        if self.manual is not None:
            out["manual"] = asdict(self.manual)
        return out


_LINE_FIELDS = tuple(f.name for f in fields(SaleLine))


@dataclass(frozen=True)
class Tender:
    """One payment: ``amount_fen`` applied to the sale, ``tendered_fen`` handed over, ``change_fen`` given back.

    For Alipay, tendered == amount, change 0, ``reference`` is the Alipay ``trade_no`` and ``attempt_id`` the
    write-ahead payment attempt it settled.
    """

    kind: str
    amount_fen: int
    tendered_fen: int
    change_fen: int
    reference: str = ""
    attempt_id: int | None = None

    @property
    def is_credit(self) -> bool:
        """The credit of goods returned in an exchange (no money moved at this till)."""
        return self.reference.startswith(EXCHANGE_REF_PREFIX)

    def __post_init__(self) -> None:
        if self.kind not in TENDER_KINDS:
            raise SaleRuleError(f"unknown tender {self.kind!r}")
        for name in ("amount_fen", "tendered_fen", "change_fen"):
            value = getattr(self, name)
            if not _is_int(value) or not 0 <= value <= MAX_FEN:
                raise SaleRuleError(f"tender {name} must be whole fen from 0 to {MAX_FEN}")
        if self.tendered_fen - self.change_fen != self.amount_fen:
            raise SaleRuleError("tendered minus change must equal the amount")


@dataclass(frozen=True)
class SaleTotals:
    """The sums of a basket. ``payable_fen = gross_fen - discount_fen``; ``item_count`` counts a weighed line once."""

    gross_fen: int
    discount_fen: int
    points_redeemed: int
    payable_fen: int
    points_to_earn: int
    earn_explanation: str
    line_count: int
    item_count: int
    eligible_fen: int = 0
    tax_fen: int = 0
    rounding_fen: int = 0


@dataclass(frozen=True)
class SaleSnapshot:
    """An immutable picture of a sale for the UI, the receipt and storage (voided lines included)."""

    state: SaleState
    lines: tuple[SaleLine, ...]
    member: MemberRef | None
    totals: SaleTotals
    tenders: tuple[Tender, ...]
    total_shown: bool
    priced: PricedBasket | None = None
    sale_discount: ManualDiscount | None = None

    @property
    def active_lines(self) -> tuple[SaleLine, ...]:
        """The lines that count (not voided)."""
        return tuple(line for line in self.lines if not line.voided)


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _check_quantity(quantity: int, unit: str) -> None:
    limit = MAX_GRAMS if unit == UNIT_KG else MAX_EACH_QUANTITY
    what = "weight (grams)" if unit == UNIT_KG else "quantity"
    if not _is_int(quantity) or not 1 <= quantity <= limit:
        raise SaleRuleError(f"{what} must be a whole number from 1 to {limit}")


def _check_price(price_fen: int) -> None:
    if not _is_int(price_fen) or not 0 <= price_fen <= MAX_FEN:
        raise SaleRuleError(f"price must be whole fen from 0 to {MAX_FEN}")


@dataclass(frozen=True)
class SalePricing:
    """What prices a sale besides its lines: promotions and special prices, per-level member prices
    (code -> level -> fen), store time now, and the cash rounding (抹零) applied when a sale is paid in cash.
    """

    book: PriceBook = field(default_factory=PriceBook)
    level_prices: Mapping[str, Mapping[str, int]] = field(default_factory=lambda: MappingProxyType({}))
    now: Callable[[], datetime] = store_now
    cash_rounding: str = "none"


class Sale:
    """A basket being rung up and paid (mutable aggregate; :meth:`snapshot` gives the immutable view)."""

    def __init__(self, rules: LoyaltyRules, pricing: SalePricing | None = None) -> None:
        self._rules = rules
        self._pricing = pricing or SalePricing()
        self._state = SaleState.OPEN
        self._lines: list[SaleLine] = []
        self._member: MemberRef | None = None
        self._points_redeemed = 0
        self._tenders: list[Tender] = []
        self._total_shown = False
        self._sale_discount: ManualDiscount | None = None
        self._rounding = "none"
        self._priced_at: datetime | None = None   # fixed when payment starts: the total no longer moves
        self._frozen = False                      # rebuilt from a stored sale: keep its stored discounts
        self._cache: tuple[tuple[Any, ...], PricedBasket] | None = None
        self._stored_priced: PricedBasket | None = None
        # what the last reads computed, reused while nothing changed (a scan reads the sale several times):
        # the lines with their discounts (per line, so a new scan rebuilds only the lines whose share moved),
        # the totals and the snapshot; each is checked against what it was computed from
        self._line_memo: dict[int, tuple[SaleLine, tuple[int, int, tuple[DiscountLine, ...]], SaleLine]] = {}
        self._lwd_cache: tuple[PricedBasket, tuple[SaleLine, ...], tuple[SaleLine, ...]] | None = None
        self._totals_cache: tuple[tuple[Any, ...], SaleTotals] | None = None
        self._snap_cache: tuple[tuple[Any, ...], SaleSnapshot] | None = None

    # --- reading ------------------------------------------------------------------------

    @property
    def state(self) -> SaleState:
        """The current state."""
        return self._state

    @property
    def member(self) -> MemberRef | None:
        """The attached member, if any."""
        return self._member

    @property
    def rules(self) -> LoyaltyRules:
        """The loyalty rules this sale is computed with."""
        return self._rules

    def _active(self) -> list[SaleLine]:
        return [line for line in self._lines if not line.voided]

    def _price(self) -> PricedBasket | None:
        """The priced basket (cached until something changes); None for a rebuilt (frozen) sale."""
        if self._frozen:
            return None
        member_level = self._member.level if self._member is not None else None
        key = (tuple(self._lines), member_level, self._points_redeemed, self._sale_discount, self._rounding,
               self._priced_at)
        if self._cache is not None and self._cache[0] == key:
            return self._cache[1]
        at = self._priced_at or self._pricing.now()
        basket = []
        for line in self._active():
            item = PriceItem(line.code, line.name, line.unit_price_fen, line.unit, line.category, line.tax_rate_bp,
                             self._pricing.level_prices.get(line.code, {}) if not line.open_price else {},
                             line.points_excluded, None if line.open_price else line.member_price_fen)
            when = datetime.fromisoformat(line.price_at) if line.price_at else None
            basket.append(BasketLine(line.line_no, item, line.quantity,
                                     unit_price_fen=line.unit_price_fen if line.open_price else None,
                                     description=line.name if line.open_price else "", price_at=when,
                                     manual=line.manual))
        priced = price_basket(basket, self._pricing.book, at=at, member_level=member_level, rules=self._rules,
                              sale_discount=self._sale_discount, points_redeemed=self._points_redeemed,
                              rounding=self._rounding)
        self._cache = (key, priced)
        return priced

    def _lines_with_discount(self) -> tuple[SaleLine, ...]:
        priced = self._price()
        lines = tuple(self._lines)
        if priced is None:
            return lines
        cached = self._lwd_cache
        if cached is not None and cached[0] is priced and cached[1] == lines:
            return cached[2]
        by_no = {pl.line_no: pl for pl in priced.lines}
        memo = self._line_memo
        new_memo: dict[int, tuple[SaleLine, tuple[int, int, tuple[DiscountLine, ...]], SaleLine]] = {}
        out = []
        for line in lines:
            pl = by_no.get(line.line_no)
            share = (0, 0, ()) if pl is None else (line.amount_fen - pl.net_fen, pl.tax_fen, pl.discounts)
            kept = memo.get(line.line_no)
            if kept is not None and kept[0] is line and kept[1] == share:
                shown = kept[2]   # the same line with the same share as last time: no new object
            else:
                shown = replace(line, discount_fen=share[0], tax_fen=share[1], discounts=share[2])
            new_memo[line.line_no] = (line, share, shown)
            out.append(shown)
        result = tuple(out)
        self._line_memo = new_memo
        self._lwd_cache = (priced, lines, result)
        return result

    def totals(self) -> SaleTotals:
        """Gross, discount, payable, points to earn (with why), line and item counts, VAT and cash rounding."""
        all_lines = self._lines_with_discount()
        priced = self._price()
        key = (all_lines, priced, self._member, self._points_redeemed)
        cached = self._totals_cache
        if cached is not None and cached[0] == key:
            return cached[1]
        lines = [line for line in all_lines if not line.voided]
        gross = sum(line.amount_fen for line in lines)
        discount = sum(line.discount_fen for line in lines)
        eligible = sum(line.paid_fen for line in lines if not line.points_excluded)
        if self._member is not None:
            result = earn(eligible, self._member.level, self._rules)
            points, explanation = result.points, result.explanation
        else:
            points, explanation = 0, "no member: no points"
        items = sum(line.quantity if line.unit == UNIT_EACH else 1 for line in lines)
        rounding = priced.rounding_fen if priced is not None else sum(
            d.amount_fen for line in lines for d in line.discounts if d.kind == "rounding")
        totals = SaleTotals(gross, discount, self._points_redeemed, gross - discount, points, explanation,
                            len(lines), items, eligible, sum(line.tax_fen for line in lines), rounding)
        self._totals_cache = (key, totals)
        return totals

    def snapshot(self) -> SaleSnapshot:
        """The immutable view of the whole sale (the same object again while nothing changed)."""
        lines = self._lines_with_discount()
        totals = self.totals()
        priced = self._stored_priced if self._frozen else self._price()
        key = (self._state, lines, self._member, totals, tuple(self._tenders), self._total_shown, priced,
               self._sale_discount)
        cached = self._snap_cache
        if cached is not None and cached[0] == key:
            return cached[1]
        snap = SaleSnapshot(self._state, lines, self._member, totals, tuple(self._tenders), self._total_shown,
                            priced, self._sale_discount)
        self._snap_cache = (key, snap)
        return snap

    def redeem_option(self) -> RedeemOption:
        """What the attached member could redeem on this basket now (:class:`SaleRuleError` without a member)."""
        member = self._require_member()
        return redeem_options(member.points_balance, self._gross(), self._rules)

    # --- guards -------------------------------------------------------------------------

    def _require(self, action: str, *states: SaleState) -> None:
        if self._state not in states:
            raise SaleStateError(f"cannot {action}: the sale is {self._state.value.replace('_', ' ')}")

    def _require_member(self) -> MemberRef:
        if self._member is None:
            raise SaleRuleError("no member on this sale")
        return self._member

    def _line_index(self, line_no: int) -> int:
        for index, line in enumerate(self._lines):
            if line.line_no == line_no:
                if line.voided:
                    raise SaleRuleError(f"line {line_no} is voided")
                return index
        raise SaleRuleError(f"no line {line_no}")

    def _gross(self) -> int:
        return sum(line.amount_fen for line in self._active())

    def _commit_lines(self, new_lines: list[SaleLine]) -> None:
        """Adopt ``new_lines`` if the basket stays within limits; then re-check the redemption."""
        if sum(line.amount_fen for line in new_lines if not line.voided) > MAX_FEN:
            raise SaleRuleError("the basket total would be too large")
        self._lines = new_lines
        self._total_shown = False
        self._reclamp_redemption()

    def _reclamp_redemption(self) -> None:
        """After the basket changed, cut a redemption that no longer fits the cap down to the most allowed."""
        if not self._points_redeemed or self._member is None:
            return
        try:
            check_redeem(self._points_redeemed, self._member.points_balance, self._gross(), self._rules)
        except LoyaltyError:
            option = redeem_options(self._member.points_balance, self._gross(), self._rules)
            logger.info("points redemption cut from %d to %d after a basket change",
                        self._points_redeemed, option.max_points)
            self._points_redeemed = option.max_points

    def _make_line(self, *, code: str, name: str, name_en: str, quantity: int, unit: str, price: int,
                   open_price: bool, points_excluded: bool) -> SaleLine:
        try:
            amount = line_amount(price, quantity, unit)
        except MoneyError as exc:
            raise SaleRuleError(str(exc)) from exc
        line_no = max((line.line_no for line in self._lines), default=0) + 1
        return SaleLine(line_no, code, name, quantity, unit, price, amount, open_price, points_excluded,
                        False, "", 0, name_en)

    # --- basket -------------------------------------------------------------------------

    def add_item(self, item: CatalogueItem, quantity: int = 1, *, unit_price_fen: int | None = None) -> SaleLine:
        """Add ``quantity`` of ``item`` (grams for a kg item); ``unit_price_fen`` overrides the catalogue price
        (a price-embedded code). The same "each" item at the same price scanned again adds to its line.
        """
        self._require("add an item", SaleState.OPEN)
        _check_quantity(quantity, item.unit)
        price = item.price_fen if unit_price_fen is None else unit_price_fen
        _check_price(price)
        if item.unit == UNIT_EACH:
            for index, line in enumerate(self._lines):
                if (not line.voided and not line.open_price and line.code == item.code
                        and line.unit_price_fen == price and line.unit == UNIT_EACH):
                    return self._set_quantity_at(index, line.quantity + quantity)
        excluded = item.points_excluded or item.category in self._rules.excluded_categories
        line = self._make_line(code=item.code, name=item.name_zh or item.name_en, name_en=item.name_en,
                               quantity=quantity, unit=item.unit, price=price, open_price=False,
                               points_excluded=excluded)
        line = replace(line, category=item.category, tax_rate_bp=item.tax_rate_bp,
                       member_price_fen=item.member_price_fen if unit_price_fen is None else None,
                       price_at=self._pricing.now().isoformat(timespec="seconds"))
        self._commit_lines([*self._lines, line])
        return line

    def add_open_line(self, name: str, price_fen: int, quantity: int = 1, *,
                      points_excluded: bool = False, tax_rate_bp: int = 1300) -> SaleLine:
        """Add a keyed open-price line (price per piece, more than zero); ``name`` is its short description."""
        self._require("add an open-price line", SaleState.OPEN)
        if not isinstance(name, str) or not name.strip():
            raise SaleRuleError("an open-price line needs a name")
        _check_price(price_fen)
        if price_fen == 0:
            raise SaleRuleError("an open-price line needs a price above zero")
        _check_quantity(quantity, UNIT_EACH)
        line = self._make_line(code="", name=name.strip(), name_en="", quantity=quantity, unit=UNIT_EACH,
                               price=price_fen, open_price=True, points_excluded=points_excluded)
        line = replace(line, tax_rate_bp=tax_rate_bp, price_at=self._pricing.now().isoformat(timespec="seconds"))
        self._commit_lines([*self._lines, line])
        return line

    def override_price(self, line_no: int, price_fen: int, description: str | None = None) -> SaleLine:
        """Change the price (and optionally the description) of an open-price line."""
        self._require("change a price", SaleState.OPEN)
        index = self._line_index(line_no)
        line = self._lines[index]
        if not line.open_price:
            raise SaleRuleError("only an open-price line takes a keyed price")
        _check_price(price_fen)
        if price_fen == 0:
            raise SaleRuleError("an open-price line needs a price above zero")
        name = line.name
        if description is not None:
            if not isinstance(description, str) or not description.strip():
                raise SaleRuleError("an open-price line needs a description")
            name = description.strip()
        try:
            amount = line_amount(price_fen, line.quantity, line.unit)
        except MoneyError as exc:
            raise SaleRuleError(str(exc)) from exc
        new_line = replace(line, unit_price_fen=price_fen, amount_fen=amount, name=name)
        self._commit_lines([*self._lines[:index], new_line, *self._lines[index + 1:]])
        return new_line

    def discount_line(self, line_no: int, discount: ManualDiscount | None) -> SaleLine:
        """Put a manual discount on a line (None removes it); the cap per role is the till's business."""
        self._require("discount a line", SaleState.OPEN)
        index = self._line_index(line_no)
        new_line = replace(self._lines[index], manual=discount)
        self._commit_lines([*self._lines[:index], new_line, *self._lines[index + 1:]])
        return new_line

    def discount_sale(self, discount: ManualDiscount | None) -> None:
        """Put a manual discount on the whole sale (None removes it), spread over the lines by their nets."""
        self._require("discount the sale", SaleState.OPEN)
        self._sale_discount = discount
        self._total_shown = False

    @property
    def sale_discount(self) -> ManualDiscount | None:
        """The manual discount on the whole sale, if any."""
        return self._sale_discount

    def _set_quantity_at(self, index: int, quantity: int) -> SaleLine:
        line = self._lines[index]
        _check_quantity(quantity, line.unit)
        try:
            amount = line_amount(line.unit_price_fen, quantity, line.unit)
        except MoneyError as exc:
            raise SaleRuleError(str(exc)) from exc
        new_line = replace(line, quantity=quantity, amount_fen=amount)
        self._commit_lines([*self._lines[:index], new_line, *self._lines[index + 1:]])
        return new_line

    def set_quantity(self, line_no: int, quantity: int) -> SaleLine:
        """Change a line's quantity (pieces or grams); to remove a line, void it."""
        self._require("change a quantity", SaleState.OPEN)
        return self._set_quantity_at(self._line_index(line_no), quantity)

    def void_line(self, line_no: int, reason: str, *, approved_by: int | None = None) -> SaleLine:
        """Void a line; it stays on the sale, flagged, with the reason (required) and the approver, if any."""
        self._require("void a line", SaleState.OPEN)
        if not isinstance(reason, str) or not reason.strip():
            raise SaleRuleError("voiding a line needs a reason")
        index = self._line_index(line_no)
        voided = replace(self._lines[index], voided=True, void_reason=reason.strip(), voided_by=approved_by)
        self._commit_lines([*self._lines[:index], voided, *self._lines[index + 1:]])
        return voided

    # --- member and points --------------------------------------------------------------

    def attach_member(self, member: MemberRef) -> None:
        """Attach (or replace) the member; a different card drops any points redemption."""
        self._require("attach a member", SaleState.OPEN)
        if self._member is not None and self._member.card_no != member.card_no:
            self._points_redeemed = 0
        self._member = member
        self._total_shown = False
        self._reclamp_redemption()

    def detach_member(self) -> None:
        """Remove the member and any points redemption."""
        self._require("remove the member", SaleState.OPEN)
        self._member = None
        self._points_redeemed = 0
        self._total_shown = False

    def redeem_points(self, points: int) -> int:
        """Redeem ``points`` as a discount (replacing an earlier redemption); returns the discount in fen."""
        self._require("redeem points", SaleState.OPEN)
        member = self._require_member()
        fen = check_redeem(points, member.points_balance, self._gross(), self._rules)
        self._points_redeemed = points
        self._total_shown = False
        return fen

    def clear_redemption(self) -> None:
        """Drop the points redemption."""
        self._require("clear the points redemption", SaleState.OPEN)
        self._points_redeemed = 0
        self._total_shown = False

    # --- payment ------------------------------------------------------------------------

    def mark_total_shown(self) -> None:
        """Record that the total was shown to the customer (reset by any basket change)."""
        self._require("show the total", SaleState.OPEN, SaleState.AWAITING_PAYMENT)
        self._total_shown = True

    def begin_payment(self) -> SaleTotals:
        """OPEN -> AWAITING_PAYMENT. Refuses an empty basket, and nothing to pay unless points paid it all."""
        self._require("take payment", SaleState.OPEN)
        self._priced_at = self._pricing.now()
        totals = self.totals()
        if totals.line_count == 0:
            self._priced_at = None
            raise SaleRuleError("the basket is empty")
        if totals.payable_fen == 0 and totals.points_redeemed == 0 and totals.discount_fen == 0:
            self._priced_at = None
            raise SaleRuleError("there is nothing to pay")
        self._state = SaleState.AWAITING_PAYMENT
        return totals

    @property
    def parts(self) -> tuple[Tender, ...]:
        """The tenders paid so far on a sale awaiting payment (a split tender), oldest first."""
        return tuple(self._tenders) if self._state is SaleState.AWAITING_PAYMENT else ()

    def remaining_fen(self) -> int:
        """What is still to pay: the payable less the parts paid so far."""
        return self.totals().payable_fen - sum(t.amount_fen for t in self.parts)

    def add_part(self, tender: Tender) -> SaleSnapshot:
        """Record a part of a split tender: more than zero and less than what is left (the sale stays awaiting
        payment; the last tender, through :meth:`mark_paid`, covers the rest). A part gives no change."""
        self._require("take a part payment", SaleState.AWAITING_PAYMENT)
        if tender.change_fen:
            raise SaleRuleError("a part payment gives no change")
        left = self.remaining_fen()
        if not 0 < tender.amount_fen < left:
            raise SaleRuleError(f"a part payment must be more than 0 and less than the {left} fen left to pay")
        if not self._frozen:
            self._rounding = "none"   # a split sale is not rounded; its total no longer moves
        self._tenders.append(tender)
        return self.snapshot()

    def drop_part(self, tender: Tender) -> SaleSnapshot:
        """Forget a part that was given back to the customer (cash handed back, Alipay part refunded)."""
        self._require("give a part payment back", SaleState.AWAITING_PAYMENT)
        if tender not in self._tenders:
            raise SaleRuleError("that part payment is not on this sale")
        self._tenders.remove(tender)
        return self.snapshot()

    def cancel_payment(self) -> None:
        """AWAITING_PAYMENT -> OPEN (the basket can be changed again); refused while a part is paid."""
        self._require("cancel the payment", SaleState.AWAITING_PAYMENT)
        if self._tenders:
            raise SaleRuleError("part of this sale is paid: take the rest, or give the part payments back first")
        self._state = SaleState.OPEN
        self._priced_at = None
        if not self._frozen:
            self._rounding = "none"

    def pay_cash(self, tendered_fen: int) -> Tender:
        """The cash tender for ``tendered_fen`` handed over, with the change (not yet recorded: see mark_paid)."""
        self._require("take cash", SaleState.AWAITING_PAYMENT)
        if not self._frozen and not self._tenders:
            self._rounding = self._pricing.cash_rounding
        payable = self.remaining_fen()
        if not _is_int(tendered_fen) or not 0 <= tendered_fen <= MAX_FEN:
            raise SaleRuleError(f"cash tendered must be whole fen from 0 to {MAX_FEN}")
        if tendered_fen < payable:
            raise SaleRuleError(f"cash tendered is {payable - tendered_fen} fen short of the amount due")
        return Tender("cash", payable, tendered_fen, tendered_fen - payable)

    def cash_part(self, tendered_fen: int) -> Tender:
        """A cash part of a split tender: ``tendered_fen`` is less than what is left (no change)."""
        self._require("take cash", SaleState.AWAITING_PAYMENT)
        if not self._frozen:
            self._rounding = "none"
        left = self.remaining_fen()
        if not _is_int(tendered_fen) or not 0 < tendered_fen < left:
            raise SaleRuleError(f"a cash part must be more than 0 and less than the {left} fen left to pay")
        return Tender("cash", tendered_fen, tendered_fen, 0)

    def pay_alipay(self, trade_no: str, *, attempt_id: int | None = None, amount_fen: int | None = None) -> Tender:
        """The Alipay tender for what is left (or ``amount_fen`` of it, a part), ``trade_no`` being Alipay's trade
        number."""
        self._require("take an Alipay payment", SaleState.AWAITING_PAYMENT)
        if not isinstance(trade_no, str) or not trade_no.strip():
            raise SaleRuleError("an Alipay tender needs the trade number")
        if not self._frozen:
            self._rounding = "none"
        left = self.remaining_fen()
        amount = left if amount_fen is None else amount_fen
        if left == 0:
            raise SaleRuleError("nothing to pay by Alipay: take it as cash 0")
        if not _is_int(amount) or not 0 < amount <= left:
            raise SaleRuleError(f"an Alipay payment must be more than 0 and at most the {left} fen left to pay")
        return Tender("alipay", amount, amount, 0, trade_no.strip(), attempt_id)

    def mark_paid(self, tender: Tender) -> SaleSnapshot:
        """AWAITING_PAYMENT -> PAID with ``tender`` (which must cover exactly what is left to pay)."""
        self._require("complete the sale", SaleState.AWAITING_PAYMENT)
        if tender.amount_fen != self.remaining_fen():
            raise SaleRuleError("the tender does not match the amount due")
        self._tenders.append(tender)
        self._state = SaleState.PAID
        return self.snapshot()

    def void_sale(self) -> None:
        """Abandon the sale before payment (OPEN or AWAITING_PAYMENT -> VOIDED); refused while a part is paid."""
        self._require("void the sale", SaleState.OPEN, SaleState.AWAITING_PAYMENT)
        if self._state is SaleState.AWAITING_PAYMENT and self._tenders:
            raise SaleRuleError("part of this sale is paid: give the part payments back before voiding it")
        self._state = SaleState.VOIDED

    def mark_refunded(self, *, fully: bool) -> None:
        """PAID or PARTLY_REFUNDED -> REFUNDED (``fully``) or PARTLY_REFUNDED."""
        self._require("refund", SaleState.PAID, SaleState.PARTLY_REFUNDED)
        self._state = SaleState.REFUNDED if fully else SaleState.PARTLY_REFUNDED

    @classmethod
    def from_snapshot(cls, snapshot: SaleSnapshot, rules: LoyaltyRules, pricing: SalePricing | None = None) -> Sale:
        """Rebuild a sale from a stored snapshot. An open basket is priced again (with ``pricing``); a sale whose
        total was taken keeps the discounts stored on its lines."""
        sale = cls(rules, pricing)
        sale._member = snapshot.member
        sale._points_redeemed = snapshot.totals.points_redeemed
        sale._tenders = list(snapshot.tenders)
        sale._total_shown = snapshot.total_shown
        sale._state = snapshot.state
        sale._sale_discount = snapshot.sale_discount
        if snapshot.state is SaleState.OPEN:  # a parked or restored basket: priced again, now
            sale._lines = [replace(line, discount_fen=0, tax_fen=0, discounts=()) for line in snapshot.lines]
        else:  # a sale whose total was taken: it keeps exactly the discounts it was paid with
            sale._lines = list(snapshot.lines)
            sale._frozen = True
            sale._stored_priced = snapshot.priced
        return sale
