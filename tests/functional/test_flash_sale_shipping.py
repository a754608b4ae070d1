"""Flash-sale orders ship as usual, on moto: a won attempt of a SKU with a freight template pays the template's fee
for its address's province (nothing over its free_over_fen), a SKU without one keeps the flat rule, an attempt to
an excluded province is refused at admission with 409 UNDELIVERABLE (no unit taken, nothing counted against the
limit), and one whose address left the delivery area before its decision loses and gives its unit back."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from app import app
from local.aws.pollers import stop_pollers
from local.aws.sqs_poller import SqsPoller, sqs_handlers
from tests.functional.catalog_data import create_catalog
from tests.functional.conftest import ShopClient, register_and_login
from tests.functional.order_machinery import order_machinery
from tests.functional.test_flash_sale import decided, new_session, remaining, try_buy
from tests.functional.test_logistics_freight import create_goods, create_template
from tests.functional.test_orders import ADDRESS

FAR = {**ADDRESS, "province": "新疆维吾尔自治区", "city": "乌鲁木齐市", "district": "天山区"}  # a region of TEMPLATE
EXCLUDED = {**ADDRESS, "province": "台湾省", "city": "台北市", "district": "中正区"}  # excluded by TEMPLATE


@pytest.fixture(scope="module", autouse=True)
def machinery(provisioned_aws: dict[str, str]) -> Iterator[None]:
    with order_machinery(app):
        yield


@pytest.fixture
def consumer() -> Iterator[Callable[[], None]]:
    """Starts the admission queue's consumer (polled as `make run` polls it) when the test asks."""
    pollers: list[SqsPoller] = []

    def start() -> None:
        pollers.extend(SqsPoller(app, c, "local") for c in sqs_handlers(app) if c.name == "decide_flash_sale_attempts")
        for poller in pollers:
            poller.start()

    yield start
    stop_pollers(pollers)


@pytest.fixture
def goods(client: ShopClient, admin_token: str) -> dict[str, str]:
    """TEMPLATE (8 yuan the first kg then 2 per started 500 g; 新疆 20 + 10 per started kg; free from 300 yuan;
    not to 台湾省): a 1.2 kg rice cooker of 50 yuan and a 10 kg TV of 500 yuan using it, a 50-yuan phone case
    without a template."""
    create_catalog(client, admin_token)
    template = create_template(client, admin_token)
    heavy = create_goods(client, admin_token, "电饭煲", 5000, 1200, template["template_id"])
    dear = create_goods(client, admin_token, "电视机", 50000, 10000, template["template_id"])
    plain = create_goods(client, admin_token, "手机壳", 5000, None, None)
    return {"heavy": heavy["skus"][0]["sku_id"], "dear": dear["skus"][0]["sku_id"], "plain": plain["skus"][0]["sku_id"]}


def buyer_at(client: ShopClient, name: str, address: dict[str, Any]) -> tuple[str, str]:
    token = register_and_login(client, name)
    status, body, _ = client.call("POST", "/me/addresses", address, token=token)
    assert status == 201, body
    return token, str(body["address_id"])


def won_order(client: ShopClient, token: str, status: int, queued: dict[str, Any]) -> dict[str, Any]:
    assert status == 202, queued
    attempt = decided(client, token, queued["attempt_id"])
    assert attempt["status"] == "WON", attempt
    status, order, _ = client.call("GET", f"/orders/{attempt['order_id']}", token=token)
    assert status == 200, order
    return dict(order)


def test_a_flash_order_of_a_templated_sku_pays_the_templates_fee_for_its_addresss_province(
    client: ShopClient, admin_token: str, goods: dict[str, str], consumer: Callable[[], None]
) -> None:
    # GIVEN the rice cooker at 30 yuan in a running flash sale, a buyer in 广东省 and one with a 新疆 address too
    _, session = new_session(client, admin_token, goods["heavy"], promo_price_fen=3000, per_user_limit=2)
    consumer()
    south, _ = buyer_at(client, "south", ADDRESS)
    west, _ = buyer_at(client, "west", ADDRESS)
    far_id = client.call("POST", "/me/addresses", FAR, token=west)[1]["address_id"]

    # WHEN the first wins 2 (2.4 kg) to the default address, the second 1 (1.2 kg) to the 新疆 one
    south_order = won_order(
        client, south, *try_buy(client, south, session["session_id"], goods["heavy"], "k", quantity=2)
    )
    west_order = won_order(
        client, west, *try_buy(client, west, session["session_id"], goods["heavy"], "k", address_id=far_id)
    )

    # THEN 广东省 pays the default fees: 8 yuan + 3 started 500 g beyond the first kg x 2 yuan = 14 yuan
    assert south_order["amounts"]["shipping_fen"] == 1400
    assert south_order["amounts"]["payable_fen"] == 6000 + 1400
    # AND 新疆 its region's: 20 yuan + 1 started kg x 10 yuan = 30 yuan, shipped to the address it named
    assert west_order["amounts"]["shipping_fen"] == 3000
    assert west_order["amounts"]["payable_fen"] == 3000 + 3000
    assert west_order["address"]["province"] == "新疆维吾尔自治区"


def test_a_flash_order_reaching_the_templates_free_over_amount_ships_free(
    client: ShopClient, admin_token: str, goods: dict[str, str], consumer: Callable[[], None]
) -> None:
    # GIVEN the 10 kg TV at 400 yuan, over the template's free_over_fen (300 yuan)
    _, session = new_session(client, admin_token, goods["dear"], promo_price_fen=40000)
    consumer()
    token, _ = buyer_at(client, "rich", ADDRESS)

    # WHEN a buyer wins one
    order = won_order(client, token, *try_buy(client, token, session["session_id"], goods["dear"], "k"))

    # THEN it ships free
    assert order["amounts"]["shipping_fen"] == 0
    assert order["amounts"]["payable_fen"] == 40000


def test_a_flash_order_of_a_sku_without_a_template_keeps_the_flat_rule(
    client: ShopClient, admin_token: str, goods: dict[str, str], consumer: Callable[[], None]
) -> None:
    # GIVEN the phone case (no template) at 30 yuan, below the flat rule's 99 yuan
    _, session = new_session(client, admin_token, goods["plain"], promo_price_fen=3000)
    consumer()
    token, _ = buyer_at(client, "plain", EXCLUDED)  # the flat rule ships anywhere

    # WHEN a buyer wins one
    order = won_order(client, token, *try_buy(client, token, session["session_id"], goods["plain"], "k"))

    # THEN it pays the flat 10 yuan
    assert order["amounts"]["shipping_fen"] == 1000
    assert order["amounts"]["payable_fen"] == 3000 + 1000


def test_an_attempt_to_an_excluded_province_is_refused_at_admission_and_takes_nothing(
    client: ShopClient, admin_token: str, goods: dict[str, str], consumer: Callable[[], None]
) -> None:
    # GIVEN a running sale of the rice cooker (3 units, 1 per buyer) and a buyer in 广东省 with a 台湾省 address too
    _, session = new_session(client, admin_token, goods["heavy"], promo_price_fen=3000)
    consumer()
    token, _ = buyer_at(client, "island", ADDRESS)
    excluded_id = client.call("POST", "/me/addresses", EXCLUDED, token=token)[1]["address_id"]

    # WHEN they try to have it delivered to 台湾省
    status, refused = try_buy(client, token, session["session_id"], goods["heavy"], "k1", address_id=excluded_id)

    # THEN 409 UNDELIVERABLE with the error body, and nothing is taken from the sale
    assert (status, refused["code"]) == (409, "UNDELIVERABLE"), refused
    assert refused["message"] and refused["request_id"]
    assert remaining(client, session["session_id"]) == 3
    # AND nothing counted against their limit: an attempt to the default address is queued and won
    won_order(client, token, *try_buy(client, token, session["session_id"], goods["heavy"], "k2"))
    assert remaining(client, session["session_id"]) == 2


def test_an_attempt_whose_address_left_the_delivery_area_before_its_decision_loses_and_gives_its_unit_back(
    client: ShopClient, admin_token: str, goods: dict[str, str], consumer: Callable[[], None]
) -> None:
    # GIVEN an attempt admitted to a 广东省 address, not decided yet
    _, session = new_session(client, admin_token, goods["heavy"], promo_price_fen=3000)
    token, address_id = buyer_at(client, "mover", ADDRESS)
    status, queued = try_buy(client, token, session["session_id"], goods["heavy"], "k1")
    assert status == 202, queued

    # WHEN the address is edited to 台湾省 before the queue's consumer decides it
    status, body, _ = client.call("PUT", f"/me/addresses/{address_id}", EXCLUDED, token=token)
    assert status == 200, body
    consumer()

    # THEN it is LOST as any attempt whose order cannot be placed, no order is made, and its unit is back
    attempt = decided(client, token, queued["attempt_id"])
    assert (attempt["status"], attempt["reason"], attempt["order_id"]) == ("LOST", "SOLD_OUT", None), attempt
    assert client.call("GET", "/me/orders", token=token)[1]["items"] == []
    assert remaining(client, session["session_id"]) == 3
    # AND the buyer's limit is free again (now refused at admission for the new address)
    status, refused = try_buy(client, token, session["session_id"], goods["heavy"], "k2")
    assert (status, refused["code"]) == (409, "UNDELIVERABLE"), refused
