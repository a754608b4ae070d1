"""No order gets stuck, on moto with the real state machines, the orders stream as the outbox, the order-outbox
queue polled and the sweeper scheduled as `make run` runs them: StartExecution and SendTask* failing on their first
calls (botocore hooks on the app's own client), the payment gateway failing its first refund calls (the emulator),
the ship deadline and the automatic approval of refunds (the sweeper's timers), a payment after the pay deadline,
and the sweeper repairing an order whose execution never started."""

from __future__ import annotations

import json
import time
import urllib.request
from collections.abc import Callable, Iterator
from typing import Any

import boto3
import pytest

from app import app
from chalicelib.bootstrap import container
from chalicelib.config import reset_caches
from chalicelib.orders import service
from chalicelib.orders.models import OrderModel
from chalicelib.payments.repository import DynamoPaymentsRepository
from chalicelib.points.rules import points_earned_for
from chalicelib.promotions.service import promotion_cache
from local.providers.payments.server import PaymentGateways
from tests.functional import test_payments
from tests.functional.catalog_data import create_catalog, create_product
from tests.functional.conftest import ShopClient, register_and_login
from tests.functional.order_machinery import StepFunctionsFaults, order_machinery, sweeper_paused
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

SCHEDULED = json.loads(open("events/sweep_orders.json", encoding="utf-8").read())  # noqa: SIM115 - read once

gateway_keys = test_payments.gateway_keys  # the payment gateway emulators, as the payments tests run them
delivered = test_payments.delivered
gateways = test_payments.gateways


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
def timers(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[..., None]]:
    """The timers new orders get, in seconds (and the sweeper's grace)."""

    def set_timers(payment: int = 60, ship: int = 60, receipt: int = 60, window: int = 60, approve: int = 60) -> None:
        values = {"PAYMENT_TIMEOUT_SECONDS": payment, "SHIP_DEADLINE_SECONDS": ship, "AUTO_RECEIVE_SECONDS": receipt,
                  "REVIEW_WINDOW_SECONDS": window, "AFTER_SALES_AUTO_APPROVE_SECONDS": approve,
                  "ORDER_SWEEP_GRACE_SECONDS": 0}  # fmt: skip
        for name, value in values.items():
            monkeypatch.setenv(name, str(value))
        reset_caches()

    set_timers()
    yield set_timers
    reset_caches()


@pytest.fixture
def buyer(client: ShopClient, admin_token: str) -> dict[str, Any]:
    """A customer with an address (phone 13800138000) and 1000 points, and a phone SKU with 10 in stock."""
    create_catalog(client, admin_token)
    sku_id = create_product(client, admin_token, "华为 Mate 60")["skus"][0]["sku_id"]
    token = register_and_login(client, "alice")
    status, address, _ = client.call("POST", "/me/addresses", ADDRESS, token=token)
    assert status == 201, address
    grant = {"user_id": user_id_of(token), "points": 1000, "reason": "test"}
    assert client.call("POST", "/admin/points/grants", grant, token=admin_token)[0] in (200, 201)
    return {"token": token, "address_id": address["address_id"], "sku_id": sku_id}


def pay_through_the_sandbox(client: ShopClient, token: str, order_id: str) -> dict[str, Any]:
    """Start a sandbox payment and pay it at the emulated gateway, whose notify reaches the app."""
    started = client.call("POST", f"/orders/{order_id}/pay", {"channel": "sandbox"}, token=token)[1]
    request = urllib.request.Request(started["pay_url"], data=b"", method="POST")  # noqa: S310 - loopback
    with urllib.request.urlopen(request, timeout=10) as answer:  # noqa: S310 - the emulator on loopback
        assert json.loads(answer.read())["notify_status"] == 200
    return dict(started)


def texts_to(client: ShopClient, phone: str) -> list[str]:
    status, body, _ = client.call("GET", f"/dev/outbox?to={phone}")
    assert status == 200, body
    return [message["text"] for message in body["messages"]]


def wait_until(check: Callable[[], Any], timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while not (found := check()):
        assert time.monotonic() < deadline, f"waited {timeout} s for {what}"
        time.sleep(0.2)
    return found


# -- 9 -----------------------------------------------------------------------------------------------------------


def test_an_order_placed_while_step_functions_refuses_to_start_it_is_placed_and_its_execution_starts_on_a_retry(
    client: ShopClient, buyer: dict[str, Any], timers: Callable[..., None]
) -> None:
    timers(payment=6)
    with StepFunctionsFaults({"StartExecution": 2}) as faults:
        status, order = place(client, buyer, points=300)
        assert status == 201, order  # the order is placed: its start is in the outbox, not a call after the write
        wait_for_token(order["order_id"], "payment_token", timeout=20)

    cancelled = wait_for_status(client, buyer["token"], order["order_id"], "CANCELLED", timeout=20)

    assert faults.failed["StartExecution"] == 2 and faults.calls["StartExecution"] >= 3
    assert [entry["status"] for entry in cancelled["timeline"]] == ["PENDING_PAYMENT", "CANCELLED"]
    assert stock_of(client, buyer["sku_id"]) == 10 and points_of(client, buyer["token"]) == 1000
    assert execution_status(order["order_id"]) == "SUCCEEDED"


def test_the_sweeper_starts_the_execution_of_an_order_whose_start_never_came_and_its_timer_then_runs(
    client: ShopClient, buyer: dict[str, Any], timers: Callable[..., None]
) -> None:
    timers(payment=4)
    # GIVEN Step Functions refusing every start, until the outbox gave up on it (its message gone to the DLQ)
    with sweeper_paused(), StepFunctionsFaults({"StartExecution": 1000}):
        order = place(client, buyer)[1]
        time.sleep(2)
        sqs = boto3.client("sqs")
        sqs.purge_queue(QueueUrl=sqs.get_queue_url(QueueName="shop-local-order-outbox")["QueueUrl"])
    with sweeper_paused():
        assert execution_status_or_none(order["order_id"]) is None

        # WHEN the sweeper runs (as its schedule does), after the order was due for its execution's check-in
        swept = client.lambda_.invoke("sweep_orders", SCHEDULED).payload

    # THEN it started the execution, whose payment timer cancels the order and gives the stock back
    assert swept["due"] >= 1 and swept.get("started", 0) >= 1, swept
    wait_for_status(client, buyer["token"], order["order_id"], "CANCELLED", timeout=20)
    assert stock_of(client, buyer["sku_id"]) == 10


def execution_status_or_none(order_id: str) -> str | None:
    return container().shop.workflow.status(order_id)


# -- 10 ----------------------------------------------------------------------------------------------------------


def test_a_payment_answer_step_functions_refuses_at_first_is_delivered_again_until_the_execution_ends_paid(
    client: ShopClient, buyer: dict[str, Any], admin_token: str, timers: Callable[..., None]
) -> None:
    order = place(client, buyer)[1]
    order_id = order["order_id"]
    wait_for_token(order_id, "payment_token", timeout=20)

    with StepFunctionsFaults({"SendTaskSuccess": 2}) as faults:
        assert (
            service.confirm_payment(container().shop, order_id, "pay-1", order["amounts"]["payable_fen"])["status"]
            == "PAID"
        )
        ended = execution_status(order_id, timeout=20)  # the payment answer ends it
        shipped = client.call("POST", f"/admin/orders/{order_id}/ship", {"carrier": "sf", "tracking_no": "SF1"},
                              token=admin_token)  # fmt: skip

    assert ended == "SUCCEEDED" and shipped[0] == 200  # shipping answers no task: it moves the order on
    assert faults.failed["SendTaskSuccess"] == 2 and faults.calls["SendTaskSuccess"] >= 3


def test_a_cancel_whose_answer_fails_at_first_still_ends_the_execution_cancelled(
    client: ShopClient, buyer: dict[str, Any], timers: Callable[..., None]
) -> None:
    order = place(client, buyer, points=300)[1]
    wait_for_token(order["order_id"], "payment_token", timeout=20)

    with StepFunctionsFaults({"SendTaskFailure": 2}) as faults:
        status, body, _ = client.call("POST", f"/orders/{order['order_id']}/cancel", token=buyer["token"])
        outcome = execution_status(order["order_id"], timeout=20)

    assert status == 200 and body["status"] == "CANCELLED"
    assert faults.failed["SendTaskFailure"] == 2 and outcome == "SUCCEEDED"
    assert stock_of(client, buyer["sku_id"]) == 10 and points_of(client, buyer["token"]) == 1000


# -- 11 ----------------------------------------------------------------------------------------------------------


def test_a_paid_order_not_shipped_in_time_is_refunded_in_full_through_a_failing_gateway_and_its_buyer_texted(
    client: ShopClient, buyer: dict[str, Any], timers: Callable[..., None], gateways: PaymentGateways
) -> None:
    timers(ship=3)
    order = place(client, buyer, points=300)[1]
    order_id, token = order["order_id"], buyer["token"]
    wait_for_token(order_id, "payment_token", timeout=20)
    started = pay_through_the_sandbox(client, token, order_id)
    gateways.fail("error", times=2)  # the gateway answers 500 to the first two refund calls

    refunded = wait_for_status(client, token, order_id, "REFUNDED", timeout=40)

    assert [entry["status"] for entry in refunded["timeline"]] == ["PENDING_PAYMENT", "PAID", "REFUNDING", "REFUNDED"]
    (refund,) = client.call("GET", f"/orders/{order_id}/refunds", token=token)[1]["items"]
    assert (refund["type"], refund["status"], refund["amount_fen"]) == (
        "refund_only",
        "REFUNDED",
        started["amount_fen"],
    )
    at_provider = gateways.payment("sandbox", started["payment_id"])
    assert at_provider is not None and at_provider.refunds == {refund["refund_id"]: started["amount_fen"]}
    assert stock_of(client, buyer["sku_id"]) == 10 and points_of(client, token) == 1000
    texts = wait_until(lambda: texts_to(client, "13800138000"), 10, "the buyer's text")
    assert any("未能在发货期限内发货" in text and order["order_no"] in text for text in texts)
    assert execution_status(order_id) == "SUCCEEDED"
    assert execution_status(refund["refund_id"], machine="refund") == "SUCCEEDED"


def test_a_refund_nobody_decides_in_time_is_approved_by_the_system_and_refunded(
    client: ShopClient, buyer: dict[str, Any], timers: Callable[..., None], gateways: PaymentGateways
) -> None:
    timers(approve=2)
    order = place(client, buyer)[1]
    order_id, token = order["order_id"], buyer["token"]
    wait_for_token(order_id, "payment_token", timeout=20)
    pay_through_the_sandbox(client, token, order_id)
    assert execution_status(order_id, timeout=20) == "SUCCEEDED"

    status, refund, _ = client.call("POST", f"/orders/{order_id}/refunds", {"type": "refund_only", "reason": "不要了"},
                                    token=token)  # fmt: skip
    refunded = wait_for_status(client, token, order_id, "REFUNDED", timeout=30)

    assert status == 201 and refund["status"] == "PENDING"
    (decided,) = client.call("GET", f"/orders/{order_id}/refunds", token=token)[1]["items"]
    assert decided["status"] == "REFUNDED" and decided["decided_at"] is not None
    assert refunded["status"] == "REFUNDED" and stock_of(client, buyer["sku_id"]) == 10
    # its own execution refunded it, or (on a slow machine) the sweeper did, past the grace, before it started
    assert payment_wait_of(refund["refund_id"], machine="refund") in ("SUCCEEDED", None)


# -- 12 ----------------------------------------------------------------------------------------------------------


def test_a_payment_arriving_after_the_pay_deadline_is_late_even_before_the_cancel_ran_and_is_refunded(
    client: ShopClient, buyer: dict[str, Any], timers: Callable[..., None], gateways: PaymentGateways
) -> None:
    timers(payment=2)
    # GIVEN the payment timer cannot cancel the order (Step Functions refuses its start for now)
    with StepFunctionsFaults({"StartExecution": 1000}):
        order = place(client, buyer)[1]
        order_id, token = order["order_id"], buyer["token"]
        started = client.call("POST", f"/orders/{order_id}/pay", {"channel": "sandbox"}, token=token)[1]
        test_payments.open_pay_page(started)
        time.sleep(2.5)  # past the pay deadline, still PENDING_PAYMENT
        assert order_of(client, token, order_id)["status"] == "PENDING_PAYMENT"

        # WHEN the payer's money arrives now
        status, _ = gateways.pay("sandbox", started["payment_id"])

    # THEN the order never becomes PAID: it is cancelled, and the payment recorded late and refunded in full
    assert 200 <= status < 300
    after = order_of(client, token, order_id)
    assert after["status"] == "CANCELLED" and "PAID" not in [entry["status"] for entry in after["timeline"]]
    payment = DynamoPaymentsRepository().payment(started["payment_id"])
    assert payment is not None
    assert (payment["status"], payment["late_reason"], payment["refunded_fen"]) == (
        "REFUNDED", "PAID_AFTER_DEADLINE", started["amount_fen"])  # fmt: skip
    assert stock_of(client, buyer["sku_id"]) == 10


# -- 13 ----------------------------------------------------------------------------------------------------------


def test_with_every_dependency_failing_at_first_every_order_ends_final_with_stock_coupons_and_points_consistent(
    client: ShopClient, buyer: dict[str, Any], admin_token: str, timers: Callable[..., None], gateways: PaymentGateways
) -> None:
    timers(payment=5, ship=5, receipt=2, window=1, approve=2)
    template = create_template(client, admin_token)
    coupon = claim(client, buyer["token"], template["template_id"])[1]
    token = buyer["token"]
    faults = {"StartExecution": 3, "SendTaskSuccess": 3, "SendTaskFailure": 2}
    with StepFunctionsFaults(faults) as injected:
        gateways.fail("error", times=2)
        unpaid = place(client, buyer, key="unpaid", points=200, coupon_id=coupon["coupon_id"])[1]  # times out
        unshipped = place(client, buyer, key="unshipped", points=300)[1]  # paid, never shipped
        received = place(client, buyer, key="received")[1]  # paid, shipped, received by the timer, settles
        cancelled = place(client, buyer, key="cancelled")[1]  # cancelled by the buyer
        for order in (unshipped, received):
            wait_for_token(order["order_id"], "payment_token", timeout=30)
            pay_through_the_sandbox(client, token, order["order_id"])
        wait_for_status(client, token, received["order_id"], "PAID", timeout=30)
        client.call("POST", f"/admin/orders/{received['order_id']}/ship", {"carrier": "sf", "tracking_no": "SF1"},
                    token=admin_token)  # fmt: skip
        client.call("POST", f"/orders/{cancelled['order_id']}/cancel", token=token)

        expected = [(unpaid, "CANCELLED"), (unshipped, "REFUNDED"), (received, "COMPLETED"), (cancelled, "CANCELLED")]
        finals = {
            order["order_id"]: wait_for_status(client, token, order["order_id"], final, timeout=60)["status"]
            for order, final in expected
        }

    assert sorted(finals.values()) == ["CANCELLED", "CANCELLED", "COMPLETED", "REFUNDED"]
    assert all(injected.failed[name] == count for name, count in faults.items()), injected.failed
    # stock: only the completed order's 2 units left the shelf
    assert stock_of(client, buyer["sku_id"]) == 10 - 2
    # points: every point used came back; the completed order earned 1 per yuan of goods
    earned = points_earned_for(received["amounts"]["payable_fen"] - received["amounts"]["shipping_fen"])
    assert points_of(client, token) == 1000 + earned
    # coupon: the unpaid order's lock was released
    assert [c["status"] for c in my_coupons(client, token)] == ["unused"]
    for order_id in finals:
        assert execution_status(order_id, timeout=10) == "SUCCEEDED", order_id
    assert swept_nothing_due(client)


def swept_nothing_due(client: ShopClient) -> bool:
    """No order is left due in gsi_due: every one is final."""
    answer = client.lambda_.invoke("sweep_orders", SCHEDULED).payload
    return bool(answer["due"] == 0)


def test_the_sweeper_reads_the_due_index_and_the_orders_it_names_and_never_scans(
    client: ShopClient, buyer: dict[str, Any], timers: Callable[..., None]
) -> None:
    with sweeper_paused(), StepFunctionsFaults({"StartExecution": 1000}):
        for key in ("a", "b"):
            place(client, buyer, key=key)
        operations: list[tuple[str, str]] = []

        def record(model: Any, params: dict[str, Any], **_: Any) -> None:
            operations.append((model.name, params.get("IndexName", "")))

        dynamo = OrderModel._get_connection().connection.client
        dynamo.meta.events.register("before-parameter-build.dynamodb", record, unique_id="sweep-probe")
        try:
            swept = client.lambda_.invoke("sweep_orders", SCHEDULED).payload
        finally:
            dynamo.meta.events.unregister("before-parameter-build.dynamodb", unique_id="sweep-probe")

    assert swept["due"] == 2, swept
    assert "Scan" not in {name for name, _ in operations}
    assert {index for name, index in operations if name == "Query"} == {"gsi_due"}


def test_make_run_polls_the_orders_stream_and_the_outbox_and_schedules_the_sweeper_as_deployed() -> None:
    from local.aws.scheduler import RateSchedule, parse_expression, scheduled_handlers
    from local.aws.sqs_poller import sqs_handlers
    from local.aws.stream_poller import dynamodb_stream_handlers

    streams = {config.name: config for config in dynamodb_stream_handlers(app)}
    queues = {config.name: config for config in sqs_handlers(app)}
    schedules = {config.name: config for config in scheduled_handlers(app)}

    assert streams["publish_order_changes"].stream_arn.split(":table/")[1].startswith("shop-local-orders/stream/")
    assert streams["publish_order_changes"].starting_position == "TRIM_HORIZON"  # nothing written before is lost
    assert queues["deliver_order_outbox"].queue == "shop-local-order-outbox"
    sweep = parse_expression(schedules["sweep_orders"].schedule_expression)
    assert isinstance(sweep, RateSchedule) and sweep.period.total_seconds() == 300
