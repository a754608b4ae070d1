"""Member prices: staff's price for a SKU at a level, else the level's discount on the price of the day; shown on the
product page and applied by the one pricing path of the cart, the preview and the order (coupons and points after
it); a flash-sale order takes none."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from app import app
from chalicelib.bootstrap import container
from chalicelib.config import reset_caches
from chalicelib.membership.repository import DynamoMembershipRepository
from chalicelib.membership.service import add_growth
from chalicelib.orders import placing
from tests.functional import test_orders
from tests.functional.conftest import ShopClient, register_and_login
from tests.functional.order_machinery import order_machinery
from tests.functional.test_checkout import cheap_product, flash_price, order, preview
from tests.functional.test_orders import PRICE, user_id_of

shopper = test_orders.shopper  # a customer with an address and 1000 points, and a phone SKU with 10 in stock

LEVELS = [
    {"level": 1, "name": "普通会员", "min_growth": 0, "discount_percent": 100, "benefits": []},
    {"level": 2, "name": "白银会员", "min_growth": 5, "discount_percent": 90, "benefits": ["9 折"]},
]
CABLE = 5000  # the cheap product's list price


@pytest.fixture(scope="module", autouse=True)
def order_tasks_run_in_process(provisioned_aws: dict[str, str]) -> Iterator[None]:
    with order_machinery(app):
        yield


@pytest.fixture(autouse=True)
def slow_payment(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("PAYMENT_TIMEOUT_SECONDS", "600")  # orders here wait until the module stops them
    reset_caches()
    yield
    reset_caches()


@pytest.fixture
def silver(client: ShopClient, admin_token: str, shopper: dict[str, Any]) -> dict[str, Any]:
    """The shopper at level 2 (90%), a cable SKU without a staff price, and a staff price on the phone at level 2."""
    assert client.call("PUT", "/admin/membership/levels", {"items": LEVELS}, token=admin_token)[0] == 200
    assert add_growth(DynamoMembershipRepository(), user_id_of(shopper["token"]), 6, "review", "rv_1")
    cable = cheap_product(client, admin_token, CABLE)
    body = {"items": [{"level": 2, "price_fen": 650000}]}
    status, saved, _ = client.call("PUT", f"/admin/skus/{shopper['sku_id']}/member-prices", body, token=admin_token)
    assert status == 200, saved
    assert saved == {"sku_id": shopper["sku_id"], "items": [{"level": 2, "name": "白银会员", "price_fen": 650000}]}
    return {**shopper, "cable": cable}


def test_the_product_page_shows_my_member_price_and_every_levels_and_none_when_signed_out(
    client: ShopClient, silver: dict[str, Any]
) -> None:
    product_id = silver["sku_id"].rsplit("-", 1)[0]

    mine = client.call("GET", f"/products/{product_id}", token=silver["token"])[1]["skus"]
    anonymous = client.call("GET", f"/products/{product_id}")[1]["skus"]

    phone = next(sku for sku in mine if sku["sku_id"] == silver["sku_id"])
    assert phone["member_price_fen"] == 650000  # the staff price wins over the level's 90%
    assert phone["member_prices"] == [
        {"level": 1, "name": "普通会员", "price_fen": PRICE},
        {"level": 2, "name": "白银会员", "price_fen": 650000},
    ]
    other = next(sku for sku in mine if sku["sku_id"] != silver["sku_id"])
    assert other["member_price_fen"] == other["price_fen"] * 90 // 100
    assert {sku["member_price_fen"] for sku in anonymous} == {None}
    assert anonymous[0]["member_prices"][1]["level"] == 2


def test_the_cart_the_preview_and_the_order_charge_member_prices_alike_with_coupons_and_points_after_them(
    client: ShopClient, silver: dict[str, Any]
) -> None:
    token = silver["token"]
    for sku_id in (silver["sku_id"], silver["cable"]):
        assert client.call("POST", "/cart/items", {"sku_id": sku_id, "quantity": 2}, token=token)[0] == 201
    member_off = 2 * (PRICE - 650000) + 2 * (CABLE - CABLE * 90 // 100)

    cart = client.call("GET", "/cart", token=token)[1]
    where = silver["address_id"]
    status, shown = preview(client, token, from_cart=True, points=500, address_id=where)
    placed_status, placed = order(client, token, "k-member", from_cart=True, points=500, address_id=where)

    by_sku = {item["sku_id"]: item for item in cart["items"]}
    assert by_sku[silver["sku_id"]]["member_price_fen"] == 650000
    assert by_sku[silver["cable"]]["member_price_fen"] == CABLE * 90 // 100
    assert by_sku[silver["cable"]]["price_fen"] == CABLE
    assert cart["summary"]["member_discount_fen"] == member_off
    assert cart["summary"]["discount_fen"] >= member_off
    assert status == 200 and placed_status == 201, (shown, placed)
    for amounts in (shown["amounts"], placed["amounts"]):
        assert amounts["member_discount_fen"] == member_off
        assert amounts["discount_fen"] == member_off + amounts["promotion_discount_fen"] + amounts[
            "coupon_discount_fen"]  # fmt: skip
        assert amounts["points_deduction_fen"] == 500
        goods = amounts["items_fen"] - amounts["discount_fen"]
        assert amounts["payable_fen"] == goods - 500 + amounts["shipping_fen"]
    assert shown["amounts"]["payable_fen"] == placed["amounts"]["payable_fen"]
    assert cart["summary"]["payable_fen"] == shown["amounts"]["payable_fen"] + 500  # points are chosen at checkout
    units = {line["sku_id"]: line["unit_price_fen"] for line in placed["items"]}
    assert units == {silver["sku_id"]: 650000, silver["cable"]: CABLE * 90 // 100}


def test_the_level_discount_applies_to_the_price_of_the_day_and_a_level_one_member_pays_it(
    client: ShopClient, admin_token: str, silver: dict[str, Any]
) -> None:
    flash_price(client, admin_token, silver["cable"], 4000)
    items = [{"sku_id": silver["cable"], "quantity": 1}]
    newcomer = register_and_login(client, "bob")

    mine = preview(client, silver["token"], items=items)[1]
    theirs = preview(client, newcomer, items=items)[1]

    assert mine["items"][0]["unit_price_fen"] == 4000 * 90 // 100 and mine["amounts"]["member_discount_fen"] == 400
    assert theirs["items"][0]["unit_price_fen"] == 4000 and theirs["amounts"]["member_discount_fen"] == 0


def test_a_flash_sale_order_takes_no_member_price(client: ShopClient, silver: dict[str, Any]) -> None:
    won = placing.FlashOrder(
        attempt_id="fa_1",
        user_id=user_id_of(silver["token"]),
        sku_id=silver["sku_id"],
        quantity=1,
        unit_price_fen=100000,
        address_id=silver["address_id"],
        pay_seconds=600,
    )

    placed = placing.place_flash_order(container().shop, won)

    assert placed["items"][0]["unit_price_fen"] == 100000
    assert placed["amounts"]["member_discount_fen"] == 0 and placed["amounts"]["discount_fen"] == 0


def test_bad_member_prices_are_refused_and_only_staff_set_them(
    client: ShopClient, admin_token: str, silver: dict[str, Any]
) -> None:
    customer_token = register_and_login(client, "carol")
    path = f"/admin/skus/{silver['sku_id']}/member-prices"

    def put(body: Any, token: str = admin_token, where: str = path) -> int:
        return client.call("PUT", where, body, token=token)[0]

    assert put({"items": [{"level": 9, "price_fen": 100}]}) == 400  # no such level
    assert put({"items": [{"level": 2, "price_fen": 100}, {"level": 2, "price_fen": 200}]}) == 400  # twice
    assert put({"items": [{"level": 2, "price_fen": 0}]}) == 400
    assert put({"items": [{"level": 2, "price_fen": PRICE + 1}]}) == 400  # over the list price
    assert put({"items": [{"level": 2, "price_fen": "1"}]}) == 400
    assert put({"items": []}, where="/admin/skus/p_nope-01/member-prices") == 404
    assert put({"items": []}, token=customer_token) == 403
    assert put({"items": []}) == 200  # cleared: the level's discount again
    detail = client.call("GET", f"/products/{silver['sku_id'].rsplit('-', 1)[0]}", token=silver["token"])[1]
    phone = next(sku for sku in detail["skus"] if sku["sku_id"] == silver["sku_id"])
    assert phone["member_price_fen"] == PRICE * 90 // 100
