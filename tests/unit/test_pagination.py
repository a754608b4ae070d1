"""The signed cursor scheme."""

from __future__ import annotations

import pytest

from chalicelib.errors import ValidationError
from chalicelib.pagination import decode_cursor, encode_cursor


def test_a_cursor_round_trips_the_key_it_wraps() -> None:
    key = {"pk": {"S": "PRODUCT#p_1"}, "sk": {"S": "META"}}
    assert decode_cursor(encode_cursor(key, "products"), "products") == key


def test_no_key_means_no_next_page() -> None:
    assert encode_cursor(None, "products") is None and decode_cursor(None, "products") is None


@pytest.mark.parametrize("cursor", ["garbage", "e30", "A" * 40, "%%%"])
def test_a_forged_cursor_is_a_validation_error(cursor: str) -> None:
    with pytest.raises(ValidationError):
        decode_cursor(cursor, "products")


def test_a_cursor_of_one_listing_cannot_be_used_on_another() -> None:
    cursor = encode_cursor({"pk": {"S": "x"}}, "products|c_phone|")
    with pytest.raises(ValidationError):
        decode_cursor(cursor, "products||b_huawei")


def test_flipping_one_character_of_a_cursor_is_detected() -> None:
    cursor = encode_cursor({"pk": {"S": "PRODUCT#p_1"}}, "products") or ""
    flipped = cursor[:-3] + ("A" if cursor[-3] != "A" else "B") + cursor[-2:]
    with pytest.raises(ValidationError):
        decode_cursor(flipped, "products")
