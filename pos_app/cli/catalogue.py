"""`pos-app catalogue import|template|export`: the shop's catalogue file in and out."""

from __future__ import annotations

import argparse
import datetime as dt
import getpass
import hashlib
import logging
import sys
from pathlib import Path

from pos_app.bootstrap import StorageError, apply_catalogue, open_database, read_records
from pos_app.cli.core import settings_or_exit
from pos_app.cli.users import add_config_args
from pos_app.dataio.catalogue import parse_catalogue, write_catalogue, write_template
from pos_app.dataio.tables import Problem, TableError, read_table

__all__ = ["register", "print_problems", "who"]

logger = logging.getLogger(__name__)

MAX_PRINTED = 1000


def who(args: argparse.Namespace) -> str:
    """Who made a change from the command line: ``--by`` or the system user."""
    by = getattr(args, "by", None)
    if by:
        return str(by)
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return "cli"


def print_problems(what: str, path: Path, problems: list[Problem]) -> None:
    """One line per problem on stderr (at most MAX_PRINTED, then a count), and one log line."""
    for p in problems[:MAX_PRINTED]:
        print(f"{path.name}: {p.line()}", file=sys.stderr)
    if len(problems) > MAX_PRINTED:
        print(f"{path.name}: ... and {len(problems) - MAX_PRINTED} more problems", file=sys.stderr)
    print(f"{what} import refused: {len(problems)} problem(s); nothing was written", file=sys.stderr)
    logger.warning("%s import of %s refused: %d problems (first: %s)", what, path.name, len(problems),
                   problems[0].line() if problems else "")


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    cat = sub.add_parser("catalogue", help="load, export and make a template of the shop's catalogue")
    csub = cat.add_subparsers(dest="catalogue_command", metavar="ACTION", required=True)
    imp = csub.add_parser("import", help="validate a .xlsx/.csv catalogue file and apply it in one transaction",
                          description="Every row is checked first; any problem: one line per problem, nothing "
                                      "written, exit 1. A good file is applied in one transaction, exit 0.")
    add_config_args(imp)
    imp.add_argument("file", type=Path)
    imp.add_argument("--dry-run", action="store_true", help="validate and show what would change; write nothing")
    imp.add_argument("--full", action="store_true",
                     help="the file is the whole catalogue: deactivate items that are not in it")
    imp.add_argument("--sheet", metavar="NAME", help="the sheet to read in a .xlsx (default: the first)")
    imp.add_argument("--by", metavar="NAME", help="who is importing (default: the system user)")
    imp.add_argument("--store-dsn", metavar="DSN", help="store mode: administrator connection to the store's "
                     "PostgreSQL (default $POS_STORE_ADMIN_DSN)")
    imp.set_defaults(func=_cmd_import)
    tpl = csub.add_parser("template", help="write an empty catalogue sheet with the headers and one example row")
    tpl.add_argument("--out", type=Path, required=True, metavar="FILE.xlsx")
    tpl.add_argument("--language", choices=("zh", "en"), default="zh", help="header language (both are read)")
    tpl.set_defaults(func=_cmd_template)
    exp = csub.add_parser("export", help="write the catalogue in the import format (.xlsx or .csv)")
    add_config_args(exp)
    exp.add_argument("--out", type=Path, metavar="FILE", help=".xlsx or .csv (default: CSV on stdout)")
    exp.add_argument("--language", choices=("zh", "en"), default="zh", help="header language")
    exp.set_defaults(func=_cmd_export)


def _cmd_import(args: argparse.Namespace) -> int:
    settings = settings_or_exit(args)
    path: Path = args.file
    try:
        table = read_table(path, sheet=args.sheet)
    except TableError as exc:
        print_problems("catalogue", path, exc.problems)
        return 1
    records, problems = parse_catalogue(table)
    if problems:
        print_problems("catalogue", path, problems)
        return 1
    print(f"{path.name}: {len(records)} items valid; " + ("comparing" if args.dry_run else "applying"), flush=True)
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    if settings.store.dsn:   # store mode: the catalogue lives on the store server; every lane pulls it
        from pos_app.cli.store import import_catalogue_to_store

        return import_catalogue_to_store(args, records, source=path.name, sha256=digest, by_user=who(args))
    try:
        conn = open_database(settings)
        try:
            summary = apply_catalogue(conn, records, full=args.full, by_user=who(args), source=path.name,
                                      sha256=digest, at=dt.datetime.now(dt.UTC), dry_run=args.dry_run)
        finally:
            conn.close()
    except StorageError as exc:
        print(f"database: {exc}; nothing was written", file=sys.stderr)
        return 3
    prefix = "dry run, nothing written: would have " if args.dry_run else ""
    print(prefix + summary.line())
    logger.info("catalogue import of %s (%s): %s", path.name, "dry run" if args.dry_run else "applied",
                summary.line())
    return 0


def _cmd_template(args: argparse.Namespace) -> int:
    out: Path = args.out
    if out.suffix.lower() != ".xlsx":
        print("catalogue: the template is an .xlsx file (give --out NAME.xlsx)", file=sys.stderr)
        return 2
    write_template(out, args.language)
    print(f"wrote {out} (headers and one example row)")
    return 0


def _cmd_export(args: argparse.Namespace) -> int:
    settings = settings_or_exit(args)
    try:
        conn = open_database(settings)
        try:
            records = list(read_records(conn).values())
        finally:
            conn.close()
    except StorageError as exc:
        print(f"database: {exc}", file=sys.stderr)
        return 3
    if args.out is None:
        import csv

        from pos_app.dataio.catalogue import COLUMNS, record_row

        w = csv.writer(sys.stdout)
        w.writerow([c.zh if args.language == "zh" else c.en for c in COLUMNS])
        w.writerows(record_row(r) for r in records)
        return 0
    write_catalogue(args.out, records, language=args.language)
    print(f"wrote {len(records)} items to {args.out}", file=sys.stderr)
    return 0
