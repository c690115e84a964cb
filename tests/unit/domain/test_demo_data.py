"""The demo data in resources/demo: every record valid, and the files exactly what make_demo.py writes."""

from __future__ import annotations

import importlib.util
import json
import re
from pathlib import Path

from pos_app.domain.catalogue import CatalogueItem
from pos_app.domain.codes import CodeKind, classify, gtin_check_digit, is_valid_gtin
from pos_app.domain.loyalty import LoyaltyRules

DEMO = Path(__file__).resolve().parents[3] / "resources" / "demo"


def _load(name: str) -> object:
    return json.loads((DEMO / name).read_text(encoding="utf-8"))


def test_catalogue_records_are_valid() -> None:
    records = _load("catalogue.json")
    assert isinstance(records, list) and 180 <= len(records) <= 220
    items = [CatalogueItem.from_mapping(record) for record in records]
    assert len({item.code for item in items}) == len(items)
    rules = LoyaltyRules.from_mapping(_load("loyalty.json"))  # type: ignore[arg-type]
    weighed = [item for item in items if item.unit == "kg"]
    assert 3 <= len(weighed) <= 20
    for item in items:
        assert is_valid_gtin(item.code) and len(item.code) == 13, item
        assert item.name_zh and item.name_en and item.category and item.sku
        assert item.price_fen > 0
        if item.unit == "kg":
            assert item.code.startswith("23") and item.code[7:12] == "00000"
            body = item.code[:7] + "00456"  # the scale's label for 456 g
            scan = classify(body + str(gtin_check_digit(body)))
            assert scan.kind is CodeKind.WEIGHED_PRODUCT and scan.item_code == item.code and scan.weight_g == 456
        else:
            assert 690 <= int(item.code[:3]) <= 699
            scan = classify(item.code)
            assert scan.kind is CodeKind.PRODUCT and scan.item_code == item.code
        excluded = item.points_excluded or item.category in rules.excluded_categories
        assert excluded == (item.category in {"tobacco", "gift_card"})
    assert sum(item.points_excluded for item in items) >= 5


def test_members_are_valid() -> None:
    members = _load("members.json")
    assert isinstance(members, list) and 40 <= len(members) <= 60
    assert len({m["card_no"] for m in members}) == len(members)
    assert {m["level"] for m in members} == {"SILVER", "GOLD", "PLATINUM"}
    for member in members:
        assert set(member) == {"card_no", "name", "phone", "level", "points"}
        assert re.fullmatch(r"8800\d{12}", member["card_no"])
        assert classify(member["card_no"]).kind is CodeKind.MEMBER_STATIC
        assert re.fullmatch(r"1[3-9]\d{9}", member["phone"])
        assert re.fullmatch(r"[\u4e00-\u9fff]{2,3}", member["name"])
        assert isinstance(member["points"], int) and member["points"] >= 0


def test_loyalty_rules_load() -> None:
    rules = LoyaltyRules.from_mapping(_load("loyalty.json"))  # type: ignore[arg-type]
    assert rules.multiplier_pct("PLATINUM") == 200
    assert rules.excluded_categories == {"tobacco", "gift_card"}


def test_generator_is_deterministic(tmp_path: Path) -> None:
    spec = importlib.util.spec_from_file_location("make_demo", DEMO / "make_demo.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.main(tmp_path)
    for name in ("catalogue.json", "members.json", "loyalty.json"):
        assert (tmp_path / name).read_bytes() == (DEMO / name).read_bytes(), name
