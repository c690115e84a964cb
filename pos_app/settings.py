"""One frozen Settings object from a TOML file plus POS_* environment overrides, validated at start."""

from __future__ import annotations

import dataclasses
import os
import re
import tomllib
from collections.abc import Mapping
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
    "CounterSettings",
    "Settings",
    "load_settings",
    "default_data_dir",
    "ENV_PREFIX",
]

ENV_PREFIX = "POS_"
APP_NAME = "pos-app"


class SettingsError(ValueError):
    """Settings that cannot be used; ``problems`` holds one line per problem (file, key, what)."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


@dataclasses.dataclass(frozen=True)
class StoreSettings:
    store_id: str = "S001"
    terminal_id: str = "T01"
    terminal_no: int = 1                # numeric, used inside receipt codes
    name: str = "演示便利店 Demo Store"
    address: str = ""
    currency: str = "CNY"
    # store mode (issue 13, docs/store-mode.md): empty dsn = a standalone lane, exactly as before
    dsn: str = ""                       # libpq string or URL of the store's PostgreSQL, without the password
    password_file: str = ""             # first line = the lane role's password (chmod 600)
    password_env: str = ""              # or: the variable holding it
    deadline_s: float = 10.0            # client-side deadline per round trip to the store server
    offline_redeem_cap: int = 500       # points per member per day a lane may redeem while the store is down
    offline_redeem_max_age_h: float = 24.0


@dataclasses.dataclass(frozen=True)
class GatewaySettings:
    url: str = ""                       # empty: not configured (cash and cached members only)
    app_id: str = ""
    app_private_key: str = ""           # path to the merchant private key (PEM or bare Base64)
    passphrase_env: str = ""            # name of the environment variable holding the key passphrase
    alipay_public_key: str = ""         # path to the Alipay public key
    sign_type: str = "RSA2"
    connect_timeout_s: float = 3.0
    read_timeout_s: float = 15.0


@dataclasses.dataclass(frozen=True)
class PaymentSettings:
    query_max: int = 5
    query_interval_s: float = 5.0
    cancel_max: int = 3
    cancel_interval_s: float = 2.0
    subject: str = ""                   # default: the store name


@dataclasses.dataclass(frozen=True)
class ScannerSettings:
    urls: tuple[str, ...] = ("wedge://",)
    member_pattern: str = r"^8800\d{12}$"
    supervisor_pattern: str = r"^SUP\d{4,8}$"
    receipt_prefix: str = "R"
    wedge_min_chars: int = 6
    wedge_max_mean_gap_ms: int = 30
    wedge_max_gap_ms: int = 100
    wedge_prefix_key: str = ""


@dataclasses.dataclass(frozen=True)
class PrinterSettings:
    url: str = "none://"
    drawer: bool = False
    width_chars: int = 42


@dataclasses.dataclass(frozen=True)
class SyncSettings:
    max_in_flight: int = 8
    backoff_base_s: float = 2.0
    backoff_cap_s: float = 300.0
    probe_interval_s: float = 15.0


@dataclasses.dataclass(frozen=True)
class ShiftSettings:
    close_difference_threshold_fen: int = 1000
    pin_max_failures: int = 5
    pin_lock_minutes: int = 15


@dataclasses.dataclass(frozen=True)
class CounterSettings:
    """The counter (issue 14): cash rounding 抹零 (none / jiao = to ¥0.1 / yuan = to ¥1, cash only) and the
    most a manual discount may take without a supervisor, per role, in percent of the line or sale."""

    cash_rounding: str = "none"
    cashier_discount_max_pct: int = 10
    supervisor_discount_max_pct: int = 100


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
    counter: CounterSettings = CounterSettings()
    loyalty: Mapping[str, Any] = dataclasses.field(default_factory=dict)

    @property
    def db_path(self) -> Path:
        return self.data_dir / "pos.sqlite3"

    @property
    def log_dir(self) -> Path:
        return self.data_dir / "logs"


_SECTIONS: dict[str, type] = {
    "store": StoreSettings,
    "gateway": GatewaySettings,
    "payment": PaymentSettings,
    "scanners": ScannerSettings,
    "printer": PrinterSettings,
    "sync": SyncSettings,
    "shift": ShiftSettings,
    "counter": CounterSettings,
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


def _env_overrides(env: Mapping[str, str]) -> dict[str, dict[str, str]]:
    """POS_<SECTION>_<KEY> variables, e.g. POS_STORE_TERMINAL_ID or POS_GATEWAY_URL."""
    out: dict[str, dict[str, str]] = {}
    for name, value in env.items():
        if not name.startswith(ENV_PREFIX):
            continue
        rest = name[len(ENV_PREFIX):].lower()
        for section in _SECTIONS:
            if rest.startswith(section + "_"):
                out.setdefault(section, {})[rest[len(section) + 1:]] = value
    return out


def _validate(s: Settings, problems: list[str], where: str) -> None:
    if s.language not in _LANGUAGES:
        problems.append(f"{where}language: {s.language!r} is not one of {', '.join(_LANGUAGES)}")
    if not re.fullmatch(r"[A-Za-z0-9_-]{1,32}", s.store.store_id):
        problems.append(f"{where}store.store_id: {s.store.store_id!r} must be 1-32 letters, digits, _ or -")
    if not re.fullmatch(r"[A-Za-z0-9_-]{1,32}", s.store.terminal_id):
        problems.append(f"{where}store.terminal_id: {s.store.terminal_id!r} must be 1-32 letters, digits, _ or -")
    if not 0 <= s.store.terminal_no <= 999:
        problems.append(f"{where}store.terminal_no: {s.store.terminal_no} must be between 0 and 999")
    if s.store.dsn:
        if "password=" in s.store.dsn or re.search(r"://[^/@]*:[^/@]*@", s.store.dsn):
            problems.append(f"{where}store.dsn: must not contain the password; use store.password_file "
                            "or store.password_env")
        if s.store.password_file and s.store.password_env:
            problems.append(f"{where}store.password_file, store.password_env: set one, not both")
        if s.store.password_file and not Path(s.store.password_file).expanduser().is_file():
            problems.append(f"{where}store.password_file: file not found: {s.store.password_file}")
    if not 0.5 <= s.store.deadline_s <= 120:
        problems.append(f"{where}store.deadline_s: must be between 0.5 and 120 seconds")
    if s.store.offline_redeem_cap < 0:
        problems.append(f"{where}store.offline_redeem_cap: must not be negative")
    if s.store.currency != "CNY":
        problems.append(f"{where}store.currency: only CNY is supported, not {s.store.currency!r}")
    gw = s.gateway
    if gw.url:
        if not re.match(r"^https?://[^\s/]+", gw.url):
            problems.append(f"{where}gateway.url: {gw.url!r} is not an http(s) URL")
        if not gw.app_id:
            problems.append(f"{where}gateway.app_id: required when gateway.url is set")
        for key in ("app_private_key", "alipay_public_key"):
            value = getattr(gw, key)
            if not value:
                problems.append(f"{where}gateway.{key}: required when gateway.url is set")
            elif not Path(value).is_file():
                problems.append(f"{where}gateway.{key}: file not found: {value}")
    if gw.sign_type not in ("RSA2", "RSA"):
        problems.append(f"{where}gateway.sign_type: {gw.sign_type!r} must be RSA2 or RSA")
    for key in ("connect_timeout_s", "read_timeout_s"):
        if not 0 < getattr(gw, key) <= 120:
            problems.append(f"{where}gateway.{key}: must be between 0 and 120 seconds")
    c = s.counter
    if c.cash_rounding not in ("none", "jiao", "yuan"):
        problems.append(f"{where}counter.cash_rounding: {c.cash_rounding!r} must be none, jiao (to ¥0.1) or yuan")
    for key in ("cashier_discount_max_pct", "supervisor_discount_max_pct"):
        if not 0 <= getattr(c, key) <= 100:
            problems.append(f"{where}counter.{key}: must be a percentage from 0 to 100")
    p = s.payment
    if not 0 <= p.query_max <= 60 or not 0 < p.query_interval_s <= 60:
        problems.append(f"{where}payment: query_max must be 0-60 and query_interval_s 0-60 s")
    if not 0 <= p.cancel_max <= 20 or not 0 < p.cancel_interval_s <= 60:
        problems.append(f"{where}payment: cancel_max must be 0-20 and cancel_interval_s 0-60 s")
    for key in ("member_pattern", "supervisor_pattern"):
        try:
            re.compile(getattr(s.scanners, key))
        except re.error as exc:
            problems.append(f"{where}scanners.{key}: not a valid regular expression ({exc})")
    if not re.fullmatch(r"[A-Z]", s.scanners.receipt_prefix):
        problems.append(f"{where}scanners.receipt_prefix: must be one capital letter")
    for url in s.scanners.urls:
        scheme = url.split("://", 1)[0] if "://" in url else ""
        if scheme not in _SCANNER_SCHEMES:
            problems.append(f"{where}scanners.urls: {url!r} is not a reader URL "
                            f"({', '.join(s + '://' for s in _SCANNER_SCHEMES)})")
    scheme = s.printer.url.split("://", 1)[0] if "://" in s.printer.url else ""
    if scheme not in _PRINTER_SCHEMES:
        problems.append(f"{where}printer.url: {s.printer.url!r} is not a printer URL "
                        f"({', '.join(s + '://' for s in _PRINTER_SCHEMES)})")
    if not 1 <= s.sync.max_in_flight <= 64:
        problems.append(f"{where}sync.max_in_flight: must be between 1 and 64")
    if s.shift.close_difference_threshold_fen < 0:
        problems.append(f"{where}shift.close_difference_threshold_fen: must not be negative")


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
    chosen_dir = data_dir or env.get("POS_DATA_DIR") or top.get("data_dir")
    if chosen_dir is not None and not isinstance(chosen_dir, str | Path):
        problems.append(f"{where}data_dir: must be a path string")
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
    _validate(settings, problems, where)
    if problems:
        raise SettingsError(problems)
    return settings
