"""Ports: the Protocols the services need from the outside world (storage, gateway, clock, ids).

One module per port (clock, gateway, payments, sales, members, catalogue, journal, users, shifts,
reports, outbox) and one unit of work (``uow.UnitOfWork``); adapters (pos_app.storage, pos_app.alipay)
implement them. Import from the module that owns the port, e.g. ``from pos_app.services.ports.sales
import SaleRecord``.

This package namespace is a thin re-export kept so that code written against the old single
``services/ports.py`` still imports; new code imports the per-port module. ``CheckoutUnitOfWork`` and
``ShiftsUnitOfWork`` are the old names of ``UnitOfWork``.
"""

from __future__ import annotations

from .catalogue import CatalogueRepository
from .clock import BEIJING, Clock, IdSource
from .gateway import (
    GATEWAY_UNKNOWN_CAUSES,
    CancelResult,
    CardGateway,
    CardInfo,
    FailureKind,
    GatewayBusinessFailure,
    GatewayInProgress,
    GatewayResult,
    GatewaySuccess,
    GatewayUnknown,
    PayResult,
    QueryResult,
    RefundQueryResult,
    RefundResult,
    TradeGateway,
)
from .journal import AuditPort, JournalPort
from .members import MemberRecord, MemberRepository
from .outbox import OutboxOutcome, OutboxQueue, OutboxRow, OutboxStats, SyncApprover, SyncStore
from .payments import PaymentAttempt, PaymentAttemptRepository
from .reports import ReportRepository, ZReportRecord
from .sales import RefundRecord, SaleLineRecord, SaleRecord, SalesRepository, TenderRecord
from .shifts import ShiftRecord, ShiftRepository, UnsettledPayment
from .uow import UnitOfWork
from .users import ApprovalRecord, UserRecord, UserRepository

CheckoutUnitOfWork = UnitOfWork
ShiftsUnitOfWork = UnitOfWork

__all__ = [
    "CatalogueRepository",
    "BEIJING",
    "Clock",
    "IdSource",
    "FailureKind",
    "GatewaySuccess",
    "GatewayInProgress",
    "GatewayBusinessFailure",
    "GatewayUnknown",
    "GATEWAY_UNKNOWN_CAUSES",
    "GatewayResult",
    "PayResult",
    "QueryResult",
    "CancelResult",
    "RefundResult",
    "RefundQueryResult",
    "CardInfo",
    "TradeGateway",
    "CardGateway",
    "JournalPort",
    "AuditPort",
    "MemberRecord",
    "MemberRepository",
    "OutboxRow",
    "OutboxOutcome",
    "OutboxStats",
    "SyncApprover",
    "SyncStore",
    "OutboxQueue",
    "PaymentAttempt",
    "PaymentAttemptRepository",
    "ZReportRecord",
    "ReportRepository",
    "SaleRecord",
    "SaleLineRecord",
    "TenderRecord",
    "RefundRecord",
    "SalesRepository",
    "ShiftRecord",
    "UnsettledPayment",
    "ShiftRepository",
    "UnitOfWork",
    "UserRecord",
    "ApprovalRecord",
    "UserRepository",
    "CheckoutUnitOfWork",
    "ShiftsUnitOfWork",
]
