"""Checkout: ring up a basket and commit a paid sale in ONE transaction (sale, lines, tender, points, outbox, audit).

The commit is the only writer of points for a sale: ledger entries (redeem, earn) and the outbox rows that
sync the card (consume.sync + card.update, bodies fixed here) are written with the sale or not at all.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import weakref
from collections.abc import Callable, Mapping
from typing import Any, Protocol

from pos_app.domain.catalogue import UNIT_KG, CatalogueItem
from pos_app.domain.codes import (
    DEFAULT_RECEIPT_PREFIX,
    CodeKind,
    ScanCode,
    classify,
    make_receipt_code,
    mask_code,
)
from pos_app.domain.errors import DomainError
from pos_app.domain.exchange import ExchangePlan
from pos_app.domain.held import basket_to_json
from pos_app.domain.loyalty import LoyaltyRules
from pos_app.domain.money import format_ui
from pos_app.domain.sale import (
    MemberRef,
    Sale,
    SaleLine,
    SalePricing,
    SaleSnapshot,
    SaleState,
    SaleTotals,
    Tender,
)

from . import receipts
from .errors import CheckoutError, UnknownProduct
from .points_hold import PointsAsk, PointsGate, PointsHold
from .ports.card_events import CardRequests, CardTrade, CardUpdate, OutboxRequest
from .ports.clock import Clock, IdSource
from .ports.payments import PaymentAttempt
from .ports.uow import UnitOfWork

__all__ = [
    "CheckoutConfig",
    "CommittedSale",
    "CheckoutService",
    "snapshot_to_basket",
    "basket_to_sale",
]

logger = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True)
class CheckoutConfig:
    """Who and where this terminal is, and the loyalty rules its sales use."""

    store_id: str = ""
    terminal_id: str = "T1"
    terminal_no: int = 1
    receipt_prefix: str = DEFAULT_RECEIPT_PREFIX
    store_name: str = ""
    loyalty: LoyaltyRules = dataclasses.field(default_factory=LoyaltyRules)
    language: str = "zh"
    member_pattern: str = r"^8800\d{12}$"
    pricing: SalePricing | None = None   # promotions, special and level prices, cash rounding (None: none)


@dataclasses.dataclass(frozen=True)
class CommittedSale:
    """A sale as committed: what the UI shows after payment and what the receipt prints."""

    sale_id: int
    receipt_no: str
    snapshot: SaleSnapshot
    points_earned: int
    points_balance: int | None
    change_fen: int
    trade_no: str
    committed_at: str = ""
    receipt_hash: str = ""
    cashier_name: str = ""
    exchange: Any = None   # services.exchange.ExchangeDone when the sale was an exchange (goods came back)


class ExchangeWriter(Protocol):
    """Records the return of an exchange inside the new sale's commit (pos_app/services/exchange.py)."""

    def plan(self, receipt_no: str, lines: dict[int, int], *, approved_by: int | None,
             reason: str = "exchange") -> ExchangePlan: ...

    def write(self, uow: UnitOfWork, plan: ExchangePlan, *, new_sale_id: int, new_receipt_no: str,
              new_total_fen: int, shift_id: int, cashier_id: int, cashier_name: str, now: Any) -> Any: ...

    def settle(self, done: Any, *, cashier_id: int, cashier_name: str = "") -> Any: ...


def snapshot_to_basket(snapshot: SaleSnapshot, *, started_at: str = "",
                       exchange: ExchangePlan | None = None) -> dict[str, Any]:
    """A JSON-ready copy of a sale (stored with a payment attempt, to complete the sale after a crash).

    ``tenders`` are the parts of a split tender already paid (cash handed over, Alipay parts confirmed)."""
    member = snapshot.member
    parts = snapshot.tenders if snapshot.state is SaleState.AWAITING_PAYMENT else ()
    basket: dict[str, Any] = {
        "version": 1,
        "started_at": started_at,
        "lines": [line.to_dict() for line in snapshot.lines],
        "member": dataclasses.asdict(member) if member is not None else None,
        "points_redeemed": snapshot.totals.points_redeemed,
        "payable_fen": snapshot.totals.payable_fen,
        "tenders": [dataclasses.asdict(t) for t in parts],
    }
    if exchange is not None:
        basket["exchange"] = exchange.to_json()
    return basket


def basket_to_sale(basket: Mapping[str, Any], rules: LoyaltyRules) -> Sale:
    """Rebuild a sale awaiting payment (with the parts already paid) from :func:`snapshot_to_basket` output."""
    lines = tuple(SaleLine(**line) for line in basket.get("lines", []))
    member_data = basket.get("member")
    member = MemberRef(**member_data) if isinstance(member_data, Mapping) else None
    totals = SaleTotals(0, 0, int(basket.get("points_redeemed", 0)), 0, 0, "", 0, 0)
    parts = tuple(Tender(**t) for t in basket.get("tenders", []) if isinstance(t, Mapping))
    snap = SaleSnapshot(SaleState.AWAITING_PAYMENT, lines, member, totals, parts, True)
    return Sale.from_snapshot(snap, rules)


class CheckoutService:
    """Baskets and sale commits for one terminal.

    Args:
        uow_factory: a new unit of work on this thread's connection for each call.
        clock, ids: time and identifiers (event ids of outbox rows).
        config: terminal identity and loyalty rules.
    """

    def __init__(self, uow_factory: Callable[[], UnitOfWork], clock: Clock, ids: IdSource,
                 config: CheckoutConfig, *, card_requests: CardRequests) -> None:
        self._uow = uow_factory
        self._card_requests = card_requests
        self._clock = clock
        self._ids = ids
        self.config = config
        self._started: weakref.WeakKeyDictionary[Sale, str] = weakref.WeakKeyDictionary()
        self._exchanges: weakref.WeakKeyDictionary[Sale, ExchangePlan] = weakref.WeakKeyDictionary()
        self.exchange_writer: ExchangeWriter | None = None   # set by the composition root (exchanges)
        #: new pricing when the stored promotions changed (PromotionsService.refresh), asked when a sale starts
        self.pricing_refresh: Callable[[], SalePricing | None] | None = None
        # store mode (issue 13): points are held at the store before a sale that redeems them is paid
        self.points_gate: PointsGate | None = None
        self._holds: weakref.WeakKeyDictionary[Sale, PointsHold] = weakref.WeakKeyDictionary()

    # --- basket -------------------------------------------------------------------------

    def new_sale(self) -> Sale:
        """An empty sale with the terminal's loyalty rules, priced with the promotions stored now."""
        refresh = self.pricing_refresh
        if refresh is not None:
            pricing = refresh()
            if pricing is not None:
                self.config = dataclasses.replace(self.config, pricing=pricing)
        sale = Sale(self.config.loyalty, self.config.pricing)
        self._started[sale] = self._clock.now().isoformat()
        return sale

    def basket_of(self, sale: Sale) -> dict[str, Any]:
        """The JSON basket to store with a payment attempt (see :meth:`PaymentService.begin`)."""
        basket = snapshot_to_basket(sale.snapshot(), started_at=self._started.get(sale, ""),
                                    exchange=self._exchanges.get(sale))
        hold = self._holds.get(sale)
        if hold is not None:
            basket["points_hold"] = hold.entry_id
        return basket

    def attach_exchange(self, sale: Sale, plan: ExchangePlan | None) -> None:
        """Make ``sale`` the new side of an exchange (None: no longer); its commit records the return."""
        if plan is None:
            self._exchanges.pop(sale, None)
            return
        if self.exchange_writer is None:
            raise CheckoutError("exchanges are not available on this terminal")
        self._exchanges[sale] = plan

    def exchange_of(self, sale: Sale) -> ExchangePlan | None:
        """The exchange ``sale`` is the new side of, if any."""
        return self._exchanges.get(sale)

    # --- points held at the store (store mode) ---------------------------------------------

    def hold_points(self, sale: Sale) -> PointsHold | None:
        """Before a sale that redeems points is paid: hold them at the store (store mode; no-op otherwise).
        Raises RedemptionRefused (a CheckoutError) when the store or the offline cap does not allow them.
        Idempotent: a hold for the same member and points is kept; a changed redemption is held anew.
        Blocks for the store's round trip when a hold is needed: the GUI asks with :meth:`points_to_ask`,
        :meth:`ask_points` (a worker thread) and :meth:`keep_points` first, so that this finds the hold."""
        ask = self.points_to_ask(sale)
        if ask is None:
            return self._holds.get(sale)
        hold = self.ask_points(ask)
        self.keep_points(sale, ask, hold)
        return hold

    def points_to_ask(self, sale: Sale) -> PointsAsk | None:
        """What the store must be asked to hold before ``sale`` is paid (None: no gate, no points, or held
        already). A hold for other points or another member is given back here."""
        gate = self.points_gate
        if gate is None:
            return None
        snap = sale.snapshot()
        points = snap.totals.points_redeemed if snap.member is not None else 0
        old = self._holds.get(sale)
        if old is not None:
            if snap.member is not None and old.card_no == snap.member.card_no and old.points == points:
                return None
            del self._holds[sale]
            gate.release(old)
        if not points or snap.member is None:
            return None
        return PointsAsk(snap.member.card_no, points)

    def ask_points(self, ask: PointsAsk, *, approved_by: int | None = None) -> PointsHold:
        """Ask the store (or the offline rules) to hold ``ask`` — any thread: it reads no sale. Raises
        RedemptionRefused / OfflineRedeemNeedsApproval (then ask again with the supervisor's ``approved_by``)."""
        gate = self.points_gate
        if gate is None:
            raise CheckoutError("points are not held at a store on this terminal")
        return gate.hold(ask.card_no, ask.points, approved_by=approved_by)

    def keep_points(self, sale: Sale, ask: PointsAsk, hold: PointsHold) -> bool:
        """Put the answer to ``ask`` on ``sale`` if the sale still redeems exactly that and holds nothing;
        otherwise (the sale changed or was given up while the store was asked) give the hold back. True if kept."""
        snap = sale.snapshot()
        wanted = (snap.member is not None and snap.member.card_no == ask.card_no == hold.card_no
                  and snap.totals.points_redeemed == ask.points == hold.points
                  and sale.state is not SaleState.PAID and sale not in self._holds)
        if wanted:
            self._holds[sale] = hold
            return True
        self.give_back(hold)
        return False

    def give_back(self, hold: PointsHold) -> None:
        """A hold that no sale carries (its sale changed or was given up while the store was asked)."""
        if self.points_gate is not None:
            logger.info("points hold of %d points given back: its sale changed while the store was asked",
                        hold.points)
            self.points_gate.release(hold)

    def release_points(self, sale: Sale) -> None:
        """The sale was given up or went back to the basket: release its hold (if any)."""
        hold = self._holds.pop(sale, None)
        if hold is not None and self.points_gate is not None:
            self.points_gate.release(hold)

    def find_product(self, code: str | ScanCode) -> CatalogueItem | None:
        """The catalogue item for a product code (EAN/UPC as scanned, or an in-store weight/price code)."""
        scan = code if isinstance(code, ScanCode) else classify(code, receipt_prefix=self.config.receipt_prefix,
                                                                 member_pattern=self.config.member_pattern)
        keys = [scan.item_code] if scan.item_code else []
        if scan.text and scan.text not in keys:
            keys.append(scan.text)
        with self._uow().read() as uow:
            for key in keys:
                item = uow.catalogue.get(key)
                if item is not None:
                    return item  # type: ignore[no-any-return]
        return None

    def add_scan(self, sale: Sale, scan: ScanCode) -> SaleLine:
        """Add one scanned product; :class:`UnknownProduct` if it is not in the catalogue,
        :class:`CheckoutError` (cashier message) if the basket rules refuse it."""
        if scan.kind not in (CodeKind.PRODUCT, CodeKind.WEIGHED_PRODUCT):
            raise CheckoutError(scan.reason or "this is not a product code")
        item = self.find_product(scan)
        if item is None:
            raise UnknownProduct(scan.item_code or scan.text)
        try:
            if scan.kind == CodeKind.WEIGHED_PRODUCT and scan.weight_g is not None:
                return sale.add_item(item, scan.weight_g)
            if scan.price_fen is not None:
                if item.unit == UNIT_KG:
                    return sale.add_open_line(item.display_name(self.config.language), scan.price_fen,
                                              points_excluded=item.points_excluded)
                return sale.add_item(item, 1, unit_price_fen=scan.price_fen)
            if item.unit == UNIT_KG:
                raise CheckoutError(f"{item.display_name(self.config.language)} is sold by weight: weigh it")
            return sale.add_item(item, 1)
        except DomainError as exc:
            raise CheckoutError(str(exc)) from exc

    def search_catalogue(self, text: str, limit: int = 50) -> list[CatalogueItem]:
        """Items whose code starts with ``text`` or whose name contains it."""
        with self._uow().read() as uow:
            return list(uow.catalogue.search(text, limit))

    # --- commit -------------------------------------------------------------------------

    def commit_cash(self, sale: Sale, tendered_fen: int, *, shift_id: int, cashier_id: int,
                    cashier_name: str) -> CommittedSale:
        """Take cash and commit the sale in one transaction; the sale is PAID only if the commit succeeded."""
        try:
            if sale.state == SaleState.OPEN:
                sale.begin_payment()
            tender = sale.pay_cash(tendered_fen)
        except DomainError as exc:
            raise CheckoutError(str(exc)) from exc
        return self._commit(sale, tender, shift_id=shift_id, cashier_id=cashier_id, cashier_name=cashier_name)

    def commit_credit(self, sale: Sale, tender: Tender, *, shift_id: int, cashier_id: int,
                      cashier_name: str) -> CommittedSale:
        """Commit an exchange paid whole by the credit of its returned goods (``tender`` is that credit)."""
        if not tender.is_credit or self._exchanges.get(sale) is None:
            raise CheckoutError("only an exchange is paid by the credit of returned goods")
        return self._commit(sale, tender, shift_id=shift_id, cashier_id=cashier_id, cashier_name=cashier_name)

    def commit_alipay(self, sale: Sale, attempt: PaymentAttempt, *, shift_id: int, cashier_id: int,
                      cashier_name: str) -> CommittedSale:
        """Commit a sale paid by a ``paid`` attempt (marks the attempt's sale_id in the same transaction)."""
        if attempt.state != "paid":
            raise CheckoutError("the payment is not confirmed: the sale cannot be completed")
        try:
            if sale.state == SaleState.OPEN:
                sale.begin_payment()
            tender = sale.pay_alipay(attempt.trade_no or attempt.out_trade_no, attempt_id=attempt.id)
        except DomainError as exc:
            raise CheckoutError(str(exc)) from exc
        if tender.amount_fen != attempt.amount_fen:
            raise CheckoutError(f"the payment ({format_ui(attempt.amount_fen)}) does not match the amount due "
                                f"({format_ui(tender.amount_fen)})")
        return self._commit(sale, tender, shift_id=shift_id, cashier_id=cashier_id, cashier_name=cashier_name)

    def alipay_part(self, sale: Sale, attempt: PaymentAttempt) -> Tender:
        """Record a paid attempt that covers less than what is left as a part of a split tender."""
        if attempt.state != "paid":
            raise CheckoutError("the payment is not confirmed: it cannot count as a part")
        try:
            tender = sale.pay_alipay(attempt.trade_no or attempt.out_trade_no, attempt_id=attempt.id,
                                     amount_fen=attempt.amount_fen)
            sale.add_part(tender)
        except DomainError as exc:
            raise CheckoutError(str(exc)) from exc
        return tender

    def part_of_split(self, attempt: PaymentAttempt) -> int:
        """For a paid attempt whose sale was never committed: the fen left to pay after it (0 when it paid the
        rest of its sale; more when it was a part of a split tender)."""
        sale = basket_to_sale(json.loads(attempt.basket_json or "{}"), self.config.loyalty)
        return max(0, sale.remaining_fen() - attempt.amount_fen)

    def audit_given_back(self, user_id: int, user_name: str, *, approved_by: int, alipay_fen: int,
                         cash_fen: int) -> None:
        """Record that the part payments of an unfinished sale were given back (refunded / handed back)."""
        now = self._clock.now()
        with self._uow() as uow:
            uow.journal.audit(at=now, user_id=user_id, user_name=user_name, action="sale.parts_given_back",
                              subject="", detail={"approved_by": approved_by, "alipay_refunded_fen": alipay_fen,
                                                  "cash_fen": cash_fen})

    def complete_from_attempt(self, attempt: PaymentAttempt, *, by_user_id: int,
                              by_user_name: str = "") -> CommittedSale:
        """Commit the sale stored with a paid attempt whose sale was never committed (after a crash).

        The parts paid before it (stored with its basket) count; when the attempt itself was a part of a split
        tender, the rest is recorded as cash (the supervisor confirms the customer paid it: see
        :meth:`part_of_split`)."""
        basket = json.loads(attempt.basket_json or "{}")
        sale = basket_to_sale(basket, self.config.loyalty)
        if isinstance(basket.get("exchange"), Mapping):
            try:
                self.attach_exchange(sale, ExchangePlan.from_json(basket["exchange"]))
            except DomainError as exc:
                raise CheckoutError(str(exc)) from exc
        snap = sale.snapshot()
        if self.points_gate is not None and basket.get("points_hold"):
            hold = self.points_gate.adopt(str(basket["points_hold"]))
            if hold is not None:
                self._holds[sale] = hold
        if snap.member is not None and snap.totals.points_redeemed:
            # the points were held by nothing while the payment was unknown: if the member spent them since,
            # completing would take the card below zero (finding F3 of docs/reliability.md): refund instead
            with self._uow() as uow:
                balance = uow.members.balance(snap.member.card_no)
            if snap.totals.points_redeemed > balance:
                raise CheckoutError(f"the member's points were spent since this payment ({balance} left, "
                                    f"{snap.totals.points_redeemed} redeemed): refund the payment instead")
        with self._uow() as uow:  # the money counts where the sale is completed (finding O2)
            shift_id = uow.sales.settling_shift(attempt.shift_id)
        if attempt.amount_fen < sale.remaining_fen():   # a part: the rest was taken in cash
            self.alipay_part(sale, attempt)
            rest = sale.remaining_fen()
            return self._commit(sale, Tender("cash", rest, rest, 0), shift_id=shift_id,
                                cashier_id=attempt.cashier_id, cashier_name=by_user_name)
        return self.commit_alipay(sale, attempt, shift_id=shift_id, cashier_id=attempt.cashier_id,
                                  cashier_name=by_user_name)

    def _commit(self, sale: Sale, tender: Tender, *, shift_id: int, cashier_id: int,
                cashier_name: str) -> CommittedSale:
        """Commit ``sale`` paid by its parts (a split tender) and the last ``tender``, in one transaction."""
        tenders = (*sale.parts, tender)
        if sum(t.amount_fen for t in tenders) != sale.totals().payable_fen:
            raise CheckoutError("the payments do not cover the amount due")
        if not any(t.kind == "alipay" for t in tenders):
            hold = self.hold_points(sale)   # cash: before anything is written (a refusal keeps the basket)
        else:
            hold = self._holds.get(sale)    # paid: held before the payment (if not, the store lists an overdraft)
        snap = dataclasses.replace(sale.snapshot(), state=SaleState.PAID, tenders=tenders)
        totals = snap.totals
        member = snap.member
        if hold is not None and (member is None or hold.card_no != member.card_no
                                 or hold.points != totals.points_redeemed):
            hold = None
        now = self._clock.now()
        stamp = now.isoformat()
        cfg = self.config
        alipay = [t for t in tenders if t.kind == "alipay"]
        with self._uow() as uow:
            attempts: list[PaymentAttempt] = []
            for part in alipay:
                fresh = uow.payments.get(part.attempt_id) if part.attempt_id is not None else None
                if fresh is None or fresh.state != "paid" or fresh.sale_id is not None:
                    raise CheckoutError("this payment was already used for a sale")
                if fresh.resolution not in ("", "held"):
                    raise CheckoutError("a part of this sale's payment was given back: it cannot be completed")
                attempts.append(fresh)
            attempt = attempts[-1] if attempts else None
            seq = uow.sales.next_counter(f"receipt:{cfg.terminal_no}")
            receipt_no = make_receipt_code(cfg.terminal_no, seq, prefix=cfg.receipt_prefix)
            trade_no = alipay[0].reference if alipay else ""
            sale_id = uow.sales.add_sale(
                receipt_no=receipt_no, shift_id=shift_id, terminal_id=cfg.terminal_id, cashier_id=cashier_id,
                card_no=member.card_no if member else None, gross_fen=totals.gross_fen,
                discount_fen=totals.discount_fen, total_fen=totals.payable_fen,
                points_redeemed=totals.points_redeemed if member else 0,
                points_earned=totals.points_to_earn if member else 0,
                earn_explanation=totals.earn_explanation, started_at=self._started.get(sale, stamp),
                committed_at=stamp)
            uow.sales.add_lines(sale_id, [line.to_dict() for line in snap.lines])
            # the till's kept open basket goes with the commit: a crash now must not bring a paid basket back
            uow.sales.forget_open_basket(cfg.terminal_id, basket_to_json(snap)["lines"])
            for t in tenders:
                uow.sales.add_tender(sale_id, kind=t.kind, amount_fen=t.amount_fen, tendered_fen=t.tendered_fen,
                                     change_fen=t.change_fen, attempt_id=t.attempt_id if t.kind == "alipay" else None,
                                     trade_no=t.reference)   # the Alipay trade_no, or exchange:<receipt>
            for att in attempts:
                uow.payments.update(att.id, at=now, sale_id=sale_id,
                                    **({"resolution": ""} if att.resolution == "held" else {}))
            balance: int | None = None
            if member is not None:
                balance = self._member_points(uow, sale_id, receipt_no, snap, alipay[0] if alipay else tender,
                                              attempt, now, hold)
            exchange = None
            plan = self._exchanges.get(sale)
            if plan is not None:
                if self.exchange_writer is None:
                    raise CheckoutError("exchanges are not available on this terminal")
                exchange = self.exchange_writer.write(uow, plan, new_sale_id=sale_id, new_receipt_no=receipt_no,
                                                      new_total_fen=totals.payable_fen, shift_id=shift_id,
                                                      cashier_id=cashier_id, cashier_name=cashier_name, now=now)
            committed = CommittedSale(sale_id, receipt_no, snap, totals.points_to_earn if member else 0, balance,
                                      tender.change_fen, trade_no, stamp, "", cashier_name, exchange)
            content = receipts.build_receipt(committed, receipts.StoreInfo(cfg.store_name, cfg.store_id,
                                                                            cfg.terminal_id), cfg.language)
            digest = receipts.receipt_hash(receipts.receipt_text(content))
            uow.sales.set_receipt_hash(sale_id, digest)
            uow.journal.audit(at=now, user_id=cashier_id, user_name=cashier_name, action="sale.committed",
                              subject=receipt_no,
                              detail={"sale_id": sale_id, "total_fen": totals.payable_fen,
                                      "tender": "+".join(t.kind for t in tenders),
                                      "tenders": [[t.kind, t.amount_fen] for t in tenders] if len(tenders) > 1
                                      else None,
                                      "trade_no": trade_no, "attempt_id": attempt.id if attempt else None,
                                      "card": mask_code(member.card_no) if member else "",
                                      "points_earned": committed.points_earned,
                                      "points_redeemed": totals.points_redeemed if member else 0})
        sale.mark_paid(tender)
        self._holds.pop(sale, None)
        logger.info("sale %d committed (%s, %s, %s)", sale_id, receipt_no, "+".join(t.kind for t in tenders),
                    format_ui(totals.payable_fen))
        return dataclasses.replace(committed, receipt_hash=digest)

    def _member_points(self, uow: UnitOfWork, sale_id: int, receipt_no: str, snap: SaleSnapshot,
                       tender: Tender, attempt: PaymentAttempt | None, now: Any,
                       hold: PointsHold | None = None) -> int:
        """Ledger entries (redeem, earn) and the two outbox rows for the member of a sale; returns the balance."""
        member = snap.member
        assert member is not None
        totals = snap.totals
        stamp = now.isoformat()
        cached = uow.members.get(member.card_no)
        if cached is None:
            uow.members.upsert(card_no=member.card_no, biz_card_no=member.biz_card_no or None,
                               name=member.name_masked, phone="", level=member.level, points_synced=None,
                               user_id="", refreshed_at=None, updated_at=stamp)
        level = cached.level if cached is not None else member.level
        biz = (cached.biz_card_no if cached is not None else None) or member.biz_card_no or None
        balance = uow.members.balance(member.card_no)
        if totals.points_redeemed:
            if totals.points_redeemed > balance:
                logger.warning("sale %d redeems %d pts but the ledger shows %d", sale_id, totals.points_redeemed,
                               balance)
            balance = uow.members.add_ledger(member.card_no, kind="redeem", points=-totals.points_redeemed,
                                             sale_id=sale_id, refund_id=None, reason=receipt_no, at=stamp,
                                             entry_id=hold.entry_id if hold is not None else None)
        if totals.points_to_earn:
            balance = uow.members.add_ledger(member.card_no, kind="earn", points=totals.points_to_earn,
                                             sale_id=sale_id, refund_id=None, reason=totals.earn_explanation,
                                             at=stamp)
        trade_time = now
        if attempt is not None and attempt.gmt_payment:
            trade_time = _parse_gateway_time(attempt.gmt_payment) or now
        if tender.kind == "alipay":  # consume.sync records an ALIPAY trade (alipay-api.md 5.3): a cash sale's
            # receipt number is refused (TRADE_NOT_EXIST), the row dies and blocks the card; card.update carries it
            self._enqueue(uow, member.card_no, CardTrade(
                card_no=member.card_no, biz_card_no=biz, level=level, trade_no=tender.reference,
                trade_time=trade_time, is_return=False, trade_name=self.config.store_name or "purchase",
                trade_amount_fen=totals.gross_fen, act_pay_amount_fen=totals.payable_fen, points_after=balance,
                points_redeemed=totals.points_redeemed, discount_fen=totals.discount_fen,
                shop_code=self.config.store_id, memo=receipt_no), now, balance, sale_id)
        self._enqueue(uow, member.card_no, CardUpdate(
            card_no=member.card_no, biz_card_no=biz, level=level, occur_time=now, points_after=balance,
            changed_point=totals.points_to_earn - totals.points_redeemed), now, balance, sale_id)
        return balance

    def _enqueue(self, uow: UnitOfWork, card_no: str, event: CardTrade | CardUpdate, now: Any, balance: int,
                 sale_id: int) -> None:
        req: OutboxRequest = self._card_requests.request(event)
        uow.journal.enqueue(event_id=self._ids.new_id("E"), kind=req.kind, card_no=card_no, method=req.method,
                            body=req.body, created_at=now, points_after=balance, sale_id=sale_id)


def _parse_gateway_time(text: str) -> Any:
    """``yyyy-MM-dd HH:mm:ss`` (Beijing) or ISO-8601 to an aware datetime; None if unreadable."""
    import datetime as dt

    from .ports.clock import BEIJING

    for fmt in ("%Y-%m-%d %H:%M:%S",):
        try:
            return dt.datetime.strptime(text, fmt).replace(tzinfo=BEIJING)
        except ValueError:
            pass
    try:
        parsed = dt.datetime.fromisoformat(text)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)
