"""Read access to the catalogue."""

from __future__ import annotations

from typing import Any, Protocol

__all__ = ["CatalogueRepository"]


class CatalogueRepository(Protocol):
    """Read access to the catalogue (items are domain CatalogueItem objects)."""

    def get(self, code: str) -> Any: ...

    def search(self, text: str, limit: int = 50) -> list[Any]: ...

