"""`pos-app export sales --from DATE --to DATE --format csv|xlsx|jsonl [--out FILE]` and `export daily`."""

from __future__ import annotations

import argparse
import datetime as dt
import logging
import sys
from pathlib import Path

from pos_app.bootstrap import JOURNAL_COLUMNS, StorageError, journal_rows, open_database
from pos_app.cli.core import settings_or_exit
from pos_app.cli.users import add_config_args
from pos_app.dataio.journal import FORMATS, write_journal
from pos_app.services.ports.clock import BEIJING
from pos_app.settings import Settings

__all__ = ["register", "export_sales"]

logger = logging.getLogger(__name__)


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date (YYYY-MM-DD)") from None


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    exp = sub.add_parser("export", help="the sales journal for the back office")
    esub = exp.add_subparsers(dest="export_command", metavar="WHAT", required=True)
    sales = esub.add_parser(
        "sales", help="sales, lines, tenders, points, refunds, cash movements, shifts and Z reports of some days",
        description="Every row carries the terminal and a gap-free sequence number. Dates are store-local "
                    "(Beijing time), both included. The file is written atomically (temporary file, rename), 0600.")
    add_config_args(sales)
    sales.add_argument("--from", dest="first", type=_date, required=True, metavar="DATE")
    sales.add_argument("--to", dest="last", type=_date, required=True, metavar="DATE")
    sales.add_argument("--format", choices=FORMATS, default="csv")
    sales.add_argument("--out", type=Path, metavar="FILE",
                       help="default: sales-<terminal>-<from>-<to>.<format> in the current folder")
    sales.set_defaults(func=_cmd_sales)


def export_sales(settings: Settings, first: dt.date, last: dt.date, fmt: str, out: Path,
                 *, now: dt.datetime | None = None) -> int:
    """Write the journal of ``first``..``last`` to ``out``; returns the number of rows."""
    conn = open_database(settings)
    try:
        rows = journal_rows(conn, first, last, tz=BEIJING, now=now or dt.datetime.now(dt.UTC))
        return write_journal(out, fmt, JOURNAL_COLUMNS, rows)
    finally:
        conn.close()


def _cmd_sales(args: argparse.Namespace) -> int:
    settings = settings_or_exit(args)
    if args.last < args.first:
        print("export: --to is before --from", file=sys.stderr)
        return 2
    out: Path = args.out or Path(f"sales-{settings.store.terminal_id}-{args.first}-{args.last}.{args.format}")
    if not out.parent.is_dir():
        print(f"export: folder {out.parent} does not exist", file=sys.stderr)
        return 2
    try:
        n = export_sales(settings, args.first, args.last, args.format, out)
    except StorageError as exc:
        print(f"database: {exc}", file=sys.stderr)
        return 3
    except OSError as exc:
        print(f"export: cannot write {out}: {exc.strerror or exc}", file=sys.stderr)
        return 1
    print(f"wrote {n} rows to {out}")
    logger.info("sales journal %s..%s exported: %d rows to %s", args.first, args.last, n, out.name)
    return 0
