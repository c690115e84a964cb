"""`pos-app setup desktop`: the files a counter PC needs to boot straight into the till.

Per user (written directly): a systemd user unit (restarted on a crash) or an XDG autostart entry,
an autostart entry that turns screen blanking off. For the system (needs root; written when run as
root, otherwise staged in the data folder with the one `sudo install` command to put them in place):
udev rules that keep ModemManager away from the scanners, give them a stable /dev/pos-scanner link by
USB vendor/product id, and let the `lp` group (not only root) open USB receipt printers.
"""

from __future__ import annotations

import dataclasses
import os
import shlex
import shutil
import sys
from pathlib import Path

__all__ = ["PlannedFile", "plan_desktop", "write_plan", "parse_usb_id", "UNIT_NAME"]

UNIT_NAME = "pos-app.service"
UDEV_NAME = "70-pos-app.rules"


@dataclasses.dataclass(frozen=True)
class PlannedFile:
    path: Path
    content: str
    mode: int = 0o644
    system: bool = False      # needs root (udev)
    purpose: str = ""


def parse_usb_id(text: str) -> tuple[str, str]:
    """'05e0:1200' -> ('05e0', '1200'); ValueError naming the problem."""
    parts = text.strip().lower().split(":")
    if len(parts) != 2 or not all(len(p) == 4 and all(c in "0123456789abcdef" for c in p) for p in parts):
        raise ValueError(f"{text!r} is not a USB id (VID:PID in hex, e.g. 05e0:1200)")
    return parts[0], parts[1]


def _exec_line(pos_app: str, config: str | None) -> list[str]:
    cmd = [pos_app, "run"]
    if config:
        cmd += ["--config", config]
    return cmd


def _unit(cmd: list[str], kiosk: bool) -> str:
    env = "Environment=POS_KIOSK_ENABLED=true\n" if kiosk else ""
    return (
        "# written by `pos-app setup desktop`: the till starts with the graphical session and comes back\n"
        "# after a crash. Enable: systemctl --user daemon-reload && systemctl --user enable --now pos-app\n"
        "[Unit]\n"
        "Description=pos-app cashier terminal\n"
        "After=graphical-session.target\n"
        "PartOf=graphical-session.target\n"
        "StartLimitIntervalSec=300\n"
        "StartLimitBurst=10\n\n"
        "[Service]\n"
        f"ExecStart={shlex.join(cmd)}\n"
        "Restart=on-failure\n"
        "RestartSec=3\n"
        f"{env}"
        "# exit 2 (bad settings) and 3 (unusable database) need a person: restarting would not help\n"
        "RestartPreventExitStatus=2 3\n\n"
        "[Install]\n"
        "WantedBy=graphical-session.target\n"
    )


def _autostart(cmd: list[str], kiosk: bool) -> str:
    exec_cmd = shlex.join([*cmd, "--keep-alive"])  # no service manager here: the till restarts itself
    if kiosk:
        exec_cmd = f"env POS_KIOSK_ENABLED=true {exec_cmd}"
    return (
        "[Desktop Entry]\n"
        "Type=Application\n"
        "Name=pos-app cashier terminal\n"
        f"Exec={exec_cmd}\n"
        "X-GNOME-Autostart-enabled=true\n"
        "NoDisplay=false\n"
        "Terminal=false\n"
    )


_NOBLANK_SCRIPT = (
    "xset s off -dpms s noblank 2>/dev/null; "
    "gsettings set org.gnome.desktop.session idle-delay 0 2>/dev/null; "
    "gsettings set org.gnome.desktop.screensaver lock-enabled false 2>/dev/null; "
    "gsettings set org.gnome.settings-daemon.plugins.power sleep-inactive-ac-type nothing 2>/dev/null; "
    "xfconf-query -c xfce4-power-manager -p /xfce4-power-manager/dpms-enabled -s false 2>/dev/null; true"
)


def _noblank() -> str:
    return (
        "[Desktop Entry]\n"
        "Type=Application\n"
        "Name=pos-app: screen blanking off\n"
        f"Exec=sh -c {shlex.quote(_NOBLANK_SCRIPT)}\n"
        "X-GNOME-Autostart-enabled=true\n"
        "NoDisplay=true\n"
        "Terminal=false\n"
    )


def _udev(scanners: list[tuple[str, str]], printers: list[tuple[str, str]]) -> str:
    lines = [
        "# written by `pos-app setup desktop`; install to /etc/udev/rules.d/ and run",
        "#   sudo udevadm control --reload && sudo udevadm trigger",
        "# Scanners (USB-CDC serial): ModemManager must not probe them (it sends AT commands and holds the",
        "# port), a stable /dev/pos-scanner link whatever ttyACM number they get, group dialout may open them.",
    ]
    for i, (vid, pid) in enumerate(scanners):
        link = "pos-scanner" if i == 0 else f"pos-scanner-{i + 1}"
        lines.append(f'ATTRS{{idVendor}}=="{vid}", ATTRS{{idProduct}}=="{pid}", ENV{{ID_MM_DEVICE_IGNORE}}="1"')
        lines.append(f'SUBSYSTEM=="tty", ATTRS{{idVendor}}=="{vid}", ATTRS{{idProduct}}=="{pid}", '
                     f'SYMLINK+="{link}", GROUP="dialout", MODE="0660"')
    lines.append("# USB receipt printers: group lp may open them (python-escpos through libusb), not only root.")
    for vid, pid in printers:
        lines.append(f'SUBSYSTEM=="usb", ATTRS{{idVendor}}=="{vid}", ATTRS{{idProduct}}=="{pid}", '
                     'GROUP="lp", MODE="0660"')
        lines.append(f'SUBSYSTEM=="usbmisc", ATTRS{{idVendor}}=="{vid}", ATTRS{{idProduct}}=="{pid}", '
                     'GROUP="lp", MODE="0660"')
    return "\n".join(lines) + "\n"


def plan_desktop(*, home: Path, staging: Path, pos_app: str, config: str | None, mode: str, kiosk: bool,
                 scanners: list[tuple[str, str]], printers: list[tuple[str, str]],
                 system_root: Path = Path("/"), is_root: bool = False) -> list[PlannedFile]:
    """The files to write; system files go to ``system_root`` when root, else to ``staging``."""
    cmd = _exec_line(pos_app, config)
    out: list[PlannedFile] = []
    if mode == "systemd":
        out.append(PlannedFile(home / ".config/systemd/user" / UNIT_NAME, _unit(cmd, kiosk),
                               purpose="systemd user unit: starts the till at login, restarts it after a crash"))
    else:
        out.append(PlannedFile(home / ".config/autostart/pos-app.desktop", _autostart(cmd, kiosk),
                               purpose="XDG autostart entry: starts the till at login, restarts it after a crash"))
    out.append(PlannedFile(home / ".config/autostart/pos-app-noblank.desktop", _noblank(),
                           purpose="turns screen blanking, DPMS and the lock screen off at login"))
    udev_dir = (system_root / "etc/udev/rules.d") if is_root else staging
    out.append(PlannedFile(udev_dir / UDEV_NAME, _udev(scanners, printers), system=True,
                           purpose="udev: scanners left alone by ModemManager, /dev/pos-scanner link, "
                                   "USB printers for group lp"))
    return out


def write_plan(plan: list[PlannedFile]) -> list[Path]:
    written: list[Path] = []
    for f in plan:
        f.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = f.path.with_name(f.path.name + ".tmp")
        tmp.write_text(f.content, encoding="utf-8")
        os.chmod(tmp, f.mode)
        os.replace(tmp, f.path)
        written.append(f.path)
    return written


def default_mode() -> str:
    """systemd when this session has a user manager, else XDG autostart."""
    if shutil.which("systemctl") and (os.environ.get("XDG_RUNTIME_DIR") or Path(f"/run/user/{os.getuid()}").is_dir()):
        return "systemd"
    return "autostart"


def pos_app_command() -> str:
    """The absolute path of the pos-app launcher this program runs from (venv or pipx)."""
    found = Path(sys.argv[0]) if sys.argv and sys.argv[0].endswith("pos-app") else None
    if found is not None and found.exists():
        return str(found.absolute())  # ~/.local/bin/pos-app under pipx: stable across upgrades
    candidate = Path(sys.executable).with_name("pos-app")
    if candidate.exists():
        return str(candidate)
    return shutil.which("pos-app") or "pos-app"
