"""Connecting to the store server: the password from a file or the environment (never logged), the
libpq timeouts, and the client-side deadline that every round trip needs (STORE-MODE.md §2.4).

Server-side timeouts cannot fire for a statement the server never received, and kernel TCP timers do not
fire when something on the path keeps ACKing. So each round trip runs under a watchdog timer that, when
it expires, shuts the connection's socket down; the blocked call fails at once, the connection is
discarded and the caller retries later (every call is idempotent).
"""

from __future__ import annotations

import contextlib
import logging
import os
import select
import socket
import threading
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, TypeGuard

import psycopg
from psycopg import conninfo

from .errors import StoreRefused, StoreUnavailable

__all__ = ["read_password", "lane_conninfo", "open_connection", "deadline", "masked_dsn"]

logger = logging.getLogger(__name__)


def read_password(password_file: str, password_env: str, env: Mapping[str, str] | None = None) -> str | None:
    """The store password: from ``password_file`` (first line) or the variable named ``password_env``."""
    env = os.environ if env is None else env
    if password_file:
        path = Path(password_file).expanduser()
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise StoreRefused(f"store.password_file: cannot read {path} ({exc.strerror})") from None
        return text.splitlines()[0].strip() if text.strip() else None
    if password_env:
        value = env.get(password_env)
        if not value:
            raise StoreRefused(f"store.password_env: the variable {password_env} is not set")
        return value
    return None


def masked_dsn(dsn: str) -> str:
    """The DSN with any password removed, for logs and status lines."""
    try:
        parts = conninfo.conninfo_to_dict(dsn)
    except psycopg.ProgrammingError:
        return "(unparseable dsn)"
    parts.pop("password", None)
    return " ".join(f"{k}={v}" for k, v in parts.items())


def lane_conninfo(dsn: str, password: str | None, *, connect_timeout_s: int = 3,
                  application_name: str = "pos-lane") -> str:
    extra: dict[str, Any] = {
        "connect_timeout": max(1, connect_timeout_s),
        "application_name": application_name,
        "keepalives": 1, "keepalives_idle": 5, "keepalives_interval": 2, "keepalives_count": 2,
        "tcp_user_timeout": 5000,
    }
    if password:
        extra["password"] = password
    try:
        return conninfo.make_conninfo(dsn, **extra)
    except psycopg.ProgrammingError as exc:
        raise StoreRefused(f"store.dsn is not a valid PostgreSQL connection string: {exc}") from None


def open_connection(info: str, *, statement_timeout_ms: int = 5000) -> psycopg.Connection[Any]:
    """A connection in autocommit mode with a server-side statement timeout; errors become StoreUnavailable
    (cannot reach) or StoreRefused (reached, said no: bad password, unknown role)."""
    try:
        conn = psycopg.connect(info, autocommit=True)
    except psycopg.OperationalError as exc:
        text = str(exc)
        if "password authentication failed" in text or "does not exist" in text:
            raise StoreRefused(_clean(text)) from None
        raise StoreUnavailable(_clean(text)) from None
    try:
        conn.execute(f"SET statement_timeout = {int(statement_timeout_ms)}".encode())
    except psycopg.Error as exc:
        conn.close()
        raise StoreUnavailable(_clean(str(exc))) from None
    return conn


def still_open(conn: psycopg.Connection[Any] | None) -> TypeGuard[psycopg.Connection[Any]]:
    """Whether a connection kept idle between calls may carry the next one. A server that restarted (or ended
    the session) meanwhile has said so on the socket — a FATAL message, then end of file — which the client
    reads only at its next call, and that call would fail although the server may be back. So a socket with
    something to read (or in error) while no call is outstanding means the connection is gone: the caller
    opens a new one (one connect) instead of failing once and going offline."""
    if conn is None or conn.closed or conn.broken:
        return False
    try:
        poller = select.poll()   # not select(): it cannot watch a descriptor above 1023
        poller.register(conn.fileno(), select.POLLIN | select.POLLPRI)
        events = poller.poll(0)
    except (psycopg.Error, OSError, ValueError):
        return False
    return not events


def _clean(text: str) -> str:
    return " ".join(text.split())[:300]


def _kill_socket(conn: psycopg.Connection[Any]) -> None:
    with contextlib.suppress(OSError, ValueError, psycopg.Error):
        fd = os.dup(conn.fileno())
        s = socket.socket(fileno=fd)
        try:
            s.shutdown(socket.SHUT_RDWR)
        finally:
            s.close()


@contextlib.contextmanager
def deadline(conn: psycopg.Connection[Any], seconds: float, what: str) -> Iterator[None]:
    """Run a round trip on ``conn`` for at most ``seconds``; on expiry its socket is shut down and
    StoreUnavailable is raised (the caller must discard ``conn``)."""
    fired = threading.Event()

    def expire() -> None:
        fired.set()
        _kill_socket(conn)

    timer = threading.Timer(seconds, expire)
    timer.daemon = True
    timer.start()
    try:
        yield
    except (psycopg.OperationalError, psycopg.InterfaceError) as exc:
        if fired.is_set():
            raise StoreUnavailable(f"{what}: no answer within {seconds:g} s (deadline)") from None
        raise StoreUnavailable(f"{what}: {_clean(str(exc))}") from None
    except psycopg.Error as exc:
        if fired.is_set():
            raise StoreUnavailable(f"{what}: no answer within {seconds:g} s (deadline)") from None
        raise StoreRefused(f"{what}: {_clean(str(exc))}") from None
    finally:
        timer.cancel()
    if fired.is_set():
        raise StoreUnavailable(f"{what}: no answer within {seconds:g} s (deadline)")
