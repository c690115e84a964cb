"""`pos-app users add|list|disable|enable|reset-pin`: manage cashiers, supervisors and admins."""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import getpass
import os
import sys

from pos_app.bootstrap import Container, ServiceUnavailable, open_container
from pos_app.cli.core import settings_or_exit
from pos_app.services.errors import ServiceError
from pos_app.services.ports.clock import BEIJING
from pos_app.services.users import ROLES
from pos_app.settings import Settings
from pos_app.start_checks import StartRefused

__all__ = ["register", "ShiftServices", "open_services", "add_config_args"]


ShiftServices = Container
"""The old name: the services of one command (users, shifts, reports, ...), built by the bootstrap."""


def open_services(settings: Settings) -> contextlib.AbstractContextManager[Container]:
    """Open (and migrate) the terminal database and build the services on it (no gateway)."""
    return open_container(settings)


def add_config_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--config", metavar="FILE", help="settings file (TOML); default $POS_CONFIG")
    p.add_argument("--data-dir", metavar="DIR", help="data directory; default $POS_DATA_DIR or the user data dir")


def _read_pin(args: argparse.Namespace) -> str:
    if args.pin_env:
        value = os.environ.get(args.pin_env)
        if value is None:
            raise ServiceError(f"environment variable {args.pin_env} is not set")
        return value
    first = getpass.getpass("PIN: ")
    if getpass.getpass("PIN again: ") != first:
        raise ServiceError("the two PINs differ")
    return first


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    users = sub.add_parser("users", help="manage users (cashiers, supervisors, admins)")
    usub = users.add_subparsers(dest="users_command", metavar="ACTION", required=True)
    add = usub.add_parser("add", help="add a user (PIN read with getpass, or from --pin-env VAR)")
    add_config_args(add)
    add.add_argument("number", help="the number keyed at login")
    add.add_argument("name")
    add.add_argument("--role", choices=ROLES, default="cashier")
    add.add_argument("--card", metavar="CODE", help="supervisor card code that may replace the number")
    add.add_argument("--pin-env", metavar="VAR", help="read the PIN from this environment variable")
    add.set_defaults(func=_cmd_add)
    lst = usub.add_parser("list", help="list users")
    add_config_args(lst)
    lst.set_defaults(func=_cmd_list)
    for name, helptext in (("disable", "disable a user"), ("enable", "enable a disabled user")):
        p = usub.add_parser(name, help=helptext)
        add_config_args(p)
        p.add_argument("number")
        p.set_defaults(func=_cmd_disable if name == "disable" else _cmd_enable)
    reset = usub.add_parser("reset-pin", help="set a new PIN and clear a lock")
    add_config_args(reset)
    reset.add_argument("number")
    reset.add_argument("--pin-env", metavar="VAR", help="read the PIN from this environment variable")
    reset.set_defaults(func=_cmd_reset)
    from pos_app.cli.members import register_users_import  # data (issue 12): users from a file

    register_users_import(usub)


def _run(args: argparse.Namespace, action: str) -> int:
    settings = settings_or_exit(args)
    try:
        with open_services(settings) as svc:
            if action == "add":
                pin = _read_pin(args)
                u = svc.users.add_user(args.number, args.name, args.role, pin, card_code=args.card)
                print(f"added {u.role} {u.number} {u.name}")
            elif action == "list":
                print(f"{'number':<10} {'name':<20} {'role':<10} {'state':<14} card")
                now = dt.datetime.now(dt.UTC)
                for u in svc.users.list_users():
                    state = "active" if u.active else "disabled"
                    if u.active and u.locked_until is not None and u.locked_until > now:
                        state = f"locked {u.locked_until.astimezone(BEIJING):%H:%M}"
                    card = ("****" + u.card_code[-4:]) if u.card_code else ""
                    print(f"{u.number:<10} {u.name:<20} {u.role:<10} {state:<14} {card}")
            elif action in ("disable", "enable"):
                u = svc.users.disable(args.number) if action == "disable" else svc.users.enable(args.number)
                print(f"{action}d {u.number} {u.name}")
            else:
                pin = _read_pin(args)
                u = svc.users.reset_pin(args.number, pin)
                print(f"new PIN set for {u.number} {u.name}")
    except ServiceError as exc:
        print(f"users: {exc}", file=sys.stderr)
        return 1
    except StartRefused as exc:
        print("\n".join(exc.problems), file=sys.stderr)
        return 3
    except ServiceUnavailable as exc:
        print(f"database: {exc}", file=sys.stderr)
        return 3
    return 0


def _cmd_add(args: argparse.Namespace) -> int:
    return _run(args, "add")


def _cmd_list(args: argparse.Namespace) -> int:
    return _run(args, "list")


def _cmd_disable(args: argparse.Namespace) -> int:
    return _run(args, "disable")


def _cmd_enable(args: argparse.Namespace) -> int:
    return _run(args, "enable")


def _cmd_reset(args: argparse.Namespace) -> int:
    return _run(args, "reset-pin")
