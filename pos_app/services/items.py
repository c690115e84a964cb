"""The supervisor's Items screen: search the catalogue, see an item's price history, import a file (approved).

Reading and importing are given by the composition root (``reader``: the catalogue's storage;
``importer``: the same validate-then-apply code as ``pos-app catalogue import``), so this use-case
stays free of files and databases. Importing needs a supervisor's (or admin's) approval.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable, Sequence
from typing import Protocol

from pos_app.domain.items import ItemRecord, PriceChange

from .errors import ServiceError

__all__ = ["ItemsReader", "ImportOutcome", "Importer", "ItemsService", "IMPORT_ACTION"]

logger = logging.getLogger(__name__)

IMPORT_ACTION = "catalogue_import"


class ItemsReader(Protocol):
    def search(self, text: str, limit: int) -> list[ItemRecord]: ...

    def history(self, item_code: str) -> list[PriceChange]: ...


@dataclasses.dataclass(frozen=True)
class ImportOutcome:
    """``ok``: applied (or, for a dry run, valid); ``lines``: the summary or one line per problem."""

    ok: bool
    lines: Sequence[str]


Importer = Callable[[str, bool, bool, str], ImportOutcome]
"""(file path, full, dry_run, by_user) -> outcome."""


class ItemsService:
    def __init__(self, reader: ItemsReader, importer: Importer | None = None) -> None:
        self._reader = reader
        self._importer = importer

    @property
    def can_import(self) -> bool:
        return self._importer is not None

    def search(self, text: str, limit: int = 200) -> list[ItemRecord]:
        """Items (active or not) by code or barcode prefix, or a part of a name."""
        return self._reader.search(text, limit) if text.strip() else []

    def history(self, item_code: str) -> list[PriceChange]:
        """The item's price changes, newest first."""
        return self._reader.history(item_code)

    def import_file(self, path: str, *, approver_role: str, approver_name: str, full: bool = False,
                    dry_run: bool = False) -> ImportOutcome:
        """Validate and apply a catalogue file; only with a supervisor's or admin's approval."""
        if self._importer is None:
            raise ServiceError("importing is not available on this terminal")
        if approver_role not in ("supervisor", "admin"):
            raise ServiceError("a supervisor must approve a catalogue import")
        outcome = self._importer(path, full, dry_run, approver_name)
        logger.info("catalogue import from the Items screen by %s: %s", approver_name,
                    outcome.lines[-1] if outcome.lines else "")
        return outcome
