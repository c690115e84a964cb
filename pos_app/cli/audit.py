"""`pos-app audit verify|accept|tail`: check the keyed chain, sealed sales and the anchor; accept a refused
state as a supervisor; show recent entries."""

from __future__ import annotations

import argparse
import getpass
import os
import sys

from pos_app.bootstrap import ServiceUnavailable, audit_tail
from pos_app.cli.core import settings_or_exit
from pos_app.cli.users import add_config_args
from pos_app.services.users import AuthError
from pos_app.start_checks import StartRefused, integrity_accept, integrity_verify

__all__ = ["register"]


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    audit = sub.add_parser("audit", help="audit log tools")
    asub = audit.add_subparsers(dest="audit_command", metavar="ACTION", required=True)
    verify = asub.add_parser("verify", help="check the keyed chain, every sealed sale/refund and the anchor; "
                                            "exit 1 and name the first bad entry")
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


def _cmd_verify(args: argparse.Namespace) -> int:
    settings = settings_or_exit(args)
    if not settings.db_path.exists():
        print(f"audit: {settings.db_path} does not exist", file=sys.stderr)
        return 3
    try:
        rep, notes = integrity_verify(settings)
    except StartRefused as exc:
        print("\n".join(exc.problems), file=sys.stderr)
        return 3
    except ServiceUnavailable as exc:
        print(f"database: {exc}", file=sys.stderr)
        return 3
    for note in notes:
        print(f"audit: {note}", file=sys.stderr)
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
    settings = settings_or_exit(args)
    pin = os.environ.get(args.pin_env, "") if args.pin_env else getpass.getpass("supervisor PIN: ")
    try:
        name, problems, entry = integrity_accept(settings, args.supervisor, pin, args.reason)
    except AuthError as exc:
        print(f"audit: {exc}", file=sys.stderr)
        return 1
    except StartRefused as exc:
        print("\n".join(exc.problems), file=sys.stderr)
        return 3
    except ServiceUnavailable as exc:
        print(f"database: {exc}", file=sys.stderr)
        return 3
    if not name:
        print("audit: nothing to accept, the integrity check passes")
        return 0
    print(f"accepted by {name}: {problems} problem(s) recorded in audit entry {entry}; the terminal starts again")
    return 0


def _cmd_tail(args: argparse.Namespace) -> int:
    settings = settings_or_exit(args)
    try:
        rows = audit_tail(settings, args.n)
    except ServiceUnavailable as exc:
        print(f"database: {exc}", file=sys.stderr)
        return 3
    for r in reversed(rows):
        print(f"{r['id']:>6} {r['at'][:19]} {r['user_name'] or '-':<12} {r['action']:<24} {r['subject']} {r['detail']}")
    return 0
