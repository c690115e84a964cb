"""Command line: ``pos-app`` / ``python -m pos_app`` (run, config, db, and every pos_app/cli module)."""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import pkgutil
import sys
from collections.abc import Sequence

from pos_app import __version__

__all__ = ["main", "build_parser"]

logger = logging.getLogger(__name__)


def build_parser() -> argparse.ArgumentParser:
    """The whole command tree; each pos_app/cli/*.py adds its own subcommands."""
    parser = argparse.ArgumentParser(
        prog="pos-app",
        description="Alipay membership-card POS terminal. Without a command: run the terminal.",
    )
    parser.add_argument("--version", action="version", version=f"pos-app {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug messages to stderr")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    import pos_app.cli as cli_pkg

    for info in sorted(pkgutil.iter_modules(cli_pkg.__path__), key=lambda m: m.name):
        module = importlib.import_module(f"pos_app.cli.{info.name}")
        register = getattr(module, "register", None)
        if register is not None:
            register(sub)
    return parser


def sub_choices(parser: argparse.ArgumentParser) -> list[str]:
    """The names of the top-level commands."""
    for action in parser._actions:  # noqa: SLF001 - argparse has no public accessor for subcommands
        if isinstance(action, argparse._SubParsersAction):
            return list(action.choices)
    return []


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the process exit code."""
    args_list = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    commands = set(sub_choices(parser))
    if not any(a in commands for a in args_list) and not any(a in ("-h", "--help", "--version") for a in args_list):
        # `pos-app` and `pos-app --demo` mean `pos-app run ...`; `pos-app -v sync status` stays as it is
        global_opts = [a for a in args_list if a in ("-v", "--verbose")]
        args_list = [*global_opts, "run", *[a for a in args_list if a not in ("-v", "--verbose")]]
    args = parser.parse_args(args_list)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    from pos_app.data_protection import owner_only_umask, secure_data_dir
    from pos_app.logs import setup_logging, teardown_logging
    from pos_app.settings import SettingsError, load_settings

    old_umask = owner_only_umask()  # everything this process writes is the owner's only
    log_dir = None
    data_dir = None
    try:
        settings = load_settings(getattr(args, "config", None), data_dir=getattr(args, "data_dir", None))
        log_dir, data_dir = settings.log_dir, settings.data_dir
    except SettingsError:
        pass  # the command itself reports bad settings, one line per problem
    setup_logging(log_dir, verbose=args.verbose)
    if data_dir is not None:
        secure_data_dir(data_dir)  # an install made under umask 022 is fixed at start, with a log line
    try:
        return int(args.func(args))
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # `pos-app db info | head`: the reader left; not an error worth a traceback
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    finally:
        teardown_logging()
        os.umask(old_umask)


if __name__ == "__main__":
    sys.exit(main())
