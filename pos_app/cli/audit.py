"""`pos-app audit verify|tail`: check the hash chain of the audit log, show recent entries."""

from __future__ import annotations

import argparse
import sys

from pos_app.bootstrap import ServiceUnavailable, audit_tail, audit_verify
from pos_app.cli.core import settings_or_exit
from pos_app.cli.users import add_config_args

__all__ = ["register"]


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    audit = sub.add_parser("audit", help="audit log tools")
    asub = audit.add_subparsers(dest="audit_command", metavar="ACTION", required=True)
    verify = asub.add_parser("verify", help="check the hash chain; exit 1 and name the first broken entry")
    add_config_args(verify)
    verify.set_defaults(func=_cmd_verify)
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
        count, broken = audit_verify(settings)
    except ServiceUnavailable as exc:
        print(f"database: {exc}", file=sys.stderr)
        return 3
    if broken is not None:
        print(f"audit log BROKEN at entry {broken.entry_id}: {broken.reason} ({count} entries read)")
        return 1
    print(f"audit log OK: {count} entries, chain intact")
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
