"""One frozen Settings object from a TOML file plus POS_* environment overrides, validated at start."""

from __future__ import annotations

import dataclasses
import math
import os
import re
import tomllib
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import platformdirs

__all__ = [
    "SettingsError",
    "StoreSettings",
    "GatewaySettings",
    "PaymentSettings",
    "ScannerSettings",
    "PrinterSettings",
    "SyncSettings",
    "ShiftSettings",
    "ReconcileSettings",
    "CardSettings",
    "DisplaySettings",
    "ExportSettings",
    "CounterSettings",
    "KioskSettings",
    "BackupSettings",
    "HousekeepingSettings",
    "Settings",
    "load_settings",
    "default_data_dir",
    "ENV_PREFIX",
]

ENV_PREFIX = "POS_"
APP_NAME = "pos-app"


def ranged(default: Any, lo: float, hi: float, unit: str = "") -> Any:
    """A numeric setting allowed from ``lo`` to ``hi`` (inclusive); checked by ``_check_ranges``."""
    return dataclasses.field(default=default, metadata={"range": (lo, hi, unit)})


class SettingsError(ValueError):
    """Settings that cannot be used; ``problems`` holds one line per problem (file, key, what)."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


@dataclasses.dataclass(frozen=True)
class StoreSettings:
    store_id: str = "S001"
    terminal_id: str = "T01"
    terminal_no: int = ranged(1, 0, 999)  # numeric, used inside receipt codes
    name: str = "演示便利店 Demo Store"
    address: str = ""
    currency: str = "CNY"
    # store mode (issue 13, docs/store-mode.md): empty dsn = a standalone lane, exactly as before
    dsn: str = ""                       # libpq string or URL of the store's PostgreSQL, without the password
    password_file: str = ""             # first line = the lane role's password (chmod 600)
    password_env: str = ""              # or: the variable holding it
    deadline_s: float = ranged(10.0, 0.5, 120, " s")  # client-side deadline per round trip to the store server
    offline_redeem_cap: int = ranged(500, 0, 10_000_000)  # points per member per day a lane may redeem offline
    offline_redeem_max_age_h: float = ranged(24.0, 0, 8760, " h")
    # an offline redemption of more points than this needs a supervisor's approval (0: never asked)
    offline_redeem_supervisor_above: int = ranged(200, 0, 10_000_000)
    pin_key_file: str = ""              # the store's PIN key (from `store init`): users pulled from the store log in


@dataclasses.dataclass(frozen=True)
class GatewaySettings:
    url: str = ""                       # empty: not configured (cash and cached members only)
    app_id: str = ""
    app_private_key: str = ""           # path to the merchant private key (PEM or bare Base64)
    passphrase_env: str = ""            # name of the environment variable holding the key passphrase
    alipay_public_key: str = ""         # path to the Alipay public key
    sign_type: str = "RSA2"
    connect_timeout_s: float = ranged(3.0, 0.05, 120, " s")
    read_timeout_s: float = ranged(15.0, 0.05, 120, " s")


@dataclasses.dataclass(frozen=True)
class PaymentSettings:
    query_max: int = ranged(5, 0, 60)
    query_interval_s: float = ranged(5.0, 0.01, 60, " s")
    cancel_max: int = ranged(3, 0, 20)
    cancel_interval_s: float = ranged(2.0, 0.01, 60, " s")
    subject: str = ""                   # default: the store name


@dataclasses.dataclass(frozen=True)
class ScannerSettings:
    urls: tuple[str, ...] = ("wedge://",)
    member_pattern: str = r"^8800\d{12}$"
    supervisor_pattern: str = r"^SUP\d{4,8}$"
    receipt_prefix: str = "R"
    # defaults for every wedge:// reader (options written in the URL win)
    wedge_min_chars: int = ranged(6, 1, 512)
    wedge_max_mean_gap_ms: int = ranged(30, 1, 1000, " ms")
    wedge_max_gap_ms: int = ranged(100, 1, 5000, " ms")
    wedge_prefix_key: str = ""          # one character the scanner sends before each code (e.g. "\u0002")

    def reader_defaults(self, url: str) -> dict[str, Any]:
        """Options ``drivers.open_scanner(url, **defaults)`` gets unless the URL names them itself."""
        if not url.lower().startswith("wedge:"):
            return {}
        out: dict[str, Any] = {"min_len": str(self.wedge_min_chars), "mean_ms": str(self.wedge_max_mean_gap_ms),
               "gap_ms": str(self.wedge_max_gap_ms)}
        if self.wedge_prefix_key:
            out["prefix"] = self.wedge_prefix_key
        return out


@dataclasses.dataclass(frozen=True)
class PrinterSettings:
    url: str = "none://"
    drawer: bool = False
    width_chars: int = ranged(42, 24, 80, " characters")


@dataclasses.dataclass(frozen=True)
class SyncSettings:
    max_in_flight: int = ranged(16, 1, 64)  # measured: tests/bench/bench_sync.py (issue 18)
    backoff_base_s: float = ranged(2.0, 0.01, 3600, " s")
    backoff_cap_s: float = ranged(300.0, 0.01, 86400, " s")  # and at least backoff_base_s
    probe_interval_s: float = ranged(15.0, 0.01, 3600, " s")


@dataclasses.dataclass(frozen=True)
class ShiftSettings:
    close_difference_threshold_fen: int = ranged(1000, 0, 10_000_000, " fen")
    pin_max_failures: int = ranged(5, 1, 20)
    pin_lock_minutes: int = ranged(15, 1, 1440, " minutes")  # doubles with every further lock (at most a day)
    pin_min_length: int = ranged(4, 4, 12, " digits")            # cashiers; new and reset PINs only
    supervisor_pin_min_length: int = ranged(6, 4, 12, " digits")  # supervisors and admins


@dataclasses.dataclass(frozen=True)
class CounterSettings:
    """The counter (issue 14): cash rounding 抹零 (none / jiao = to ¥0.1 / yuan = to ¥1, cash only) and the
    most a manual discount may take without a supervisor, per role, in percent of the line or sale."""

    cash_rounding: str = "none"
    cashier_discount_max_pct: int = ranged(10, 0, 100, " %")
    supervisor_discount_max_pct: int = ranged(100, 0, 100, " %")


@dataclasses.dataclass(frozen=True)
class KioskSettings:
    enabled: bool = False               # full screen, no window frame; leaving the till asks a supervisor


@dataclasses.dataclass(frozen=True)
class BackupSettings:
    enabled: bool = True                # the nightly automatic backup (pos-app db backup works regardless)
    dir: str = ""                       # default: <data_dir>/backups
    hour: int = ranged(2, 0, 23, " o'clock")  # the day's backup is made at the first check after this hour
    keep_daily: int = ranged(7, 1, 366)
    keep_weekly: int = ranged(4, 0, 520)


@dataclasses.dataclass(frozen=True)
class HousekeepingSettings:
    outbox_keep_days: int = ranged(30, 1, 3650, " days")  # finished sync rows older than this are pruned
    log_keep_days: int = ranged(90, 1, 3650, " days")     # log files older than this are deleted
    interval_minutes: int = ranged(30, 1, 1440, " minutes")  # how often the terminal looks for work


@dataclasses.dataclass(frozen=True)
class ReconcileSettings:
    auto: bool = True                   # reconcile yesterday's Alipay bill automatically each morning
    run_after: str = "10:00"            # Beijing time; Alipay's bills are ready after ~09:00 (T+1)
    partner_id: str = ""                # the merchant's 2088… PID; a bill of another account is refused


@dataclasses.dataclass(frozen=True)
class CardSettings:
    template_id: str = ""               # the shop's membership-card template (pos-app card template create)
    join_url: str = ""                  # the activation URL behind the join QR (pos-app card join-qr)
    number_prefix: str = "8800"         # card numbers the opening endpoint gives (match scanners.member_pattern)
    number_length: int = ranged(16, 8, 32)
    opening_points: int = ranged(0, 0, 1_000_000)   # points a new card starts with
    opening_level: str = ""             # level a new card starts with
    callback_path: str = "/card/open"   # historical mode: the path of the template's callback URL


@dataclasses.dataclass(frozen=True)
class DisplaySettings:
    window: str = "auto"                # customer window: auto (second screen if any), off, or a screen number
    pole_url: str = "none://"           # serial:///dev/ttyUSB0?baud=9600&charset=ascii|gb18030, fake://, none://


@dataclasses.dataclass(frozen=True)
class ExportSettings:
    """The daily sales-journal export (pos_app/daily_export.py); off while ``folder`` is empty."""

    folder: str = ""
    time: str = "23:30"                 # store-local (Beijing) time after which yesterday's file is written
    format: str = "csv"
    catch_up_days: int = ranged(7, 1, 366)  # days back a late start still writes


@dataclasses.dataclass(frozen=True)
class Settings:
    """Everything configurable, validated. Built once in app.py / the CLI and passed down."""

    data_dir: Path
    config_file: Path | None = None
    language: str = "zh_CN"
    store: StoreSettings = StoreSettings()
    gateway: GatewaySettings = GatewaySettings()
    payment: PaymentSettings = PaymentSettings()
    scanners: ScannerSettings = ScannerSettings()
    printer: PrinterSettings = PrinterSettings()
    sync: SyncSettings = SyncSettings()
    shift: ShiftSettings = ShiftSettings()
    reconcile: ReconcileSettings = ReconcileSettings()
    card: CardSettings = CardSettings()
    display: DisplaySettings = DisplaySettings()
    export: ExportSettings = ExportSettings()
    counter: CounterSettings = CounterSettings()
    kiosk: KioskSettings = KioskSettings()
    backup: BackupSettings = BackupSettings()
    housekeeping: HousekeepingSettings = HousekeepingSettings()
    loyalty: Mapping[str, Any] = dataclasses.field(default_factory=dict)

    @property
    def db_path(self) -> Path:
        return self.data_dir / "pos.sqlite3"

    @property
    def log_dir(self) -> Path:
        return self.data_dir / "logs"

    @property
    def backup_dir(self) -> Path:
        return Path(self.backup.dir).expanduser() if self.backup.dir else self.data_dir / "backups"

    @property
    def secret_path(self) -> Path:
        """The terminal secret (PIN and audit keys): beside the settings file, else in the data folder."""
        return (self.config_file.parent if self.config_file is not None else self.data_dir) / "pos-secret.key"


_SECTIONS: dict[str, type] = {
    "store": StoreSettings,
    "gateway": GatewaySettings,
    "payment": PaymentSettings,
    "scanners": ScannerSettings,
    "printer": PrinterSettings,
    "sync": SyncSettings,
    "shift": ShiftSettings,
    "reconcile": ReconcileSettings,
    "card": CardSettings,
    "display": DisplaySettings,
    "export": ExportSettings,
    "counter": CounterSettings,
    "kiosk": KioskSettings,
    "backup": BackupSettings,
    "housekeeping": HousekeepingSettings,
}
_LANGUAGES = ("zh_CN", "en")
# mirrors drivers.SCHEMES and drivers.printer (checked by tests/unit/settings/test_settings.py)
_SCANNER_SCHEMES = ("wedge", "serial", "camera", "virtual", "loop", "fake")
_PRINTER_SCHEMES = ("none", "usb", "serial", "tcp", "file", "fake")


def default_data_dir() -> Path:
    """The platform's user data directory for the terminal."""
    return Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))


def _coerce(value: Any, target: Any, where: str, problems: list[str]) -> Any:
    """Turn a TOML or environment value into the field's type, or record a problem."""
    kind = target if isinstance(target, type) else type(target)
    if isinstance(value, str) and kind is not str:
        text = value.strip()
        try:
            if kind is bool:
                if text.lower() in ("1", "true", "yes", "on"):
                    return True
                if text.lower() in ("0", "false", "no", "off"):
                    return False
                raise ValueError(text)
            if kind is int:
                return int(text)
            if kind is float:
                return float(text)
            if kind is tuple:
                return tuple(p.strip() for p in text.split(",") if p.strip())
        except ValueError:
            problems.append(f"{where}: {value!r} is not a valid {kind.__name__}")
            return None
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if kind is tuple and isinstance(value, list) and all(isinstance(v, str) for v in value):
        return tuple(value)
    if kind is tuple and isinstance(value, str):
        return (value,)
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        problems.append(f"{where}: expected {kind.__name__}, got {type(value).__name__} {value!r}")
        return None
    return value


def _build_section(cls: type, raw: Mapping[str, Any], where: str, problems: list[str]) -> Any:
    defaults = cls()
    fields = {f.name for f in dataclasses.fields(cls)}
    values: dict[str, Any] = {}
    for key, value in raw.items():
        if key not in fields:
            problems.append(f"{where}.{key}: unknown setting (known: {', '.join(sorted(fields))})")
            continue
        coerced = _coerce(value, getattr(defaults, key), f"{where}.{key}", problems)
        if coerced is not None:
            values[key] = coerced
    return dataclasses.replace(defaults, **values)


NOT_SETTINGS = frozenset({"POS_STORE_ADMIN_DSN"})
"""Variables that look like POS_<SECTION>_<KEY> but are not settings (the store administrator's connection, read
by `pos-app store ...` and the store-mode importers: an admin exporting it must still be able to run lane commands)."""


def _env_overrides(env: Mapping[str, str]) -> dict[str, dict[str, str]]:
    """POS_<SECTION>_<KEY> variables, e.g. POS_STORE_TERMINAL_ID or POS_GATEWAY_URL."""
    out: dict[str, dict[str, str]] = {}
    for name, value in env.items():
        if not name.startswith(ENV_PREFIX) or name in NOT_SETTINGS:
            continue
        rest = name[len(ENV_PREFIX):].lower()
        for section in _SECTIONS:
            if rest.startswith(section + "_"):
                out.setdefault(section, {})[rest[len(section) + 1:]] = value
    return out


Report = Callable[[str, str], None]
"""``report(key, message)`` records one problem: ``report("sync.backoff_cap_s", "1.0 must be ...")``."""

CHECKS: list[Callable[[Settings, Report], None]] = []
"""Every check ``load_settings`` runs (the terminal, every command and ``config check`` alike).

To add a setting: a field (``ranged(...)`` for numbers) in its section dataclass, and, when it needs more
than a range, a function decorated with ``@check`` below.
"""


def check(fn: Callable[[Settings, Report], None]) -> Callable[[Settings, Report], None]:
    CHECKS.append(fn)
    return fn


def _fmt(v: float) -> str:
    return f"{v:g}"


def _in_range(values: Any) -> bool:
    """Whether every ranged field of a section is within its range (its own problems reported elsewhere)."""
    for f in dataclasses.fields(values):
        bounds = f.metadata.get("range")
        value = getattr(values, f.name)
        if bounds and isinstance(value, int | float) and not bounds[0] <= value <= bounds[1]:
            return False
    return True


@check
def _check_ranges(s: Settings, report: Report) -> None:
    for section in _SECTIONS:
        values = getattr(s, section)
        for f in dataclasses.fields(values):
            value = getattr(values, f.name)
            if isinstance(value, float) and not math.isfinite(value):
                report(f"{section}.{f.name}", f"{value!r} is not a finite number")
                continue
            bounds = f.metadata.get("range")
            if bounds and isinstance(value, int | float) and not bounds[0] <= value <= bounds[1]:
                lo, hi, unit = bounds
                report(f"{section}.{f.name}", f"{value!r} is out of range (allowed {_fmt(lo)} to {_fmt(hi)}{unit})")


@check
def _check_general(s: Settings, report: Report) -> None:
    if s.language not in _LANGUAGES:
        report("language", f"{s.language!r} is not one of {', '.join(_LANGUAGES)}")
    if not re.fullmatch(r"[A-Za-z0-9_-]{1,32}", s.store.store_id):
        report("store.store_id", f"{s.store.store_id!r} must be 1-32 letters, digits, _ or -")
    if not re.fullmatch(r"[A-Za-z0-9_-]{1,32}", s.store.terminal_id):
        report("store.terminal_id", f"{s.store.terminal_id!r} must be 1-32 letters, digits, _ or -")
    if s.store.dsn:
        if "password=" in s.store.dsn or re.search(r"://[^/@]*:[^/@]*@", s.store.dsn):
            report("store.dsn", "must not contain the password; use store.password_file or store.password_env")
        if s.store.password_file and s.store.password_env:
            report("store.password_file, store.password_env", "set one, not both")
        if s.store.password_file and not Path(s.store.password_file).expanduser().is_file():
            report("store.password_file", f"file not found: {s.store.password_file}")
    if s.store.currency != "CNY":
        report("store.currency", f"only CNY is supported, not {s.store.currency!r}")
    if s.sync.backoff_cap_s < s.sync.backoff_base_s:
        report("sync.backoff_cap_s", f"{s.sync.backoff_cap_s!r} must not be below sync.backoff_base_s "
               f"({s.sync.backoff_base_s!r}); allowed {_fmt(s.sync.backoff_base_s)} to 86400 s")


@check
def _check_gateway(s: Settings, report: Report) -> None:
    gw = s.gateway
    if gw.url:
        if not re.match(r"^https?://[^\s/]+", gw.url):
            report("gateway.url", f"{gw.url!r} is not an http(s) URL")
        if not gw.app_id:
            report("gateway.app_id", "required when gateway.url is set")
        for key in ("app_private_key", "alipay_public_key"):
            value = getattr(gw, key)
            if not value:
                report(f"gateway.{key}", "required when gateway.url is set")
            elif not Path(value).is_file():
                report(f"gateway.{key}", f"file not found: {value}")
    if gw.sign_type not in ("RSA2", "RSA"):
        report("gateway.sign_type", f"{gw.sign_type!r} must be RSA2 or RSA")


@check
def _check_scanners(s: Settings, report: Report) -> None:
    sc = s.scanners
    for key in ("member_pattern", "supervisor_pattern"):
        try:
            re.compile(getattr(sc, key))
        except re.error as exc:
            report(f"scanners.{key}", f"not a valid regular expression ({exc})")
    if not re.fullmatch(r"[A-Z]", sc.receipt_prefix):
        report("scanners.receipt_prefix", "must be one capital letter")
    wedge_ok = _in_range(sc)
    if sc.wedge_prefix_key and len(sc.wedge_prefix_key) != 1:
        report("scanners.wedge_prefix_key", f"{sc.wedge_prefix_key!r} must be one character (or empty)")
        wedge_ok = False
    from drivers import open_scanner

    for url in sc.urls:
        scheme = url.split("://", 1)[0] if "://" in url else ""
        if scheme not in _SCANNER_SCHEMES:
            report("scanners.urls", f"{url!r} is not a reader URL "
                   f"({', '.join(s + '://' for s in _SCANNER_SCHEMES)})")
            continue
        try:  # builds the reader without opening the device: every option checked as at start
            open_scanner(url, **(sc.reader_defaults(url) if wedge_ok else {}))  # bad wedge_* reported once
        except Exception as exc:  # noqa: BLE001 - any refusal of the URL is a settings problem
            report("scanners.urls", str(exc))


@check
def _check_printer(s: Settings, report: Report) -> None:
    url = s.printer.url
    scheme = url.split("://", 1)[0] if "://" in url else ""
    if scheme not in _PRINTER_SCHEMES:
        report("printer.url", f"{url!r} is not a printer URL ({', '.join(s + '://' for s in _PRINTER_SCHEMES)})")
        return
    from drivers.printer import open_printer

    try:  # builds the printer without contacting it
        open_printer(url)
    except Exception as exc:  # noqa: BLE001 - any refusal of the URL is a settings problem
        report("printer.url", str(exc))


@check
def _check_card_display_reconcile(s: Settings, report: Report) -> None:
    """card (issue 15): [reconcile], [card], [display]."""
    if not re.fullmatch(r"([01]\d|2[0-3]):[0-5]\d", s.reconcile.run_after):
        report("reconcile.run_after", f"{s.reconcile.run_after!r} must be HH:MM (Beijing time)")
    if s.reconcile.partner_id and not re.fullmatch(r"2088\d{12}", s.reconcile.partner_id):
        report("reconcile.partner_id", f"{s.reconcile.partner_id!r} must be the 16-digit 2088… PID")
    if not re.fullmatch(r"\d{1,10}", s.card.number_prefix) or not len(s.card.number_prefix) + 4 <= \
            s.card.number_length <= 32:
        report("card.number_prefix", "digits, with at least 4 more digits after it in card.number_length (32 at most)")
    if not re.fullmatch(r"auto|off|\d", s.display.window):
        report("display.window", f"{s.display.window!r} must be auto, off or a screen number")
    if s.display.pole_url.split("://", 1)[0] not in ("serial", "fake", "none") or "://" not in s.display.pole_url:
        report("display.pole_url", f"{s.display.pole_url!r} is not a pole display URL (serial://, fake://, none://)")


@check
def _check_backup(s: Settings, report: Report) -> None:
    if s.backup.dir:
        text = s.backup.dir
        if any(ord(c) < 32 for c in text) or not Path(text).expanduser().is_absolute():
            report("backup.dir", f"{text!r} must be an absolute folder path")
            return
        for parent in (Path(text).expanduser(), *Path(text).expanduser().parents):
            if parent.exists():
                if not parent.is_dir():
                    report("backup.dir", f"{text!r}: {parent} is a file, not a folder")
                break


@check
def _check_counter(s: Settings, report: Report) -> None:
    if s.counter.cash_rounding not in ("none", "jiao", "yuan"):
        report("counter.cash_rounding", f"{s.counter.cash_rounding!r} must be none, jiao (to ¥0.1) or yuan (to ¥1)")


@check
def _check_loyalty(s: Settings, report: Report) -> None:
    if not s.loyalty:
        return  # a real terminal without rules is refused by pos_app.loyalty_setup (config check, start)
    from pos_app.domain.loyalty import LoyaltyRules

    data: Mapping[str, Any] = s.loyalty
    if "file" in data:  # [loyalty] file = PATH: the rules in a TOML or JSON file
        if len(data) > 1:
            report("loyalty", "give either loyalty.file or the rules themselves, not both")
            return
        raw = data["file"]
        path = Path(str(raw)).expanduser()
        if not path.is_absolute() and s.config_file is not None:
            path = s.config_file.parent / path
        try:
            text = path.read_text(encoding="utf-8")
            import json

            data = json.loads(text) if path.suffix.lower() == ".json" else tomllib.loads(text)
        except (OSError, ValueError) as exc:
            report("loyalty.file", f"{path}: cannot be read as rules ({exc})")
            return
    try:
        LoyaltyRules.from_mapping(data)
    except (ValueError, TypeError) as exc:
        report("loyalty", str(exc))


@check
def _check_export(s: Settings, report: Report) -> None:
    if not re.fullmatch(r"([01]\d|2[0-3]):[0-5]\d", s.export.time):
        report("export.time", f"{s.export.time!r} must be HH:MM (store time)")
    if s.export.format not in ("csv", "xlsx", "jsonl"):
        report("export.format", f"{s.export.format!r} must be csv, xlsx or jsonl")


def _check_data_dir(data_dir: Path, report: Report) -> None:
    text = str(data_dir)
    if any(ord(c) < 32 for c in text):
        report("data_dir", f"{text!r} contains a control character")
        return
    if not data_dir.is_absolute():
        report("data_dir", f"{text!r} must be an absolute path")
        return
    for parent in (data_dir, *data_dir.parents):
        try:
            exists = parent.exists()
        except OSError as exc:
            report("data_dir", f"{text!r} cannot be used ({exc})")
            return
        if exists:
            if not parent.is_dir():
                report("data_dir", f"{text!r}: {parent} is a file, not a folder")
            return


def _validate(s: Settings, problems: list[str], where: str, env_keys: Mapping[str, str]) -> None:
    def report(key: str, message: str) -> None:
        source = f"{env_keys[key]}: " if key in env_keys else where  # a value from the environment names its variable
        problems.append(f"{source}{key}: {message}")

    for fn in CHECKS:
        fn(s, report)


def load_settings(config: Path | str | None = None, *, env: Mapping[str, str] | None = None,
                  data_dir: Path | str | None = None) -> Settings:
    """Read the TOML file (``config``, else $POS_CONFIG, else none) and POS_* overrides.

    Raises SettingsError listing every problem; never a traceback for bad input.
    """
    env = os.environ if env is None else env
    problems: list[str] = []
    path = Path(config) if config else (Path(env["POS_CONFIG"]) if env.get("POS_CONFIG") else None)
    raw: dict[str, Any] = {}
    where = ""
    if path is not None:
        where = f"{path}: "
        try:
            raw = tomllib.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise SettingsError([f"{path}: settings file not found"]) from None
        except (OSError, UnicodeDecodeError) as exc:
            raise SettingsError([f"{path}: cannot read the settings file ({exc})"]) from None
        except tomllib.TOMLDecodeError as exc:
            raise SettingsError([f"{path}: not valid TOML ({exc})"]) from None
    overrides = _env_overrides(env)
    top: dict[str, Any] = {}
    sections: dict[str, Any] = {}
    for key, value in raw.items():
        if key in _SECTIONS:
            if not isinstance(value, dict):
                problems.append(f"{where}{key}: must be a table ([{key}])")
                continue
            sections[key] = _build_section(_SECTIONS[key], {**value, **overrides.get(key, {})},
                                           f"{where}{key}", problems)
        elif key in ("language", "data_dir"):
            top[key] = value
        elif key == "loyalty":
            if not isinstance(value, dict):
                problems.append(f"{where}loyalty: must be a table ([loyalty])")
            else:
                top["loyalty"] = value
        else:
            problems.append(f"{where}{key}: unknown setting")
    for section, values in overrides.items():
        if section not in sections:
            sections[section] = _build_section(_SECTIONS[section], values, f"$POS_{section.upper()}", problems)
    if env.get("POS_LANGUAGE"):
        top["language"] = env["POS_LANGUAGE"]
    chosen_dir: Any = top.get("data_dir")
    dir_where = where
    if env.get("POS_DATA_DIR"):  # an empty variable counts as unset, like most shell settings
        chosen_dir, dir_where = env["POS_DATA_DIR"], "$POS_DATA_DIR: "
    if data_dir is not None:
        chosen_dir, dir_where = data_dir, "--data-dir: "
    if chosen_dir is not None and not isinstance(chosen_dir, str | Path):
        problems.append(f"{dir_where}data_dir: must be a path string")
        chosen_dir = None
    elif isinstance(chosen_dir, str) and not chosen_dir.strip():
        problems.append(f"{dir_where}data_dir: empty; leave it out for the default ({default_data_dir()})")
        chosen_dir = None
    language = top.get("language", "zh_CN")
    if not isinstance(language, str):
        problems.append(f"{where}language: must be a string")
        language = "zh_CN"
    settings = Settings(
        data_dir=Path(chosen_dir).expanduser() if chosen_dir else default_data_dir(),
        config_file=path,
        language=language,
        loyalty=top.get("loyalty", {}),
        **sections,
    )
    _check_data_dir(settings.data_dir, lambda key, message: problems.append(f"{dir_where}{key}: {message}"))
    env_keys = {f"{sec}.{key}": f"${ENV_PREFIX}{sec.upper()}_{key.upper()}"
                for sec, values in overrides.items() for key in values}
    if env.get("POS_LANGUAGE"):
        env_keys["language"] = "$POS_LANGUAGE"
    _validate(settings, problems, where, env_keys)
    if problems:
        raise SettingsError(problems)
    return settings


# Store mode (issue 13): settings that are the store's, pulled from the store server and applied at the start.
STORE_OWNED: dict[str, tuple[str, ...] | None] = {
    "store": ("name", "address", "offline_redeem_cap", "offline_redeem_max_age_h",
              "offline_redeem_supervisor_above"),
    "shift": None,       # None: every key of the section
    "counter": None,
}


def with_store_values(settings: Settings, values: Mapping[str, Any]) -> tuple[Settings, list[str]]:
    """``settings`` with the store's values ({"section.key": value, "loyalty": {...}}) applied; keys the store
    may not set are listed as problems and left out; if the result would not validate, nothing is applied."""
    problems: list[str] = []
    per_section: dict[str, dict[str, Any]] = {}
    loyalty: Mapping[str, Any] | None = None
    for name, value in values.items():
        if name == "loyalty":
            if isinstance(value, Mapping):
                loyalty = value
            else:
                problems.append("store setting loyalty: must be a table")
            continue
        section, _, key = name.partition(".")
        allowed = STORE_OWNED.get(section, ())
        if section not in STORE_OWNED or (allowed is not None and key not in allowed):
            problems.append(f"store setting {name}: not one the store may set on a lane")
            continue
        per_section.setdefault(section, {})[key] = value
    changes: dict[str, Any] = {}
    for section, raw in per_section.items():
        before = len(problems)
        built = _build_section(_SECTIONS[section], raw, f"store setting {section}", problems)
        if len(problems) == before:
            changes[section] = dataclasses.replace(getattr(settings, section),
                                                   **{k: getattr(built, k) for k in raw})
    if loyalty is not None:
        changes["loyalty"] = loyalty
    result = dataclasses.replace(settings, **changes)
    invalid: list[str] = []
    _validate(result, invalid, "store settings: ", {})
    if invalid:
        return settings, problems + invalid
    return result, problems
