"""The terminal's secret: 32 random bytes in a 0600 file beside the settings, never in the database.

PIN hashes are keyed with it (HMAC-SHA256 of the PIN under a key derived from the secret, then scrypt),
so a copied database alone does not give up a PIN: the offline search must guess the 256-bit secret
first. The audit chain is keyed with another key derived from it, so a rewritten chain cannot be
recomputed without the file.

The file is created at the first start. A missing file on a terminal whose database already holds
keyed PIN hashes or a keyed chain is NOT silently replaced (that would lock everyone out and break the
chain): the start refuses with the way out (restore the file from the backup of /etc/pos-app).
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
import secrets
import stat
from pathlib import Path

__all__ = ["SECRET_FILE_NAME", "SecretFileError", "TerminalSecret", "secret_path_for", "load_or_create_secret"]

logger = logging.getLogger(__name__)

SECRET_FILE_NAME = "pos-secret.key"
_HEADER = "pos-app-secret-v1"


class SecretFileError(Exception):
    """The secret file cannot be used (unreadable, malformed, readable by others and not fixable)."""


class TerminalSecret:
    """The loaded secret; hands out purpose-bound keys (never the secret itself)."""

    def __init__(self, raw: bytes, path: Path | None = None, *, created: bool = False) -> None:
        if len(raw) != 32:
            raise SecretFileError("the terminal secret must be 32 bytes")
        self._raw = raw
        self.path = path
        self.created = created  # made by this call (first start, or the file was lost)

    def key(self, purpose: str) -> bytes:
        """A 32-byte key for one purpose ("pin", "audit", ...): HMAC-SHA256(secret, purpose)."""
        return hmac.new(self._raw, b"pos-app/" + purpose.encode("ascii"), hashlib.sha256).digest()

    def __repr__(self) -> str:  # never show the secret
        return f"TerminalSecret(path={self.path!s})"


def secret_path_for(config_file: Path | None, data_dir: Path) -> Path:
    """Beside the settings file (``/etc/pos-app/pos-secret.key``); without one, in the data folder."""
    return (config_file.parent if config_file is not None else data_dir) / SECRET_FILE_NAME


def _parse(text: str, path: Path) -> bytes:
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    if len(lines) != 2 or lines[0] != _HEADER:
        raise SecretFileError(f"{path}: not a pos-app secret file (expected the line {_HEADER!r} and one line "
                              "of 64 hex digits); restore it from your backup")
    try:
        raw = bytes.fromhex(lines[1])
    except ValueError:
        raw = b""
    if len(raw) != 32:
        raise SecretFileError(f"{path}: the secret line is not 64 hex digits (damaged or truncated); "
                              "restore it from your backup")
    return raw


def load_or_create_secret(path: Path, *, create: bool = True) -> TerminalSecret:
    """Load the secret, fixing a too-open mode to 0600 (with a log line); create it when missing.

    Raises :class:`SecretFileError` with the file and what is wrong.
    """
    try:
        st = path.stat()
    except FileNotFoundError:
        if not create:
            raise SecretFileError(f"{path}: the terminal secret file is missing") from None
        raw = secrets.token_bytes(32)
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
        except OSError as exc:
            raise SecretFileError(f"{path}: cannot create the terminal secret file: {exc.strerror}") from exc
        try:
            os.fchmod(fd, 0o600)
            os.write(fd, f"{_HEADER}\n{raw.hex()}\n".encode("ascii"))
            os.fsync(fd)
        finally:
            os.close(fd)
        logger.warning("created the terminal secret %s (0600); back it up with the settings", path)
        return TerminalSecret(raw, path, created=True)
    except OSError as exc:
        raise SecretFileError(f"{path}: cannot read the terminal secret file: {exc.strerror}") from exc
    if not stat.S_ISREG(st.st_mode):
        raise SecretFileError(f"{path}: the terminal secret is not a regular file")
    if st.st_mode & 0o077:
        try:
            os.chmod(path, 0o600)
        except OSError as exc:
            raise SecretFileError(f"{path}: others can read the terminal secret and it cannot be fixed "
                                  f"(chmod 600 {path}): {exc.strerror}") from exc
        logger.warning("fixed the mode of %s: %o -> 600", path, stat.S_IMODE(st.st_mode))
    try:
        text = path.read_text(encoding="ascii")
    except (OSError, UnicodeDecodeError) as exc:
        raise SecretFileError(f"{path}: cannot read the terminal secret file: {exc}") from exc
    return TerminalSecret(_parse(text, path), path)
