"""Composition for the card-template commands and the supervisor's card desk: the configured gateway as a
typed card issuer, the shop's template spec read and checked, the template made, the join URL applied for."""

from __future__ import annotations

import hashlib
import json
import os
import re
import tomllib
from pathlib import Path
from typing import Any

from pos_app.alipay.card_issuing import CardIssuer
from pos_app.alipay.client import AlipayClient
from pos_app.domain.card_template import (
    IMAGE_MAX_BYTES,
    SpecError,
    TemplateSpec,
    form_fields,
    image_kind,
    parse_spec,
    template_biz,
)
from pos_app.gateway_setup import gateway_config
from pos_app.runtime import SystemClock
from pos_app.settings import Settings

__all__ = ["open_issuer", "load_spec", "read_images", "make_template", "set_form", "qr_matrix", "save_setting"]


def open_issuer(settings: Settings) -> tuple[Any, CardIssuer]:
    """(client to close, issuer) on the configured gateway; SystemExit when none is configured,
    KeyConfigError for key problems."""
    cfg = gateway_config(settings)
    if cfg is None:
        raise SystemExit("card: no gateway configured (gateway.url); the template lives at Alipay")
    client = AlipayClient(cfg, clock=SystemClock())
    return client, CardIssuer(client)


def load_spec(path: Path) -> TemplateSpec:
    """Read and check a spec file (raises SpecError with every problem)."""
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise SpecError([f"{path}: file not found"]) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise SpecError([f"{path}: cannot read it ({exc})"]) from None
    except tomllib.TOMLDecodeError as exc:
        raise SpecError([f"{path}: not valid TOML ({exc})"]) from None
    return parse_spec(raw, source=str(path))


def read_images(spec: TemplateSpec, base: Path) -> dict[str, tuple[str, bytes]]:
    """{"logo"|"background": (file name, bytes)}, each checked (an image, not too large); SpecError."""
    problems: list[str] = []
    out: dict[str, tuple[str, bytes]] = {}
    for key, name in (("logo", spec.logo), ("background", spec.background)):
        path = (base / name) if not Path(name).is_absolute() else Path(name)
        try:
            data = path.read_bytes()
        except OSError as exc:
            problems.append(f"style.{key}: cannot read {path} ({exc.strerror or exc})")
            continue
        if len(data) > IMAGE_MAX_BYTES:
            problems.append(f"style.{key}: {path} is {len(data) / 1024 / 1024:.1f} MB, more than the "
                            f"{IMAGE_MAX_BYTES // 1024 // 1024} MB allowed")
        elif image_kind(data) is None:
            problems.append(f"style.{key}: {path} is not an image (JPEG, PNG, GIF or BMP)")
        out[key] = (path.name, data)
    if problems:
        raise SpecError(problems)
    return out


def make_template(issuer: CardIssuer, app_id: str, spec: TemplateSpec, images: dict[str, tuple[str, bytes]], *,
                  modify: str | None = None) -> str:
    """Upload the images, then create the template (idempotent: the same spec and images give the same
    template) or change template ``modify``; returns the template_id. Raises CardIssuingError."""
    logo_id = issuer.upload_image(images["logo"][1], images["logo"][0])
    background_id = issuer.upload_image(images["background"][1], images["background"][0])
    digest = hashlib.sha256(images["logo"][1] + images["background"][1]).hexdigest()
    biz = template_biz(spec, logo_id=logo_id, background_id=background_id, app_id=app_id, image_digest=digest)
    if modify is None:
        return issuer.create_template(biz)
    return issuer.modify_template(modify, biz)


def set_form(issuer: CardIssuer, template_id: str, spec: TemplateSpec) -> dict[str, Any]:
    """formtemplate.set from the spec's [form]; returns the fields sent."""
    fields = form_fields(spec)
    issuer.set_form(template_id, fields)
    return fields


def save_setting(path: Path, section: str, key: str, value: str) -> None:
    """Set ``[section] key = "value"`` in a TOML settings file by a small text edit (comments kept)."""
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    line = f'{key} = {json.dumps(value, ensure_ascii=False)}'
    lines = text.splitlines()
    header = next((i for i, ln in enumerate(lines) if ln.strip() == f"[{section}]"), None)
    if header is None:
        lines += ["", f"[{section}]", line]
    else:
        end = next((i for i in range(header + 1, len(lines)) if re.match(r"\s*\[", lines[i])), len(lines))
        found = next((i for i in range(header + 1, end) if re.match(rf"\s*{re.escape(key)}\s*=", lines[i])), None)
        if found is None:
            lines.insert(header + 1, line)
        else:
            lines[found] = line
    mode = path.stat().st_mode & 0o777 if path.exists() else 0o600
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text("\n".join(lines) + "\n", encoding="utf-8")
    os.chmod(tmp, mode)
    os.replace(tmp, path)


def qr_matrix(text: str) -> list[list[bool]]:
    """The QR code's modules (medium error correction, no quiet zone: the poster draws its own)."""
    import qrcode
    from qrcode.constants import ERROR_CORRECT_M

    qr = qrcode.QRCode(error_correction=ERROR_CORRECT_M, border=0)
    qr.add_data(text)
    qr.make(fit=True)
    return [[bool(v) for v in row] for row in qr.get_matrix()]
