"""The sale aggregate: basket lines, member, points redemption, totals, tenders and states.

States and the moves between them (anything else raises :class:`SaleStateError`)::

    OPEN --begin_payment--> AWAITING_PAYMENT --mark_paid--> PAID --mark_refunded--> PARTLY_REFUNDED / REFUNDED
      ^                        |                                                   (PARTLY_REFUNDED -> either)
      +----cancel_payment------+
    OPEN / AWAITING_PAYMENT --void_sale--> VOIDED

The basket changes only while OPEN. A sale is paid by exactly one tender (Alipay or cash).
Points discount: ``points_to_fen(points_redeemed)``, spread over the non-voided lines in proportion
to their amounts with :func:`money.allocate` (points-excluded lines take their share too). Points are
earned only on the *eligible paid* amount: each line's amount minus its discount share, summed over
lines that are not points-excluded; never on the discount.
"""

from __future__ import annotations

import enum
import logging
from dataclasses import dataclass, replace

from .catalogue import MAX_EACH_QUANTITY, MAX_GRAMS, UNIT_EACH, UNIT_KG, CatalogueItem, line_amount
from .codes import mask_code
from .errors import LoyaltyError, MoneyError, SaleRuleError, SaleStateError
from .loyalty import LoyaltyRules, RedeemOption, check_redeem, earn, points_to_fen, redeem_options
from .money import MAX_FEN, allocate
from .refunds import RefundAllocation, RefundLine, refund_allocation

__all__ = [
    "SaleState",
    "MemberRef",
    "SaleLine",
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

    Voided lines stay in the basket, flagged, and count for nothing. ``discount_fen`` is this line's
    share of the points discount (0 on voided lines).
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

    @property
    def paid_fen(self) -> int:
        """What the customer paid for this line: amount less its discount share (0 if voided)."""
        return 0 if self.voided else self.amount_fen - self.discount_fen


@dataclass(frozen=True)
class Tender:
    """One payment: ``amount_fen`` applied to the sale, ``tendered_fen`` handed over, ``change_fen`` given back.

    For Alipay, tendered == amount, change 0 and ``reference`` is the Alipay ``trade_no``.
    """

    kind: str
    amount_fen: int
    tendered_fen: int
    change_fen: int
    reference: str = ""

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


@dataclass(frozen=True)
class SaleSnapshot:
    """An immutable picture of a sale for the UI, the receipt and storage (voided lines included)."""

    state: SaleState
    lines: tuple[SaleLine, ...]
    member: MemberRef | None
    totals: SaleTotals
    tenders: tuple[Tender, ...]
    total_shown: bool

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


class Sale:
    """A basket being rung up and paid (mutable aggregate; :meth:`snapshot` gives the immutable view)."""

    def __init__(self, rules: LoyaltyRules) -> None:
        self._rules = rules
        self._state = SaleState.OPEN
        self._lines: list[SaleLine] = []
        self._member: MemberRef | None = None
        self._points_redeemed = 0
        self._tenders: list[Tender] = []
        self._total_shown = False

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

    def _discounts(self) -> dict[int, int]:
        active = self._active()
        fen = points_to_fen(self._points_redeemed, self._rules)
        shares = allocate(fen, [line.amount_fen for line in active]) if fen else [0] * len(active)
        return {line.line_no: share for line, share in zip(active, shares, strict=True)}

    def _lines_with_discount(self) -> tuple[SaleLine, ...]:
        discounts = self._discounts()
        return tuple(replace(line, discount_fen=discounts.get(line.line_no, 0)) for line in self._lines)

    def totals(self) -> SaleTotals:
        """Gross, discount, payable, points to earn (with why), line and item counts."""
        lines = [line for line in self._lines_with_discount() if not line.voided]
        gross = sum(line.amount_fen for line in lines)
        discount = sum(line.discount_fen for line in lines)
        eligible = sum(line.paid_fen for line in lines if not line.points_excluded)
        if self._member is not None:
            result = earn(eligible, self._member.level, self._rules)
            points, explanation = result.points, result.explanation
        else:
            points, explanation = 0, "no member: no points"
        items = sum(line.quantity if line.unit == UNIT_EACH else 1 for line in lines)
        return SaleTotals(gross, discount, self._points_redeemed, gross - discount, points, explanation,
                          len(lines), items, eligible)

    def snapshot(self) -> SaleSnapshot:
        """The immutable view of the whole sale."""
        return SaleSnapshot(self._state, self._lines_with_discount(), self._member, self.totals(),
                            tuple(self._tenders), self._total_shown)

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
        self._commit_lines([*self._lines, line])
        return line

    def add_open_line(self, name: str, price_fen: int, quantity: int = 1, *,
                      points_excluded: bool = False) -> SaleLine:
        """Add a keyed open-price line (price per piece, more than zero)."""
        self._require("add an open-price line", SaleState.OPEN)
        if not isinstance(name, str) or not name.strip():
            raise SaleRuleError("an open-price line needs a name")
        _check_price(price_fen)
        if price_fen == 0:
            raise SaleRuleError("an open-price line needs a price above zero")
        _check_quantity(quantity, UNIT_EACH)
        line = self._make_line(code="", name=name.strip(), name_en="", quantity=quantity, unit=UNIT_EACH,
                               price=price_fen, open_price=True, points_excluded=points_excluded)
        self._commit_lines([*self._lines, line])
        return line

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
        totals = self.totals()
        if totals.line_count == 0:
            raise SaleRuleError("the basket is empty")
        if totals.payable_fen == 0 and totals.points_redeemed == 0:
            raise SaleRuleError("there is nothing to pay")
        self._state = SaleState.AWAITING_PAYMENT
        return totals

    def cancel_payment(self) -> None:
        """AWAITING_PAYMENT -> OPEN (the basket can be changed again)."""
        self._require("cancel the payment", SaleState.AWAITING_PAYMENT)
        self._state = SaleState.OPEN

    def pay_cash(self, tendered_fen: int) -> Tender:
        """The cash tender for ``tendered_fen`` handed over, with the change (not yet recorded: see mark_paid)."""
        self._require("take cash", SaleState.AWAITING_PAYMENT)
        payable = self.totals().payable_fen
        if not _is_int(tendered_fen) or not 0 <= tendered_fen <= MAX_FEN:
            raise SaleRuleError(f"cash tendered must be whole fen from 0 to {MAX_FEN}")
        if tendered_fen < payable:
            raise SaleRuleError(f"cash tendered is {payable - tendered_fen} fen short of the amount due")
        return Tender("cash", payable, tendered_fen, tendered_fen - payable)

    def pay_alipay(self, trade_no: str) -> Tender:
        """The Alipay tender for the whole amount, ``trade_no`` being Alipay's trade number."""
        self._require("take an Alipay payment", SaleState.AWAITING_PAYMENT)
        if not isinstance(trade_no, str) or not trade_no.strip():
            raise SaleRuleError("an Alipay tender needs the trade number")
        payable = self.totals().payable_fen
        if payable == 0:
            raise SaleRuleError("nothing to pay by Alipay: take it as cash 0")
        return Tender("alipay", payable, payable, 0, trade_no.strip())

    def mark_paid(self, tender: Tender) -> SaleSnapshot:
        """AWAITING_PAYMENT -> PAID with ``tender`` (which must cover exactly the amount due)."""
        self._require("complete the sale", SaleState.AWAITING_PAYMENT)
        if tender.amount_fen != self.totals().payable_fen:
            raise SaleRuleError("the tender does not match the amount due")
        self._tenders.append(tender)
        self._state = SaleState.PAID
        return self.snapshot()

    def void_sale(self) -> None:
        """Abandon the sale before payment (OPEN or AWAITING_PAYMENT -> VOIDED)."""
        self._require("void the sale", SaleState.OPEN, SaleState.AWAITING_PAYMENT)
        self._state = SaleState.VOIDED

    def mark_refunded(self, *, fully: bool) -> None:
        """PAID or PARTLY_REFUNDED -> REFUNDED (``fully``) or PARTLY_REFUNDED."""
        self._require("refund", SaleState.PAID, SaleState.PARTLY_REFUNDED)
        self._state = SaleState.REFUNDED if fully else SaleState.PARTLY_REFUNDED

    @classmethod
    def from_snapshot(cls, snapshot: SaleSnapshot, rules: LoyaltyRules) -> Sale:
        """Rebuild a sale from a stored snapshot (totals are recomputed with ``rules``)."""
        sale = cls(rules)
        sale._lines = [replace(line, discount_fen=0) for line in snapshot.lines]
        sale._member = snapshot.member
        sale._points_redeemed = snapshot.totals.points_redeemed
        sale._tenders = list(snapshot.tenders)
        sale._total_shown = snapshot.total_shown
        sale._state = snapshot.state
        return sale
