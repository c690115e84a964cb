"""`pos-app setup desktop [--dry-run]`: autostart, kiosk, screen blanking off, udev rules; says each file."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

__all__ = ["register"]


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("setup", help="prepare this PC as a counter (autostart, kiosk, devices)")
    ssub = p.add_subparsers(dest="setup_command", metavar="WHAT", required=True)
    d = ssub.add_parser(
        "desktop", help="write the autostart (systemd user unit or XDG entry), no-blanking and udev files",
        description="Write what a counter needs to boot into the till, naming each file. Files for the system "
                    "(udev rules) are installed directly when run as root, else staged with the sudo command "
                    "that installs them.")
    d.add_argument("--dry-run", action="store_true", help="print each file and its content; write nothing")
    d.add_argument("--mode", choices=("systemd", "autostart"), help="default: systemd when a user manager runs")
    d.add_argument("--no-kiosk", action="store_true", help="a normal window instead of the full-screen kiosk")
    d.add_argument("--config", metavar="FILE", help="settings file the till starts with (default $POS_CONFIG)")
    d.add_argument("--data-dir", metavar="DIR", help=argparse.SUPPRESS)
    d.add_argument("--scanner-id", action="append", default=[], metavar="VID:PID",
                   help="USB id of a serial scanner (repeatable; first gets /dev/pos-scanner). "
                        "Default: the scanners `pos-app scanner list` finds")
    d.add_argument("--printer-id", action="append", default=[], metavar="VID:PID",
                   help="USB id of a receipt printer (repeatable). Default: from printer.url when usb://")
    d.add_argument("--home", metavar="DIR", help=argparse.SUPPRESS)       # tests: a fake home
    d.add_argument("--system-root", metavar="DIR", help=argparse.SUPPRESS)  # tests: a fake /
    d.set_defaults(func=_cmd_desktop)


def _cmd_desktop(args: argparse.Namespace) -> int:
    from pos_app.cli.core import settings_or_exit
    from pos_app.setup_desktop import default_mode, parse_usb_id, plan_desktop, pos_app_command, write_plan

    config = args.config or os.environ.get("POS_CONFIG") or None
    if config:
        config = str(Path(config).absolute())
    args.config = config
    s = settings_or_exit(args)
    try:
        scanners = [parse_usb_id(x) for x in args.scanner_id]
        printers = [parse_usb_id(x) for x in args.printer_id]
    except ValueError as exc:
        print(f"setup: {exc}", file=sys.stderr)
        return 2
    if not args.scanner_id:
        try:
            from drivers.discovery import find_serial_scanners

            scanners = [(f"{d.vid:04x}", f"{d.pid:04x}") for d in find_serial_scanners()
                        if d.likely_scanner and d.vid is not None and d.pid is not None]
        except Exception:  # noqa: BLE001 - discovery is a convenience; the ids can be given
            scanners = []
    if not args.printer_id and s.printer.url.startswith("usb://"):
        printers = [parse_usb_id(s.printer.url.removeprefix("usb://").split("?")[0])]
    home = Path(args.home) if args.home else Path.home()
    is_root = os.geteuid() == 0 and not args.home
    plan = plan_desktop(home=home, staging=s.data_dir / "setup", pos_app=pos_app_command(), config=config,
                        mode=args.mode or default_mode(), kiosk=not args.no_kiosk, scanners=scanners,
                        printers=printers, system_root=Path(args.system_root or "/"),
                        is_root=is_root or bool(args.system_root))
    verb = "would write" if args.dry_run else "wrote"
    if not args.dry_run:
        write_plan(plan)
    for f in plan:
        print(f"{verb} {f.path}  ({f.purpose})")
        if args.dry_run:
            for line in f.content.splitlines():
                print(f"    {line}")
    if not scanners:
        print("note: no scanner USB id given or found: the udev file has no scanner rule (--scanner-id VID:PID)")
    print("next:")
    unit = next((f for f in plan if f.path.name == "pos-app.service"), None)
    if unit is not None:
        print("  systemctl --user daemon-reload && systemctl --user enable pos-app")
    staged = [f for f in plan if f.system and not (is_root or args.system_root)]
    for f in staged:
        print(f"  sudo install -m 644 {f.path} /etc/udev/rules.d/{f.path.name} && "
              "sudo udevadm control --reload && sudo udevadm trigger")
    import getpass

    print(f"  sudo usermod -aG dialout,lp {getpass.getuser()}   (serial scanners and USB printers without root; "
          "log in again)")
    if not args.no_kiosk:
        print("  kiosk: full screen without window frame; leaving it (Alt+F4 or Ctrl+Alt+Q) asks a supervisor")
    return 0
