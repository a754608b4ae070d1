"""The direct parses of raw DynamoDB items on the hot reads (a SKU read by key, a cart line, the cart's head): each
reads an item exactly as its pynamodb model reads it, defaults and nulls included."""

from __future__ import annotations

from typing import Any

import pytest

from chalicelib.cart.models import CartCounterModel, CartLineModel
from chalicelib.cart.repository import _head_of_item, _line_dict, _line_of_item
from chalicelib.catalog.models import SkuItem
from chalicelib.catalog.records import _sku_dict, sku_of_item
from chalicelib.coupons.models import WalletCouponModel
from chalicelib.coupons.repository import INTEGER_FIELDS, WALLET_FIELDS, _wallet_of_item

SPARSE_SKU = {
    "pk": {"S": "PRODUCT#p_1"}, "sk": {"S": "SKU#p_1-01"}, "kind": {"S": "sku"}, "sku_id": {"S": "p_1-01"},
    "product_id": {"S": "p_1"}, "attributes": {"M": {"颜色": {"S": "黑"}}}, "price_fen": {"N": "199900"},
    "updated_at": {"S": "2026-01-01T00:00:00Z"}, "image_url": {"NULL": True}, "member_prices": {"S": '{"2": 189900}'},
}  # fmt: skip
FULL_SKU = SkuItem(
    "PRODUCT#p_2", "SKU#p_2-01", sku_id="p_2-01", product_id="p_2", attributes={"颜色": "白", "容量": "256G"},
    price_fen=599900, stock=7, low_stock_threshold=3, updated_at="2026-02-01T00:00:00Z", title="手机",
    image_url="https://img.shop.example/a.jpg", category_id="c_phone", brand_id="b_1", on_sale=False,
    freight_template_id="ft_1", weight_g=450, member_prices={"1": 589900, "3": 569900},
).serialize()  # fmt: skip
LINE = CartLineModel(
    "USER#u_1", "CART#p_1-01", sku_id="p_1-01", quantity=3, selected=False, added_at="2026-01-01T00:00:00.000001Z",
    title="手机", attributes={"颜色": "黑"},
).serialize()  # fmt: skip
SPARSE_LINE = {"pk": {"S": "USER#u_1"}, "sk": {"S": "CART#p_1-02"}, "sku_id": {"S": "p_1-02"},
               "quantity": {"N": "1"}, "added_at": {"S": "2026-01-01T00:00:00.000002Z"}}  # fmt: skip


@pytest.mark.parametrize("raw", [SPARSE_SKU, FULL_SKU], ids=["sparse", "full"])
def test_a_raw_sku_reads_as_its_model_reads_it(raw: dict[str, Any]) -> None:
    # GIVEN a SKU item with every attribute set, or with absent (stock, title, on_sale) and null (image_url) ones
    # WHEN it is parsed directly and through the model
    # THEN both give the same record
    assert sku_of_item(raw) == _sku_dict(SkuItem.from_raw_data(raw))


def test_a_sparse_raw_sku_takes_the_model_defaults() -> None:
    sku = sku_of_item(SPARSE_SKU)

    assert (sku["stock"], sku["on_sale"], sku["title"], sku["image_url"]) == (0, True, "", None)
    assert (sku["low_stock_threshold"], sku["level_prices"], sku["weight_g"]) == (10, {2: 189900}, None)


@pytest.mark.parametrize("raw", [LINE, SPARSE_LINE], ids=["full", "sparse"])
def test_a_raw_cart_line_reads_as_its_model_reads_it(raw: dict[str, Any]) -> None:
    assert _line_of_item(raw) == _line_dict(CartLineModel.from_raw_data(raw).attribute_values)


def test_a_raw_cart_head_reads_its_set_and_its_end() -> None:
    # GIVEN a guest cart's head and a user's head that lists nothing yet
    guest = CartCounterModel("GUESTCART#g_1", skus={"p_1-01", "p_2-01"}, expires_at=1_900_000_000).serialize()
    empty = CartCounterModel("USER#u_1").serialize()

    # THEN the set and the end read as the model holds them
    assert _head_of_item(guest) == {"skus": {"p_1-01", "p_2-01"}, "expires_at": 1_900_000_000}
    assert _head_of_item(empty) == {"skus": set(), "expires_at": None}


FULL_WALLET = WalletCouponModel(
    "USER#u_1", "WALLET#2026-12-31#c_1", coupon_id="c_1", template_id="t_1", name="满1000减50", type="amount_off",
    threshold_fen=100000, amount_off_fen=5000, max_discount_fen=9000, scope="category", scope_ids=["c_root", "c_2"],
    valid_from="2026-01-01T00:00:00Z", valid_to="2026-12-31T00:00:00Z", expires_at=1_798_675_200,
).serialize()  # fmt: skip
SPARSE_WALLET = {
    "pk": {"S": "USER#u_1"}, "sk": {"S": "WALLET#2026-12-31#c_2"}, "coupon_id": {"S": "c_2"},
    "template_id": {"S": "t_2"}, "name": {"S": "九折"}, "type": {"S": "percent_off"}, "percent_off": {"N": "90"},
    "max_discount_fen": {"NULL": True}, "valid_from": {"S": "2026-01-01T00:00:00Z"},
    "valid_to": {"S": "2026-12-31T00:00:00Z"}, "expires_at": {"N": "1798675200"}, "amount_off_fen": {"N": "12.0"},
}  # fmt: skip


@pytest.mark.parametrize("raw", [FULL_WALLET, SPARSE_WALLET], ids=["full", "sparse"])
def test_a_raw_wallet_coupon_reads_as_its_model_reads_it(raw: dict[str, Any]) -> None:
    # GIVEN a wallet coupon with every term, or without threshold, scope and scope ids, a null cap and a number
    # stored as "12.0"  WHEN parsed directly and through the model  THEN both give the same coupon
    item = WalletCouponModel.from_raw_data(raw)
    by_model = {name: getattr(item, name) for name in WALLET_FIELDS}
    by_model.update({name: int(by_model[name]) for name in INTEGER_FIELDS if by_model.get(name) is not None})
    by_model.update(scope_ids=list(item.scope_ids or []), status="unused")

    assert _wallet_of_item(raw) == by_model


def test_a_sparse_raw_wallet_coupon_takes_the_model_defaults() -> None:
    coupon = _wallet_of_item(SPARSE_WALLET)

    assert (coupon["threshold_fen"], coupon["scope"], coupon["scope_ids"]) == (0, "all", [])
    assert (coupon["max_discount_fen"], coupon["amount_off_fen"], coupon["percent_off"]) == (None, 12, 90)
