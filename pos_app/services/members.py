"""Member resolution: static card numbers from the cache, Alipay dynamic codes via card.query, phone search.

These are plain blocking calls (a dynamic code costs one gateway round trip); the UI runs them in a worker.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable

from pos_app.domain.codes import CodeKind, ScanCode, mask_code
from pos_app.domain.loyalty import LoyaltyRules, RedeemOption, redeem_options
from pos_app.domain.sale import MemberRef

from .ports.clock import Clock
from .ports.gateway import CardGateway, CardInfo, CardLookup, GatewayBusinessFailure, GatewaySuccess
from .ports.members import MemberRecord
from .ports.uow import UnitOfWork

__all__ = ["MemberConfig", "MemberView", "MemberLookup", "MemberService", "mask_name", "mask_phone"]

logger = logging.getLogger(__name__)

_QR_SYMBOLOGIES = ("QR", "QRCODE", "QR_CODE", "DATAMATRIX", "PDF417", "AZTEC")


def mask_name(name: str) -> str:
    """``张三明`` -> ``张*明``, ``张三`` -> ``张*``, ``Alice Wong`` -> ``A*********g``."""
    if len(name) <= 1:
        return name
    if len(name) == 2:
        return name[0] + "*"
    return name[0] + "*" * (len(name) - 2) + name[-1]


def mask_phone(phone: str) -> str:
    """``13812345678`` -> ``138****5678``."""
    if len(phone) < 7:
        return mask_code(phone)
    return phone[:3] + "*" * (len(phone) - 7) + phone[-4:]


@dataclasses.dataclass(frozen=True)
class MemberConfig:
    """Loyalty rules (for what can be redeemed) and the card template, if the gateway needs it."""

    loyalty: LoyaltyRules = dataclasses.field(default_factory=LoyaltyRules)


@dataclasses.dataclass(frozen=True)
class MemberView:
    """What the member panel shows. Points: ``confirmed`` = what the card is known to show,
    ``pending`` = ledger changes not yet synced, ``balance`` = the ledger (truth)."""

    card_no: str
    name_masked: str
    level: str
    points_confirmed: int
    points_pending: int
    points_balance: int
    phone_masked: str
    redeemable: RedeemOption
    biz_card_no: str = ""
    alipay_card: bool = True     # holds the shop's Alipay card (False: points kept here only, nothing to sync)

    def ref(self) -> MemberRef:
        """The reference to attach to a sale."""
        return MemberRef(self.card_no, self.name_masked, self.level, self.points_balance, self.biz_card_no)


@dataclasses.dataclass(frozen=True)
class MemberLookup:
    """The result of resolving a scan: ``kind`` is found, expired_code, offline, not_found or error."""

    kind: str
    member: MemberView | None
    message: str

    @property
    def found(self) -> bool:
        return self.kind == "found"


class MemberService:
    """Resolves member codes and searches the local cache.

    Args:
        uow_factory: a new unit of work on this thread's connection for each call.
        card_gateway: the card calls, or None when the terminal has no gateway (cache only).
        clock: time.
        config: loyalty rules.
    """

    def __init__(self, uow_factory: Callable[[], UnitOfWork], card_gateway: CardGateway | None,
                 clock: Clock, config: MemberConfig | None = None) -> None:
        self._uow = uow_factory
        self._gateway = card_gateway
        self._clock = clock
        self._config = config or MemberConfig()

    def _view(self, rec: MemberRecord, basket_fen: int = 0) -> MemberView:
        balance = rec.points_balance
        option = redeem_options(max(balance, 0), basket_fen, self._config.loyalty) if basket_fen else \
            redeem_options(max(balance, 0), 0, self._config.loyalty)
        return MemberView(rec.card_no, mask_name(rec.name), rec.level, rec.points_synced, balance - rec.points_synced,
                          balance, mask_phone(rec.phone), option, rec.biz_card_no or "", rec.alipay_card)

    def get(self, card_no: str, basket_fen: int = 0) -> MemberView | None:
        """A cached member by card number, with what can be redeemed on ``basket_fen``."""
        with self._uow().read() as uow:
            rec = uow.members.get(card_no)
        return self._view(rec, basket_fen) if rec else None

    def resolve(self, scan: ScanCode) -> MemberLookup:
        """Static card number -> cache; Alipay dynamic code -> card.query (D_BAR_CODE / D_QR_CODE)."""
        if scan.kind == CodeKind.MEMBER_STATIC:
            view = self.get(scan.text)
            if view is None:
                with self._uow() as uow:
                    rec = uow.members.by_biz_card_no(scan.text)
                view = self._view(rec) if rec else None
            if view is None:
                return self._lookup_static(scan.text)
            return MemberLookup("found", view, "")
        if scan.kind != CodeKind.MEMBER_DYNAMIC:
            return MemberLookup("error", None, "this is not a member code")
        if self._gateway is None:
            return MemberLookup("offline", None, _OFFLINE)
        sym = scan.symbology.upper().replace("-", "").replace(" ", "")
        kind = CardLookup.DYNAMIC_QR if sym in _QR_SYMBOLOGIES or sym.startswith("QR") else CardLookup.DYNAMIC_BAR
        res = self._gateway.card_query(scan.text, kind)
        if isinstance(res, GatewaySuccess) and isinstance(res.answer, CardInfo):
            rec = self._store(res.answer)
            return MemberLookup("found", self._view(rec), "")
        if isinstance(res, GatewayBusinessFailure):
            logger.info("member code %s refused (%s)", mask_code(scan.text), res.label)
            return MemberLookup("expired_code", None,
                                "the member code has expired: ask the customer to refresh the card in Alipay")
        logger.warning("member code lookup failed: %s", getattr(res, "reason", "unexpected answer"))
        return MemberLookup("offline", None, _OFFLINE)

    def _lookup_static(self, number: str) -> MemberLookup:
        """A static card number unknown here: ask Alipay (``BIZ_CARD``, then ``EXTERNAL_CARD``) and cache it.

        An answer is believed only when the card it returns carries the number that was asked.
        """
        if self._gateway is None:
            return MemberLookup("not_found", None, "this member card is not known at this shop")
        for kind in (CardLookup.ALIPAY_CARD, CardLookup.SHOP_CARD):
            res = self._gateway.card_query(number, kind)
            if isinstance(res, GatewaySuccess):
                info = res.answer if isinstance(res.answer, CardInfo) else None
                named = "" if info is None else \
                    (info.biz_card_no if kind is CardLookup.ALIPAY_CARD else info.external_card_no)
                if info is None or named != number:
                    logger.warning("card.query %s for %s answered about another card: not believed", kind,
                                   mask_code(number))
                    return MemberLookup("offline", None, _OFFLINE_STATIC)
                logger.info("member card %s found at Alipay (%s) and cached", mask_code(number), kind)
                return MemberLookup("found", self._view(self._store(info)), "")
            if not isinstance(res, GatewayBusinessFailure):
                logger.warning("static card lookup failed: %s", getattr(res, "reason", "unexpected answer"))
                return MemberLookup("offline", None, _OFFLINE_STATIC)
        logger.info("member card %s is not known at Alipay either", mask_code(number))
        return MemberLookup("not_found", None, "this member card is not known at this shop or at Alipay")

    def refresh(self, card_no: str) -> MemberLookup:
        """Fetch the card from the gateway (do this before redeeming points) and update the cache."""
        with self._uow() as uow:
            rec = uow.members.get(card_no)
        if rec is None:
            return MemberLookup("not_found", None, "this member card is not known at this shop")
        if self._gateway is None:
            return MemberLookup("offline", self._view(rec), "Alipay cannot be reached: showing the saved points")
        if rec.biz_card_no:
            res = self._gateway.card_query(rec.biz_card_no, CardLookup.ALIPAY_CARD)
        else:
            res = self._gateway.card_query(rec.card_no, CardLookup.SHOP_CARD)
        if isinstance(res, GatewaySuccess) and isinstance(res.answer, CardInfo):
            return MemberLookup("found", self._view(self._store(res.answer)), "")
        if isinstance(res, GatewayBusinessFailure):
            return MemberLookup("error", self._view(rec), "Alipay does not know this card any more")
        return MemberLookup("offline", self._view(rec), "Alipay cannot be reached: showing the saved points")

    def search(self, text: str, limit: int = 20) -> list[MemberView]:
        """Cached members by phone (full or last 4 digits) or card number."""
        with self._uow().read() as uow:
            recs = uow.members.search(text, limit)
        return [self._view(r) for r in recs]

    def _store(self, info: CardInfo) -> MemberRecord:
        """Update the cache from a card the gateway returned; a new member gets an 'opening' ledger entry."""
        now = self._clock.now().isoformat()
        card_no = info.external_card_no or info.biz_card_no
        with self._uow() as uow:
            existing = uow.members.get(card_no)
            if existing is None and info.biz_card_no:
                other = uow.members.by_biz_card_no(info.biz_card_no)
                if other is not None:
                    card_no, existing = other.card_no, other
            is_new = uow.members.upsert(card_no=card_no, biz_card_no=info.biz_card_no or None, name="", phone="",
                                        level=info.level, points_synced=info.point, user_id="", refreshed_at=now,
                                        updated_at=now)
            if is_new:
                uow.members.add_ledger(card_no, kind="opening", points=info.point, sale_id=None, refund_id=None,
                                       reason="card balance when first seen", at=now)
            rec = uow.members.get(card_no)
        assert rec is not None
        return rec


_OFFLINE_STATIC = ("this member card is not saved here and Alipay cannot be reached: find the member by phone "
                   "number, or go on without the member")
_OFFLINE = ("Alipay cannot be reached, so this member code cannot be read: find the member by phone number or "
            "card number instead")
