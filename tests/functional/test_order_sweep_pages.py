"""The sweep has no cap: beyond ORDER_SWEEP_MAX_ORDERS it hands the rest of the due index, page by page, to the
order-sweep queue, and sweep_order_pages (its consumer, on the deployed template's queue) acts on every page."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from typing import Any

import boto3
import pytest

from app import app
from chalicelib.bootstrap import container
from chalicelib.orders import service, sweeper
from local.aws.sqs_poller import lambda_record
from tests.functional.conftest import ShopClient
from tests.functional.order_machinery import order_machinery, sweeper_paused
from tests.functional.test_orders import place, shopper, timers, wait_for_token  # noqa: F401 - fixtures

SWEEP_QUEUE = "shop-local-order-sweep"


@pytest.fixture(scope="module", autouse=True)
def order_tasks_run_in_process(provisioned_aws: dict[str, str]) -> Iterator[None]:
    with order_machinery(app):
        yield


def handed_off_pages() -> list[dict[str, Any]]:
    """The messages on the order-sweep queue, taken off it, in the shape Lambda hands them to sweep_order_pages."""
    sqs = boto3.client("sqs")
    url = sqs.get_queue_url(QueueName=SWEEP_QUEUE)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    records: list[dict[str, Any]] = []
    while batch := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, AttributeNames=["All"]).get("Messages"):
        records += [lambda_record(message, arn, sqs.meta.region_name) for message in batch]
        sqs.delete_message_batch(
            QueueUrl=url, Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(batch)]
        )
    return records


def status_of(client: ShopClient, token: str, order_id: str) -> str:
    return str(client.call("GET", f"/orders/{order_id}", token=token)[1]["status"])


def test_a_sweep_hands_off_what_is_beyond_its_cap_and_the_pages_consumer_receives_every_due_order(
    client: ShopClient,
    shopper: dict[str, Any],  # noqa: F811 - the fixture imported above
    admin_token: str,
    timers: Callable[..., None],  # noqa: F811 - the fixture imported above
) -> None:
    # GIVEN three shipped orders whose automatic receipt is due, and a sweep that may act on one order itself
    timers(60, 1, 3600)
    shop = container().shop
    order_ids = []
    with sweeper_paused():
        for n in range(3):
            order = place(client, shopper, key=f"sweep-{n}")[1]
            wait_for_token(order["order_id"], "payment_token")
            service.confirm_payment(shop, order["order_id"], f"pay-{n}", order["amounts"]["payable_fen"])
            ship = {"carrier": "sf", "tracking_no": f"SF{n}"}
            assert client.call("POST", f"/admin/orders/{order['order_id']}/ship", ship, token=admin_token)[0] == 200
            order_ids.append(order["order_id"])
        time.sleep(1.5)
        handed_off_pages()  # nothing left over from earlier tests
        policy = replace(container().sweep_policy, order_sweep_max_orders=1, order_sweep_lookback_days=1)

        # WHEN the schedule's sweep runs
        swept = sweeper.sweep(shop, policy, hand_off=container().order_sweeps.send)
        received_by_the_sweep = [status_of(client, shopper["token"], o) for o in order_ids].count("RECEIVED")
        pages = handed_off_pages()
        # AND the consumer takes every page handed off (each may hand on the page after it)
        answers = []
        while pages:
            answers.append(client.lambda_.invoke("sweep_order_pages", {"Records": pages}).payload)
            pages = handed_off_pages()

    # THEN the sweep acted on one order and handed the rest on, and every due order was received
    assert swept["due"] == 1 and received_by_the_sweep == 1 and swept["handed_off"] >= 1
    assert all(answer == {"batchItemFailures": []} for answer in answers), answers
    assert [status_of(client, shopper["token"], o) for o in order_ids] == ["RECEIVED"] * 3
