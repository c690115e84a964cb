"""A membership-card template spec (the shop's TOML file) checked whole, and its Alipay request bodies.

Every problem of a spec is listed at once, one line each, naming the key (``SpecError.problems``).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import re
from collections.abc import Mapping
from typing import Any

from .errors import DomainError

__all__ = [
    "IMAGE_MAX_BYTES",
    "WRITE_OFF_TYPES",
    "FORM_FIELDS",
    "OPEN_MODES",
    "SpecError",
    "CardIssuingError",
    "Column",
    "Level",
    "TemplateSpec",
    "parse_spec",
    "image_kind",
    "template_biz",
    "form_fields",
    "OpenedCard",
    "OpeningError",
]

IMAGE_MAX_BYTES = 2 * 1024 * 1024   # the terminal's own limit, below the gateway's
WRITE_OFF_TYPES = ("qrcode", "barcode", "dqrcode", "dbarcode", "mdqrcode", "mdbarcode")
OPEN_MODES = ("express", "callback")
FORM_FIELDS = {
    "mobile": "OPEN_FORM_FIELD_MOBILE", "name": "OPEN_FORM_FIELD_NAME", "gender": "OPEN_FORM_FIELD_GENDER",
    "birthday": "OPEN_FORM_FIELD_BIRTHDAY", "birthday_with_year": "OPEN_FORM_FIELD_BIRTHDAY_WITH_YEAR",
    "idcard": "OPEN_FORM_FIELD_IDCARD", "email": "OPEN_FORM_FIELD_EMAIL", "address": "OPEN_FORM_FIELD_ADDRESS",
    "city": "OPEN_FORM_FIELD_CITY",
}
_COLUMN_CODES = {"points": ("POINT", "Point"), "level": ("LEVEL", "Level"), "balance": ("BALANCE", "Balance")}


class SpecError(DomainError):
    """A template spec that cannot be used; ``problems`` has one line per problem."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


class OpeningError(DomainError):
    """A request that must not open a card (unknown template, no user, refused by Alipay, ...)."""


class CardIssuingError(DomainError):
    """Alipay refused or did not answer an issuing call (upload, template, form, activation URL)."""


def image_kind(data: bytes) -> str | None:
    """jpg / png / gif / bmp from the file's first bytes, or None when it is not an image."""
    if data.startswith(b"\xff\xd8\xff"):
        return "jpg"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return "gif"
    if data.startswith(b"BM"):
        return "bmp"
    return None


@dataclasses.dataclass(frozen=True)
class Column:
    kind: str        # points | level | balance | custom
    title: str
    code: str
    value: str = ""
    url: str = ""


@dataclasses.dataclass(frozen=True)
class Level:
    level: str
    name: str
    description: str = ""


@dataclasses.dataclass(frozen=True)
class TemplateSpec:
    card_name: str
    brand_name: str
    write_off_type: str
    biz_no_prefix: str
    biz_no_suffix_len: int
    bg_color: str
    logo: str                   # image file, relative to the spec file
    background: str
    open_mode: str              # express | callback
    open_card_url: str          # callback mode: where the customer's browser returns
    source_app_id: str
    columns: tuple[Column, ...]
    levels: tuple[Level, ...]
    valid_days: int
    request_id: str = ""        # empty: derived from the spec and the images
    form_required: tuple[str, ...] = ()
    form_optional: tuple[str, ...] = ()


def _s(raw: Mapping[str, Any], key: str, where: str, problems: list[str], *, required: bool = True,
       default: str = "") -> str:
    value = raw.get(key, None)
    if value is None:
        if required:
            problems.append(f"{where}{key}: required")
        return default
    if not isinstance(value, str):
        problems.append(f"{where}{key}: must be text, not {type(value).__name__}")
        return default
    return value.strip()


def parse_spec(raw: Mapping[str, Any], *, source: str = "spec") -> TemplateSpec:
    """Check a TOML-loaded spec; raises SpecError with every problem."""
    problems: list[str] = []
    known = {"card", "style", "open", "columns", "levels", "form"}
    for key in raw:
        if key not in known:
            problems.append(f"{source}: {key}: unknown section (known: {', '.join(sorted(known))})")
    tables: dict[str, Mapping[str, Any]] = {}
    for key in ("card", "style", "open", "form"):
        value = raw.get(key, {})
        if not isinstance(value, Mapping):
            problems.append(f"{source}: {key}: must be a table ([{key}])")
            value = {}
        tables[key] = value
    card, style, open_, form = tables["card"], tables["style"], tables["open"], tables["form"]
    w = f"{source}: card."
    name = _s(card, "name", w, problems)
    if name and len(name) > 12:
        problems.append(f"{w}name: at most 12 characters (Alipay shows it on the card), not {len(name)}")
    write_off = _s(card, "write_off_type", w, problems, required=False, default="dbarcode")
    if write_off not in WRITE_OFF_TYPES:
        problems.append(f"{w}write_off_type: {write_off!r} is not one of {', '.join(WRITE_OFF_TYPES)}")
    prefix = _s(card, "biz_no_prefix", w, problems)
    if prefix and not re.fullmatch(r"[A-Za-z0-9]{1,10}", prefix):
        problems.append(f"{w}biz_no_prefix: {prefix!r} must be 1-10 letters or digits")
    suffix = card.get("biz_no_suffix_len", 12)
    if not isinstance(suffix, int) or isinstance(suffix, bool) or not 6 <= suffix <= 30:
        problems.append(f"{w}biz_no_suffix_len: must be a whole number from 6 to 30")
        suffix = 12
    elif prefix and len(prefix) + suffix > 32:
        problems.append(f"{w}biz_no_suffix_len: prefix + suffix make more than 32 characters")
    valid_days = card.get("valid_days", 3650)
    if not isinstance(valid_days, int) or isinstance(valid_days, bool) or not 1 <= valid_days <= 36500:
        problems.append(f"{w}valid_days: must be a whole number of days from 1 to 36500")
        valid_days = 3650
    request_id = _s(card, "request_id", w, problems, required=False)
    if request_id and not re.fullmatch(r"[A-Za-z0-9_-]{1,64}", request_id):
        problems.append(f"{w}request_id: 1-64 letters, digits, _ or -")
    w = f"{source}: style."
    brand = _s(style, "brand_name", w, problems, required=False, default=name)
    bg_color = _s(style, "bg_color", w, problems)
    if bg_color and not re.fullmatch(r"#[0-9A-Fa-f]{6}|rgb\(\d{1,3},\d{1,3},\d{1,3}\)", bg_color):
        problems.append(f"{w}bg_color: {bg_color!r} must be #RRGGBB or rgb(r,g,b)")
    logo = _s(style, "logo", w, problems)
    background = _s(style, "background", w, problems)
    w = f"{source}: open."
    mode = _s(open_, "mode", w, problems, required=False, default="express")
    if mode not in OPEN_MODES:
        problems.append(f"{w}mode: {mode!r} is not express or callback")
    url = _s(open_, "callback_url", w, problems, required=mode == "callback")
    if url and (not re.match(r"^https?://[^\s/?#]+", url) or "?" in url or "#" in url):
        problems.append(f"{w}callback_url: {url!r} must be an http(s) URL without a query string")
    source_app = _s(open_, "app_id", w, problems, required=False)
    columns: list[Column] = []
    raw_cols = raw.get("columns", [])
    if not isinstance(raw_cols, list):
        problems.append(f"{source}: columns: must be an array of tables ([[columns]])")
        raw_cols = []
    for i, c in enumerate(raw_cols, 1):
        w = f"{source}: columns[{i}]."
        if not isinstance(c, Mapping):
            problems.append(f"{source}: columns[{i}]: must be a table")
            continue
        kind = _s(c, "kind", w, problems)
        title = _s(c, "title", w, problems)
        if kind and kind not in (*_COLUMN_CODES, "custom"):
            problems.append(f"{w}kind: {kind!r} is not points, level, balance or custom")
        code = _COLUMN_CODES[kind][0] if kind in _COLUMN_CODES else _s(c, "code", w, problems,
                                                                         required=kind == "custom")
        if kind == "custom" and code and not re.fullmatch(r"[A-Z0-9_]{1,32}", code):
            problems.append(f"{w}code: {code!r} must be 1-32 capital letters, digits or _")
        columns.append(Column(kind, title, code, _s(c, "value", w, problems, required=False),
                              _s(c, "url", w, problems, required=False)))
    codes = [c.code for c in columns]
    for dup in sorted({c for c in codes if codes.count(c) > 1}):
        problems.append(f"{source}: columns: {dup} appears more than once")
    levels: list[Level] = []
    raw_levels = raw.get("levels", [])
    if not isinstance(raw_levels, list):
        problems.append(f"{source}: levels: must be an array of tables ([[levels]])")
        raw_levels = []
    for i, lv in enumerate(raw_levels, 1):
        w = f"{source}: levels[{i}]."
        if not isinstance(lv, Mapping):
            problems.append(f"{source}: levels[{i}]: must be a table")
            continue
        levels.append(Level(_s(lv, "level", w, problems), _s(lv, "name", w, problems),
                            _s(lv, "description", w, problems, required=False)))
    ids = [lv.level for lv in levels]
    for dup in sorted({x for x in ids if ids.count(x) > 1}):
        problems.append(f"{source}: levels: {dup} appears more than once")
    form_lists: dict[str, tuple[str, ...]] = {}
    for part in ("required", "optional"):
        value = form.get(part, [])
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            problems.append(f"{source}: form.{part}: must be a list of field names")
            value = []
        for v in value:
            if v not in FORM_FIELDS:
                problems.append(f"{source}: form.{part}: {v!r} is not one of {', '.join(FORM_FIELDS)}")
        form_lists[part] = tuple(v for v in value if v in FORM_FIELDS)
    both = set(form_lists["required"]) & set(form_lists["optional"])
    if both:
        problems.append(f"{source}: form: {', '.join(sorted(both))} both required and optional")
    if problems:
        raise SpecError(problems)
    return TemplateSpec(name, brand, write_off, prefix, int(suffix), bg_color, logo, background, mode, url,
                        source_app, tuple(columns), tuple(levels), int(valid_days), request_id,
                        form_lists["required"], form_lists["optional"])


def _rgb(color: str) -> str:
    if color.startswith("#"):
        return f"rgb({int(color[1:3], 16)},{int(color[3:5], 16)},{int(color[5:7], 16)})"
    return color


def template_biz(spec: TemplateSpec, *, logo_id: str, background_id: str, app_id: str,
                 image_digest: str = "") -> dict[str, Any]:
    """The biz_content of template.create (and, without card_type, of template.modify)."""
    rules = [{"field_name": "OpenDate", "rule_name": "DATE_IN_FUTURE", "rule_value": "0d"},
             {"field_name": "ValidDate", "rule_name": "DATE_IN_FUTURE", "rule_value": f"{spec.valid_days}d"}]
    for c in spec.columns:
        if c.kind in _COLUMN_CODES:
            rules.append({"field_name": _COLUMN_CODES[c.kind][1], "rule_name": "ASSIGN_FROM_REQUEST",
                          "rule_value": _COLUMN_CODES[c.kind][1]})
    biz: dict[str, Any] = {
        "card_type": "OUT_MEMBER_CARD",
        "biz_no_prefix": spec.biz_no_prefix,
        "biz_no_suffix_len": str(spec.biz_no_suffix_len),
        "write_off_type": spec.write_off_type,
        "template_style_info": {"card_show_name": spec.card_name, "brand_name": spec.brand_name,
                                "logo_id": logo_id, "background_id": background_id, "bg_color": _rgb(spec.bg_color)},
        "column_info_list": [{"code": c.code, "title": c.title,
                              "operate_type": "openWeb" if c.url else "openNative",
                              **({"value": c.value} if c.value else {}),
                              **({"more_info": {"url": c.url}} if c.url else {})} for c in spec.columns],
        "field_rule_list": rules,
        "card_level_conf": [{"level": lv.level, "level_show_name": lv.name,
                             **({"level_desc": lv.description} if lv.description else {})} for lv in spec.levels],
    }
    if spec.open_mode == "express":
        biz["spi_app_id"] = spec.source_app_id or app_id
    else:
        biz["open_card_conf"] = {"open_card_source_type": "ISV", "source_app_id": spec.source_app_id or app_id,
                                 "open_card_url": spec.open_card_url}
    # the same spec and images give the same request_id (image ids change with every upload)
    digest = hashlib.sha256((json.dumps(dataclasses.asdict(spec), sort_keys=True, ensure_ascii=False)
                             + app_id + image_digest).encode())
    biz["request_id"] = spec.request_id or "tpl" + digest.hexdigest()[:29]
    return biz


def form_fields(spec: TemplateSpec) -> dict[str, Any]:
    """The ``fields`` of formtemplate.set (mobile required when the spec names nothing)."""
    required = spec.form_required or ("mobile",)
    out: dict[str, Any] = {"required": {"common_fields": [FORM_FIELDS[f] for f in required]}}
    if spec.form_optional:
        out["optional"] = {"common_fields": [FORM_FIELDS[f] for f in spec.form_optional]}
    return out


@dataclasses.dataclass(frozen=True)
class OpenedCard:
    """A member created for a card opened in Alipay."""

    card_no: str
    level: str
    points: int
    open_date: str
    valid_date: str
    created: bool          # False: the same request (or customer) had a card already
