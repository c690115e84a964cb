"""`pos-app report x|z [--shift N] [--format text|csv|pdf] [--out FILE]`: shift reports, headless."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pos_app.cli.core import settings_or_exit
from pos_app.cli.users import add_config_args, open_services
from pos_app.services.errors import ServiceError, ServiceUnavailable
from pos_app.services.reports import render_csv
from pos_app.start_checks import StartRefused

__all__ = ["register"]


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    report = sub.add_parser("report", help="X (current shift) and Z (closed shift) reports")
    rsub = report.add_subparsers(dest="report_kind", metavar="KIND", required=True)
    for kind, helptext in (("x", "X report of the open shift (or --shift N), computed now"),
                           ("z", "stored Z report of the last closed shift (or --shift N), as printed")):
        p = rsub.add_parser(kind, help=helptext)
        add_config_args(p)
        p.add_argument("--shift", type=int, metavar="N", help="shift number on this terminal")
        p.add_argument("--format", choices=("text", "csv", "pdf"), default="text")
        p.add_argument("--page", choices=("a4", "80mm"), default="a4", help="PDF page (default a4)")
        p.add_argument("--out", metavar="FILE", help="write to FILE instead of standard output")
        p.set_defaults(func=_cmd_report)


def _cmd_report(args: argparse.Namespace) -> int:
    settings = settings_or_exit(args)
    if args.format == "pdf" and not args.out:
        print("report: --format pdf needs --out FILE", file=sys.stderr)
        return 2
    try:
        with open_services(settings) as svc:
            figures: Mapping[str, Any]
            if args.report_kind == "x":
                rep = svc.reports.x_report(args.shift, printed_by="cli")
                figures, text = rep.figures, rep.text
            else:
                z = svc.reports.z_report(args.shift)
                if not z.intact:
                    print(f"report: WARNING stored Z {z.number} does not match its hash", file=sys.stderr)
                figures, text = z.figures, z.text
    except ServiceError as exc:
        print(f"report: {exc}", file=sys.stderr)
        return 1
    except StartRefused as exc:
        print("\n".join(exc.problems), file=sys.stderr)
        return 3
    except ServiceUnavailable as exc:
        print(f"database: {exc}", file=sys.stderr)
        return 3
    if args.format == "text":
        if args.out:
            Path(args.out).write_text(text, encoding="utf-8")
        else:
            sys.stdout.write(text)
    elif args.format == "csv":
        data = render_csv(figures)
        if args.out:
            Path(args.out).write_bytes(data)
        else:
            sys.stdout.buffer.write(data)
    else:
        if not os.environ.get("DISPLAY") and not os.environ.get("WAYLAND_DISPLAY"):
            os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
        from pos_app.ui.report_export import export_pdf

        export_pdf(figures, args.out, page=args.page)
    if args.out:
        print(f"written {args.out}", file=sys.stderr)
    return 0
