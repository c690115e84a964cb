"""``pos-app sync status [--json]`` and ``pos-app sync run [--once]``: the sync worker without the UI."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import logging
import signal
import sys
import threading
from typing import Any

from pos_app.bootstrap import (
    ServiceUnavailable,
    build_sync_worker,
    migrate_database,
    outbox_status,
    sync_config,
)
from pos_app.runtime import SystemClock
from pos_app.services.ports.clock import Clock
from pos_app.services.sync import SyncBusy, SyncWorker, mask_card
from pos_app.settings import Settings

from .core import settings_or_exit

__all__ = ["register", "build_worker", "sync_config"]

logger = logging.getLogger(__name__)

EXIT_OK = 0
EXIT_STORAGE = 3
EXIT_GATEWAY = 4
EXIT_BUSY = 5


def build_worker(settings: Settings, clock: Clock | None = None) -> SyncWorker:
    """A SyncWorker on the terminal's database and gateway (raises KeyConfigError / SystemExit)."""
    worker = build_sync_worker(settings, clock)
    if worker is None:
        raise SystemExit("sync: no gateway configured (gateway.url); nothing can be synced")
    return worker


def _add_config(p: argparse.ArgumentParser) -> None:
    p.add_argument("--config", metavar="FILE", help="settings file (TOML); default $POS_CONFIG")
    p.add_argument("--data-dir", metavar="DIR", help="data directory; default $POS_DATA_DIR or the user data dir")


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    sync = sub.add_parser("sync", help="membership-card sync queue (status, run the worker headless)")
    ssub = sync.add_subparsers(dest="sync_command", metavar="ACTION", required=True)
    status = ssub.add_parser("status", help="pending rows, oldest pending age, dead letters")
    _add_config(status)
    status.add_argument("--json", action="store_true", help="print JSON")
    status.set_defaults(func=_cmd_status)
    run = ssub.add_parser("run", help="drain the queue (until SIGINT/SIGTERM, or one pass with --once)")
    _add_config(run)
    run.add_argument("--once", action="store_true", help="one pass over everything due now, then exit")
    run.set_defaults(func=_cmd_run)


def _age(created: str | None, now: dt.datetime) -> float | None:
    if not created:
        return None
    try:
        when = dt.datetime.fromisoformat(created)
    except ValueError:
        return None
    return max(0.0, (now - when).total_seconds())


def _cmd_status(args: argparse.Namespace) -> int:
    settings = settings_or_exit(args)
    if not settings.db_path.exists():
        print(f"sync: database {settings.db_path} does not exist yet (run `pos-app db migrate`)", file=sys.stderr)
        return EXIT_STORAGE
    try:
        stats, dead = outbox_status(settings)
    except ServiceUnavailable as exc:
        print(f"sync: {exc}", file=sys.stderr)
        return EXIT_STORAGE
    age = _age(stats["oldest_pending_created_at"], SystemClock().now())
    for row in dead:
        row["card_no"] = mask_card(str(row["card_no"]))
    out: dict[str, Any] = {**stats, "oldest_pending_age_s": None if age is None else round(age, 1),
                           "dead_letters": dead}
    if args.json:
        print(json.dumps(out, ensure_ascii=False))
        return EXIT_OK
    if stats["pending"] == 0 and stats["dead"] == 0:
        print("sync: up to date")
    else:
        print(f"pending:      {stats['pending']}" + (f" (oldest {age:.0f} s)" if age is not None else ""))
        print(f"dead letters: {stats['dead']}")
        for row in dead:
            print(f"  #{row['id']} {row['kind']} card {row['card_no']} attempts {row['attempts']}: {row['last_error']}")
    return EXIT_OK


def _cmd_run(args: argparse.Namespace) -> int:
    settings = settings_or_exit(args)
    try:
        migrate_database(settings)
    except ServiceUnavailable as exc:
        print(f"sync: {exc}", file=sys.stderr)
        return EXIT_STORAGE
    try:
        worker = build_worker(settings)
    except SystemExit as exc:
        print(exc, file=sys.stderr)
        return EXIT_GATEWAY
    except Exception as exc:  # noqa: BLE001 - key/config problems: one line, not a traceback
        print(f"sync: gateway configuration problem: {exc}", file=sys.stderr)
        return EXIT_GATEWAY
    if args.once:
        try:
            result = worker.run_once()
        except SyncBusy as exc:
            print(f"sync: {exc}", file=sys.stderr)
            return EXIT_BUSY
        finally:
            worker.close()
        print(json.dumps({"sent": result.sent, "done": result.done, "retried": result.retried, "dead": result.dead,
                          "coalesced": result.coalesced, "offline": result.offline,
                          "elapsed_s": round(result.elapsed_s, 3)}))
        return EXIT_OK
    done = threading.Event()

    def _stop(signum: int, frame: object) -> None:
        done.set()

    previous = {s: signal.signal(s, _stop) for s in (signal.SIGINT, signal.SIGTERM)}
    worker.start()
    print("sync: worker running (Ctrl+C to stop)", file=sys.stderr, flush=True)
    try:
        while not done.wait(0.5):
            pass
    finally:
        worker.stop(30)
        for s, handler in previous.items():
            signal.signal(s, handler)
    return EXIT_OK
