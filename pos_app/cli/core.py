"""Core subcommands: run, config check, db migrate|info."""

from __future__ import annotations

import argparse
import json
import sqlite3
import sys
from pathlib import Path

from pos_app.bootstrap import SCHEMA_VERSION, ServiceUnavailable, database_info, migrate_database
from pos_app.settings import Settings, SettingsError, load_settings

__all__ = ["register", "settings_or_exit"]


def _add_config(p: argparse.ArgumentParser) -> None:
    p.add_argument("--config", metavar="FILE", help="settings file (TOML); default $POS_CONFIG")
    p.add_argument("--data-dir", metavar="DIR", help="data directory; default $POS_DATA_DIR or the user data dir")


def settings_or_exit(args: argparse.Namespace) -> Settings:
    """Load settings for a command, printing one line per problem and exiting 2 when invalid."""
    try:
        return load_settings(getattr(args, "config", None), data_dir=getattr(args, "data_dir", None))
    except SettingsError as exc:
        for line in exc.problems:
            print(f"settings: {line}", file=sys.stderr)
        raise SystemExit(2) from None


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    run = sub.add_parser("run", help="start the terminal (default command)",
                         description="Start the cashier terminal.")
    _add_config(run)
    run.add_argument("--demo", action="store_true",
                     help="demo mode: local sandbox gateway, demo members and catalogue, demo cashier")
    run.add_argument("--screenshot", metavar="PNG", help=argparse.SUPPRESS)
    run.add_argument("--keep-alive", action="store_true",
                     help="start the terminal again after a crash (for XDG autostart; the systemd unit "
                          "does this itself); not after exit 0, 2 or 3")
    run.set_defaults(func=_cmd_run)

    config = sub.add_parser("config", help="settings tools")
    csub = config.add_subparsers(dest="config_command", metavar="ACTION", required=True)
    check = csub.add_parser("check", help="validate the settings; one line per problem, non-zero exit")
    _add_config(check)
    check.set_defaults(func=_cmd_config_check)

    db = sub.add_parser("db", help="database tools")
    dsub = db.add_subparsers(dest="db_command", metavar="ACTION", required=True)
    mig = dsub.add_parser("migrate", help="apply schema migrations")
    _add_config(mig)
    mig.set_defaults(func=_cmd_db_migrate)
    info = dsub.add_parser("info", help="print schema version, row counts and file size")
    _add_config(info)
    info.add_argument("--json", action="store_true", help="print JSON")
    info.set_defaults(func=_cmd_db_info)


def _cmd_run(args: argparse.Namespace) -> int:
    if args.keep_alive:
        from pos_app.keepalive import KeepAlive, child_command

        return KeepAlive(child_command(sys.argv[1:])).run()
    from pos_app.app import run_terminal

    return run_terminal(config=args.config, data_dir=args.data_dir, demo=args.demo,
                        screenshot=Path(args.screenshot) if args.screenshot else None)


def _cmd_config_check(args: argparse.Namespace) -> int:
    settings = settings_or_exit(args)
    # the same key checks the terminal makes at start: own public key, permissions, passphrase
    from pos_app.bootstrap import AlipayError, gateway_config

    try:
        gateway_config(settings)
    except AlipayError as exc:
        where = f"{settings.config_file}: " if settings.config_file else ""
        print(f"settings: {where}gateway keys: {exc}", file=sys.stderr)
        return 2
    from pos_app.loyalty_setup import LoyaltyConfigError, loyalty_rules

    try:
        loyalty_rules(settings, demo=False)  # the same refusal as at start: a real terminal needs its own rules
    except LoyaltyConfigError as exc:
        where = f"{settings.config_file}: " if settings.config_file else ""
        print(f"settings: {where}{exc}", file=sys.stderr)
        return 2
    print(f"settings OK ({settings.config_file or 'defaults and environment'}); data dir {settings.data_dir}")
    return 0


def _cmd_db_migrate(args: argparse.Namespace) -> int:
    settings = settings_or_exit(args)
    from pos_app.bootstrap import BackupError, premigrate_backup

    try:
        saved = premigrate_backup(settings.db_path, settings.backup_dir)  # an upgrade can always be undone
        applied = migrate_database(settings)
    except BackupError as exc:
        print(f"database: not migrated, the backup first failed: {exc}", file=sys.stderr)
        return 3
    except ServiceUnavailable as exc:
        print(f"database: {exc}", file=sys.stderr)
        return 3
    if saved is not None:
        print(f"backup before migrating: {saved}")
    print(f"{settings.db_path}: schema {SCHEMA_VERSION}" + (f" (applied {applied})" if applied else " (up to date)"))
    return 0


def _cmd_db_info(args: argparse.Namespace) -> int:
    settings = settings_or_exit(args)
    path = settings.db_path
    if not path.exists():
        print(f"database: {path} does not exist yet (run `pos-app db migrate`)", file=sys.stderr)
        return 3
    try:
        info = database_info(settings)
    except ServiceUnavailable as exc:
        print(f"database: {exc}", file=sys.stderr)
        return 3
    except sqlite3.DatabaseError as exc:  # a damaged file: a clear line, not a traceback
        print(f"database: {path} is damaged ({exc}); restore the latest backup", file=sys.stderr)
        return 3
    version, size, counts = info["schema_version"], info["size_bytes"], info["rows"]
    if args.json:
        print(json.dumps(info, ensure_ascii=False))
    else:
        print(f"path:            {path}")
        print(f"schema version:  {version} (this program: {SCHEMA_VERSION})")
        print(f"size:            {size} bytes (with WAL)")
        for t, c in counts.items():
            print(f"  {t:<20} {c}")
    return 0
