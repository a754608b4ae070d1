"""Freight templates on moto: the admin's CRUD (409 while a product uses one), products' weight_g and
freight_template_id, and shipping priced per template, the same in the cart, the checkout preview and the order:
by weight for the province (its region, else the default fees), free over a threshold, 409 UNDELIVERABLE to an
excluded province, and today's flat rule for goods without a template."""

from __future__ import annotations

from typing import Any

import pytest

from tests.functional.catalog_data import create_catalog, product_body
from tests.functional.conftest import ShopClient, register_and_login
from tests.functional.test_orders import ADDRESS

TEMPLATE = {
    "name": "标准快递",
    "default": {"first_weight_g": 1000, "first_fee_fen": 800, "extra_weight_g": 500, "extra_fee_fen": 200},
    "regions": [
        {
            "provinces": ["新疆维吾尔自治区", "西藏自治区"],
            "first_weight_g": 1000,
            "first_fee_fen": 2000,
            "extra_weight_g": 1000,
            "extra_fee_fen": 1000,
        },
    ],
    "free_over_fen": 30000,
    "excluded_provinces": ["台湾省"],
}


def create_template(client: ShopClient, admin_token: str, **changes: Any) -> dict[str, Any]:
    status, body, _ = client.call("POST", "/admin/freight-templates", {**TEMPLATE, **changes}, token=admin_token)
    assert status == 201, body
    return dict(body)


def create_goods(
    client: ShopClient, admin_token: str, title: str, price_fen: int, weight_g: int | None, template_id: str | None
) -> dict[str, Any]:
    body = product_body(title)
    body["skus"] = [{"attributes": {"颜色": "雅川青"}, "price_fen": price_fen, "stock": 50, "weight_g": weight_g}]
    body["specs"] = [{"name": "颜色", "values": ["雅川青"]}]
    if template_id is not None:
        body["freight_template_id"] = template_id
    status, product, _ = client.call("POST", "/admin/products", body, token=admin_token)
    assert status == 201, product
    return dict(product)


@pytest.fixture
def shop(client: ShopClient, admin_token: str) -> dict[str, Any]:
    """A template, a 1.2 kg item (50 yuan) using it, a 50-yuan item without one, and a buyer in 广东省."""
    create_catalog(client, admin_token)
    template = create_template(client, admin_token)
    heavy = create_goods(client, admin_token, "电饭煲", 5000, 1200, template["template_id"])
    plain = create_goods(client, admin_token, "手机壳", 5000, None, None)
    token = register_and_login(client, "alice")
    address = client.call("POST", "/me/addresses", ADDRESS, token=token)[1]
    return {
        "template": template,
        "heavy": heavy["skus"][0]["sku_id"],
        "plain": plain["skus"][0]["sku_id"],
        "token": token,
        "address_id": address["address_id"],
    }


def shipping_everywhere(client: ShopClient, shop: dict[str, Any], lines: dict[str, int], **cart_query: str) -> Any:
    """The shipping the cart, the preview of the cart and the order placed from it charge (or their refusals)."""
    token = shop["token"]
    for sku_id, quantity in lines.items():
        assert client.call("POST", "/cart/items", {"sku_id": sku_id, "quantity": quantity}, token=token)[0] == 201
    query = "".join(f"?{k}={v}" for k, v in cart_query.items())
    cart = client.call("GET", f"/cart{query}", token=token)
    body = {"from_cart": True, "coupon_id": None, "address_id": cart_query.get("address_id", shop["address_id"])}
    preview = client.call("POST", "/orders/preview", body, token=token)
    order = client.call("POST", "/orders", body, token=token, **{"Idempotency-Key": "k-1"})
    assert cart[0] != 200 or order[0] == 201, order
    if cart[0] != 200:
        return [(answer[0], answer[1]["code"]) for answer in (cart, preview, order)]
    assert cart[1]["summary"]["payable_fen"] == preview[1]["amounts"]["payable_fen"]
    return [
        cart[1]["summary"]["shipping_fen"],
        preview[1]["amounts"]["shipping_fen"],
        order[1]["amounts"]["shipping_fen"],
    ]


def test_templated_goods_ship_by_weight_for_the_province_the_same_in_cart_preview_and_order(
    client: ShopClient, shop: dict[str, Any]
) -> None:
    # GIVEN two 1.2 kg items of a template (2.4 kg, 100 yuan) going to 广东省 (its default fees)
    # WHEN the cart, the preview and the order price them
    charged = shipping_everywhere(client, shop, {shop["heavy"]: 2})

    # THEN each charges 8 yuan for the first kg and 2 yuan per started 500 g beyond (1.4 kg: 3 steps) = 14 yuan
    assert charged == [1400, 1400, 1400]


def test_a_province_in_a_region_pays_the_regions_fees(client: ShopClient, shop: dict[str, Any]) -> None:
    # GIVEN an address in 新疆, a region of the template
    far = {**ADDRESS, "province": "新疆维吾尔自治区", "city": "乌鲁木齐市", "district": "天山区"}
    address_id = client.call("POST", "/me/addresses", far, token=shop["token"])[1]["address_id"]

    # WHEN 2.4 kg ship there
    charged = shipping_everywhere(client, shop, {shop["heavy"]: 2}, address_id=address_id)

    # THEN the region's fees apply: 20 yuan the first kg, 10 yuan per started kg beyond (2) = 40 yuan
    assert charged == [4000, 4000, 4000]


def test_templated_goods_ship_free_once_they_reach_the_templates_free_over_amount(
    client: ShopClient, shop: dict[str, Any]
) -> None:
    # GIVEN six items of the template: 300 yuan, its free_over_fen
    # WHEN they are priced
    charged = shipping_everywhere(client, shop, {shop["heavy"]: 6})

    # THEN shipping is free
    assert charged == [0, 0, 0]


def test_an_excluded_province_is_refused_with_409_undeliverable_everywhere(
    client: ShopClient, shop: dict[str, Any]
) -> None:
    # GIVEN an address in a province the template excludes
    excluded = {**ADDRESS, "province": "台湾省", "city": "台北市", "district": "中正区"}
    address_id = client.call("POST", "/me/addresses", excluded, token=shop["token"])[1]["address_id"]

    # WHEN the cart, the preview and the order price templated goods to it
    refused = shipping_everywhere(client, shop, {shop["heavy"]: 1}, address_id=address_id)

    # THEN each is 409 UNDELIVERABLE, and no order was placed
    assert refused == [(409, "UNDELIVERABLE")] * 3
    assert client.call("GET", "/me/orders", token=shop["token"])[1]["items"] == []


def test_goods_without_a_template_keep_the_flat_rule_beside_templated_ones(
    client: ShopClient, shop: dict[str, Any]
) -> None:
    # GIVEN one templated item (1.2 kg, 50 yuan) and one without a template (50 yuan: under 99 yuan)
    # WHEN they are priced together
    charged = shipping_everywhere(client, shop, {shop["heavy"]: 1, shop["plain"]: 1})

    # THEN the template charges 8 + 2 (200 g beyond the first kg) yuan and the flat rule 10 yuan on its own goods
    assert charged == [2000, 2000, 2000]


def test_products_show_weight_and_template_and_a_template_in_use_cannot_be_deleted(
    client: ShopClient, admin_token: str, shop: dict[str, Any]
) -> None:
    template_id = shop["template"]["template_id"]
    product_id = shop["heavy"].rsplit("-", 1)[0]

    # GIVEN the product detail and the template's list
    detail = client.call("GET", f"/products/{product_id}")[1]
    listed = client.call("GET", "/admin/freight-templates", token=admin_token)[1]

    # WHEN staff delete the template a product uses, then move the product off it and delete again
    in_use = client.call("DELETE", f"/admin/freight-templates/{template_id}", token=admin_token)
    body = product_body("电饭煲")
    body["specs"] = [{"name": "颜色", "values": ["雅川青"]}]
    body["skus"] = [{"sku_id": shop["heavy"], "attributes": {"颜色": "雅川青"}, "price_fen": 5000, "weight_g": 1500}]
    moved = client.call("PUT", f"/admin/products/{product_id}", body, token=admin_token)
    deleted = client.call("DELETE", f"/admin/freight-templates/{template_id}", token=admin_token)
    gone = client.call("GET", f"/admin/freight-templates/{template_id}", token=admin_token)

    # THEN the detail shows both new fields; the template in use is 409 and nothing is deleted until it is free
    assert detail["freight_template_id"] == template_id and detail["skus"][0]["weight_g"] == 1200
    assert [t["template_id"] for t in listed["items"]] == [template_id] and listed["items"][0]["products_using"] == 1
    assert in_use[0] == 409 and in_use[1]["code"] == "CONFLICT"
    assert moved[0] == 200 and moved[1]["freight_template_id"] is None and moved[1]["skus"][0]["weight_g"] == 1500
    assert deleted[0] == 204 and gone[0] == 404


def test_freight_template_writes_are_validated_and_staff_only(
    client: ShopClient, admin_token: str, customer_token: str
) -> None:
    # GIVEN a template
    created = create_template(client, admin_token)
    template_id = created["template_id"]

    # WHEN it is replaced, and bad or unauthorised writes are sent
    path = f"/admin/freight-templates/{template_id}"
    replaced = client.call("PUT", path, {**TEMPLATE, "name": "经济快递", "free_over_fen": None}, token=admin_token)
    negative_fee = {**TEMPLATE, "default": {**TEMPLATE["default"], "first_fee_fen": -1}}
    negative = client.call("POST", "/admin/freight-templates", negative_fee, token=admin_token)
    region_twice = {**TEMPLATE, "regions": TEMPLATE["regions"] * 2}
    twice = client.call("POST", "/admin/freight-templates", region_twice, token=admin_token)
    unknown = client.call("POST", "/admin/freight-templates", {**TEMPLATE, "colour": "red"}, token=admin_token)
    customer = client.call("POST", "/admin/freight-templates", TEMPLATE, token=customer_token)
    missing = client.call("PUT", "/admin/freight-templates/ft_nope", TEMPLATE, token=admin_token)
    bad_product = product_body("电饭煲")
    bad_product["freight_template_id"] = "ft_nope"
    product = client.call("POST", "/admin/products", bad_product, token=admin_token)

    # THEN the template shows its new name and no threshold; bad writes are 400, others' 403, unknown ids 404/400
    assert created["name"] == "标准快递" and created["regions"][0]["provinces"] == ["新疆维吾尔自治区", "西藏自治区"]
    assert replaced[0] == 200 and replaced[1]["name"] == "经济快递" and replaced[1]["free_over_fen"] is None
    assert [negative[0], twice[0], unknown[0]] == [400, 400, 400]
    assert customer[0] == 403 and missing[0] == 404
    assert product[0] == 400 and product[1]["code"] == "VALIDATION_ERROR"


def test_the_cart_refuses_to_price_shipping_to_another_users_address(client: ShopClient, shop: dict[str, Any]) -> None:
    # GIVEN templated goods in my cart and another customer's address
    assert client.call("POST", "/cart/items", {"sku_id": shop["heavy"], "quantity": 1}, token=shop["token"])[0] == 201
    bob = register_and_login(client, "bob")
    theirs = client.call("POST", "/me/addresses", ADDRESS, token=bob)[1]["address_id"]

    # WHEN I view my cart priced to their address, and to mine
    refused = client.call("GET", f"/cart?address_id={theirs}", token=shop["token"])
    mine = client.call("GET", f"/cart?address_id={shop['address_id']}", token=shop["token"])

    # THEN theirs is 404 as if it did not exist, mine prices 8 yuan + 2 yuan for 200 g beyond the first kg
    assert refused[0] == 404 and refused[1]["code"] == "NOT_FOUND"
    assert mine[0] == 200 and mine[1]["summary"]["shipping_fen"] == 1000


def test_archiving_the_last_product_of_a_template_frees_it(
    client: ShopClient, admin_token: str, shop: dict[str, Any]
) -> None:
    # GIVEN the template's only product
    template_id = shop["template"]["template_id"]
    product_id = shop["heavy"].rsplit("-", 1)[0]

    # WHEN staff archive the product, twice, and then delete the template
    archived = [client.call("DELETE", f"/admin/products/{product_id}", token=admin_token)[0] for _ in range(2)]
    listed = client.call("GET", f"/admin/freight-templates/{template_id}", token=admin_token)[1]
    deleted = client.call("DELETE", f"/admin/freight-templates/{template_id}", token=admin_token)

    # THEN the template counts no product and goes
    assert archived == [204, 204] and listed["products_using"] == 0 and deleted[0] == 204
