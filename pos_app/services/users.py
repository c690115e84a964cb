"""Users, roles and PINs: login with lock-out, supervisor approvals, user management; all audited."""

from __future__ import annotations

import base64
import dataclasses
import datetime as dt
import hashlib
import hmac
import logging
import re
import secrets
from collections.abc import Callable

from pos_app.domain.codes import mask_code

from .approvals import APPROVER_ROLES, Approval
from .errors import ServiceError
from .ports.clock import BEIJING, Clock
from .ports.uow import UnitOfWork
from .ports.users import UserRecord

__all__ = [
    "ROLES",
    "User",
    "AuthError",
    "WrongPin",
    "Locked",
    "Disabled",
    "UnknownUser",
    "NotAuthorized",
    "UserExists",
    "BadPin",
    "UserService",
    "hash_pin",
    "verify_pin",
]

logger = logging.getLogger(__name__)

ROLES = ("cashier", "supervisor", "admin")
SCRYPT_N = 2 ** 14
SCRYPT_R = 8
SCRYPT_P = 1
_PIN_RE = re.compile(r"[0-9]{4,12}")
_NUMBER_RE = re.compile(r"[A-Za-z0-9_-]{1,32}")
LOGIN_REFUSED = "wrong user number or PIN"
"""The one message for an unknown user and a wrong PIN (the answer must not tell which users exist)."""
MAX_LOCK = dt.timedelta(hours=24)


@dataclasses.dataclass(frozen=True, slots=True)
class User:
    """A logged-in or listed user (never carries the PIN hash)."""

    id: int
    number: str
    name: str
    role: str
    active: bool = True
    card_code: str | None = None
    locked_until: dt.datetime | None = None

    @property
    def can_approve(self) -> bool:
        return self.role in APPROVER_ROLES


def _user(rec: UserRecord) -> User:
    return User(id=rec.id, number=rec.number, name=rec.name, role=rec.role, active=rec.active,
                card_code=rec.card_code, locked_until=rec.locked_until)


class AuthError(ServiceError):
    """Base of login/approval failures."""


class WrongPin(AuthError):
    """The PIN did not match; ``remaining`` tries are left before the user is locked (for the audit and
    the log only: the message is the same as for an unknown user)."""

    def __init__(self, remaining: int) -> None:
        super().__init__(LOGIN_REFUSED)
        self.remaining = remaining


class Locked(AuthError):
    """Too many wrong PINs: the user is locked until ``until``."""

    def __init__(self, until: dt.datetime) -> None:
        super().__init__(f"locked after too many wrong PINs until {until.astimezone(BEIJING):%H:%M}: another "
                         "supervisor can approve meanwhile, or an admin can unlock it (pos-app users reset-pin)")
        self.until = until


class Disabled(AuthError):
    """The user has been disabled."""

    def __init__(self) -> None:
        super().__init__("this user is disabled")


class UnknownUser(AuthError):
    """No user with that number or card."""

    def __init__(self) -> None:
        super().__init__(LOGIN_REFUSED)


class NotAuthorized(AuthError):
    """The user's role may not do this (for example a cashier approving)."""


class UserExists(ServiceError):
    """A user with that number or card already exists."""


class BadPin(ServiceError):
    """A new PIN that does not follow the rules (4 to 8 digits)."""


def _keyed(pin: str, key: bytes | None) -> bytes:
    if key is None:
        return pin.encode("utf-8")
    return hmac.new(key, pin.encode("utf-8"), hashlib.sha256).digest()


def hash_pin(pin: str, *, salt: bytes | None = None, n: int = SCRYPT_N, r: int = SCRYPT_R,
             p: int = SCRYPT_P, key: bytes | None = None) -> str:
    """``kscrypt$n$r$p$salt_b64$hash_b64`` (keyed: scrypt over HMAC-SHA256(key, PIN)) with a fresh salt.

    ``key`` comes from the terminal secret (a file outside the database); without it the legacy unkeyed
    form ``scrypt$...`` is produced (tests, tools that have no secret).
    """
    salt = salt if salt is not None else secrets.token_bytes(16)
    digest = hashlib.scrypt(_keyed(pin, key), salt=salt, n=n, r=r, p=p, dklen=32)
    b64 = base64.b64encode
    scheme = "kscrypt" if key is not None else "scrypt"
    return f"{scheme}${n}${r}${p}${b64(salt).decode()}${b64(digest).decode()}"


STORE_VERIFIER = "store$"
"""Prefix of a PIN verifier pulled from the store server (store mode): ``store$kscrypt$...``, keyed with the
store's PIN key (a file on each lane, never in PostgreSQL) instead of this terminal's own key."""


def verify_pin(pin: str, encoded: str, *, key: bytes | None = None, store_key: bytes | None = None) -> bool:
    """Constant-time check of ``pin`` against an encoded hash (keyed ``kscrypt`` needs ``key``; the legacy
    ``scrypt`` form still verifies, so an upgraded shop keeps its PINs; a store verifier needs ``store_key``);
    False for a malformed hash."""
    if encoded.startswith(STORE_VERIFIER):
        return store_key is not None and verify_pin(pin, encoded[len(STORE_VERIFIER):], key=store_key)
    try:
        scheme, n, r, p, salt, digest = encoded.split("$")
        if scheme == "kscrypt":
            if key is None:
                return False
            secret = _keyed(pin, key)
        elif scheme == "scrypt":
            secret = pin.encode("utf-8")
        else:
            return False
        expected = base64.b64decode(digest)
        got = hashlib.scrypt(secret, salt=base64.b64decode(salt), n=int(n), r=int(r), p=int(p),
                             dklen=len(expected))
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(got, expected)


def needs_rehash(encoded: str, *, key: bytes | None) -> bool:
    """True for a legacy unkeyed hash when a key is available (rehash it at the next successful login)."""
    return key is not None and not encoded.startswith("kscrypt$")


_DUMMY_HASH = hash_pin("000000", salt=b"\0" * 16)

_mask = mask_code  # the one masking function (pos_app.domain.codes)


class UserService:
    """Login, approvals and user management. ``uow_factory()`` returns a fresh unit of work."""

    def __init__(self, uow_factory: Callable[[], UnitOfWork], clock: Clock, *, terminal_id: str = "",
                 max_failures: int = 5, lock_minutes: int = 15, pin_key: bytes | None = None,
                 min_pin_length: int = 4, supervisor_min_pin_length: int = 6,
                 store_pin_key: bytes | None = None) -> None:
        self._uow = uow_factory
        self._store_pin_key = store_pin_key   # store mode: verifies PINs of users pulled from the store
        self._clock = clock
        self._terminal_id = terminal_id
        self._max_failures = max_failures
        self._lock = dt.timedelta(minutes=lock_minutes)
        self._pin_key = pin_key
        self._min_pin = min_pin_length
        self._min_pin_supervisor = max(min_pin_length, supervisor_min_pin_length)

    def _lock_for(self, failures: int) -> dt.timedelta:
        """The lock after ``failures`` consecutive wrong PINs: doubles with every further lock, at most a day."""
        locks = max(1, failures // self._max_failures)
        factor: int = 2 ** min(locks - 1, 20)
        return min(self._lock * factor, MAX_LOCK)

    # --- login -------------------------------------------------------------------------

    def authenticate(self, number_or_card: str, pin: str, *, purpose: str = "login") -> User:
        """Check a PIN; every success, failure and lock is audited (never the PIN)."""
        now = self._clock.now()
        error: AuthError | None = None
        with self._uow() as uow:
            rec = uow.users.find(number_or_card.strip())
            if rec is None:
                verify_pin(pin, _DUMMY_HASH)  # the same work as a wrong PIN: timing does not tell either
                uow.audit.append(at=now, user_id=None, user_name="", action=f"{purpose}.unknown_user",
                                 subject=_mask(number_or_card.strip()))
                error = UnknownUser()
            elif not rec.active:
                uow.audit.append(at=now, user_id=rec.id, user_name=rec.name, action=f"{purpose}.disabled",
                                 subject=rec.number)
                error = Disabled()
            elif rec.locked_until is not None and rec.locked_until > now:
                uow.audit.append(at=now, user_id=rec.id, user_name=rec.name, action=f"{purpose}.locked_out",
                                 subject=rec.number)
                error = Locked(rec.locked_until)
            elif not verify_pin(pin, stored := uow.users.pin_hash(rec.id), key=self._pin_key,
                                store_key=self._store_pin_key):
                # failures count on across locks (reset only by a good PIN): each lock is longer
                failures = rec.failed_attempts + 1
                if failures % self._max_failures == 0:
                    until = now + self._lock_for(failures)
                    uow.users.record_failure(rec.id, failures, until)
                    uow.audit.append(at=now, user_id=rec.id, user_name=rec.name, action="user.locked",
                                     subject=rec.number, detail={"failures": failures, "until": until.isoformat()})
                    error = Locked(until)
                else:
                    uow.users.record_failure(rec.id, failures, None)
                    uow.audit.append(at=now, user_id=rec.id, user_name=rec.name, action=f"{purpose}.wrong_pin",
                                     subject=rec.number, detail={"failures": failures})
                    error = WrongPin(self._max_failures - failures % self._max_failures)
            else:
                if needs_rehash(stored, key=self._pin_key):
                    uow.users.set_pin(rec.id, hash_pin(pin, key=self._pin_key))
                    uow.audit.append(at=now, user_id=rec.id, user_name=rec.name, action="user.pin_rehashed",
                                     subject=rec.number)
                uow.users.record_success(rec.id)
                uow.audit.append(at=now, user_id=rec.id, user_name=rec.name, action=f"{purpose}.ok",
                                 subject=rec.number)
        if error is not None:
            logger.info("%s refused: %s", purpose, type(error).__name__)
            raise error
        assert rec is not None
        return _user(dataclasses.replace(rec, failed_attempts=0, locked_until=None))

    def approve(self, action: str, subject: str, number_or_card: str, pin: str, reason_code: str,
                note: str = "", requested_by: User | None = None) -> Approval:
        """A supervisor (or admin) approves ``action`` on ``subject`` with their PIN and a reason."""
        if not reason_code.strip():
            raise ServiceError("choose a reason")
        approver = self.authenticate(number_or_card, pin, purpose="approval")
        now = self._clock.now()
        with self._uow() as uow:
            if not approver.can_approve:
                uow.audit.append(at=now, user_id=approver.id, user_name=approver.name, action="approval.refused",
                                 subject=subject, detail={"action": action, "role": approver.role})
                refused = True
            else:
                refused = False
                shift = uow.shifts.current(self._terminal_id) if self._terminal_id else None
                shift_id = shift.id if shift else None
                approval_id = uow.users.add_approval(
                    action=action, subject=subject, shift_id=shift_id,
                    requested_by=requested_by.id if requested_by else None, approved_by=approver.id,
                    reason_code=reason_code, note=note, created_at=now)
                uow.audit.append(at=now, user_id=approver.id, user_name=approver.name, action="approval",
                                 subject=subject, detail={
                                     "approval_id": approval_id, "action": action, "reason_code": reason_code,
                                     "note": note, "requested_by": requested_by.name if requested_by else ""})
        if refused:
            raise NotAuthorized(f"{approver.name} is a {approver.role} and may not approve")
        return Approval(id=approval_id, action=action, subject=subject, approved_by=approver.id,
                        approver_name=approver.name, approver_role=approver.role,
                        requested_by=requested_by.id if requested_by else None, reason_code=reason_code,
                        note=note, at=now, shift_id=shift_id)

    # --- management --------------------------------------------------------------------

    def add_user(self, number: str, name: str, role: str, pin: str, *, card_code: str | None = None,
                 by: User | None = None) -> User:
        """Create a user; the PIN is stored only as a scrypt hash."""
        if role not in ROLES:
            raise ServiceError(f"role must be one of {', '.join(ROLES)}")
        if not _NUMBER_RE.fullmatch(number):
            raise ServiceError("user number: 1 to 32 letters, digits, - or _")
        if not name.strip():
            raise ServiceError("a name is required")
        self._check_pin(pin, role)
        encoded = hash_pin(pin, key=self._pin_key)
        now = self._clock.now()
        with self._uow() as uow:
            if uow.users.find(number) is not None or (card_code and uow.users.find(card_code) is not None):
                raise UserExists(f"user {number} (or that card) already exists")
            user_id = uow.users.add(number=number, name=name.strip(), role=role, pin_hash=encoded,
                                    card_code=card_code or None, created_at=now)
            uow.audit.append(at=now, user_id=by.id if by else None, user_name=by.name if by else "",
                             action="user.add", subject=number, detail={"name": name.strip(), "role": role})
            rec = uow.users.get(user_id)
        assert rec is not None
        return _user(rec)

    def list_users(self) -> list[User]:
        with self._uow() as uow:
            return [_user(r) for r in uow.users.list()]

    def disable(self, number: str, *, by: User | None = None) -> User:
        return self._set_active(number, False, by)

    def enable(self, number: str, *, by: User | None = None) -> User:
        return self._set_active(number, True, by)

    def _set_active(self, number: str, active: bool, by: User | None) -> User:
        now = self._clock.now()
        with self._uow() as uow:
            rec = uow.users.find(number)
            if rec is None:
                raise UnknownUser()
            uow.users.set_active(rec.id, active)
            uow.audit.append(at=now, user_id=by.id if by else None, user_name=by.name if by else "",
                             action="user.enable" if active else "user.disable", subject=rec.number)
        return _user(dataclasses.replace(rec, active=active))

    def reset_pin(self, number: str, new_pin: str, *, by: User | None = None) -> User:
        """Set a new PIN and clear any lock."""
        now = self._clock.now()
        with self._uow() as uow:
            rec = uow.users.find(number)
            if rec is None:
                raise UnknownUser()
            self._check_pin(new_pin, rec.role)
            encoded = hash_pin(new_pin, key=self._pin_key)
            uow.users.set_pin(rec.id, encoded)
            uow.audit.append(at=now, user_id=by.id if by else None, user_name=by.name if by else "",
                             action="user.reset_pin", subject=rec.number)
        return _user(dataclasses.replace(rec, failed_attempts=0, locked_until=None))

    def _check_pin(self, pin: str, role: str) -> None:
        least = self._min_pin_supervisor if role in APPROVER_ROLES else self._min_pin
        if not _PIN_RE.fullmatch(pin) or len(pin) < least:
            raise BadPin(f"a {role}'s PIN is {least} to 12 digits")
        if len(set(pin)) == 1:
            raise BadPin("a PIN must not be one digit repeated")
