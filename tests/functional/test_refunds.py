"""Refunds and returns through the HTTP API on moto, with the real state machines (an approved refund runs in its own
execution) and short timers acted on by the sweeper's schedule: refund_only on a paid order, a return after receipt,
a rejection that puts the order back where it was, the review window before settlement, a product deleted before
settlement, and a refund the channel keeps failing landing in the DLQ. One test pays and refunds through the real
sandbox channel and its gateway emulator; the others refund through a fake channel."""

from __future__ import annotations

import dataclasses
import json
import time
import urllib.request
from collections.abc import Callable, Iterator
from typing import Any

import boto3
import pytest

from app import app
from chalicelib.bootstrap import container
from chalicelib.bootstrap.orders import RefundsThroughPayments
from chalicelib.catalog.models import ProductItem, product_pk
from chalicelib.config import reset_caches
from chalicelib.errors import DependencyUnavailable
from chalicelib.orders import service, tasks
from chalicelib.orders.domain import Order, Refund
from chalicelib.orders.dynamo_repository import DynamoOrdersRepository
from chalicelib.orders.steps import Step
from chalicelib.promotions.service import promotion_cache
from tests.functional import test_payments
from tests.functional.catalog_data import create_catalog, create_product
from tests.functional.conftest import ShopClient, register_and_login
from tests.functional.order_machinery import order_machinery
from tests.functional.test_coupons import claim, create_template, my_coupons
from tests.functional.test_orders import (
    ADDRESS,
    execution_status,
    order_of,
    payment_wait_of,
    place,
    points_of,
    stock_of,
    user_id_of,
    wait_for_status,
    wait_for_token,
)


@pytest.fixture(scope="module", autouse=True)
def order_tasks_run_in_process(provisioned_aws: dict[str, str]) -> Iterator[None]:
    with order_machinery(app):
        yield


gateway_keys = test_payments.gateway_keys  # the payment gateway emulators, as the payments tests run them
delivered = test_payments.delivered
gateways = test_payments.gateways


@pytest.fixture(autouse=True)
def no_cached_promotions() -> Iterator[None]:
    promotion_cache.forget()
    yield
    promotion_cache.forget()


@pytest.fixture
def timers(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[int, int, int], None]]:
    """Set the payment timeout, the automatic receipt delay and the review window new orders get (seconds)."""

    def set_timers(payment: int, receipt: int, window: int) -> None:
        monkeypatch.setenv("PAYMENT_TIMEOUT_SECONDS", str(payment))
        monkeypatch.setenv("AUTO_RECEIVE_SECONDS", str(receipt))
        monkeypatch.setenv("REVIEW_WINDOW_SECONDS", str(window))
        reset_caches()

    set_timers(60, 60, 60)
    yield set_timers
    reset_caches()


@pytest.fixture
def buyer(client: ShopClient, admin_token: str) -> dict[str, Any]:
    """A customer with an address and 1000 points, and a phone SKU with 10 in stock."""
    create_catalog(client, admin_token)
    sku_id = create_product(client, admin_token, "华为 Mate 60")["skus"][0]["sku_id"]
    token = register_and_login(client, "alice")
    address = client.call("POST", "/me/addresses", ADDRESS, token=token)[1]
    grant = {"user_id": user_id_of(token), "points": 1000, "reason": "test"}
    assert client.call("POST", "/admin/points/grants", grant, token=admin_token)[0] in (200, 201)
    return {"token": token, "address_id": address["address_id"], "sku_id": sku_id}


class FakeChannel:
    """The paying channel's refunds as chalicelib.payments will offer them: each refund id refunds once."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str, int]] = []
        self.failure: Exception | None = None

    def refund(self, order: Order, refund_id: str, amount_fen: int, reason: str = "") -> str:
        self.calls.append((order.order_id, refund_id, amount_fen))
        if self.failure is not None:
            raise self.failure
        return "SUCCESS"


@pytest.fixture
def channel(monkeypatch: pytest.MonkeyPatch) -> FakeChannel:
    """The shop refunds through this fake instead of the payments context, whichever container the timers build."""
    fake = FakeChannel()
    monkeypatch.setattr(RefundsThroughPayments, "refund", lambda _, *args: fake.refund(*args))
    return fake


def paid_order(client: ShopClient, buyer: dict[str, Any], **body: Any) -> dict[str, Any]:
    order = place(client, buyer, **body)[1]
    wait_for_token(order["order_id"], "payment_token")
    paid = service.confirm_payment(container().shop, order["order_id"], "pay-1", order["amounts"]["payable_fen"])
    assert paid["status"] == "PAID"
    assert execution_status(order["order_id"]) == "SUCCEEDED"  # its execution ends with the payment wait
    return dict(order)


def ship(client: ShopClient, admin_token: str, order_id: str) -> None:
    status, body, _ = client.call("POST", f"/admin/orders/{order_id}/ship", {"carrier": "sf", "tracking_no": "SF1"},
                                  token=admin_token)  # fmt: skip
    assert status == 200, body


def ask_refund(client: ShopClient, token: str, order_id: str, kind: str) -> tuple[int, Any]:
    status, body, _ = client.call(
        "POST", f"/orders/{order_id}/refunds", {"type": kind, "reason": "不想要了"}, token=token
    )
    return status, body


def statuses(order: dict[str, Any]) -> list[str]:
    return [entry["status"] for entry in order["timeline"]]


def sales_of(client: ShopClient, sku_id: str) -> int:
    return int(client.call("GET", f"/products/{sku_id.rsplit('-', 1)[0]}")[1]["sales"])


def test_a_refund_only_request_on_a_paid_order_is_refunded_through_the_channel_with_stock_and_points_back(
    client: ShopClient, buyer: dict[str, Any], admin_token: str, timers: Any, channel: FakeChannel
) -> None:
    order = paid_order(client, buyer, points=300)
    order_id, token = order["order_id"], buyer["token"]

    status, refund = ask_refund(client, token, order_id, "refund_only")
    again = ask_refund(client, token, order_id, "refund_only")
    ship_meanwhile = client.call("POST", f"/admin/orders/{order_id}/ship", {"carrier": "sf", "tracking_no": "SF1"},
                                 token=admin_token)  # fmt: skip
    queue = client.call("GET", "/admin/refunds?status=PENDING", token=admin_token)[1]
    approved = client.call("POST", f"/admin/refunds/{refund['refund_id']}/approve", token=admin_token)
    refunded = wait_for_status(client, token, order_id, "REFUNDED")

    assert status == 201 and (refund["status"], refund["amount_fen"]) == ("PENDING", order["amounts"]["payable_fen"])
    assert again[0] == 409 and again[1]["code"] == "CONFLICT"
    assert ship_meanwhile[0] == 409 and ship_meanwhile[1]["code"] == "INVALID_STATE"
    assert [(r["refund_id"], r["order_id"]) for r in queue["items"]] == [(refund["refund_id"], order_id)]
    assert approved[0] == 200 and approved[1]["status"] == "APPROVED"
    assert statuses(refunded) == ["PENDING_PAYMENT", "PAID", "REFUNDING", "REFUNDED"]
    assert channel.calls == [(order_id, refund["refund_id"], order["amounts"]["payable_fen"])]
    assert stock_of(client, buyer["sku_id"]) == 10
    assert points_of(client, token) == 1000
    mine = client.call("GET", f"/orders/{order_id}/refunds", token=token)[1]["items"]
    assert [(r["refund_id"], r["status"]) for r in mine] == [(refund["refund_id"], "REFUNDED")]
    assert mine[0]["refunded_at"] is not None and refunded["refund_id"] == refund["refund_id"]
    assert execution_status(refund["refund_id"], machine="refund") == "SUCCEEDED"  # the refund's own execution


def test_a_return_after_receipt_refunds_all_but_shipping_gives_stock_and_points_used_back_and_earns_nothing(
    client: ShopClient, buyer: dict[str, Any], admin_token: str, timers: Any, channel: FakeChannel
) -> None:
    order = paid_order(client, buyer, points=300)
    order_id, token, amounts = order["order_id"], buyer["token"], order["amounts"]
    ship(client, admin_token, order_id)
    assert client.call("POST", f"/orders/{order_id}/receive", token=token)[0] == 200

    status, refund = ask_refund(client, token, order_id, "return_refund")
    approved = client.call("POST", f"/admin/refunds/{refund['refund_id']}/approve", token=admin_token)  # no wait
    refunded = wait_for_status(client, token, order_id, "REFUNDED")
    review = {"items": [{"sku_id": buyer["sku_id"], "rating": 5, "content": "很好"}]}
    late_review = client.call("POST", f"/orders/{order_id}/reviews", review, token=token)

    assert status == 201 and approved[0] == 200
    assert refund["amount_fen"] == amounts["payable_fen"] - amounts["shipping_fen"]
    assert statuses(refunded)[-4:] == ["SHIPPED", "RECEIVED", "REFUNDING", "REFUNDED"]
    assert channel.calls == [(order_id, refund["refund_id"], refund["amount_fen"])]
    assert stock_of(client, buyer["sku_id"]) == 10
    assert points_of(client, token) == 1000  # the 300 used came back; nothing was earned
    assert sales_of(client, buyer["sku_id"]) == 0
    assert late_review[0] == 409
    assert execution_status(order_id) == "SUCCEEDED"


def with_coupon(client: ShopClient, admin_token: str, buyer: dict[str, Any]) -> str:
    """A claimed 满300减30 coupon of the buyer's, valid 30 days."""
    template = create_template(client, admin_token, name="满300减30")
    status, coupon = claim(client, buyer["token"], template["template_id"])
    assert status == 201, coupon
    return str(coupon["coupon_id"])


def coupon_status(client: ShopClient, token: str, coupon_id: str) -> str:
    return next(c["status"] for c in my_coupons(client, token) if c["coupon_id"] == coupon_id)


def test_an_order_refunded_in_full_before_shipping_gives_its_coupon_back_and_a_return_after_shipping_does_not(
    client: ShopClient, buyer: dict[str, Any], admin_token: str, timers: Any, channel: FakeChannel
) -> None:
    # GIVEN two paid orders, each with a coupon; the second is shipped
    kept, returned = with_coupon(client, admin_token, buyer), with_coupon(client, admin_token, buyer)
    unshipped = paid_order(client, buyer, coupon_id=kept)
    shipped = paid_order(client, buyer, key="k-2", coupon_id=returned)
    ship(client, admin_token, shipped["order_id"])

    # WHEN the first is refunded (refund_only: everything paid) and the second returned after shipping
    for order, kind in ((unshipped, "refund_only"), (shipped, "return_refund")):
        refund = ask_refund(client, buyer["token"], order["order_id"], kind)[1]
        assert client.call("POST", f"/admin/refunds/{refund['refund_id']}/approve", token=admin_token)[0] == 200
        wait_for_status(client, buyer["token"], order["order_id"], "REFUNDED")

    # THEN only the unshipped order's coupon is unused again, and it applies to a new order
    assert coupon_status(client, buyer["token"], kept) == "unused"
    assert coupon_status(client, buyer["token"], returned) == "used"
    again = place(client, buyer, key="k-3", coupon_id=kept)
    assert again[0] == 201 and again[1]["amounts"]["coupon_discount_fen"] == 3000


def test_a_coupon_comes_back_once_when_two_completions_race_and_a_cancel_comes_in_between(
    client: ShopClient, buyer: dict[str, Any], admin_token: str, timers: Any, channel: FakeChannel
) -> None:
    # GIVEN a paid order with a coupon whose refund is approved, the channel still busy (the execution retries)
    coupon_id = with_coupon(client, admin_token, buyer)
    order_id = paid_order(client, buyer, points=300, coupon_id=coupon_id)["order_id"]
    channel.failure = DependencyUnavailable("provider busy")
    refund = ask_refund(client, buyer["token"], order_id, "refund_only")[1]
    assert client.call("POST", f"/admin/refunds/{refund['refund_id']}/approve", token=admin_token)[0] == 200
    assert execution_status(refund["refund_id"], timeout=1, machine="refund") == "RUNNING"  # retrying the channel

    # WHEN a completion runs while another completes first, and the customer tries to cancel meanwhile
    cancels: list[tuple[int, Any]] = []

    def rival() -> None:
        tasks.complete_refund(container().shop, order_id)
        status, body, _ = client.call("POST", f"/orders/{order_id}/cancel", token=buyer["token"])
        cancels.append((status, body))

    racing = dataclasses.replace(container().shop, orders=CompletionWithARival(rival))
    outcome = tasks.complete_refund(racing, order_id)
    channel.failure = None  # the execution's own retries now find the order refunded

    # THEN the order is refunded once: the coupon is back unused, the points used credited once, no cancel
    assert outcome == {"status": "REFUNDED"}
    assert (cancels[0][0], cancels[0][1]["code"]) == (409, "INVALID_STATE")
    assert coupon_status(client, buyer["token"], coupon_id) == "unused"
    assert points_of(client, buyer["token"]) == 1000
    ledger = client.call("GET", "/me/points", token=buyer["token"])[1]["items"]
    assert [entry["delta"] for entry in ledger] == [300, -300, 1000]
    assert execution_status(refund["refund_id"], timeout=40, machine="refund") == "SUCCEEDED"


class CompletionWithARival(DynamoOrdersRepository):
    """Dynamo orders where another completion of the same refund commits between this one's reads and its write."""

    def __init__(self, rival: Callable[[], None]) -> None:
        self.rival: Callable[[], None] | None = rival

    def complete_refund(self, step: Step, refund: Refund) -> bool:
        if self.rival is not None:
            rival, self.rival = self.rival, None
            rival()
        return super().complete_refund(step, refund)


def test_a_rejected_return_puts_the_order_back_and_it_is_still_received_automatically_and_completed(
    client: ShopClient, buyer: dict[str, Any], admin_token: str, timers: Any, channel: FakeChannel
) -> None:
    timers(60, 6, 1)  # receipt after 6 s: enough for the return to be asked first on a loaded machine
    order = paid_order(client, buyer)
    order_id, token = order["order_id"], buyer["token"]
    ship(client, admin_token, order_id)

    refund = ask_refund(client, token, order_id, "return_refund")[1]
    status, rejected, _ = client.call("POST", f"/admin/refunds/{refund['refund_id']}/reject",
                                      {"reason": "商品已拆封"}, token=admin_token)  # fmt: skip
    back = order_of(client, token, order_id)
    completed = wait_for_status(client, token, order_id, "COMPLETED", timeout=30)

    assert status == 200 and (rejected["status"], rejected["reject_reason"]) == ("REJECTED", "商品已拆封")
    assert back["status"] == "SHIPPED"
    assert statuses(completed)[-5:] == ["SHIPPED", "REFUNDING", "SHIPPED", "RECEIVED", "COMPLETED"]
    assert channel.calls == []
    assert points_of(client, token) == 1000 + order["amounts"]["payable_fen"] // 100
    assert stock_of(client, buyer["sku_id"]) == 8
    mine = client.call("GET", f"/orders/{order_id}/refunds", token=token)[1]["items"]
    assert [(r["status"], r["reject_reason"]) for r in mine] == [("REJECTED", "商品已拆封")]
    assert execution_status(order_id) == "SUCCEEDED"


def test_a_received_order_stays_received_during_its_review_window_then_completes_with_points_and_sales(
    client: ShopClient, buyer: dict[str, Any], admin_token: str, timers: Any
) -> None:
    timers(60, 60, 3)
    order = paid_order(client, buyer)
    order_id, token = order["order_id"], buyer["token"]
    ship(client, admin_token, order_id)
    client.call("POST", f"/orders/{order_id}/receive", token=token)

    during = order_of(client, token, order_id)
    points_during, sales_during = points_of(client, token), sales_of(client, buyer["sku_id"])
    review = {"items": [{"sku_id": buyer["sku_id"], "rating": 5, "content": "很好"}]}
    reviewed = client.call("POST", f"/orders/{order_id}/reviews", review, token=token)
    completed = wait_for_status(client, token, order_id, "COMPLETED")

    assert during["status"] == "RECEIVED" and (points_during, sales_during) == (1000, 0)
    assert reviewed[0] == 201
    assert statuses(completed)[-2:] == ["RECEIVED", "COMPLETED"]
    assert points_of(client, token) == 1000 + order["amounts"]["payable_fen"] // 100
    assert sales_of(client, buyer["sku_id"]) == 2
    assert ask_refund(client, token, order_id, "return_refund")[0] == 409
    assert execution_status(order_id) == "SUCCEEDED"


def test_a_product_deleted_before_settlement_does_not_block_it(
    client: ShopClient, buyer: dict[str, Any], admin_token: str, timers: Any
) -> None:
    timers(60, 60, 1)
    order = paid_order(client, buyer)
    order_id, token = order["order_id"], buyer["token"]
    ship(client, admin_token, order_id)
    ProductItem(product_pk(buyer["sku_id"].rsplit("-", 1)[0]), "META").delete()

    client.call("POST", f"/orders/{order_id}/receive", token=token)
    completed = wait_for_status(client, token, order_id, "COMPLETED")

    assert statuses(completed)[-1] == "COMPLETED"
    assert points_of(client, token) == 1000 + order["amounts"]["payable_fen"] // 100
    assert execution_status(order_id) == "SUCCEEDED"


def test_a_refund_the_channel_keeps_failing_is_retried_with_backoff_then_sent_to_the_dead_letter_queue(
    client: ShopClient, buyer: dict[str, Any], admin_token: str, timers: Any, channel: FakeChannel
) -> None:
    channel.failure = RuntimeError("the provider answered nonsense")
    order = paid_order(client, buyer)
    order_id, token = order["order_id"], buyer["token"]
    refund = ask_refund(client, token, order_id, "refund_only")[1]
    started = time.monotonic()

    client.call("POST", f"/admin/refunds/{refund['refund_id']}/approve", token=admin_token)
    outcome = execution_status(refund["refund_id"], timeout=30, machine="refund")

    assert outcome == "FAILED"
    assert time.monotonic() - started >= 1 + 2 + 4 - 1  # retries after 1, 2 and 4 s
    assert len(channel.calls) == 4 and {call[1] for call in channel.calls} == {refund["refund_id"]}
    assert order_of(client, token, order_id)["status"] == "REFUNDING"
    assert stock_of(client, buyer["sku_id"]) == 8
    sqs = boto3.client("sqs")
    dlq_url = sqs.get_queue_url(QueueName="shop-local-order-tasks-dlq")["QueueUrl"]
    dead_orders: list[str] = []  # other modules' leftover executions may land here too: look for this one
    deadline = time.monotonic() + 5
    while order_id not in dead_orders and time.monotonic() < deadline:
        answer = sqs.receive_message(QueueUrl=dlq_url, MaxNumberOfMessages=10, WaitTimeSeconds=1)
        dead_orders += [json.loads(message["Body"])["order_id"] for message in answer.get("Messages", [])]
    assert order_id in dead_orders


def test_refund_requests_are_validated_and_another_users_order_is_not_found(
    client: ShopClient, buyer: dict[str, Any], timers: Any
) -> None:
    order = place(client, buyer)[1]
    order_id = order["order_id"]
    bob = register_and_login(client, "bob")

    unpaid = ask_refund(client, buyer["token"], order_id, "refund_only")
    bad_type = client.call("POST", f"/orders/{order_id}/refunds", {"type": "gift", "reason": "x"}, token=buyer["token"])
    no_reason = client.call("POST", f"/orders/{order_id}/refunds", {"type": "refund_only"}, token=buyer["token"])
    others = ask_refund(client, bob, order_id, "refund_only")
    others_list = client.call("GET", f"/orders/{order_id}/refunds", token=bob)

    assert unpaid[0] == 409 and unpaid[1]["code"] == "INVALID_STATE"
    assert bad_type[0] == 400 and no_reason[0] == 400
    assert others[0] == 404 and others_list[0] == 404
    assert order_of(client, buyer["token"], order_id)["status"] == "PENDING_PAYMENT"
    wait_for_token(order_id, "payment_token")


def test_an_order_paid_through_the_sandbox_is_refunded_through_the_sandbox_once_approved(
    client: ShopClient, buyer: dict[str, Any], admin_token: str, timers: Any, gateways: Any
) -> None:
    order = place(client, buyer, points=300)[1]
    order_id, token = order["order_id"], buyer["token"]
    started = client.call("POST", f"/orders/{order_id}/pay", {"channel": "sandbox"}, token=token)[1]
    request = urllib.request.Request(started["pay_url"], data=b"", method="POST")  # noqa: S310 - loopback
    with urllib.request.urlopen(request, timeout=10) as answer:  # noqa: S310 - the emulator on loopback
        assert json.loads(answer.read())["notify_status"] == 200
    assert payment_wait_of(order_id) in (None, "SUCCEEDED")  # none waits: never started, or ended paid

    refund = ask_refund(client, token, order_id, "refund_only")[1]
    client.call("POST", f"/admin/refunds/{refund['refund_id']}/approve", token=admin_token)
    refunded = wait_for_status(client, token, order_id, "REFUNDED")

    at_provider = gateways.payment("sandbox", started["payment_id"])
    assert at_provider is not None and at_provider.refunds == {refund["refund_id"]: started["amount_fen"]}
    assert statuses(refunded) == ["PENDING_PAYMENT", "PAID", "REFUNDING", "REFUNDED"]
    assert stock_of(client, buyer["sku_id"]) == 10 and points_of(client, token) == 1000
    assert execution_status(refund["refund_id"], machine="refund") == "SUCCEEDED"
