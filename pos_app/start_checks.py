"""What the terminal checks before it opens the till (and the CLI before it touches the database).

Refusals are :class:`StartRefused` with one line per problem and the way out, never a traceback.
"""

from __future__ import annotations

import logging

from pos_app.settings import Settings
from pos_app.terminal_secret import SecretFileError, TerminalSecret, load_or_create_secret

__all__ = ["StartRefused", "terminal_secret"]

logger = logging.getLogger(__name__)


class StartRefused(Exception):
    """The terminal must not start; ``problems`` says why and what to do."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


def terminal_secret(settings: Settings, *, create: bool = True) -> TerminalSecret:
    """The terminal secret beside the settings (created at the first start)."""
    try:
        return load_or_create_secret(settings.secret_path, create=create)
    except SecretFileError as exc:
        raise StartRefused([f"terminal secret: {exc}"]) from exc
