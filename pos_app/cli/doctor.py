"""`pos-app doctor [--json]`: one report for a support call; exit 1 when something needs a person."""

from __future__ import annotations

import argparse
import json
import time

__all__ = ["register"]

_MARK = {"ok": "ok  ", "warn": "WARN", "fail": "FAIL"}


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("doctor", help="check settings, keys, gateway and clock, devices, disk, backups, database",
                       description="Everything a support call asks, in one report (a few seconds). Exit 0 when all "
                                   "is well or only worth knowing (WARN), 1 when something needs a person (FAIL).")
    p.add_argument("--config", metavar="FILE", help="settings file (TOML); default $POS_CONFIG")
    p.add_argument("--data-dir", metavar="DIR", help="data directory; default $POS_DATA_DIR or the user data dir")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=_cmd_doctor)


def _cmd_doctor(args: argparse.Namespace) -> int:
    from pos_app import __version__
    from pos_app.doctor import run_doctor

    t0 = time.monotonic()
    findings = run_doctor(args.config, args.data_dir)
    secs = time.monotonic() - t0
    needs_person = any(f.status == "fail" for f in findings)
    if args.json:
        print(json.dumps({"version": __version__, "ok": not needs_person, "seconds": round(secs, 2),
                          "findings": [f.as_dict() for f in findings]}, ensure_ascii=False))
    else:
        for f in findings:
            print(f"{_MARK[f.status]}  {f.check:<28} {f.detail}")
        verdict = "something needs a person (FAIL above)" if needs_person else "nothing needs a person"
        print(f"pos-app {__version__}: {verdict} ({secs:.1f} s)")
    return 1 if needs_person else 0
