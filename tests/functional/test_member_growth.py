"""Growth from orders: growth_per_yuan per whole yuan of the goods paid, in the payment's own transaction; taken back
pro rata by the refund's, once each, never below 0."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from app import app
from chalicelib.bootstrap import container
from chalicelib.orders import service, tasks
from tests.functional import test_refunds
from tests.functional.conftest import ShopClient
from tests.functional.order_machinery import order_machinery
from tests.functional.test_orders import wait_for_status
from tests.functional.test_refunds import FakeChannel, ask_refund, paid_order, ship

buyer, channel, timers = test_refunds.buyer, test_refunds.channel, test_refunds.timers  # the refunds tests' own


@pytest.fixture(scope="module", autouse=True)
def order_tasks_run_in_process(provisioned_aws: dict[str, str]) -> Iterator[None]:
    with order_machinery(app):
        yield


def growth_of(client: ShopClient, token: str) -> tuple[int, list[tuple[int, str, str]]]:
    mine = client.call("GET", "/me/membership", token=token)[1]
    ledger = client.call("GET", "/me/membership/growth", token=token)[1]["items"]
    return mine["growth"], [(entry["delta"], entry["reason"], entry["ref"]) for entry in ledger]


def test_a_paid_order_earns_growth_per_yuan_of_goods_once_and_its_refund_takes_it_back_once(
    client: ShopClient, buyer: dict[str, Any], admin_token: str, timers: Any, channel: FakeChannel
) -> None:
    order = paid_order(client, buyer, points=300)
    order_id, token, amounts = order["order_id"], buyer["token"], order["amounts"]
    earned = (amounts["payable_fen"] - amounts["shipping_fen"]) // 100  # growth_per_yuan 1 by default
    again = service.confirm_payment(container().shop, order_id, "pay-1", amounts["payable_fen"])
    after_pay = growth_of(client, token)

    status, refund = ask_refund(client, token, order_id, "refund_only")
    assert client.call("POST", f"/admin/refunds/{refund['refund_id']}/approve", token=admin_token)[0] == 200
    wait_for_status(client, token, order_id, "REFUNDED")
    repeated = tasks.complete_refund(container().shop, order_id)

    assert again["status"] == "PAID" and after_pay == (earned, [(earned, "order", order_id)])
    assert status == 201 and repeated == {"status": "REFUNDED"}
    assert growth_of(client, token) == (0, [(-earned, "refund", refund["refund_id"]), (earned, "order", order_id)])


def test_a_return_of_the_goods_after_receipt_takes_back_the_growth_of_what_was_refunded(
    client: ShopClient, buyer: dict[str, Any], admin_token: str, timers: Any, channel: FakeChannel
) -> None:
    order = paid_order(client, buyer)
    order_id, token = order["order_id"], buyer["token"]
    earned = growth_of(client, token)[0]
    ship(client, admin_token, order_id)
    assert client.call("POST", f"/orders/{order_id}/receive", token=token)[0] == 200

    refund = ask_refund(client, token, order_id, "return_refund")[1]
    assert client.call("POST", f"/admin/refunds/{refund['refund_id']}/approve", token=admin_token)[0] == 200
    wait_for_status(client, token, order_id, "REFUNDED")

    assert earned > 0
    assert growth_of(client, token)[0] == 0
