"""`pos-app audit verify|accept|tail`: check the hash chain of the audit log, show recent entries."""

from __future__ import annotations

import argparse
import sqlite3
import sys

from pos_app.cli.core import settings_or_exit
from pos_app.cli.users import add_config_args
from pos_app.settings import Settings
from pos_app.storage.audit import audit_entries
from pos_app.storage.db import connect
from pos_app.storage.errors import StorageUnavailable

__all__ = ["register"]


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    audit = sub.add_parser("audit", help="audit log tools")
    asub = audit.add_subparsers(dest="audit_command", metavar="ACTION", required=True)
    verify = asub.add_parser("verify", help="check the hash chain; exit 1 and name the first broken entry")
    add_config_args(verify)
    verify.set_defaults(func=_cmd_verify)
    accept = asub.add_parser("accept", help="a supervisor accepts the database as it is after a refused start "
                                            "(recorded in the audit log)")
    add_config_args(accept)
    accept.add_argument("--supervisor", required=True, metavar="NUMBER", help="the supervisor's user number")
    accept.add_argument("--pin-env", metavar="VAR", help="read the PIN from this environment variable")
    accept.add_argument("--reason", default="", help="why (for example: backup restored after a disk failure)")
    accept.set_defaults(func=_cmd_accept)
    tail = asub.add_parser("tail", help="print the newest entries")
    add_config_args(tail)
    tail.add_argument("-n", type=int, default=20, help="how many entries (default 20)")
    tail.set_defaults(func=_cmd_tail)


def _key(settings: Settings) -> tuple[bytes | None, str]:
    """The audit key (None for a database of a terminal that never had a secret) and a note about it."""
    from pos_app.start_checks import StartRefused, terminal_secret

    if not settings.secret_path.exists():
        return None, f"no terminal secret at {settings.secret_path}: keyed entries cannot be checked"
    try:
        return terminal_secret(settings, create=False).key("audit"), ""
    except StartRefused as exc:
        return None, "; ".join(exc.problems)


def _cmd_verify(args: argparse.Namespace) -> int:
    from pos_app.storage.integrity import anchor_path_for, check, quick_check

    settings = settings_or_exit(args)
    if not settings.db_path.exists():
        print(f"audit: {settings.db_path} does not exist", file=sys.stderr)
        return 3
    key, note = _key(settings)
    if note:
        print(f"audit: {note}", file=sys.stderr)
    try:
        conn = connect(settings.db_path, readonly=True)
        try:
            damaged = quick_check(conn)
            if damaged:
                print(f"database {settings.db_path} is damaged: {'; '.join(damaged)}; restore the latest backup",
                      file=sys.stderr)
                return 3
            rep = check(conn, key, anchor_path_for(settings.db_path) if key else None, full=True)
        finally:
            conn.close()
    except StorageUnavailable as exc:
        print(f"database: {exc}", file=sys.stderr)
        return 3
    except sqlite3.DatabaseError as exc:
        print(f"database {settings.db_path} is damaged ({exc}); restore the latest backup", file=sys.stderr)
        return 3
    if not rep.ok:
        where = f" at entry {rep.first_bad}" if rep.first_bad is not None else ""
        print(f"audit log BROKEN{where}: {rep.problems[0]} ({rep.entries_checked} entries read)")
        for problem in rep.problems[1:10]:
            print(f"  also: {problem}")
        return 1
    head = f", head {rep.head[0]} {rep.head[1][:19]}" if rep.head else ""
    anchored = " and anchored" if rep.anchor is not None else ""
    print(f"audit log OK: {rep.entries_checked} entries, chain intact{anchored}, {rep.rows_checked} sealed sales "
          f"and refunds unchanged{head}")
    return 0


def _cmd_accept(args: argparse.Namespace) -> int:
    """A supervisor accepts the database as it is after a refused start; recorded in the audit log."""
    import datetime as dt
    import getpass
    import os

    from pos_app.cli.users import open_services
    from pos_app.services.users import AuthError
    from pos_app.start_checks import StartRefused, terminal_secret
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

    settings = settings_or_exit(args)
    try:
        secret = terminal_secret(settings, create=False)
    except StartRefused as exc:
        print("\n".join(exc.problems), file=sys.stderr)
        return 3
    pin = os.environ.get(args.pin_env, "") if args.pin_env else getpass.getpass("supervisor PIN: ")
    key = secret.key("audit")
    anchor_file = anchor_path_for(settings.db_path)
    try:
        with open_services(settings) as svc:
            register_audit_key(svc.conn, key, secret.path)
            rep = check(svc.conn, key, anchor_file, full=False)
            if rep.ok:
                print("audit: nothing to accept, the integrity check passes")
                return 0
            try:
                user = svc.users.authenticate(args.supervisor, pin, purpose="integrity_accept")
            except AuthError as exc:
                print(f"audit: {exc}", file=sys.stderr)
                return 1
            if not user.can_approve:
                print(f"audit: {user.name} is a {user.role}; a supervisor must accept", file=sys.stderr)
                return 1
            with transaction(svc.conn):
                append_audit(svc.conn, at=dt.datetime.now(dt.UTC), user_id=user.id, user_name=user.name,
                             action="integrity.accepted", subject=str(settings.db_path),
                             detail={"first_bad": rep.first_bad, "problems": rep.problems[:10],
                                     "reason": args.reason})
            head = audit_head(svc.conn) or (0, "")
            write_anchor(anchor_file, key, Anchor(head[0], head[1], head[0]))
    except StorageUnavailable as exc:
        print(f"database: {exc}", file=sys.stderr)
        return 3
    print(f"accepted by {user.name}: {len(rep.problems)} problem(s) recorded in audit entry {head[0]}; "
          "the terminal starts again")
    return 0


def _cmd_tail(args: argparse.Namespace) -> int:
    settings = settings_or_exit(args)
    try:
        conn = connect(settings.db_path, readonly=True)
        try:
            rows = audit_entries(conn, limit=args.n)
        finally:
            conn.close()
    except StorageUnavailable as exc:
        print(f"database: {exc}", file=sys.stderr)
        return 3
    for r in reversed(rows):
        print(f"{r['id']:>6} {r['at'][:19]} {r['user_name'] or '-':<12} {r['action']:<24} {r['subject']} {r['detail']}")
    return 0
