"""The store's PIN key: 32 random bytes in a file (chmod 600) on the store PC and on every lane, never in PostgreSQL.

Why: a cashier must be able to log in at any lane, also while the store server is down, so every lane keeps a
copy of each user's PIN verifier. PINs are short (4-8 digits): a plain salted hash, however slow, falls to an
offline search of every PIN in hours once someone can read it (a lane role's password is enough to SELECT the
store's user table). So the store holds scrypt over HMAC-SHA256(store PIN key, PIN) with a per-user salt: the
verifiers in PostgreSQL, in a dump or in a lane's SQLite file are useless without the key file, which only the
store PC and the lanes have. A lane re-hashes a pulled verifier under its own terminal key at the first
successful login (the lane's usual rehash), and the store's copy wins again whenever the store changes the user.
"""

from __future__ import annotations

import base64
import binascii
import os
import secrets
import stat
from pathlib import Path

__all__ = ["PinKeyError", "create_pin_key", "read_pin_key", "KEY_BYTES"]

KEY_BYTES = 32


class PinKeyError(Exception):
    """The PIN key file is missing, unreadable, malformed or readable by others."""


def create_pin_key(path: Path | str) -> bool:
    """Write a new key to ``path`` (chmod 600); False (and nothing written) if the file exists already."""
    path = Path(path).expanduser()
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return False
    except OSError as exc:
        raise PinKeyError(f"cannot create {path} ({exc.strerror})") from None
    with os.fdopen(fd, "w", encoding="ascii") as fh:
        fh.write(base64.b64encode(secrets.token_bytes(KEY_BYTES)).decode() + "\n")
    return True


def read_pin_key(path: Path | str) -> bytes:
    path = Path(path).expanduser()
    try:
        mode = path.stat().st_mode
        text = path.read_text(encoding="ascii").strip()
    except OSError as exc:
        raise PinKeyError(f"cannot read {path} ({exc.strerror})") from None
    except UnicodeDecodeError:
        raise PinKeyError(f"{path} is not a PIN key file (made by `pos-app store init --pin-key-file`)") from None
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise PinKeyError(f"{path} is readable by other users: chmod 600 {path}")
    try:
        key = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise PinKeyError(f"{path} is not a PIN key file (made by `pos-app store init --pin-key-file`)") from None
    if len(key) != KEY_BYTES:
        raise PinKeyError(f"{path} holds {len(key)} bytes, not {KEY_BYTES}: not a PIN key file")
    return key
