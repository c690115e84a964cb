"""Unit tests for pos_app.domain.catalogue: item validation and line amounts."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pos_app.domain.catalogue import CatalogueItem, line_amount
from pos_app.domain.errors import CatalogueError, MoneyError
from pos_app.domain.money import MAX_FEN


def test_item_round_trip_and_names() -> None:
    item = CatalogueItem("6901234567892", "可乐", "Cola", 300, category="drinks", sku="C1")
    assert item.has_gtin
    assert CatalogueItem.from_mapping(item.to_mapping()) == item
    assert item.display_name("en") == "Cola"
    assert item.display_name() == "可乐"
    only_en = CatalogueItem.from_mapping({"code": "X1", "name_en": "Bag", "price_fen": 0})
    assert only_en.display_name("zh") == "Bag"
    assert not only_en.has_gtin


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"code": "1", "name_zh": "a", "price_fen": 1, "colour": "red"}, "unknown"),
        ({"code": "1", "name_zh": "a"}, "lacks"),
        ({"code": " ", "name_zh": "a", "price_fen": 1}, "empty"),
        ({"code": "1", "name_zh": 5, "price_fen": 1}, "text"),
        ({"code": "1", "name_zh": " ", "name_en": "", "price_fen": 1}, "name"),
        ({"code": "1", "name_zh": "a", "price_fen": -1}, "price"),
        ({"code": "1", "name_zh": "a", "price_fen": 1.5}, "price"),
        ({"code": "1", "name_zh": "a", "price_fen": True}, "price"),
        ({"code": "1", "name_zh": "a", "price_fen": MAX_FEN + 1}, "price"),
        ({"code": "1", "name_zh": "a", "price_fen": 1, "unit": "g"}, "unit"),
        ({"code": "1", "name_zh": "a", "price_fen": 1, "points_excluded": 1}, "points_excluded"),
        ({"code": "1", "name_zh": "a", "price_fen": 1, "category": None}, "category"),
    ],
)
def test_item_validation(data: dict[str, object], message: str) -> None:
    with pytest.raises(CatalogueError, match=message):
        CatalogueItem.from_mapping(data)


def test_line_amount() -> None:
    assert line_amount(350, 3, "each") == 1050
    assert line_amount(1299, 500, "kg") == 650  # 649.5 rounds half up
    assert line_amount(1299, 499, "kg") == 648  # 648.201
    assert line_amount(1000, 0, "each") == 0
    for args in [(-1, 1, "each"), (1, -1, "kg"), (1.0, 1, "each"), (1, True, "each")]:
        with pytest.raises(MoneyError):
            line_amount(*args)  # type: ignore[arg-type]
    with pytest.raises(MoneyError, match="unit"):
        line_amount(1, 1, "box")
    with pytest.raises(MoneyError, match="too large"):
        line_amount(MAX_FEN, 2, "each")


@settings(derandomize=True, deadline=None)
@given(st.integers(0, 10**7), st.integers(0, 99_999))
def test_weighed_amount_is_nearest_fen(price: int, grams: int) -> None:
    amount = line_amount(price, grams, "kg")
    assert abs(amount * 1000 - price * grams) <= 500
