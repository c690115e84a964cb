"""Reason codes: what a service tells the UI, as a stable code plus parameters (the UI words it).

The UI formats a Reason in the cashier's language (pos_app/ui/messages.py); services never send a
sentence to be translated. ``message`` fields that remain are English for logs and the audit trail.
"""

from __future__ import annotations

import dataclasses

__all__ = ["Reason"]


@dataclasses.dataclass(frozen=True, slots=True)
class Reason:
    """``code`` names the situation (``payment.failed``, ``unknown_product``); ``params`` its variable parts."""

    code: str
    params: tuple[tuple[str, str], ...] = ()

    @classmethod
    def of(cls, code: str, /, **params: object) -> Reason:
        return cls(code, tuple(sorted((k, str(v)) for k, v in params.items())))

    @property
    def values(self) -> dict[str, str]:
        return dict(self.params)

    def get(self, name: str, default: str = "") -> str:
        return self.values.get(name, default)
