"""`pos-app promotions import|export|list`: the supervisor's promotions file (promotions, special prices,
per-level member prices). Import checks the whole file first and writes nothing when any record is wrong."""

from __future__ import annotations

import argparse
import datetime as dt
import getpass
import hashlib
import json
import sys
from pathlib import Path

from pos_app.bootstrap import (
    ServiceUnavailable,
    apply_price_book,
    export_price_book,
    load_price_book,
    open_database,
)
from pos_app.cli.core import settings_or_exit
from pos_app.cli.users import add_config_args
from pos_app.domain.errors import PricingError
from pos_app.domain.money import format_ui
from pos_app.domain.promotions import PriceBook, parse_level_prices

__all__ = ["register"]


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    promos = sub.add_parser("promotions", help="import, export or list promotions and special prices")
    psub = promos.add_subparsers(dest="promotions_command", metavar="ACTION", required=True)
    imp = psub.add_parser("import", help="replace the promotions with FILE.json (checked whole first; audited)")
    add_config_args(imp)
    imp.add_argument("file", metavar="FILE.json")
    imp.add_argument("--by", metavar="NAME", help="who is importing (default: the system user)")
    imp.set_defaults(func=_cmd_import)
    exp = psub.add_parser("export", help="write the stored promotions as a file that import reads back")
    add_config_args(exp)
    exp.add_argument("--out", metavar="FILE", help="write to FILE instead of standard output")
    exp.set_defaults(func=_cmd_export)
    lst = psub.add_parser("list", help="one line per promotion and special price")
    add_config_args(lst)
    lst.set_defaults(func=_cmd_list)


def _cmd_import(args: argparse.Namespace) -> int:
    settings = settings_or_exit(args)
    path = Path(args.file)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        print(f"promotions: cannot read {path}: {exc.strerror}", file=sys.stderr)
        return 2
    try:
        data = json.loads(raw.decode("utf-8-sig"))
        book = PriceBook.from_mapping(data)
        level_prices = parse_level_prices(data)
    except (ValueError, UnicodeDecodeError) as exc:
        if isinstance(exc, PricingError):
            for problem in str(exc).split("; "):
                print(f"promotions: {path.name}: {problem}", file=sys.stderr)
        else:
            print(f"promotions: {path.name} is not JSON: {exc}", file=sys.stderr)
        print("promotions: nothing was changed", file=sys.stderr)
        return 2
    by = args.by or getpass.getuser()
    try:
        conn = open_database(settings)
        try:
            summary = apply_price_book(conn, book, level_prices, at=dt.datetime.now(dt.UTC), by_user=by,
                                       source=path.name, sha256=hashlib.sha256(raw).hexdigest())
        finally:
            conn.close()
    except ServiceUnavailable as exc:
        print(f"database: {exc}", file=sys.stderr)
        return 3
    print(f"promotions: {path.name} applied (import {summary.import_id}): {summary.added} added, "
          f"{summary.changed} changed, {summary.removed} removed, {summary.unchanged} unchanged; "
          f"{summary.level_prices} member prices")
    return 0


def _cmd_export(args: argparse.Namespace) -> int:
    settings = settings_or_exit(args)
    try:
        conn = open_database(settings)
        try:
            data = export_price_book(conn)
        finally:
            conn.close()
    except ServiceUnavailable as exc:
        print(f"database: {exc}", file=sys.stderr)
        return 3
    except PricingError as exc:
        print(f"promotions: {exc}", file=sys.stderr)
        return 1
    text = json.dumps(data, ensure_ascii=False, indent=1) + "\n"
    if args.out:
        Path(args.out).write_text(text, encoding="utf-8")
        print(f"written {args.out}", file=sys.stderr)
    else:
        sys.stdout.write(text)
    return 0


def _cmd_list(args: argparse.Namespace) -> int:
    settings = settings_or_exit(args)
    try:
        conn = open_database(settings)
        try:
            book = load_price_book(conn)
        finally:
            conn.close()
    except ServiceUnavailable as exc:
        print(f"database: {exc}", file=sys.stderr)
        return 3
    except PricingError as exc:
        print(f"promotions: {exc}", file=sys.stderr)
        return 1
    for p in book.promotions:
        scope = ", ".join(sorted(p.codes | p.categories)) or "whole basket"
        flags = "".join((" member-only" if p.member_only or p.member_levels else "",
                         " not-combinable" if not p.combinable else "", " inactive" if not p.active else ""))
        print(f"{p.id}\t{p.kind}\t{p.name}\t{scope}\tpriority {p.priority}{flags}")
    for s in book.specials:
        print(f"{s.id}\tspecial_price\t{s.code}\t{format_ui(s.price_fen)}\t"
              f"{s.window.starts:%Y-%m-%d %H:%M} - {s.window.ends:%Y-%m-%d %H:%M}")
    return 0
