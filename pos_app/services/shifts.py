"""Shifts: open with a float, cashier change, cash movements, blind-count close that writes the Z report."""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
from collections.abc import Callable, Mapping
from typing import Any

from pos_app.domain.errors import ShiftError
from pos_app.domain.shift import CashFigures, count_total, expected_cash, over_short

from .approvals import Approval, require_approval
from .errors import ServiceError
from .ports.clock import Clock
from .ports.reports import ZReportRecord
from .ports.shifts import ShiftRecord, UnsettledPayment
from .ports.uow import UnitOfWork
from .reports import canonical_json, render_text, z_hash
from .users import User

__all__ = [
    "MOVEMENT_KINDS",
    "BLOCKING_STATES",
    "ShiftServiceError",
    "NoOpenShift",
    "ShiftAlreadyOpen",
    "UnresolvedPayments",
    "ParkedSalesWaiting",
    "DifferenceNeedsApproval",
    "CashNotAvailable",
    "CloseReadiness",
    "TenderComparison",
    "CloseResult",
    "ShiftService",
]

logger = logging.getLogger(__name__)

MOVEMENT_KINDS = ("pay_in", "pay_out", "drop", "no_sale")
BLOCKING_STATES = ("sending", "waiting", "checking", "cancelling", "unknown", "paid")
"""Attempt states that block closing ('paid' here means paid without a completed sale)."""


class ShiftServiceError(ServiceError):
    """Base of shift use-case failures."""


class NoOpenShift(ShiftServiceError):
    def __init__(self) -> None:
        super().__init__("no shift is open on this terminal")


class ShiftAlreadyOpen(ShiftServiceError):
    def __init__(self, number: int) -> None:
        super().__init__(f"shift {number} is already open on this terminal")
        self.number = number


class UnresolvedPayments(ShiftServiceError):
    """Closing is refused while these Alipay payments have no final outcome (a supervisor may escalate)."""

    def __init__(self, payments: list[UnsettledPayment]) -> None:
        super().__init__(f"{len(payments)} Alipay payment(s) have no final outcome: resolve them, or a "
                         "supervisor escalates them")
        self.payments = payments


class ParkedSalesWaiting(ShiftServiceError):
    """Closing is refused while parked sales (挂单) wait: each is recalled or discarded with a reason first."""

    def __init__(self, count: int) -> None:
        super().__init__(f"{count} parked sale(s) are waiting: recall them, or discard them with a reason")
        self.count = count


@dataclasses.dataclass(frozen=True, slots=True)
class TenderComparison:
    """Expected vs counted for one tender; ``difference_fen`` = counted − expected (over > 0 > short)."""

    tender: str
    expected_fen: int
    counted_fen: int
    difference_fen: int


class DifferenceNeedsApproval(ShiftServiceError):
    """The counted cash differs from expected by more than the threshold: supervisor and reason needed."""

    def __init__(self, comparison: tuple[TenderComparison, ...], threshold_fen: int) -> None:
        super().__init__("the count differs from what was expected by more than the allowed amount: "
                         "a supervisor must approve with a reason")
        self.comparison = comparison
        self.threshold_fen = threshold_fen


class CashNotAvailable(ShiftServiceError):
    """A pay-out or drop larger than the cash the drawer should hold."""


@dataclasses.dataclass(frozen=True, slots=True)
class CloseReadiness:
    """What the cashier sees before the blind count: nothing about expected amounts."""

    shift_id: int
    shift_number: int
    blocking_payments: tuple[UnsettledPayment, ...]
    pending_sync: int


@dataclasses.dataclass(frozen=True, slots=True)
class CloseResult:
    """The closed shift, the per-tender comparison and the stored Z report."""

    shift: ShiftRecord
    comparison: tuple[TenderComparison, ...]
    z: ZReportRecord
    figures: Mapping[str, Any]


class ShiftService:
    """Shift use-cases for one terminal."""

    def __init__(self, uow_factory: Callable[[], UnitOfWork], clock: Clock, *, terminal_id: str,
                 close_difference_threshold_fen: int = 1000, report_width: int = 42) -> None:
        self._uow = uow_factory
        self._clock = clock
        self.terminal_id = terminal_id
        self._threshold = close_difference_threshold_fen
        self._width = report_width

    def current_shift(self, terminal_id: str | None = None) -> ShiftRecord | None:
        with self._uow().read() as uow:
            return uow.shifts.current(terminal_id or self.terminal_id)

    def _open(self, uow: UnitOfWork) -> ShiftRecord:
        shift = uow.shifts.current(self.terminal_id)
        if shift is None:
            raise NoOpenShift()
        return shift

    def open_shift(self, user: User, float_counts: Mapping[int, int] | None = None,
                   float_fen: int | None = None) -> ShiftRecord:
        """Open a shift with an opening float counted by denomination (or keyed as one amount, or none)."""
        counts = {int(k): int(v) for k, v in (float_counts or {}).items() if int(v)}
        if counts:
            total = count_total(counts)
            if float_fen is not None and float_fen != total:
                raise ShiftError("the float amount does not match the denomination count")
        else:
            total = int(float_fen or 0)
            if total < 0:
                raise ShiftError("the opening float must not be negative")
        now = self._clock.now()
        with self._uow() as uow:
            existing = uow.shifts.current(self.terminal_id)
            if existing is not None:
                raise ShiftAlreadyOpen(existing.number)
            carried = uow.shifts.float_left(self.terminal_id)   # what the last shift left in the drawer
            shift = uow.shifts.open(terminal_id=self.terminal_id, opened_by=user.id, opened_at=now,
                                    opening_float_fen=total, opening_count=counts)
            if carried is not None:
                uow.shifts.set_carried(shift.id, carried)
            uow.audit.append(at=now, user_id=user.id, user_name=user.name, action="shift.open",
                             subject=f"{self.terminal_id}/{shift.number}",
                             detail={"float_fen": total, "count": {str(k): v for k, v in counts.items()},
                                     **({"carried_fen": carried, "float_difference_fen": total - carried}
                                        if carried is not None else {})})
        logger.info("shift %d opened on %s", shift.number, self.terminal_id)
        return shift

    def carried_float(self) -> int | None:
        """What the terminal's last closed shift left in the drawer for the next one (None: not said)."""
        with self._uow().read() as uow:
            return uow.shifts.float_left(self.terminal_id)

    def change_cashier(self, user: User) -> ShiftRecord:
        """Record that ``user`` now works the till of the open shift."""
        now = self._clock.now()
        with self._uow() as uow:
            shift = self._open(uow)
            before = uow.shifts.current_cashier(shift.id)
            uow.shifts.change_cashier(shift.id, user.id, now)
            uow.audit.append(at=now, user_id=user.id, user_name=user.name, action="shift.cashier_change",
                             subject=f"{self.terminal_id}/{shift.number}", detail={"previous_user_id": before})
        return shift

    def cash_movement(self, kind: str, amount_fen: int, reason: str, user: User,
                      approval: Approval | None) -> int:
        """Pay-in, pay-out, drop or no-sale drawer open; each needs a supervisor approval for ``kind``."""
        if kind not in MOVEMENT_KINDS:
            raise ShiftServiceError(f"unknown cash movement {kind!r}")
        if isinstance(amount_fen, bool) or not isinstance(amount_fen, int) or amount_fen < 0:
            raise ShiftError("the amount must be whole fen, not negative")
        if kind == "no_sale":
            amount_fen = 0
        elif amount_fen == 0:
            raise ShiftError("the amount must be more than zero")
        if not reason.strip():
            raise ShiftServiceError("a reason is required")
        approved = require_approval(approval, kind)
        now = self._clock.now()
        with self._uow() as uow:
            shift = self._open(uow)
            if kind in ("pay_out", "drop"):
                available = uow.reports.expected_cash(shift.id)
                if amount_fen > available:
                    raise CashNotAvailable(f"the drawer should hold only {available / 100:.2f}")
            movement_id = uow.shifts.add_movement(shift_id=shift.id, kind=kind, amount_fen=amount_fen,
                                                  reason=reason.strip(), user_id=user.id,
                                                  approved_by=approved.approved_by, created_at=now)
            uow.audit.append(at=now, user_id=user.id, user_name=user.name, action=f"cash.{kind}",
                             subject=f"{self.terminal_id}/{shift.number}",
                             detail={"amount_fen": amount_fen, "reason": reason.strip(),
                                     "approved_by": approved.approver_name, "approval_id": approved.id})
        return movement_id

    def begin_close(self) -> CloseReadiness:
        """Start the blind close: says what blocks closing, never what is expected in the drawer."""
        now = self._clock.now()
        with self._uow() as uow:
            shift = self._open(uow)
            blocking = tuple(p for p in uow.shifts.unsettled_payments(shift.id) if p.state in BLOCKING_STATES)
            pending = int(uow.reports.sync_stats(now=now)["pending"])
        return CloseReadiness(shift.id, shift.number, blocking, pending)

    def close_shift(self, counted: Mapping[int, int], user: User, approval: Approval | None = None, *,
                    escalation: Approval | None = None,
                    counted_other: Mapping[str, int] | None = None,
                    float_left_fen: int | None = None) -> CloseResult:
        """Close the open shift with the blind cash count and write its Z report in the same transaction.

        Raises UnresolvedPayments (unless ``escalation`` approves ``escalate_payments``) and
        DifferenceNeedsApproval (carrying the comparison) when a difference exceeds the threshold and
        ``approval`` does not approve ``close_difference``.
        """
        counts = {int(k): int(v) for k, v in counted.items() if int(v)}
        counted_cash = count_total(counts)
        if float_left_fen is not None and not 0 <= float_left_fen <= counted_cash:
            raise ShiftError("the float left in the drawer must be from zero to the cash counted")
        now = self._clock.now()
        with self._uow() as uow:
            shift = self._open(uow)
            blocking = [p for p in uow.shifts.unsettled_payments(shift.id) if p.state in BLOCKING_STATES]
            escalated: list[dict[str, Any]] = []
            if blocking:
                if escalation is None:
                    raise UnresolvedPayments(blocking)
                esc = require_approval(escalation, "escalate_payments")
                escalated = [{"out_trade_no": p.out_trade_no, "state": p.state, "amount_fen": p.amount_fen,
                              "approved_by": esc.approver_name, "reason_code": esc.reason_code} for p in blocking]
                uow.audit.append(at=now, user_id=esc.approved_by, user_name=esc.approver_name,
                                 action="payments.escalated", subject=f"{self.terminal_id}/{shift.number}",
                                 detail={"out_trade_nos": [p.out_trade_no for p in blocking],
                                         "approval_id": esc.id})
            fig = uow.reports.figures(shift.id, now=now)
            if fig.get("parked_waiting"):
                raise ParkedSalesWaiting(int(fig["parked_waiting"]))
            cash = fig["cash"]
            tenders = fig["tenders"]
            expected = expected_cash(CashFigures(
                opening_float_fen=cash["opening_float_fen"], cash_sales_fen=cash["taken_fen"],
                change_given_fen=tenders["cash"]["change_fen"], cash_refunds_fen=cash["refunds_fen"],
                pay_ins_fen=cash["pay_in_fen"], pay_outs_fen=cash["pay_out_fen"], drops_fen=cash["drop_fen"]))
            comparison = [TenderComparison("cash", expected, counted_cash, over_short(expected, counted_cash))]
            for kind, t in tenders.items():
                if kind == "cash":
                    continue
                got = int((counted_other or {}).get(kind, t["net_fen"]))
                comparison.append(TenderComparison(kind, t["net_fen"], got, over_short(t["net_fen"], got)))
            worst = max(abs(c.difference_fen) for c in comparison)
            diff_approval: dict[str, Any] | None = None
            if worst > self._threshold:
                if approval is None:
                    raise DifferenceNeedsApproval(tuple(comparison), self._threshold)
                ok = require_approval(approval, "close_difference")
                diff_approval = {"approved_by": ok.approver_name, "reason_code": ok.reason_code, "note": ok.note}
            z_number = uow.reports.next_z_number(self.terminal_id)
            if float_left_fen is not None:   # counter (issue 14): the float carried to the next shift
                uow.shifts.set_float_left(shift.id, float_left_fen)
                fig["float"] = {**(fig.get("float") or {}), "left_fen": float_left_fen,
                                "to_safe_fen": counted_cash - float_left_fen}
            uow.shifts.close(shift.id, user.id, now)
            fig.update({
                "kind": "Z", "z_number": z_number, "state": "closed", "closed_by": user.name,
                "closed_at": now.astimezone(dt.UTC).isoformat(), "printed_by": user.name,
                "printed_at": now.astimezone(dt.UTC).isoformat(),
                "count": {c.tender: {"expected_fen": c.expected_fen, "counted_fen": c.counted_fen,
                                     "difference_fen": c.difference_fen,
                                     # Alipay is not counted at the drawer: say so, do not copy expected
                                     "counted": c.tender == "cash" or c.tender in (counted_other or {}),
                                     "denominations": ({str(k): v for k, v in sorted(counts.items())}
                                                       if c.tender == "cash" else {})}
                          for c in comparison},
                "difference_approval": diff_approval,
                "escalated_payments": escalated,
            })
            head = uow.audit.head()
            if head is not None:
                fig["audit_head"] = {"id": head[0], "hash": head[1]}
            text = render_text(fig, width=self._width)
            figures_json = canonical_json(fig)
            digest = z_hash(figures_json, text)
            z = uow.reports.add_z_report(terminal_id=self.terminal_id, shift_id=shift.id, created_at=now,
                                         figures_json=figures_json, text=text, hash=digest, number=z_number)
            uow.audit.append(at=now, user_id=user.id, user_name=user.name, action="shift.close",
                             subject=f"{self.terminal_id}/{shift.number}",
                             detail={"z_number": z_number, "z_hash": digest, "counted_fen": counted_cash,
                                     "difference_fen": comparison[0].difference_fen,
                                     "approved_by": diff_approval["approved_by"] if diff_approval else ""})
            closed = uow.shifts.get(shift.id)
        assert closed is not None
        logger.info("shift %d closed on %s, Z %d", shift.number, self.terminal_id, z_number)
        return CloseResult(closed, tuple(comparison), z, fig)
