"""dynamo.attribute_values: a raw item read by its model's attributes, as the model would read it."""

from __future__ import annotations

from typing import Any

from chalicelib.cart.models import CartRowModel
from chalicelib.catalog.models import SkuItem
from chalicelib.dynamo import attribute_values

SKU = {
    "pk": {"S": "PRODUCT#p_1"}, "sk": {"S": "SKU#p_1-01"}, "kind": {"S": "sku"}, "sku_id": {"S": "p_1-01"},
    "product_id": {"S": "p_1"}, "attributes": {"M": {"颜色": {"S": "黑"}}}, "price_fen": {"N": "199900"},
    "updated_at": {"S": "2026-01-01T00:00:00Z"}, "image_url": {"NULL": True}, "member_prices": {"S": '{"2": 189900}'},
}  # fmt: skip
HEAD = {"pk": {"S": "USER#u_1"}, "sk": {"S": "CARTCOUNT"}, "skus": {"SS": ["p_1-01", "p_2-01"]}}


def as_model_reads_it(model: type[Any], raw: dict[str, Any]) -> dict[str, Any]:
    item = model.from_raw_data(raw)
    return {name: getattr(item, name) for name in model.get_attributes()}


def plain(values: dict[str, Any]) -> dict[str, Any]:
    return {name: value.as_dict() if hasattr(value, "as_dict") else value for name, value in values.items()}


def test_a_raw_sku_reads_as_its_model_reads_it_defaults_and_nulls_included() -> None:
    # WHEN a SKU with absent (stock, title, on_sale) and null (image_url) attributes is read both ways
    values = attribute_values(SkuItem, SKU)

    # THEN the values are the model's, its class tells the kind, and the defaults fill the gaps
    assert plain(values) == plain(as_model_reads_it(SkuItem, SKU))
    assert values["kind"] is SkuItem
    assert (values["stock"], values["on_sale"], values["title"], values["image_url"]) == (0, True, "", None)
    assert values["member_prices"] == {"2": 189900}


def test_a_cart_head_reads_its_set_and_leaves_line_fields_empty() -> None:
    values = attribute_values(CartRowModel, HEAD)

    assert plain(values) == plain(as_model_reads_it(CartRowModel, HEAD))
    assert values["skus"] == {"p_1-01", "p_2-01"}
    assert values["quantity"] is None
