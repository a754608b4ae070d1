"""An order task that keeps failing is retried with backoff, then lands in the order-tasks dead-letter queue."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import boto3
import pytest

from app import app
from chalicelib.config import reset_caches
from chalicelib.orders.models import ORDER_SK, OrderModel, order_pk
from tests.functional.catalog_data import create_catalog, create_product
from tests.functional.conftest import ShopClient, register_and_login
from tests.functional.order_machinery import order_machinery
from tests.functional.test_orders import ADDRESS, execution_status, wait_for_token


@pytest.fixture(scope="module", autouse=True)
def order_tasks_run_in_process(provisioned_aws: dict[str, str]) -> Iterator[None]:
    with order_machinery(app):
        yield


def test_a_compensation_that_keeps_failing_is_retried_then_sent_to_the_dead_letter_queue(
    client: ShopClient, admin_token: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # long enough that the order is deleted before its timer fires, even on a loaded machine (1 s was not)
    monkeypatch.setenv("PAYMENT_TIMEOUT_SECONDS", "3")
    reset_caches()
    create_catalog(client, admin_token)
    sku_id = create_product(client, admin_token, "华为 Mate 60")["skus"][0]["sku_id"]
    token = register_and_login(client, "alice")
    address_id = client.call("POST", "/me/addresses", ADDRESS, token=token)[1]["address_id"]
    body = {"address_id": address_id, "items": [{"sku_id": sku_id, "quantity": 1}]}
    status, order, _ = client.call("POST", "/orders", body, token=token, **{"Idempotency-Key": "k"})
    assert status == 201, order
    wait_for_token(order["order_id"], "payment_token")
    OrderModel(order_pk(order["order_id"]), ORDER_SK).delete()  # the compensation will never find it
    started = time.monotonic()

    outcome = execution_status(order["order_id"], timeout=30)

    assert outcome == "FAILED"
    assert time.monotonic() - started >= 1 + 2 + 4 - 1  # the timeout (<= 1 s left), retries after 1, 2 and 4 s
    sqs = boto3.client("sqs")
    dlq_url = sqs.get_queue_url(QueueName="shop-local-order-tasks-dlq")["QueueUrl"]
    dead_orders: list[str] = []  # other modules' leftover executions may land here too: look for this one
    deadline = time.monotonic() + 5
    while order["order_id"] not in dead_orders and time.monotonic() < deadline:
        answer = sqs.receive_message(QueueUrl=dlq_url, MaxNumberOfMessages=10, WaitTimeSeconds=1)
        dead_orders += [json.loads(message["Body"])["order_id"] for message in answer.get("Messages", [])]
    assert order["order_id"] in dead_orders
    reset_caches()
