"""``pos-app reconcile alipay --date YYYY-MM-DD [--file ZIP]`` and ``pos-app reconcile show``.

Exit codes: 0 every Alipay trade and refund matched, 1 differences found (listed, and in the CSV),
2 bad bill or bad date (nothing changed), 3 no bill yet / no answer (try later), 4 gateway configuration.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import logging
import sys
from pathlib import Path
from typing import Any

from pos_app.domain.money import format_ui
from pos_app.domain.reconcile import BillFormatError, BillUnavailable
from pos_app.reconcile_runner import latest_run, run_reconcile, stored_run
from pos_app.runtime import SystemClock
from pos_app.services.ports.clock import BEIJING

from .core import settings_or_exit

__all__ = ["register", "EXIT_MATCHED", "EXIT_DIFFERENCES", "EXIT_BAD_BILL", "EXIT_NOT_READY"]

logger = logging.getLogger(__name__)

EXIT_MATCHED = 0
EXIT_DIFFERENCES = 1
EXIT_BAD_BILL = 2
EXIT_NOT_READY = 3
EXIT_GATEWAY = 4


def _add_config(p: argparse.ArgumentParser) -> None:
    p.add_argument("--config", metavar="FILE", help="settings file (TOML); default $POS_CONFIG")
    p.add_argument("--data-dir", metavar="DIR", help="data directory; default $POS_DATA_DIR or the user data dir")


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    rec = sub.add_parser("reconcile", help="daily reconciliation with Alipay's trade bill")
    rsub = rec.add_subparsers(dest="reconcile_command", metavar="SOURCE", required=True)
    ali = rsub.add_parser("alipay", help="download the day's Alipay trade bill and match it with this terminal")
    _add_config(ali)
    ali.add_argument("--date", metavar="YYYY-MM-DD", help="the bill's day (Beijing time); default yesterday")
    ali.add_argument("--file", metavar="ZIP", help="use a bill zip downloaded before instead of asking Alipay")
    ali.add_argument("--json", action="store_true", help="print the result as JSON")
    ali.set_defaults(func=_cmd_alipay)
    show = rsub.add_parser("show", help="the last stored reconciliation (or of --date)")
    _add_config(show)
    show.add_argument("--date", metavar="YYYY-MM-DD")
    show.add_argument("--json", action="store_true")
    show.set_defaults(func=_cmd_show)


def _parse_day(text: str | None) -> dt.date:
    if not text:
        return SystemClock().now().astimezone(BEIJING).date() - dt.timedelta(days=1)
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise SystemExit(f"reconcile: --date {text!r} is not a date (YYYY-MM-DD)") from None


def _summary(run: dict[str, Any]) -> list[str]:
    lines = [f"Alipay bill {run['bill_date']} (account {run['account']}): {run['alipay_trades']} trades "
             f"{format_ui(run['alipay_trade_fen'], symbol='')}, {run['alipay_refunds']} refunds "
             f"{format_ui(run['alipay_refund_fen'], symbol='')}",
             f"matched: {run['matched']}   differences: {run['problems']}"]
    for item in run["items"]:
        amounts = " / ".join(x for x in (
            f"alipay {format_ui(item['alipay_fen'], symbol='')}" if item["alipay_fen"] is not None else "",
            f"terminal {format_ui(item['terminal_fen'], symbol='')}" if item["terminal_fen"] is not None else "") if x)
        ref = f" refund {item['out_request_no']}" if item["out_request_no"] else ""
        lines.append(f"  {item['kind']}: {item['out_trade_no']}{ref} {amounts} - {item['detail']}")
    if run.get("csv_path"):
        lines.append(f"csv: {run['csv_path']}")
    return lines


def _cmd_alipay(args: argparse.Namespace) -> int:
    settings = settings_or_exit(args)
    try:
        day = _parse_day(args.date)
    except SystemExit as exc:
        print(exc, file=sys.stderr)
        return EXIT_BAD_BILL
    data: bytes | None = None
    if args.file:
        try:
            data = Path(args.file).read_bytes()
        except OSError as exc:
            print(f"reconcile: cannot read {args.file}: {exc.strerror or exc}", file=sys.stderr)
            return EXIT_BAD_BILL
    try:
        outcome = run_reconcile(settings, day, data=data)
    except BillFormatError as exc:
        print(f"reconcile: bad bill, nothing changed: {exc}", file=sys.stderr)
        return EXIT_BAD_BILL
    except BillUnavailable as exc:
        print(f"reconcile: {exc}", file=sys.stderr)
        return EXIT_NOT_READY if exc.retry_later else EXIT_BAD_BILL
    except Exception as exc:  # noqa: BLE001 - key or database problems: one line, not a traceback
        kind = type(exc).__name__
        if kind == "KeyConfigError":
            print(f"reconcile: gateway configuration problem: {exc}", file=sys.stderr)
            return EXIT_GATEWAY
        if kind.startswith(("Storage", "Database")) or kind in ("ReadOnly",):
            print(f"database: {exc}", file=sys.stderr)
            return EXIT_NOT_READY
        raise
    run = stored_run(settings, outcome.run_id)
    assert run is not None
    if args.json:
        print(json.dumps(run, ensure_ascii=False))
    else:
        print("\n".join(_summary(run)))
    return EXIT_MATCHED if outcome.all_matched else EXIT_DIFFERENCES


def _cmd_show(args: argparse.Namespace) -> int:
    settings = settings_or_exit(args)
    day = None
    if args.date:
        try:
            day = dt.date.fromisoformat(args.date)
        except ValueError:
            print(f"reconcile: --date {args.date!r} is not a date (YYYY-MM-DD)", file=sys.stderr)
            return EXIT_BAD_BILL
    run = latest_run(settings, day)
    if run is None:
        print("reconcile: no reconciliation stored" + (f" for {day}" if day else ""), file=sys.stderr)
        return EXIT_NOT_READY
    print(json.dumps(run, ensure_ascii=False) if args.json else "\n".join(_summary(run)))
    return EXIT_MATCHED if not run["problems"] else EXIT_DIFFERENCES
