"""The one unit-of-work port: a transaction exposing every repository on one connection."""

from __future__ import annotations

from typing import Any, Protocol

from .catalogue import CatalogueRepository
from .journal import AuditPort, JournalPort
from .members import MemberRepository
from .payments import PaymentAttemptRepository
from .reports import ReportRepository
from .sales import SalesRepository
from .shifts import ShiftRepository
from .users import UserRepository

__all__ = ["UnitOfWork"]


class UnitOfWork(Protocol):
    """``with uow_factory() as uow:`` one transaction; commits on a clean exit, rolls back otherwise.

    Implemented by ``pos_app.storage.uow.SqliteUnitOfWork``; each service uses the repositories it needs.
    """

    @property
    def payments(self) -> PaymentAttemptRepository: ...

    @property
    def sales(self) -> SalesRepository: ...

    @property
    def members(self) -> MemberRepository: ...

    @property
    def catalogue(self) -> CatalogueRepository: ...

    @property
    def journal(self) -> JournalPort: ...

    @property
    def users(self) -> UserRepository: ...

    @property
    def shifts(self) -> ShiftRepository: ...

    @property
    def reports(self) -> ReportRepository: ...

    @property
    def audit(self) -> AuditPort: ...

    def read(self) -> UnitOfWork:
        """Make this unit of work a read (no write lock; a write inside it is refused); returns itself."""
        ...

    def __enter__(self) -> UnitOfWork: ...

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None: ...
