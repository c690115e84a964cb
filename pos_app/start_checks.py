"""What the terminal checks before it opens the till (and the CLI before it touches the database).

Refusals are :class:`StartRefused` with one line per problem and the way out, never a traceback.
"""

from __future__ import annotations

import logging
from pathlib import Path

from pos_app.services.ports.errors import ServiceUnavailable
from pos_app.settings import Settings
from pos_app.storage.integrity import IntegrityReport
from pos_app.storage.secret import SecretFileError, TerminalSecret, load_or_create_secret

__all__ = ["StartRefused", "terminal_secret", "integrity_gate", "integrity_verify", "integrity_accept", "WAY_OUT"]

logger = logging.getLogger(__name__)


class StartRefused(ServiceUnavailable):
    """The terminal must not start; ``problems`` says why and what to do (one line each)."""

    reason = "integrity"

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


def terminal_secret(settings: Settings, *, create: bool = True) -> TerminalSecret:
    """The terminal secret beside the settings (created at the first start)."""
    try:
        return load_or_create_secret(settings.secret_path, create=create)
    except SecretFileError as exc:
        raise StartRefused([f"terminal secret: {exc}"]) from exc


WAY_OUT = ("the way out: restore the latest backup of the data folder, or have a supervisor accept the state "
           "as it is (recorded in the audit log): pos-app audit accept --supervisor NUMBER")


def integrity_gate(settings: Settings, secret: TerminalSecret) -> IntegrityReport:
    """Before the till opens: the file is sound (PRAGMA quick_check), the audit chain verifies with the key
    from the last verified entry on, and the database is not older than its anchor. Registers the audit
    key for this database (entries from now on are keyed) and moves the anchor's verified mark.

    Raises :class:`StartRefused` with what is wrong, the first bad entry, and the way out.
    """
    from pos_app.storage.db import connect
    from pos_app.storage.errors import StorageError
    from pos_app.storage.integrity import (
        Anchor,
        anchor_path_for,
        check,
        quick_check,
        register_audit_key,
        write_anchor,
    )

    db = settings.db_path
    conn = connect(db)
    try:
        damaged = quick_check(conn)
        if damaged:
            raise StartRefused([f"database {db} is damaged: {'; '.join(damaged)}",
                                "the way out: restore the latest backup of the data folder (the damaged file "
                                "was not changed)"])
        key = secret.key("audit")
        keyed = conn.execute("SELECT 1 FROM audit_log WHERE hash LIKE 'k1:%' LIMIT 1").fetchone() is not None
        if keyed and secret.created:
            raise StartRefused([f"the terminal secret {secret.path} was just created, but this database was keyed "
                                "with another one (the file was lost or the settings moved)",
                                f"the way out: put the backed-up pos-secret.key back at {secret.path} (and delete "
                                "the new one)"])
        try:
            register_audit_key(conn, key, secret.path)
        except StorageError as exc:
            raise StartRefused([f"database {db}: {exc}"]) from exc
        anchor_file = anchor_path_for(db)
        rep = check(conn, key, anchor_file, full=False)
        if not rep.ok:
            first = f" (first bad audit entry: {rep.first_bad})" if rep.first_bad else ""
            logger.error("integrity check refused the start%s: %s", first, "; ".join(rep.problems))
            lines = [f"database {db}: {p}" for p in rep.problems[:5]]
            if rep.first_bad:
                lines.append(f"first bad audit entry: {rep.first_bad}")
            raise StartRefused([*lines, WAY_OUT])
        head = rep.head or (0, "")
        write_anchor(anchor_file, key, Anchor(head[0], head[1], head[0]))
        logger.info("integrity check OK: %d new audit entries and %d sealed rows verified, head %d",
                    rep.entries_checked, rep.rows_checked, head[0])
        return rep
    finally:
        conn.close()


def integrity_verify(settings: Settings, path: Path | None = None) -> tuple[IntegrityReport, list[str]]:
    """``pos-app audit verify``: the whole chain, every sealed row and the anchor, read-only.

    ``path``: another copy of the database (a backup): its chain and sealed rows are checked with the
    terminal's key, but not against the live file's anchor (a backup is older than the anchor).

    Returns the report and notes (no secret: keyed entries cannot be checked). Raises StartRefused for a
    damaged file, ServiceUnavailable when the database cannot be opened.
    """
    import sqlite3

    from pos_app.storage.db import connect
    from pos_app.storage.integrity import anchor_path_for, check, quick_check

    notes: list[str] = []
    key = None
    if settings.secret_path.exists():
        key = terminal_secret(settings, create=False).key("audit")
    else:
        notes.append(f"no terminal secret at {settings.secret_path}: keyed entries cannot be checked")
    db = settings.db_path if path is None else path
    try:
        conn = connect(db, readonly=True)
        try:
            damaged = quick_check(conn)
            if damaged:
                raise StartRefused([f"database {db} is damaged: {'; '.join(damaged)}",
                                    "the way out: restore the latest backup of the data folder"])
            anchor = anchor_path_for(db) if key and path is None else None
            return check(conn, key, anchor, full=True), notes
        finally:
            conn.close()
    except sqlite3.DatabaseError as exc:
        raise StartRefused([f"database {db} is damaged ({exc})",
                            "the way out: restore the latest backup of the data folder"]) from exc


def integrity_accept(settings: Settings, supervisor: str, pin: str, reason: str) -> tuple[str, int, int]:
    """``pos-app audit accept``: a supervisor accepts the database as it is after a refused start.

    The acceptance (who, why, what was wrong) is an audit entry; the anchor moves to it. Returns
    (supervisor's name, problems accepted, audit entry id); (``""``, 0, 0) when there was nothing to accept.
    Raises AuthError (services.users) for a wrong PIN or a user who may not approve.
    """
    import datetime as dt

    from pos_app.bootstrap import open_container
    from pos_app.services.users import NotAuthorized
    from pos_app.storage.audit import append_audit
    from pos_app.storage.db import transaction
    from pos_app.storage.integrity import (
        Anchor,
        anchor_path_for,
        audit_head,
        check,
        register_audit_key,
        write_anchor,
    )

    secret = terminal_secret(settings, create=False)
    key = secret.key("audit")
    anchor_file = anchor_path_for(settings.db_path)
    with open_container(settings, start_gate=False) as c:
        conn = c.conns.get()
        register_audit_key(conn, key, secret.path)
        rep = check(conn, key, anchor_file, full=False)
        if rep.ok:
            return "", 0, 0
        user = c.users.authenticate(supervisor, pin, purpose="integrity_accept")
        if not user.can_approve:
            raise NotAuthorized(f"{user.name} is a {user.role}; a supervisor must accept")
        with transaction(conn):
            entry = append_audit(conn, at=dt.datetime.now(dt.UTC), user_id=user.id, user_name=user.name,
                                 action="integrity.accepted", subject=str(settings.db_path),
                                 detail={"first_bad": rep.first_bad, "problems": rep.problems[:10], "reason": reason})
        head = audit_head(conn) or (0, "")
        write_anchor(anchor_file, key, Anchor(head[0], head[1], head[0]))
        logger.warning("integrity accepted by %s (%d problem(s)): %s", user.name, len(rep.problems),
                       "; ".join(rep.problems[:3]))
        return user.name, len(rep.problems), entry
