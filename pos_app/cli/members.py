"""`pos-app members import|export` and `pos-app users import`: people from the shop's files."""

from __future__ import annotations

import argparse
import datetime as dt
import logging
import sys
from pathlib import Path

from pos_app.bootstrap import (
    StorageError,
    UsersRefused,
    apply_members,
    apply_users,
    card_requests,
    open_database,
    read_members,
)
from pos_app.cli.catalogue import print_problems, who
from pos_app.cli.core import settings_or_exit
from pos_app.cli.users import add_config_args
from pos_app.dataio.members import parse_members, write_members
from pos_app.dataio.tables import TableError, read_table
from pos_app.dataio.users import parse_users

__all__ = ["register", "register_users_import"]

logger = logging.getLogger(__name__)


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    mem = sub.add_parser("members", help="import members from another system, export them")
    msub = mem.add_subparsers(dest="members_command", metavar="ACTION", required=True)
    imp = msub.add_parser("import", help="validate a .xlsx/.csv members file and apply it in one transaction",
                          description="Columns: card number, phone, name, level, opening points, Alipay card "
                                      "number / Alipay card flag. Opening points become one ledger entry per new "
                                      "member; members holding the Alipay card get their points synced to it.")
    add_config_args(imp)
    imp.add_argument("file", type=Path)
    imp.add_argument("--dry-run", action="store_true", help="validate and count; write nothing")
    imp.add_argument("--sheet", metavar="NAME", help="the sheet to read in a .xlsx (default: the first)")
    imp.add_argument("--by", metavar="NAME", help="who is importing (default: the system user)")
    imp.add_argument("--store-dsn", metavar="DSN", help="store mode: administrator connection to the store's "
                     "PostgreSQL (default $POS_STORE_ADMIN_DSN); the members go to the store, every lane pulls them")
    imp.set_defaults(func=_cmd_import)
    exp = msub.add_parser("export", help="write the members (with current points) in the import format")
    add_config_args(exp)
    exp.add_argument("--out", type=Path, required=True, metavar="FILE", help=".xlsx or .csv")
    exp.set_defaults(func=_cmd_export)


def register_users_import(usub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """`pos-app users import FILE` (added to the users command)."""
    imp = usub.add_parser("import", help="add users from a .xlsx/.csv file (number, name, role, card, PIN hash)",
                          description="Users without a PIN hash are added without a PIN: set it with "
                                      "`pos-app users reset-pin NUMBER` before they log in. Clear-text PINs "
                                      "are refused.")
    add_config_args(imp)
    imp.add_argument("file", type=Path)
    imp.add_argument("--by", metavar="NAME", help="who is importing (default: the system user)")
    imp.set_defaults(func=_cmd_users_import)


def _cmd_import(args: argparse.Namespace) -> int:
    settings = settings_or_exit(args)
    path: Path = args.file
    try:
        table = read_table(path, sheet=args.sheet)
    except TableError as exc:
        print_problems("members", path, exc.problems)
        return 1
    rows, problems = parse_members(table, member_pattern=settings.scanners.member_pattern)
    if problems:
        print_problems("members", path, problems)
        return 1
    print(f"{path.name}: {len(rows)} members valid; " + ("comparing" if args.dry_run else "applying"), flush=True)
    if settings.store.dsn:   # store mode (issue 13): members and their points live on the store server
        from pos_app.cli.store import import_members_to_store

        return import_members_to_store(args, rows, source=path.name)
    try:
        conn = open_database(settings)
        try:
            summary = apply_members(conn, rows, by_user=who(args), source=path.name, at=dt.datetime.now(dt.UTC),
                                    card_requests=card_requests(), dry_run=args.dry_run)
        finally:
            conn.close()
    except StorageError as exc:
        print(f"database: {exc}; nothing was written", file=sys.stderr)
        return 3
    print(("dry run, nothing written: would have " if args.dry_run else "") + summary.line())
    logger.info("members import of %s: %s%s", path.name, summary.line(), " (dry run)" if args.dry_run else "")
    return 0


def _cmd_export(args: argparse.Namespace) -> int:
    settings = settings_or_exit(args)
    try:
        conn = open_database(settings)
        try:
            rows = read_members(conn)
        finally:
            conn.close()
    except StorageError as exc:
        print(f"database: {exc}", file=sys.stderr)
        return 3
    write_members(args.out, rows)
    args.out.chmod(0o600)  # names and phone numbers: readable by the owner only
    print(f"wrote {len(rows)} members to {args.out}")
    return 0


def _cmd_users_import(args: argparse.Namespace) -> int:
    settings = settings_or_exit(args)
    path: Path = args.file
    try:
        table = read_table(path)
    except TableError as exc:
        print_problems("users", path, exc.problems)
        return 1
    rows, problems = parse_users(table)
    if problems:
        print_problems("users", path, problems)
        return 1
    try:
        conn = open_database(settings)
        try:
            added, skipped, no_pin = apply_users(conn, rows, by_user=who(args), source=path.name,
                                                 at=dt.datetime.now(dt.UTC))
        finally:
            conn.close()
    except StorageError as exc:
        print(f"database: {exc}; nothing was written", file=sys.stderr)
        return 3
    except UsersRefused as exc:  # a card code that belongs to another user
        print(f"{path.name}: {exc}; nothing was written", file=sys.stderr)
        return 1
    print(f"users: added {added}, already present {skipped}")
    if no_pin:
        print(f"{len(no_pin)} user(s) have no PIN yet and cannot log in until one is set: "
              + ", ".join(f"pos-app users reset-pin {n}" for n in no_pin[:20]))
    logger.info("users import of %s: added %d, already present %d, without PIN %d", path.name, added, skipped,
                len(no_pin))
    return 0
