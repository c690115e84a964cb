"""``pos-app store ...``: set up and run store mode (issue 13, docs/store-mode.md).

Server side (run on the store PC, with an administrator connection to its PostgreSQL):
  store init       roles + schema, prints what a lane's settings need
  store migrate    apply newer store schema migrations
  store lane add   a login role and password for one lane
  store status     lanes, backlog, lag, last heartbeat, card queue
  store card-worker  the store's one card worker (exactly one runs: advisory lock)
  store user add|disable|enable|list   users of every lane (PIN verifier keyed with the store's PIN key)
  store setting set|delete|list        settings that are the store's (lanes apply them at their next start)
Lane side (uses this lane's [store] settings):
  store lane-sync  the uplink and pull without the UI (the terminal runs the same threads)
  store report x|z store X (any time) or store day close
The administrator DSN comes from --dsn or $POS_STORE_ADMIN_DSN; a password in it is never printed or logged.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import logging
import os
import signal
import sys
import threading
from pathlib import Path
from typing import Any

import psycopg

from pos_app.store import reports, schema
from pos_app.store.connect import deadline, masked_dsn, open_connection
from pos_app.store.errors import StoreError

from .core import settings_or_exit

__all__ = ["register"]

logger = logging.getLogger(__name__)
EXIT_OK, EXIT_REFUSED, EXIT_UNAVAILABLE, EXIT_USAGE = 0, 2, 3, 64
STORE_TZ = dt.timezone(dt.timedelta(hours=8))


def _add_config(p: argparse.ArgumentParser) -> None:
    p.add_argument("--config", metavar="FILE", help="settings file (TOML); default $POS_CONFIG")
    p.add_argument("--data-dir", metavar="DIR", help="data directory; default $POS_DATA_DIR or the user data dir")


def _add_admin(p: argparse.ArgumentParser) -> None:
    p.add_argument("--dsn", metavar="DSN", help="administrator connection to the store's PostgreSQL "
                   "(default $POS_STORE_ADMIN_DSN), e.g. 'host=/var/run/postgresql dbname=pos user=postgres'")


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    store = sub.add_parser("store", help="store mode: several lanes sharing one PostgreSQL")
    ssub = store.add_subparsers(dest="store_command", metavar="ACTION", required=True)
    p = ssub.add_parser("init", help="create the store schema and roles on a PostgreSQL database")
    _add_admin(p)
    p.add_argument("--prefix", help="role-name prefix (default: the database name)")
    p.add_argument("--pin-key-file", metavar="FILE",
                   help="create the store's PIN key here (chmod 600) if it does not exist; copy it to every lane "
                        "([store] pin_key_file) so users of the store can log in there")
    p.set_defaults(func=_cmd_init)
    p = ssub.add_parser("migrate", help="apply newer store schema migrations")
    _add_admin(p)
    p.set_defaults(func=_cmd_migrate)
    p = ssub.add_parser("status", help="lanes, backlog, lag, last heartbeat, card queue")
    _add_admin(p)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=_cmd_status)
    lane = ssub.add_parser("lane", help="lanes of this store")
    lsub = lane.add_subparsers(dest="lane_command", metavar="ACTION", required=True)
    p = lsub.add_parser("add", help="a PostgreSQL role and password for one lane")
    _add_admin(p)
    p.add_argument("name", help="lane name: lower-case letters, digits, _ (e.g. lane1)")
    p.add_argument("--password-file", metavar="FILE", required=True,
                   help="write the new role's password here (created chmod 600); copy it to the lane")
    p.add_argument("--lane-host", metavar="HOST", help="the store server's address as the lanes see it")
    p.set_defaults(func=_cmd_lane_add)
    user = ssub.add_parser("user", help="users of every lane (a cashier logs in at any lane)")
    usub = user.add_subparsers(dest="user_command", metavar="ACTION", required=True)
    p = usub.add_parser("add", help="add a user or replace its name, role, PIN and card")
    _add_admin(p)
    p.add_argument("number")
    p.add_argument("--name", required=True)
    p.add_argument("--role", choices=("cashier", "supervisor", "admin"), default="cashier")
    p.add_argument("--card", help="supervisor card code that may replace the number")
    p.add_argument("--pin-key-file", metavar="FILE", required=True, help="the store's PIN key (from store init)")
    p.add_argument("--pin-env", metavar="VAR", help="read the PIN from this environment variable (else asked)")
    p.add_argument("--by", default=os.environ.get("USER", "admin"))
    p.set_defaults(func=_cmd_user_add)
    for action in ("disable", "enable"):
        p = usub.add_parser(action, help=f"{action} a user at every lane")
        _add_admin(p)
        p.add_argument("number")
        p.add_argument("--by", default=os.environ.get("USER", "admin"))
        p.set_defaults(func=_cmd_user_active, active=action == "enable")
    p = usub.add_parser("list", help="the store's users")
    _add_admin(p)
    p.set_defaults(func=_cmd_user_list)
    setting = ssub.add_parser("setting", help="settings that are the store's (lanes apply them at their next start)")
    setsub = setting.add_subparsers(dest="setting_command", metavar="ACTION", required=True)
    p = setsub.add_parser("set", help="KEY VALUE: e.g. store.name '\"Shop 1\"' or shift.pin_max_failures 3 (JSON)")
    _add_admin(p)
    p.add_argument("key")
    p.add_argument("value", help="a JSON value (a bare word is taken as a string)")
    p.set_defaults(func=_cmd_setting_set)
    p = setsub.add_parser("delete", help="remove a store setting (lanes fall back to their own)")
    _add_admin(p)
    p.add_argument("key")
    p.set_defaults(func=_cmd_setting_delete)
    p = setsub.add_parser("list", help="the store's settings")
    _add_admin(p)
    p.set_defaults(func=_cmd_setting_list)
    p = ssub.add_parser("card-worker", help="send card calls from the store ledger to Alipay (one per store)")
    _add_admin(p)
    _add_config(p)
    p.add_argument("--once", action="store_true", help="drain what is due, then exit")
    p.set_defaults(func=_cmd_card_worker)
    p = ssub.add_parser("lane-sync", help="run this lane's uplink and pull without the UI")
    _add_config(p)
    p.add_argument("--once", action="store_true", help="push and pull once, then exit")
    p.add_argument("--pull-interval", type=float, default=1.0, metavar="S")
    p.set_defaults(func=_cmd_lane_sync)
    p = ssub.add_parser("report", help="store X (any time) or store Z (day close)")
    _add_config(p)
    p.add_argument("kind", choices=("x", "z"))
    p.add_argument("--date", help="business date YYYY-MM-DD (default: today, store time)")
    p.add_argument("--days", type=int, default=1, help="store X over this many days ending at --date")
    p.add_argument("--override-reason", default="", help="store Z only: close although lanes are incomplete")
    p.add_argument("--by", default=os.environ.get("USER", "supervisor"), help="store Z only: who closes")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=_cmd_report)


def _admin_conn(args: argparse.Namespace) -> psycopg.Connection[Any]:
    dsn = args.dsn or os.environ.get("POS_STORE_ADMIN_DSN", "")
    if not dsn:
        raise StoreError("give the store's PostgreSQL with --dsn or $POS_STORE_ADMIN_DSN")
    return open_connection(dsn, statement_timeout_ms=600_000)


def _fail(exc: Exception) -> int:
    from pos_app.store.errors import StoreUnavailable

    print(f"store: {exc}", file=sys.stderr)
    logger.warning("store command failed: %s", exc)
    return EXIT_UNAVAILABLE if isinstance(exc, StoreUnavailable) else EXIT_REFUSED


def _cmd_init(args: argparse.Namespace) -> int:
    from pos_app.store.pinkey import PinKeyError, create_pin_key

    try:
        with _admin_conn(args) as conn:
            prefix = schema.init_store(conn, prefix=args.prefix)
            version = schema.schema_version(conn)
            dbname = conn.info.dbname
        made = create_pin_key(args.pin_key_file) if args.pin_key_file else None
    except (StoreError, psycopg.Error, PinKeyError) as exc:
        return _fail(exc)
    print(f"store schema {version} ready in database {dbname}; roles {prefix}_lanes, {prefix}_reader")
    if args.pin_key_file:
        print(f"store PIN key {'written to' if made else 'kept (exists)'} {args.pin_key_file} (chmod 600): copy it to "
              "every lane and set [store] pin_key_file; then: pos-app store user add NUMBER --name ... "
              f"--pin-key-file {args.pin_key_file}")
    print("next, for each lane:  pos-app store lane add NAME --password-file FILE")
    print("a lane's settings then need:\n  [store]\n  dsn = \"host=<this PC> port=5432 dbname="
          f"{dbname} user={prefix}_lane_NAME\"\n  password_file = \"/etc/pos-app/store-password\"")
    return EXIT_OK


def _cmd_migrate(args: argparse.Namespace) -> int:
    try:
        with _admin_conn(args) as conn:
            applied = schema.migrate(conn)
            version = schema.schema_version(conn)
    except (StoreError, psycopg.Error) as exc:
        return _fail(exc)
    print(f"store schema {version}" + (f" (applied {', '.join(map(str, applied))})" if applied else " (up to date)"))
    return EXIT_OK


def _cmd_lane_add(args: argparse.Namespace) -> int:
    out = Path(args.password_file)
    if out.exists():
        print(f"store: {out} exists; not overwritten", file=sys.stderr)
        return EXIT_REFUSED
    try:
        with _admin_conn(args) as conn:
            creds = schema.add_lane(conn, args.name)
            host = args.lane_host or (conn.info.host if not conn.info.host.startswith("/") else "127.0.0.1")
            port, dbname = conn.info.port, conn.info.dbname
    except (StoreError, psycopg.Error) as exc:
        return _fail(exc)
    fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(creds.password + "\n")
    print(f"lane {creds.name}: role {creds.role}, lane id {creds.lane_id}; password written to {out} (chmod 600)")
    print("put in that lane's settings:")
    print(f"[store]\ndsn = \"host={host} port={port} dbname={dbname} user={creds.role}\"\n"
          f"password_file = \"{out}\"")
    return EXIT_OK


def _cmd_status(args: argparse.Namespace) -> int:
    try:
        with _admin_conn(args) as conn:
            st = reports.status(conn)
    except (StoreError, psycopg.Error) as exc:
        return _fail(exc)
    if args.json:
        print(json.dumps(st, ensure_ascii=False, indent=1))
        return EXIT_OK
    now = dt.datetime.now(dt.UTC)
    for ln in st["lanes"]:
        hb = ln["last_heartbeat"]
        age = f"{(now - dt.datetime.fromisoformat(hb)).total_seconds():.0f} s ago" if hb else "never"
        lag = ""
        if ln["last_event"]:
            lag = f", last event {(now - dt.datetime.fromisoformat(ln['last_event'])).total_seconds():.0f} s ago"
        print(f"{ln['lane']:<12} synced seq {ln['acked_seq'] or 0:>8}, waiting {ln['backlog'] or 0}, "
              f"heartbeat {age}{lag}")
    print("card queue: " + (", ".join(f"{k} {v}" for k, v in sorted(st["card_queue"].items())) or "empty"))
    if st["unreviewed_notices"]:
        print(f"{st['unreviewed_notices']} lane notice(s) to review (restored lanes, late events): "
              "pos-app store report x")
    return EXIT_OK


def _lane_conn(args: argparse.Namespace) -> psycopg.Connection[Any]:
    from pos_app.store_wiring import link_config

    settings = settings_or_exit(args)
    cfg = link_config(settings)
    if cfg is None:
        raise StoreError("this lane has no [store] dsn: it is not in store mode")
    return open_connection(cfg.conninfo, statement_timeout_ms=int(settings.store.deadline_s * 1000))


def _cmd_report(args: argparse.Namespace) -> int:
    try:
        day = dt.date.fromisoformat(args.date) if args.date else dt.datetime.now(STORE_TZ).date()
    except ValueError:
        print(f"store: --date {args.date!r} is not YYYY-MM-DD", file=sys.stderr)
        return EXIT_USAGE
    try:
        with _lane_conn(args) as conn, deadline(conn, settings_or_exit(args).store.deadline_s,
                                                f"store {args.kind.upper()}"):
            if args.kind == "x":
                fig = reports.store_figures(conn, day - dt.timedelta(days=max(1, args.days) - 1), day)
                title = "STORE X"
            else:
                fig = reports.close_day(conn, day, args.by, args.override_reason)
                title = "STORE Z"
                logger.info("store Z for %s closed by %s%s", day, args.by,
                            f" (override: {args.override_reason})" if args.override_reason else "")
    except (StoreError, psycopg.Error) as exc:
        return _fail(exc)
    print(json.dumps(fig, ensure_ascii=False, indent=1, default=str) if args.json else reports.render(fig, title))
    return EXIT_OK


def _cmd_lane_sync(args: argparse.Namespace) -> int:
    from pos_app.store_wiring import prepare_database, start_store_link, sync_once

    settings = settings_or_exit(args)
    try:
        if args.once:
            print(sync_once(settings))
            return EXIT_OK
        prepare_database(settings)
        link = start_store_link(settings, pull_interval_s=args.pull_interval)
        if link is None:
            raise StoreError("this lane has no [store] dsn: it is not in store mode")
    except StoreError as exc:
        return _fail(exc)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    print("store link running; Ctrl+C to stop", flush=True)
    stop.wait()
    link.stop()
    return EXIT_OK


def _cmd_card_worker(args: argparse.Namespace) -> int:
    from pos_app.store_card import run_card_worker

    try:
        dsn = args.dsn or os.environ.get("POS_STORE_ADMIN_DSN", "")
        if not dsn:
            raise StoreError("give the store's PostgreSQL with --dsn or $POS_STORE_ADMIN_DSN")
        logger.info("card worker for %s", masked_dsn(dsn))
        return run_card_worker(settings_or_exit(args), dsn, once=args.once)
    except (StoreError, psycopg.Error) as exc:
        return _fail(exc)


def import_catalogue_to_store(args: argparse.Namespace, records: list[Any], *, source: str, sha256: str,
                              by_user: str) -> int:
    """``catalogue import`` in store mode: the validated records go to the store server (lanes pull them)."""
    from pos_app.store.catalogue import import_items

    dsn = getattr(args, "store_dsn", None) or os.environ.get("POS_STORE_ADMIN_DSN", "")
    if not dsn:
        print("catalogue: this lane is in store mode: the catalogue is loaded into the store server; give its "
              "administrator connection with --store-dsn or $POS_STORE_ADMIN_DSN; nothing was written",
              file=sys.stderr)
        return 2
    try:
        with open_connection(dsn, statement_timeout_ms=600_000) as conn:
            summary = import_items(conn, records, full=args.full, by_user=by_user, source=source, sha256=sha256,
                                   dry_run=args.dry_run)
    except (StoreError, psycopg.Error) as exc:
        print(f"store server: {exc}; nothing was written", file=sys.stderr)
        logger.warning("catalogue import into the store refused: %s", exc)
        return 3
    prefix = "dry run, nothing written: would have " if args.dry_run else ""
    print(prefix + summary.line() + ("" if args.dry_run else "; the lanes pull it within seconds"))
    logger.info("catalogue import of %s into the store (%s): %s", source, masked_dsn(dsn), summary.line())
    return 0


def _who_pin(args: argparse.Namespace, role: str) -> str:
    import getpass

    if args.pin_env:
        pin = os.environ.get(args.pin_env)
        if pin is None:
            raise StoreError(f"environment variable {args.pin_env} is not set")
    else:
        pin = getpass.getpass("PIN: ")
        if getpass.getpass("PIN again: ") != pin:
            raise StoreError("the two PINs differ")
    shortest = 6 if role in ("supervisor", "admin") else 4
    if not (pin.isascii() and pin.isdigit() and shortest <= len(pin) <= 12):
        raise StoreError(f"a {role}'s PIN must be {shortest} to 12 digits")
    return pin


def _cmd_user_add(args: argparse.Namespace) -> int:
    from pos_app.services.users import hash_pin
    from pos_app.store import admin
    from pos_app.store.pinkey import PinKeyError, read_pin_key

    try:
        key = read_pin_key(args.pin_key_file)
        verifier = hash_pin(_who_pin(args, args.role), key=key)
        with _admin_conn(args) as conn:
            new = admin.put_user(conn, number=args.number, name=args.name.strip(), role=args.role, verifier=verifier,
                                 card_code=args.card, by=args.by)
    except (StoreError, psycopg.Error, PinKeyError) as exc:
        return _fail(exc)
    logger.info("store user %s %s by %s (role %s)", args.number, "added" if new else "replaced", args.by, args.role)
    print(f"store user {args.number} {'added' if new else 'updated'} ({args.role}); every lane pulls it within seconds")
    return EXIT_OK


def _cmd_user_active(args: argparse.Namespace) -> int:
    from pos_app.store import admin

    try:
        with _admin_conn(args) as conn:
            admin.set_user_active(conn, args.number, args.active, by=args.by)
    except (StoreError, psycopg.Error) as exc:
        return _fail(exc)
    logger.info("store user %s %s by %s", args.number, "enabled" if args.active else "disabled", args.by)
    print(f"store user {args.number} {'enabled' if args.active else 'disabled'} at every lane")
    return EXIT_OK


def _cmd_user_list(args: argparse.Namespace) -> int:
    from pos_app.store import admin

    try:
        with _admin_conn(args) as conn:
            rows = admin.list_users(conn)
    except (StoreError, psycopg.Error) as exc:
        return _fail(exc)
    for number, name, role, active in rows:
        print(f"{number:<8} {role:<10} {'active' if active else 'disabled':<8} {name}")
    return EXIT_OK


def _cmd_setting_set(args: argparse.Namespace) -> int:
    from pos_app.settings import Settings, with_store_values
    from pos_app.store import admin

    try:
        value = json.loads(args.value)
    except json.JSONDecodeError:
        value = args.value
    _, problems = with_store_values(Settings(data_dir=Path(".")), {args.key: value})
    if problems:
        print("store: " + "; ".join(problems), file=sys.stderr)
        return EXIT_USAGE
    try:
        with _admin_conn(args) as conn:
            admin.put_setting(conn, args.key, value)
    except (StoreError, psycopg.Error) as exc:
        return _fail(exc)
    logger.info("store setting %s set", args.key)
    print(f"store setting {args.key} = {json.dumps(value, ensure_ascii=False)}; lanes apply it at their next start")
    return EXIT_OK


def _cmd_setting_delete(args: argparse.Namespace) -> int:
    from pos_app.store import admin

    try:
        with _admin_conn(args) as conn:
            admin.delete_setting(conn, args.key)
    except (StoreError, psycopg.Error) as exc:
        return _fail(exc)
    print(f"store setting {args.key} removed")
    return EXIT_OK


def _cmd_setting_list(args: argparse.Namespace) -> int:
    from pos_app.store import admin

    try:
        with _admin_conn(args) as conn:
            values = admin.list_settings(conn)
    except (StoreError, psycopg.Error) as exc:
        return _fail(exc)
    for key, value in values.items():
        print(f"{key} = {json.dumps(value, ensure_ascii=False)}")
    return EXIT_OK


def import_members_to_store(args: argparse.Namespace, rows: list[Any], *, source: str) -> int:
    """``members import`` in store mode: the validated members go to the store server (lanes pull them)."""
    from pos_app.store.admin import import_members

    dsn = getattr(args, "store_dsn", None) or os.environ.get("POS_STORE_ADMIN_DSN", "")
    if not dsn:
        print("members: this lane is in store mode: members are loaded into the store server; give its "
              "administrator connection with --store-dsn or $POS_STORE_ADMIN_DSN; nothing was written",
              file=sys.stderr)
        return 2
    try:
        with open_connection(dsn, statement_timeout_ms=600_000) as conn:
            summary = import_members(conn, rows, dry_run=args.dry_run)
    except (StoreError, psycopg.Error) as exc:
        print(f"store server: {exc}; nothing was written", file=sys.stderr)
        logger.warning("members import into the store refused: %s", exc)
        return 3
    prefix = "dry run, nothing written: would have " if args.dry_run else ""
    print(prefix + summary.line() + ("" if args.dry_run else "; the lanes pull them within seconds"))
    logger.info("members import of %s into the store (%s): %s", source, masked_dsn(dsn), summary.line())
    return 0
