"""`pos-app db backup|restore|verify` (added to the `db` command of cli/core.py)."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
from pathlib import Path

from pos_app.cli.core import settings_or_exit

__all__ = ["register", "backup_now"]


def _db_actions(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> argparse._SubParsersAction[
        argparse.ArgumentParser]:
    db = sub.choices["db"]
    for action in db._actions:  # noqa: SLF001 - argparse has no public accessor for subcommands
        if isinstance(action, argparse._SubParsersAction):
            return action
    raise RuntimeError("the db command has no actions")


def _add_config(p: argparse.ArgumentParser) -> None:
    p.add_argument("--config", metavar="FILE", help="settings file (TOML); default $POS_CONFIG")
    p.add_argument("--data-dir", metavar="DIR", help="data directory; default $POS_DATA_DIR or the user data dir")


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    dsub = _db_actions(sub)
    bk = dsub.add_parser("backup", help="online backup now (SQLite backup API, integrity-checked, rotated)",
                         description="Copy the live database (a terminal may keep selling) into the backup folder "
                                     "of the settings, or to --to FILE; the copy is checked before it is kept.")
    _add_config(bk)
    bk.add_argument("--to", metavar="FILE", help="write this file instead of <backup dir>/pos-<time>.sqlite3 "
                                                 "(not rotated)")
    bk.set_defaults(func=_cmd_backup)
    rs = dsub.add_parser("restore", help="put a backup in place of the database (the terminal must be closed)",
                         description="Replace the database with a backup. Refused while a terminal or sync worker "
                                     "runs on it; the replaced file is kept beside it as *.replaced-<time>; the "
                                     "restore is written to the audit log.")
    _add_config(rs)
    rs.add_argument("backup", nargs="?", help="the backup file; default: the newest in the backup folder")
    rs.set_defaults(func=_cmd_restore)
    vf = dsub.add_parser("verify", help="integrity check of the database (or a backup file)")
    _add_config(vf)
    vf.add_argument("file", nargs="?", help="a database or backup file; default: the terminal's database")
    vf.add_argument("--json", action="store_true", help="print JSON")
    vf.set_defaults(func=_cmd_verify)


def backup_now(db_path: Path, folder: Path, *, keep_daily: int, keep_weekly: int,
               now: dt.datetime | None = None) -> Path:
    """One automatic backup into ``folder`` and a rotation; returns the new file."""
    from pos_app.bootstrap import backup_name, online_backup, rotate

    now = now or dt.datetime.now()
    result = online_backup(db_path, folder / backup_name(now))
    rotate(folder, keep_daily=keep_daily, keep_weekly=keep_weekly)
    return result.path


def _cmd_backup(args: argparse.Namespace) -> int:
    from pos_app.bootstrap import BackupError, lower_priority, online_backup

    s = settings_or_exit(args)
    lower_priority()  # a terminal may be selling on this file
    try:
        if args.to:
            result = online_backup(s.db_path, Path(args.to))
            path, size, secs = result.path, result.size_bytes, result.seconds
        else:
            path = backup_now(s.db_path, s.backup_dir, keep_daily=s.backup.keep_daily,
                              keep_weekly=s.backup.keep_weekly)
            size, secs = path.stat().st_size, 0.0
    except BackupError as exc:
        print(f"backup: {exc}", file=sys.stderr)
        return 3
    print(f"backup: {path} ({size} bytes, integrity ok{f', {secs:.1f} s' if secs else ''})")
    return 0


def _cmd_restore(args: argparse.Namespace) -> int:
    from pos_app.bootstrap import BackupError, newest_backup, restore

    s = settings_or_exit(args)
    if args.backup:
        source = Path(args.backup)
    else:
        newest = newest_backup(s.backup_dir)
        if newest is None:
            print(f"restore: no backup in {s.backup_dir}; name the file", file=sys.stderr)
            return 3
        source = newest[1]
    try:
        result = restore(s.db_path, source, now=dt.datetime.now().astimezone())
    except BackupError as exc:
        print(f"restore: {exc}", file=sys.stderr)
        return 3
    kept = f"; the replaced file is kept at {result.replaced_kept_at}" if result.replaced_kept_at else ""
    print(f"restore: {s.db_path} is now the copy of {source} (schema {result.schema_version}){kept}")
    return 0


def _cmd_verify(args: argparse.Namespace) -> int:
    from pos_app.bootstrap import integrity_problems

    s = settings_or_exit(args)
    path = Path(args.file) if args.file else s.db_path
    problems = integrity_problems(path)
    chain = ""
    if not problems:  # the file is sound: now the audit chain and the sealed sales and refunds in it
        from pos_app.start_checks import StartRefused, integrity_verify

        try:
            rep, notes = integrity_verify(s, None if path == s.db_path else path)
        except StartRefused as exc:
            problems = list(exc.problems)
        else:
            for note in notes:
                print(f"verify: {note}", file=sys.stderr)
            if rep.ok:
                chain = f"; audit chain intact ({rep.entries_checked} entries, {rep.rows_checked} sealed rows)"
            else:
                where = f" at entry {rep.first_bad}" if rep.first_bad is not None else ""
                problems = [f"audit log broken{where}: {p}" for p in rep.problems]
    if args.json:
        print(json.dumps({"path": str(path), "ok": not problems, "problems": problems[:20]}, ensure_ascii=False))
    elif problems:
        for p in problems[:20]:
            print(f"verify: {path}: {p}", file=sys.stderr)
    else:
        print(f"verify: {path}: integrity ok{chain}")
    return 0 if not problems else 1
