"""Orders through the HTTP API on moto, with the real order state machine and short timers: placing (prices, stock,
points, idempotency), payment timeout, cancel, the execution ending once paid, the paid path to COMPLETED, automatic
receipt and settlement by the sweeper's schedule, listings."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any

import boto3
import pytest

from app import app
from chalicelib.accounts.tokens import verify_access_token
from chalicelib.bootstrap import container
from chalicelib.config import reset_caches
from chalicelib.orders import service
from chalicelib.promotions.service import promotion_cache
from tests.functional.catalog_data import create_catalog, create_product
from tests.functional.conftest import ShopClient, register_and_login
from tests.functional.order_machinery import order_machinery, sweep_when_due
from tests.functional.test_coupons import claim, create_template, my_coupons

PRICE = 699900  # the first SKU of catalog_data's products (stock 10)


@pytest.fixture(scope="module", autouse=True)
def order_tasks_run_in_process(provisioned_aws: dict[str, str]) -> Iterator[None]:
    with order_machinery(app):
        yield


@pytest.fixture(autouse=True)
def no_cached_promotions() -> Iterator[None]:
    promotion_cache.forget()
    yield
    promotion_cache.forget()


@pytest.fixture
def timers(monkeypatch: pytest.MonkeyPatch) -> Callable[..., None]:
    """Set the payment timeout, the automatic receipt delay and the review window new orders get (seconds)."""

    def set_timers(payment: int, receipt: int, window: int = 1) -> None:
        monkeypatch.setenv("PAYMENT_TIMEOUT_SECONDS", str(payment))
        monkeypatch.setenv("AUTO_RECEIVE_SECONDS", str(receipt))
        monkeypatch.setenv("REVIEW_WINDOW_SECONDS", str(window))
        reset_caches()

    set_timers(3, 3)
    yield set_timers
    reset_caches()


@pytest.fixture
def shopper(client: ShopClient, admin_token: str) -> dict[str, Any]:
    """A customer with an address and 1000 points, and a phone SKU with 10 in stock."""
    create_catalog(client, admin_token)
    sku_id = create_product(client, admin_token, "华为 Mate 60")["skus"][0]["sku_id"]
    token = register_and_login(client, "alice")
    status, address, _ = client.call("POST", "/me/addresses", ADDRESS, token=token)
    assert status == 201, address
    grant = {"user_id": user_id_of(token), "points": 1000, "reason": "test"}
    status, body, _ = client.call("POST", "/admin/points/grants", grant, token=admin_token)
    assert status in (200, 201), body
    return {"token": token, "address_id": address["address_id"], "sku_id": sku_id}


ADDRESS = {"receiver": "张三", "phone": "13800138000", "province": "广东省", "city": "深圳市", "district": "南山区",
           "detail": "科技园南区 1 栋 101"}  # fmt: skip


def user_id_of(token: str) -> str:
    claims = verify_access_token(token)
    assert claims is not None
    return claims.user_id


def place(client: ShopClient, buyer: dict[str, Any], key: str = "k-1", **body: Any) -> tuple[int, Any]:
    payload = {"address_id": buyer["address_id"], "items": [{"sku_id": buyer["sku_id"], "quantity": 2}], **body}
    status, answer, _ = client.call("POST", "/orders", payload, token=buyer["token"], **{"Idempotency-Key": key})
    return status, answer


def stock_of(client: ShopClient, sku_id: str) -> int:
    product_id = sku_id.rsplit("-", 1)[0]
    status, body, _ = client.call("GET", f"/products/{product_id}")
    assert status == 200, body
    return int(next(sku["stock"] for sku in body["skus"] if sku["sku_id"] == sku_id))


def points_of(client: ShopClient, token: str) -> int:
    status, body, _ = client.call("GET", "/me/points", token=token)
    assert status == 200, body
    return int(body["balance"])


def order_of(client: ShopClient, token: str, order_id: str) -> dict[str, Any]:
    status, body, _ = client.call("GET", f"/orders/{order_id}", token=token)
    assert status == 200, body
    return dict(body)


def wait_for_status(client: ShopClient, token: str, order_id: str, wanted: str, timeout: float = 15) -> dict[str, Any]:
    """The order once it is `wanted`; the sweeper's schedule runs meanwhile (the timers after payment are its)."""
    deadline = time.monotonic() + timeout
    while True:
        sweep_when_due()
        order = order_of(client, token, order_id)
        if order["status"] == wanted or time.monotonic() > deadline:
            assert order["status"] == wanted, order
            return order
        time.sleep(0.2)


def wait_for_token(order_id: str, field: str, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while not ((order := container().shop.orders.order(order_id)) and order.token(field)):
        assert time.monotonic() < deadline, f"{field} never held"
        time.sleep(0.1)


def payment_wait_of(name: str, machine: str = "order") -> str | None:
    """The status of the order's payment wait (a refund's execution with machine="refund") once it stops, or None
    when none was started (the order paid before its start; the refund done by the sweeper past its grace)."""
    return execution_status(name, machine=machine, absent_is_none=True)


def execution_status(
    name: str, timeout: float = 15, machine: str = "order", absent_is_none: bool = False
) -> str | None:
    """The status of the execution `name` (an order id; a refund id with machine="refund") once it stops running, or
    RUNNING after `timeout` seconds; one not started yet is waited for (15 s more at most), or is None at once with
    `absent_is_none`."""
    sfn = boto3.client("stepfunctions")
    arn = sfn.list_state_machines()["stateMachines"]
    machine_arn = next(m["stateMachineArn"] for m in arn if m["name"] == f"shop-local-{machine}")
    execution_arn = machine_arn.replace(":stateMachine:", ":execution:") + f":{name}"
    deadline = time.monotonic() + timeout
    while True:
        sweep_when_due()
        try:
            status = str(sfn.describe_execution(executionArn=execution_arn)["status"])
        except sfn.exceptions.ExecutionDoesNotExist:
            if absent_is_none:
                return None
            assert time.monotonic() < deadline + 15, f"no {machine} execution {name}"  # its start may lag
            time.sleep(0.2)
            continue
        if status != "RUNNING" or time.monotonic() > deadline:
            return status
        time.sleep(0.2)


def test_an_order_is_priced_from_the_catalog_takes_stock_and_points_and_awaits_payment(
    client: ShopClient, shopper: dict[str, Any], timers: Callable[[int, int], None]
) -> None:
    timers(60, 60)
    status, order = place(client, shopper, points=500, remark="请尽快发货")

    assert status == 201, order
    assert order["status"] == "PENDING_PAYMENT"
    assert order["order_no"].isdigit() and len(order["order_no"]) == 20
    assert order["amounts"] == {
        "items_fen": 2 * PRICE, "discount_fen": 0, "promotion_discount_fen": 0, "coupon_discount_fen": 0,
        "member_discount_fen": 0, "points_deduction_fen": 500, "shipping_fen": 0, "payable_fen": 2 * PRICE - 500,
    }  # fmt: skip
    assert order["items"][0]["title"] == "华为 Mate 60" and order["items"][0]["attributes"] == {"颜色": "雅川青"}
    assert order["items"][0]["unit_price_fen"] == PRICE and order["items"][0]["quantity"] == 2
    assert stock_of(client, shopper["sku_id"]) == 8
    assert points_of(client, shopper["token"]) == 500
    read = order_of(client, shopper["token"], order["order_id"])
    assert read["timeline"] == [{"status": "PENDING_PAYMENT", "at": order["created_at"]}]
    assert read["pay_deadline"] == order["pay_deadline"]
    mine = client.call("GET", "/me/orders?status=PENDING_PAYMENT", token=shopper["token"])[1]
    assert [o["order_id"] for o in mine["items"]] == [order["order_id"]]
    assert client.call("GET", "/me/orders?status=PAID", token=shopper["token"])[1]["items"] == []
    wait_for_token(order["order_id"], "payment_token")


def test_the_same_key_and_body_return_the_original_order_and_another_body_is_a_conflict(
    client: ShopClient, shopper: dict[str, Any], timers: Callable[[int, int], None]
) -> None:
    first = place(client, shopper, key="same")
    again = place(client, shopper, key="same")
    other_body = place(client, shopper, key="same", remark="different")

    assert first[0] == 201 and again == first
    assert other_body[0] == 409 and other_body[1]["code"] == "CONFLICT"
    assert stock_of(client, shopper["sku_id"]) == 8
    assert len(client.call("GET", "/me/orders", token=shopper["token"])[1]["items"]) == 1


def test_a_retry_that_could_no_longer_be_placed_still_returns_the_original_order(
    client: ShopClient, admin_token: str, shopper: dict[str, Any], timers: Callable[[int, int], None]
) -> None:
    first = place(client, shopper, key="retry", items=[{"sku_id": shopper["sku_id"], "quantity": 10}], points=500)
    assert first[0] == 201 and stock_of(client, shopper["sku_id"]) == 0

    again = place(client, shopper, key="retry", items=[{"sku_id": shopper["sku_id"], "quantity": 10}], points=500)
    sold_out = place(client, shopper, key="another", items=[{"sku_id": shopper["sku_id"], "quantity": 10}])

    assert again == first  # the stock, and the points, went to the first order: the retry is answered with it
    assert sold_out[0] == 409 and sold_out[1]["code"] == "OUT_OF_STOCK"
    assert len(client.call("GET", "/me/orders", token=shopper["token"])[1]["items"]) == 1


def test_an_order_without_an_idempotency_key_is_a_validation_error(client: ShopClient, shopper: dict[str, Any]) -> None:
    body = {"address_id": shopper["address_id"], "items": [{"sku_id": shopper["sku_id"], "quantity": 1}]}
    status, answer, _ = client.call("POST", "/orders", body, token=shopper["token"])

    assert status == 400 and answer["code"] == "VALIDATION_ERROR"
    assert stock_of(client, shopper["sku_id"]) == 10


def test_an_order_short_of_stock_is_refused_naming_the_sku_and_changes_nothing(
    client: ShopClient, shopper: dict[str, Any], timers: Callable[[int, int], None]
) -> None:
    status, answer = place(client, shopper, items=[{"sku_id": shopper["sku_id"], "quantity": 11}], points=500)

    assert status == 409 and answer["code"] == "OUT_OF_STOCK"
    assert answer["sku_ids"] == [shopper["sku_id"]]
    assert stock_of(client, shopper["sku_id"]) == 10
    assert points_of(client, shopper["token"]) == 1000
    assert client.call("GET", "/me/orders", token=shopper["token"])[1]["items"] == []


def test_another_users_order_is_not_found(client: ShopClient, shopper: dict[str, Any]) -> None:
    order = place(client, shopper)[1]
    bob = register_and_login(client, "bob")

    for method, path in (("GET", ""), ("POST", "/cancel"), ("POST", "/receive"), ("GET", "/tracking")):
        status, body, _ = client.call(method, f"/orders/{order['order_id']}{path}", token=bob)
        assert status == 404 and body["code"] == "NOT_FOUND", (method, path)
    assert client.call("GET", "/me/orders", token=bob)[1]["items"] == []


def test_an_unpaid_order_is_cancelled_when_its_payment_times_out_and_stock_and_points_come_back(
    client: ShopClient, shopper: dict[str, Any], timers: Callable[[int, int], None]
) -> None:
    timers(1, 60)
    order = place(client, shopper, points=300)[1]

    cancelled = wait_for_status(client, shopper["token"], order["order_id"], "CANCELLED")

    assert [entry["status"] for entry in cancelled["timeline"]] == ["PENDING_PAYMENT", "CANCELLED"]
    assert stock_of(client, shopper["sku_id"]) == 10
    assert points_of(client, shopper["token"]) == 1000
    assert execution_status(order["order_id"]) == "SUCCEEDED"


def test_cancelling_an_unpaid_order_gives_everything_back_and_a_later_payment_must_be_refunded(
    client: ShopClient, shopper: dict[str, Any], timers: Callable[[int, int], None]
) -> None:
    timers(60, 60)
    order = place(client, shopper, points=300)[1]
    wait_for_token(order["order_id"], "payment_token")

    status, body, _ = client.call("POST", f"/orders/{order['order_id']}/cancel", token=shopper["token"])
    again = client.call("POST", f"/orders/{order['order_id']}/cancel", token=shopper["token"])
    late = service.confirm_payment(container().shop, order["order_id"], "pay-1", order["amounts"]["payable_fen"])

    assert status == 200 and body["status"] == "CANCELLED"
    assert again[0] == 409 and again[1]["code"] == "INVALID_STATE"
    assert late == {"order_id": order["order_id"], "status": "CANCELLED", "refund_required": True}
    assert stock_of(client, shopper["sku_id"]) == 10
    assert points_of(client, shopper["token"]) == 1000
    assert execution_status(order["order_id"]) == "SUCCEEDED"


def test_a_paid_order_is_shipped_tracked_received_and_completed_with_points_and_sales(
    client: ShopClient, shopper: dict[str, Any], admin_token: str, timers: Callable[[int, int], None]
) -> None:
    timers(60, 60)
    order = place(client, shopper)[1]
    order_id, payable = order["order_id"], order["amounts"]["payable_fen"]
    wait_for_token(order_id, "payment_token")

    wrong = client.call("POST", f"/admin/orders/{order_id}/ship", {"carrier": "sf", "tracking_no": "SF1"},
                        token=admin_token)  # fmt: skip
    paid = service.confirm_payment(container().shop, order_id, "pay-1", payable)
    duplicate = service.confirm_payment(container().shop, order_id, "pay-1", payable)
    execution_once_paid = execution_status(order_id)
    shipped = client.call("POST", f"/admin/orders/{order_id}/ship", {"carrier": "sf", "tracking_no": "SF1"},
                          token=admin_token)  # fmt: skip
    tracking = client.call("GET", f"/orders/{order_id}/tracking", token=shopper["token"])
    received = client.call("POST", f"/orders/{order_id}/receive", token=shopper["token"])
    completed = wait_for_status(client, shopper["token"], order_id, "COMPLETED")

    assert wrong[0] == 409 and wrong[1]["code"] == "INVALID_STATE"
    assert paid["status"] == "PAID" and duplicate["status"] == "PAID" and not duplicate["refund_required"]
    assert execution_once_paid == "SUCCEEDED"  # the execution lives for the payment wait only
    assert shipped[0] == 200 and shipped[1]["shipment"]["tracking_no"] == "SF1"
    assert tracking[0] == 200 and tracking[1]["carrier_code"] == "shunfeng" and tracking[1]["events"] == []
    assert received[0] == 200 and received[1]["status"] == "RECEIVED"
    statuses = [entry["status"] for entry in completed["timeline"]]
    assert statuses == ["PENDING_PAYMENT", "PAID", "SHIPPED", "RECEIVED", "COMPLETED"]
    assert points_of(client, shopper["token"]) == 1000 + payable // 100
    product = client.call("GET", f"/products/{shopper['sku_id'].rsplit('-', 1)[0]}")[1]
    assert product["sales"] == 2
    assert execution_status(order_id) == "SUCCEEDED"
    admin_list = client.call("GET", "/admin/orders?status=COMPLETED", token=admin_token)[1]
    assert [o["order_id"] for o in admin_list["items"]] == [order_id]
    review = {"items": [{"sku_id": shopper["sku_id"], "rating": 5, "content": "很好"}]}
    assert client.call("POST", f"/orders/{order_id}/reviews", review, token=shopper["token"])[0] == 201


def test_a_shipped_order_nobody_confirms_is_received_and_later_settled_by_the_sweeper_alone(
    client: ShopClient, shopper: dict[str, Any], admin_token: str, timers: Callable[..., None]
) -> None:
    # GIVEN a paid order whose execution ended with the payment, shipped, received automatically after 2 s
    timers(60, 2, 2)
    order = place(client, shopper)[1]
    order_id = order["order_id"]
    review = {"items": [{"sku_id": shopper["sku_id"], "rating": 5, "content": "很好"}]}
    early_review = client.call("POST", f"/orders/{order_id}/reviews", review, token=shopper["token"])
    wait_for_token(order_id, "payment_token")
    service.confirm_payment(container().shop, order_id, "pay-1", order["amounts"]["payable_fen"])
    ended = execution_status(order_id)
    status, _, _ = client.call("POST", f"/admin/orders/{order_id}/ship", {"carrier": "sf", "tracking_no": "SF2"},
                               token=admin_token)  # fmt: skip

    # WHEN nobody confirms receipt: the sweeper's schedule runs (no execution is left)
    received = wait_for_status(client, shopper["token"], order_id, "RECEIVED")
    completed = wait_for_status(client, shopper["token"], order_id, "COMPLETED")

    # THEN it was received at its receipt deadline, then settled when the return window closed
    assert ended == "SUCCEEDED" and status == 200
    assert early_review[0] == 409 and early_review[1]["code"] == "INVALID_STATE"
    assert [e["status"] for e in completed["timeline"]][-3:] == ["SHIPPED", "RECEIVED", "COMPLETED"]
    shipped_at, received_at, completed_at = (
        datetime.fromisoformat(e["at"].replace("Z", "+00:00")) for e in completed["timeline"][-3:]
    )
    assert (received_at - shipped_at).total_seconds() >= 2 and (completed_at - received_at).total_seconds() >= 2
    assert received["status"] == "RECEIVED" and points_of(client, shopper["token"]) > 1000


def test_ordering_from_the_cart_buys_the_selected_lines_and_removes_them(
    client: ShopClient, shopper: dict[str, Any], timers: Callable[[int, int], None]
) -> None:
    client.call("POST", "/cart/items", {"sku_id": shopper["sku_id"], "quantity": 3}, token=shopper["token"])

    status, order = place(client, shopper, key="cart", items=None, from_cart=True)

    assert status == 201, order
    assert [(line["sku_id"], line["quantity"]) for line in order["items"]] == [(shopper["sku_id"], 3)]
    assert client.call("GET", "/cart", token=shopper["token"])[1]["items"] == []
    assert stock_of(client, shopper["sku_id"]) == 7


def test_a_coupon_is_locked_by_the_order_back_on_cancel_and_used_once_paid(
    client: ShopClient, shopper: dict[str, Any], admin_token: str, timers: Callable[[int, int], None]
) -> None:
    timers(60, 60)
    template = create_template(client, admin_token)
    status, coupon = claim(client, shopper["token"], template["template_id"])
    assert status == 201, coupon

    first = place(client, shopper, key="c1", coupon_id=coupon["coupon_id"])[1]
    second = place(client, shopper, key="c2", coupon_id=coupon["coupon_id"])
    locked = my_coupons(client, shopper["token"])
    client.call("POST", f"/orders/{first['order_id']}/cancel", token=shopper["token"])
    released = my_coupons(client, shopper["token"])
    third = place(client, shopper, key="c3", coupon_id=coupon["coupon_id"])[1]
    service.confirm_payment(container().shop, third["order_id"], "pay-3", third["amounts"]["payable_fen"])

    assert first["amounts"]["coupon_discount_fen"] == 3000 and first["coupon_id"] == coupon["coupon_id"]
    assert first["amounts"]["payable_fen"] == 2 * PRICE - 3000
    assert second[0] == 409, second
    assert [c["status"] for c in locked] == ["locked"]
    assert [c["status"] for c in released] == ["unused"]
    assert [c["status"] for c in my_coupons(client, shopper["token"])] == ["used"]
