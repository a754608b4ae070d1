"""Checkout through the HTTP API on moto: the cart, POST /orders/preview and POST /orders agree to the fen, the
preview writes nothing and refuses what the order refuses, coupon choice (omitted, null, an id), points limits,
price changes between the preview and the order, and two orders racing for one coupon."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import pytest

from app import app
from chalicelib.bootstrap import container
from chalicelib.clock import iso, utcnow
from chalicelib.config import reset_caches
from chalicelib.errors import DomainError
from chalicelib.orders import placing
from chalicelib.orders.domain import Order
from chalicelib.orders.dynamo_repository import DynamoOrdersRepository
from chalicelib.orders.schemas import OrderCreate
from chalicelib.promotions.service import promotion_cache
from tests.functional import test_orders
from tests.functional.catalog_data import create_catalog, product_body
from tests.functional.conftest import ShopClient, register_and_login
from tests.functional.order_machinery import order_machinery
from tests.functional.test_coupons import claim, create_template, my_coupons
from tests.functional.test_orders import ADDRESS, PRICE, points_of, stock_of, user_id_of

shopper = test_orders.shopper  # a customer with an address and 1000 points, and a phone SKU with 10 in stock


@pytest.fixture(scope="module", autouse=True)
def order_tasks_run_in_process(provisioned_aws: dict[str, str]) -> Iterator[None]:
    with order_machinery(app):
        yield


@pytest.fixture(autouse=True)
def fresh_promotions_and_slow_payment(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    promotion_cache.forget()
    monkeypatch.setenv("PAYMENT_TIMEOUT_SECONDS", "600")  # orders here wait until the module stops them
    reset_caches()
    yield
    promotion_cache.forget()
    reset_caches()


def preview(client: ShopClient, token: str | None, **body: Any) -> tuple[int, Any]:
    status, answer, _ = client.call("POST", "/orders/preview", body, token=token)
    return status, answer


def order(client: ShopClient, token: str | None, key: str, **body: Any) -> tuple[int, Any]:
    status, answer, _ = client.call("POST", "/orders", body, token=token, **{"Idempotency-Key": key})
    return status, answer


def items(buyer: dict[str, Any], quantity: int = 2) -> list[dict[str, Any]]:
    return [{"sku_id": buyer["sku_id"], "quantity": quantity}]


def two_coupons(client: ShopClient, admin_token: str, token: str) -> dict[str, str]:
    """A 满300减30 coupon and a 5% one capped at 100 yuan (the better one on a phone), both claimed."""
    amount = create_template(client, admin_token, name="满300减30")
    percent = create_template(client, admin_token, name="95折 最高减100", type="percent_off", percent_off=5,
                              max_discount_fen=10000, threshold_fen=0, amount_off_fen=None)  # fmt: skip
    held = {}
    for name, template in (("amount", amount), ("percent", percent)):
        status, coupon = claim(client, token, template["template_id"])
        assert status == 201, coupon
        held[name] = coupon["coupon_id"]
    return held


def cheap_product(client: ShopClient, admin_token: str, price_fen: int) -> str:
    body = product_body("小米 数据线")
    body["skus"][0]["price_fen"] = price_fen
    status, created, _ = client.call("POST", "/admin/products", body, token=admin_token)
    assert status == 201, created
    return str(created["skus"][0]["sku_id"])


def flash_price(client: ShopClient, admin_token: str, sku_id: str, price_fen: int) -> None:
    now = utcnow()
    body = {
        "name": "限时直降",
        "kind": "flash_price",
        "starts_at": iso(now - timedelta(minutes=1)),
        "ends_at": iso(now + timedelta(hours=1)),
        "sku_prices": [{"sku_id": sku_id, "price_fen": price_fen}],
    }
    status, created, _ = client.call("POST", "/admin/promotions", body, token=admin_token)  # fmt: skip
    assert status == 201, created


def test_the_cart_the_preview_and_the_order_agree_to_the_fen_and_the_preview_reserves_nothing(
    client: ShopClient, admin_token: str, shopper: dict[str, Any]
) -> None:
    # GIVEN a cart of two phones under a 满300减30 promotion, and two claimed coupons
    held = two_coupons(client, admin_token, shopper["token"])
    now = utcnow()
    promotion = {
        "name": "满减",
        "kind": "threshold",
        "starts_at": iso(now - timedelta(minutes=1)),
        "ends_at": iso(now + timedelta(hours=1)),
        "tiers": [{"threshold_fen": 30000, "off_fen": 3000}],
    }
    assert client.call("POST", "/admin/promotions", promotion, token=admin_token)[0] == 201  # fmt: skip
    client.call("POST", "/cart/items", {"sku_id": shopper["sku_id"], "quantity": 2}, token=shopper["token"])

    # WHEN the cart is viewed, the checkout previewed and the order placed
    cart = client.call("GET", "/cart", token=shopper["token"])[1]
    status, shown = preview(client, shopper["token"], from_cart=True)
    stock_after_preview = stock_of(client, shopper["sku_id"])
    coupons_after_preview = {c["coupon_id"]: c["status"] for c in my_coupons(client, shopper["token"])}
    placed_status, placed = order(client, shopper["token"], "agree", from_cart=True, address_id=shopper["address_id"])

    # THEN all three charge the same, with the cart's best coupon, and only the order reserved anything
    assert status == 200, shown
    assert shown["amounts"] == {
        "items_fen": 2 * PRICE, "discount_fen": 3000 + 10000, "promotion_discount_fen": 3000,
        "coupon_discount_fen": 10000, "member_discount_fen": 0, "points_deduction_fen": 0, "shipping_fen": 0,
        "payable_fen": 2 * PRICE - 13000,
    }  # fmt: skip
    assert cart["summary"]["payable_fen"] == shown["amounts"]["payable_fen"]
    assert cart["coupons"]["best"]["coupon_id"] == shown["coupon_id"] == held["percent"]
    assert shown["coupons"]["applicable"] == [
        {"coupon_id": held["percent"], "name": "95折 最高减100", "discount_fen": 10000},
        {"coupon_id": held["amount"], "name": "满300减30", "discount_fen": 3000},
    ]
    assert shown["coupons"]["unavailable"] == []
    assert shown["points"] == {"balance": 1000, "max_usable": 1000, "used": 0, "deduction_fen": 0}
    assert shown["address_id"] == shopper["address_id"]
    assert [(line["sku_id"], line["quantity"], line["payable_fen"]) for line in shown["items"]] == [
        (shopper["sku_id"], 2, 2 * PRICE - 3000)
    ]
    assert stock_after_preview == 10 and set(coupons_after_preview.values()) == {"unused"}
    assert placed_status == 201, placed
    assert placed["amounts"] == shown["amounts"] and placed["coupon_id"] == shown["coupon_id"]
    assert placed["items"] == shown["items"]
    assert stock_of(client, shopper["sku_id"]) == 8


def test_without_an_address_the_preview_and_the_cart_ship_free_and_with_the_default_one_they_charge_shipping(
    client: ShopClient, admin_token: str
) -> None:
    # GIVEN a customer without an address and a 50 yuan SKU in the cart
    create_catalog(client, admin_token)
    sku_id = cheap_product(client, admin_token, 5000)
    token = register_and_login(client, "carol")
    client.call("POST", "/cart/items", {"sku_id": sku_id, "quantity": 1}, token=token)

    # WHEN it is previewed, then again once the customer has a (default) address
    before = preview(client, token, from_cart=True)
    cart_before = client.call("GET", "/cart", token=token)[1]["summary"]
    address = client.call("POST", "/me/addresses", ADDRESS, token=token)[1]
    after = preview(client, token, from_cart=True)
    cart_after = client.call("GET", "/cart", token=token)[1]["summary"]

    # THEN shipping is priced only once there is somewhere to ship to, the same in the cart and the preview
    assert before[0] == 200 and before[1]["address_id"] is None and before[1]["amounts"]["shipping_fen"] == 0
    assert cart_before["payable_fen"] == before[1]["amounts"]["payable_fen"] == 5000
    assert after[1]["address_id"] == address["address_id"] and after[1]["amounts"]["shipping_fen"] == 1000
    assert cart_after["payable_fen"] == after[1]["amounts"]["payable_fen"] == 6000


def test_an_omitted_coupon_is_the_best_one_null_is_none_and_an_id_is_that_one(
    client: ShopClient, admin_token: str, shopper: dict[str, Any]
) -> None:
    held = two_coupons(client, admin_token, shopper["token"])
    base = {"address_id": shopper["address_id"], "items": items(shopper)}

    omitted = preview(client, shopper["token"], **base)[1]
    none = preview(client, shopper["token"], **base, coupon_id=None)[1]
    named = preview(client, shopper["token"], **base, coupon_id=held["amount"])[1]
    placed_none = order(client, shopper["token"], "none", **base, coupon_id=None)[1]
    placed_omitted = order(client, shopper["token"], "omitted", **base)[1]

    assert (omitted["coupon_id"], omitted["amounts"]["coupon_discount_fen"]) == (held["percent"], 10000)
    assert (none["coupon_id"], none["amounts"]["coupon_discount_fen"]) == (None, 0)
    assert (named["coupon_id"], named["amounts"]["coupon_discount_fen"]) == (held["amount"], 3000)
    assert placed_none["coupon_id"] is None and placed_none["amounts"] == none["amounts"]
    assert placed_omitted["coupon_id"] == held["percent"] and placed_omitted["amounts"] == omitted["amounts"]


def test_a_coupon_that_does_not_apply_is_refused_naming_its_threshold_and_the_goods_total_in_yuan(
    client: ShopClient, admin_token: str, shopper: dict[str, Any]
) -> None:
    # GIVEN a coupon for orders of 20000 yuan and one phone of 6999 yuan
    template = create_template(client, admin_token, name="满20000减500", threshold_fen=2_000_000, amount_off_fen=50000)
    coupon_id = claim(client, shopper["token"], template["template_id"])[1]["coupon_id"]
    body = {"address_id": shopper["address_id"], "items": items(shopper, 1), "coupon_id": coupon_id}

    # WHEN it is named in the preview and the order, and left out of a preview
    previewed = preview(client, shopper["token"], **body)
    placed = order(client, shopper["token"], "not-applicable", **body)
    listed = preview(client, shopper["token"], address_id=shopper["address_id"], items=items(shopper, 1))[1]

    # THEN both refuse it alike, saying how far the goods are from the threshold, and nothing is reserved
    for status, answer in (previewed, placed):
        assert (status, answer["code"]) == (409, "COUPON_NOT_APPLICABLE"), answer
        assert "¥20000.00" in answer["message"] and "¥6999.00" in answer["message"], answer["message"]
    assert placed[1]["message"] == previewed[1]["message"]
    assert listed["coupon_id"] is None and listed["coupons"]["applicable"] == []
    [unavailable] = listed["coupons"]["unavailable"]
    assert unavailable["coupon_id"] == coupon_id and "¥13001.00 more" in unavailable["reason"]
    assert stock_of(client, shopper["sku_id"]) == 10
    assert [c["status"] for c in my_coupons(client, shopper["token"])] == ["unused"]


def test_the_preview_refuses_what_the_order_refuses_with_the_same_status_and_code(
    client: ShopClient, admin_token: str, shopper: dict[str, Any]
) -> None:
    base = {"address_id": shopper["address_id"], "items": items(shopper)}
    cases: dict[str, tuple[str | None, dict[str, Any], int, str]] = {
        "short of stock": (shopper["token"], {**base, "items": items(shopper, 11)}, 409, "OUT_OF_STOCK"),
        "unknown SKU": (shopper["token"], {**base, "items": [{"sku_id": "p_nothing-01", "quantity": 1}]}, 404,
                        "NOT_FOUND"),
        "unknown address": (shopper["token"], {**base, "address_id": "a_nothing"}, 404, "NOT_FOUND"),
        "unknown field": (shopper["token"], {**base, "price_fen": 1}, 400, "VALIDATION_ERROR"),
        "points not in whole yuan": (shopper["token"], {**base, "points": 150}, 400, "VALIDATION_ERROR"),
        "more points than held": (shopper["token"], {**base, "points": 5000}, 409, "CONFLICT"),
        "an empty cart": (shopper["token"], {"address_id": shopper["address_id"], "from_cart": True}, 409,
                          "INVALID_STATE"),
        "someone else's coupon": (shopper["token"], {**base, "coupon_id": "cp_nothing"}, 404, "NOT_FOUND"),
        "no token": (None, base, 401, "UNAUTHORIZED"),
    }  # fmt: skip

    for n, (name, (token, body, status, code)) in enumerate(cases.items()):
        previewed = preview(client, token, **body)
        placed = order(client, token, f"refused-{n}", **body)
        assert (previewed[0], previewed[1]["code"]) == (status, code), (name, previewed)
        assert (placed[0], placed[1]["code"]) == (status, code), (name, placed)
    assert stock_of(client, shopper["sku_id"]) == 10
    assert points_of(client, shopper["token"]) == 1000
    assert client.call("GET", "/me/orders", token=shopper["token"])[1]["items"] == []


def test_points_past_half_the_goods_are_refused_saying_the_cap_and_the_preview_shows_what_is_usable(
    client: ShopClient, admin_token: str
) -> None:
    # GIVEN 10000 points and a 50 yuan item: points may pay 25 yuan of it
    create_catalog(client, admin_token)
    sku_id = cheap_product(client, admin_token, 5000)
    token = register_and_login(client, "dave")
    address_id = client.call("POST", "/me/addresses", ADDRESS, token=token)[1]["address_id"]
    grant = {"user_id": user_id_of(token), "points": 10000, "reason": "test"}
    assert client.call("POST", "/admin/points/grants", grant, token=admin_token)[0] in (200, 201)
    body = {"address_id": address_id, "items": [{"sku_id": sku_id, "quantity": 1}]}

    shown = preview(client, token, **body, points=2500)[1]
    too_many = order(client, token, "too-many", **body, points=2600)
    placed = order(client, token, "just-right", **body, points=2500, expected_payable_fen=3500)

    assert shown["points"] == {"balance": 10000, "max_usable": 2500, "used": 2500, "deduction_fen": 2500}
    assert shown["amounts"]["payable_fen"] == 5000 - 2500 + 1000
    assert (too_many[0], too_many[1]["code"]) == (409, "CONFLICT")
    assert "50%" in too_many[1]["message"] and "at most 2500 points" in too_many[1]["message"]
    assert placed[0] == 201 and placed[1]["amounts"] == shown["amounts"]
    assert points_of(client, token) == 7500


def test_a_price_change_after_the_preview_is_refused_when_expected_and_charged_when_not(
    client: ShopClient, admin_token: str, shopper: dict[str, Any]
) -> None:
    # GIVEN a preview at the list price
    body = {"address_id": shopper["address_id"], "items": items(shopper)}
    shown = preview(client, shopper["token"], **body)[1]
    assert shown["amounts"]["payable_fen"] == 2 * PRICE

    # WHEN the price drops before the order is placed, with and without the amount the preview showed
    flash_price(client, admin_token, shopper["sku_id"], 599900)
    expected = order(client, shopper["token"], "expected", **body, expected_payable_fen=2 * PRICE)
    stock_after_refusal = stock_of(client, shopper["sku_id"])
    charged = order(client, shopper["token"], "not-expected", **body)

    # THEN the first is refused with the new amount and reserves nothing; the second charges the new price
    assert (expected[0], expected[1]["code"]) == (409, "PRICE_CHANGED"), expected
    assert expected[1]["payable_fen"] == 2 * 599900
    assert "¥11998.00" in expected[1]["message"] and "¥13998.00" in expected[1]["message"]
    assert stock_after_refusal == 10
    assert charged[0] == 201 and charged[1]["amounts"]["payable_fen"] == 2 * 599900
    assert stock_of(client, shopper["sku_id"]) == 8


class OrdersWithARival(DynamoOrdersRepository):
    """Dynamo orders where another order is placed between this one's pricing and its transaction."""

    def __init__(self, rival: Callable[[], Any]) -> None:
        self.rival: Callable[[], Any] | None = rival

    def place(self, order: Order, key: str, body_hash: str) -> None:
        if self.rival is not None:
            rival, self.rival = self.rival, None
            rival()
        super().place(order, key, body_hash)


def test_two_orders_racing_for_one_coupon_one_gets_it_and_the_other_reserves_nothing(
    client: ShopClient, admin_token: str, shopper: dict[str, Any]
) -> None:
    # GIVEN one coupon, and a second order placed while the first is between its pricing and its write
    template = create_template(client, admin_token)
    coupon_id = claim(client, shopper["token"], template["template_id"])[1]["coupon_id"]
    user_id = user_id_of(shopper["token"])
    body = OrderCreate.model_validate({"address_id": shopper["address_id"], "items": items(shopper, 1)})
    rival_orders: list[dict[str, Any]] = []
    racing = dataclasses.replace(
        container().shop,
        orders=OrdersWithARival(
            lambda: rival_orders.append(placing.create_order(container().shop, user_id, "rival", body))
        ),
    )

    # WHEN both, naming no coupon, take the best one: the same coupon
    with pytest.raises(DomainError, match="another unpaid order") as refused:
        placing.create_order(racing, user_id, "first", body)

    # THEN the rival got the coupon; the other order is refused and took no stock
    assert rival_orders[0]["coupon_id"] == coupon_id
    assert (refused.value.status, refused.value.code) == (409, "INVALID_STATE")
    assert stock_of(client, shopper["sku_id"]) == 9
    assert len(client.call("GET", "/me/orders", token=shopper["token"])[1]["items"]) == 1
    assert [c["status"] for c in my_coupons(client, shopper["token"])] == ["locked"]
