"""`pos-app doctor`: everything a support call asks, checked in parallel with short timeouts.

Each check gives one Finding: ``ok``, ``warn`` (worth knowing) or ``fail`` (needs a person; exit 1).
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import email.utils
import glob
import os
import shutil
import socket
import sqlite3
import stat
import threading
import time
import urllib.parse
from collections.abc import Callable
from pathlib import Path

from pos_app.settings import Settings, SettingsError, load_settings

__all__ = ["Finding", "run_doctor", "CLOCK_WARN_S", "CLOCK_FAIL_S"]

CLOCK_WARN_S = 30.0     # Alipay documents no tolerance for the request timestamp: keep the clock close
CLOCK_FAIL_S = 300.0
BACKUP_WARN_H = 30.0
BACKUP_FAIL_H = 54.0    # two nights missed
DISK_WARN_B = 2_000_000_000
DISK_FAIL_B = 300_000_000
CONNECT_TIMEOUT_S = 1.5
READ_TIMEOUT_S = 1.2
OVERALL_S = 5.0


@dataclasses.dataclass(frozen=True)
class Finding:
    check: str
    status: str          # ok | warn | fail
    detail: str
    data: dict[str, object] = dataclasses.field(default_factory=dict)

    def as_dict(self) -> dict[str, object]:
        return {"check": self.check, "status": self.status, "detail": self.detail, **self.data}


def _ok(check: str, detail: str, **data: object) -> Finding:
    return Finding(check, "ok", detail, data)


def _warn(check: str, detail: str, **data: object) -> Finding:
    return Finding(check, "warn", detail, data)


def _fail(check: str, detail: str, **data: object) -> Finding:
    return Finding(check, "fail", detail, data)


# --- the checks ---------------------------------------------------------------------------------------------


def check_keys(s: Settings) -> list[Finding]:
    gw = s.gateway
    if not gw.url:
        return [_ok("keys", "no gateway configured (cash and cached members only)")]
    out: list[Finding] = []
    for key, private in (("app_private_key", True), ("alipay_public_key", False)):
        path = Path(getattr(gw, key))
        try:
            st = path.stat()
        except OSError as exc:
            out.append(_fail(f"keys.{key}", f"{path}: {exc.strerror or exc}"))
            continue
        mode = stat.S_IMODE(st.st_mode)
        if private and mode & 0o077:
            out.append(_fail(f"keys.{key}", f"{path}: mode {mode:04o}, others can read the private key "
                                            f"(chmod 600 {path})", mode=f"{mode:04o}"))
        elif not os.access(path, os.R_OK):
            out.append(_fail(f"keys.{key}", f"{path}: not readable by this user", mode=f"{mode:04o}"))
        else:
            out.append(_ok(f"keys.{key}", f"{path} mode {mode:04o}", mode=f"{mode:04o}"))
    try:
        from pos_app.gateway_setup import gateway_config

        gateway_config(s)
    except Exception as exc:  # noqa: BLE001 - every key problem is reported the same way
        out.append(_fail("keys.load", str(exc)))
    return out


def check_files(s: Settings) -> list[Finding]:
    out: list[Finding] = []
    for name, path, want in (("data_dir", s.data_dir, 0o700), ("database", s.db_path, 0o600)):
        if not path.exists():
            out.append(_warn(f"files.{name}", f"{path} does not exist yet (pos-app db migrate)"))
            continue
        mode = stat.S_IMODE(path.stat().st_mode)
        if mode & 0o007:
            out.append(_warn(f"files.{name}", f"{path} mode {mode:04o}: other users can read it "
                                              f"(chmod {want:o} {path})", mode=f"{mode:04o}"))
        else:
            out.append(_ok(f"files.{name}", f"{path} mode {mode:04o}", mode=f"{mode:04o}"))
    return out


def check_gateway(s: Settings, now: Callable[[], float] = time.time) -> list[Finding]:
    if not s.gateway.url:
        return [_ok("gateway", "not configured")]
    import httpx

    timeout = httpx.Timeout(READ_TIMEOUT_S, connect=CONNECT_TIMEOUT_S)
    t0 = now()
    try:
        with httpx.Client(timeout=timeout, follow_redirects=False) as client:
            r = client.get(s.gateway.url)
    except httpx.HTTPError as exc:
        return [_fail("gateway", f"{s.gateway.url} cannot be reached: {type(exc).__name__} {exc}".strip())]
    t1 = now()
    rtt_ms = round((t1 - t0) * 1000)
    date = r.headers.get("date")
    if not date:
        return [_ok("gateway", f"reachable (HTTP {r.status_code}, {rtt_ms} ms); no Date header to compare clocks",
                    rtt_ms=rtt_ms)]
    try:
        theirs = email.utils.parsedate_to_datetime(date).timestamp()
    except (TypeError, ValueError):
        return [_ok("gateway", f"reachable (HTTP {r.status_code}, {rtt_ms} ms); unreadable Date header",
                    rtt_ms=rtt_ms)]
    # the Date header has one-second resolution: compare with the middle of the request, allow 1 s
    diff = (t0 + t1) / 2 - theirs
    gw = _ok("gateway", f"reachable (HTTP {r.status_code}, {rtt_ms} ms)", rtt_ms=rtt_ms)
    text = f"this PC's clock is {abs(diff):.0f} s {'ahead of' if diff > 0 else 'behind'} the gateway"
    if abs(diff) > CLOCK_FAIL_S:
        clock = _fail("clock", f"{text}; Alipay refuses requests with a wrong timestamp: turn on time sync "
                               "(timedatectl set-ntp true)", offset_s=round(diff, 1))
    elif abs(diff) > CLOCK_WARN_S:
        clock = _warn("clock", f"{text}; turn on time sync (timedatectl set-ntp true)", offset_s=round(diff, 1))
    else:
        clock = _ok("clock", text if abs(diff) >= 2 else "within 2 s of the gateway", offset_s=round(diff, 1))
    return [gw, clock]


def _device(check: str, path: str) -> Finding:
    if not os.path.exists(path):
        return _fail(check, f"{path} is not there (plugged in? udev rule? pos-app setup desktop)")
    if not os.access(path, os.R_OK | os.W_OK):
        return _fail(check, f"{path} exists but this user cannot open it (group dialout/lp? udev rule)")
    return _ok(check, f"{path} present")


def _usb_present(vid: int, pid: int) -> bool:
    for d in glob.glob("/sys/bus/usb/devices/*/idVendor"):
        try:
            v = int(Path(d).read_text().strip(), 16)
            p = int(Path(d).with_name("idProduct").read_text().strip(), 16)
        except (OSError, ValueError):
            continue
        if (v, p) == (vid, pid):
            return True
    return False


def check_scanners(s: Settings) -> list[Finding]:
    out: list[Finding] = []
    for url in s.scanners.urls:
        parts = urllib.parse.urlsplit(url)
        scheme = parts.scheme.lower()
        if scheme == "serial":
            out.append(_device(f"scanner {url}", urllib.parse.unquote(parts.netloc + parts.path)))
        elif scheme == "camera" and parts.netloc.isdigit():
            out.append(_device(f"scanner {url}", f"/dev/video{parts.netloc}"))
        elif scheme == "camera":
            path = urllib.parse.unquote(parts.path)
            out.append(_ok(f"scanner {url}", "video file present") if os.path.isfile(path)
                       else _fail(f"scanner {url}", f"{path} not found"))
        elif scheme == "wedge":
            out.append(_ok(f"scanner {url}", "keyboard wedge (types into the window; test by scanning)"))
        else:
            out.append(_ok(f"scanner {url}", "test device"))
    return out


def check_printer(s: Settings) -> list[Finding]:
    url = s.printer.url
    parts = urllib.parse.urlsplit(url)
    scheme = parts.scheme.lower()
    check = f"printer {url}"
    if scheme == "none":
        return [_warn(check, "no printer configured: receipts are shown on screen only")]
    if scheme == "usb":
        vid, pid = (int(x, 16) for x in parts.netloc.split(":"))
        if not _usb_present(vid, pid):
            return [_fail(check, f"no USB device {vid:04x}:{pid:04x} connected (cable, power?)")]
        return [_ok(check, f"USB device {vid:04x}:{pid:04x} connected")]
    if scheme == "serial":
        return [_device(check, urllib.parse.unquote(parts.netloc + parts.path))]
    if scheme == "tcp":
        host, port = parts.hostname or "", parts.port or 9100
        try:
            with socket.create_connection((host, port), timeout=CONNECT_TIMEOUT_S):
                return [_ok(check, f"{host}:{port} answers")]
        except OSError as exc:
            return [_fail(check, f"{host}:{port} does not answer ({exc})")]
    if scheme == "file":
        folder = Path(urllib.parse.unquote(parts.path)).parent
        if not os.access(folder, os.W_OK):
            return [_fail(check, f"{folder} cannot be written")]
        return [_ok(check, f"writes to {urllib.parse.unquote(parts.path)}")]
    return [_ok(check, "test printer")]


def check_disk(s: Settings) -> list[Finding]:
    folder = s.data_dir if s.data_dir.exists() else next((p for p in s.data_dir.parents if p.exists()), Path("/"))
    free = shutil.disk_usage(folder).free
    detail = f"{free / 1e9:.1f} GB free on the data folder's disk"
    if free < DISK_FAIL_B:
        return [_fail("disk", detail + ": sales may fail to commit soon", free_bytes=free)]
    if free < DISK_WARN_B:
        return [_warn("disk", detail, free_bytes=free)]
    return [_ok("disk", detail, free_bytes=free)]


def check_backup(s: Settings, now: dt.datetime | None = None) -> list[Finding]:
    from pos_app.bootstrap import newest_backup

    now = now or dt.datetime.now()
    newest = newest_backup(s.backup_dir)
    if newest is None:
        status = _warn if not s.db_path.exists() else _fail
        return [status("backup", f"no backup in {s.backup_dir} yet (pos-app db backup)")]
    age_h = (now - newest[0]).total_seconds() / 3600
    detail = f"last backup {newest[1].name}, {age_h:.0f} h ago"
    if not s.backup.enabled:
        return [_warn("backup", detail + "; the nightly backup is turned off", age_hours=round(age_h, 1))]
    if age_h > BACKUP_FAIL_H:
        return [_fail("backup", detail + ": the nightly backup is not running", age_hours=round(age_h, 1))]
    if age_h > BACKUP_WARN_H:
        return [_warn("backup", detail, age_hours=round(age_h, 1))]
    return [_ok("backup", detail, age_hours=round(age_h, 1))]


def check_database(s: Settings) -> list[Finding]:
    if not s.db_path.exists():
        return [_warn("database", f"{s.db_path} does not exist yet (pos-app db migrate)")]
    from pos_app.bootstrap import integrity_problems

    t0 = time.monotonic()
    problems = integrity_problems(s.db_path, quick=True)
    ms = round((time.monotonic() - t0) * 1000)
    if problems:
        return [_fail("database", f"{s.db_path}: {problems[0]} (restore the last backup: pos-app db restore)",
                      problems=problems[:5])]
    out = [_ok("database", f"quick check ok ({ms} ms; full check: pos-app db verify)")]
    try:
        # closing(): a connection's own "with" ends a transaction, it does not close the file
        with contextlib.closing(sqlite3.connect(Path(s.db_path).resolve().as_uri() + "?mode=ro", uri=True,
                                                timeout=1.0)) as conn:
            rows = dict(conn.execute("SELECT state, count(*) FROM outbox GROUP BY state").fetchall())
            oldest = conn.execute("SELECT min(created_at) FROM outbox WHERE state = 'pending'").fetchone()[0]
    except sqlite3.Error as exc:
        return [*out, _warn("sync", f"backlog unknown ({exc})")]
    pending, dead = int(rows.get("pending", 0)), int(rows.get("dead", 0))
    age_h = 0.0
    if oldest:
        try:
            age_h = (dt.datetime.now(dt.UTC) - dt.datetime.fromisoformat(oldest)).total_seconds() / 3600
        except ValueError:
            age_h = 0.0
    detail = f"{pending} card updates waiting (oldest {age_h:.1f} h), {dead} failed for good"
    if dead:
        out.append(_fail("sync", detail + ": a supervisor must look at them (F9 Sync)", pending=pending, dead=dead))
    elif age_h > 1:
        out.append(_warn("sync", detail, pending=pending, dead=dead))
    else:
        out.append(_ok("sync", detail, pending=pending, dead=dead))
    return out


def check_store(s: Settings) -> list[Finding]:
    """The store server link, when a teammate's [store] settings configure one (dsn)."""
    dsn = getattr(s.store, "dsn", "") or getattr(getattr(s, "store_server", None), "dsn", "")
    if not dsn:
        return [_ok("store link", "not configured (single-lane terminal)")]
    parts = urllib.parse.urlsplit(str(dsn))
    host, port = parts.hostname or "localhost", parts.port or 5432
    try:
        with socket.create_connection((host, port), timeout=CONNECT_TIMEOUT_S):
            return [_ok("store link", f"store server {host}:{port} answers")]
    except OSError as exc:
        return [_fail("store link", f"store server {host}:{port} does not answer ({exc})")]


# --- the report ------------------------------------------------------------------------------------------


def run_doctor(config: str | None, data_dir: str | None) -> list[Finding]:
    """Every check; the slow ones (network, database) in parallel, none waiting longer than its timeout."""
    try:
        s = load_settings(config, data_dir=data_dir)
    except SettingsError as exc:
        return [_fail("settings", line) for line in exc.problems]
    findings = [_ok("settings", f"{s.config_file or 'defaults and environment'}; data dir {s.data_dir}")]
    checks: list[Callable[[Settings], list[Finding]]] = [
        check_keys, check_files, check_gateway, check_scanners, check_printer, check_disk, check_backup,
        check_database, check_store]
    results: dict[str, list[Finding]] = {}

    def run(fn: Callable[[Settings], list[Finding]]) -> None:
        try:
            results[fn.__name__] = fn(s)
        except Exception as exc:  # noqa: BLE001 - a broken check is a finding, not a crash
            results[fn.__name__] = [_fail(fn.__name__.removeprefix("check_"),
                                          f"check failed: {type(exc).__name__}: {exc}")]

    # daemon threads: a check stuck in a slow DNS lookup must not keep the process alive after the report
    threads = [threading.Thread(target=run, args=(fn,), name=f"doctor-{fn.__name__}", daemon=True) for fn in checks]
    for t in threads:
        t.start()
    deadline = time.monotonic() + OVERALL_S
    for fn, t in zip(checks, threads, strict=True):
        t.join(max(0.0, deadline - time.monotonic()))
        found = results.get(fn.__name__)
        if found is None:
            found = [_fail(fn.__name__.removeprefix("check_"), f"no answer within {OVERALL_S:.0f} s")]
        findings.extend(found)
    return findings
