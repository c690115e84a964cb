"""The card template spec: the demo spec is valid; request ids are stable; the mode picks the open config."""

from __future__ import annotations

import tomllib
from pathlib import Path

from pos_app.domain.card_template import form_fields, image_kind, parse_spec, template_biz

DEMO = Path(__file__).resolve().parents[3] / "resources" / "demo" / "card-template.toml"


def test_demo_spec_and_images() -> None:
    spec = parse_spec(tomllib.loads(DEMO.read_text("utf-8")))
    assert spec.open_mode == "express" and spec.biz_no_prefix == "8800"
    assert image_kind((DEMO.parent / spec.logo).read_bytes()) == "png"
    assert image_kind((DEMO.parent / spec.background).read_bytes()) == "jpg"
    a = template_biz(spec, logo_id="L1", background_id="B1", app_id="9021", image_digest="d")
    b = template_biz(spec, logo_id="L2", background_id="B2", app_id="9021", image_digest="d")
    assert a["request_id"] == b["request_id"]  # uploads give new image ids; the same spec is the same request
    assert a["request_id"] != template_biz(spec, logo_id="L1", background_id="B1", app_id="9021",
                                           image_digest="other")["request_id"]
    assert a["spi_app_id"] == "9021" and "open_card_conf" not in a
    assert form_fields(spec) == {"required": {"common_fields": ["OPEN_FORM_FIELD_MOBILE"]},
                                 "optional": {"common_fields": ["OPEN_FORM_FIELD_NAME", "OPEN_FORM_FIELD_BIRTHDAY"]}}
