"""How behaviour events leave a function: buffered during the invocation, one batched send once the response is
built, and sent before the deadline when the function runs out of time (nothing lost to a timeout)."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

from chalicelib.analytics import emitter
from chalicelib.aws import client as aws_client
from chalicelib.config import get_settings
from chalicelib.observability import observe_invocation
from tests.functional.conftest import ShopClient
from tests.functional.test_cart_calls import Calls, skus  # noqa: F401  (the fixture)


def queued() -> list[dict[str, Any]]:
    sqs, url = aws_client("sqs"), get_settings().analytics_events_queue_url
    found: list[dict[str, Any]] = []
    while messages := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", []):
        for message in messages:
            found.append(json.loads(message["Body"]))
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    return found


@dataclass
class Deadline:
    """A Lambda context with `seconds` left from now."""

    seconds: float

    def __post_init__(self) -> None:
        self.ends = time.monotonic() + self.seconds

    def get_remaining_time_in_millis(self) -> int:
        return max(int((self.ends - time.monotonic()) * 1000), 0)


@dataclass
class Invocation:
    lambda_context: Deadline


def test_adding_to_the_cart_sends_its_event_once_the_response_is_built(
    client: ShopClient,
    customer_token: str,
    skus: list[str],  # noqa: F811
) -> None:
    # GIVEN clients warm
    client.call("POST", "/cart/items", {"sku_id": skus[0], "quantity": 1}, token=customer_token)
    queued()
    calls = Calls()
    calls.attach()

    # WHEN a SKU is added to the cart
    status, _, _ = client.call("POST", "/cart/items", {"sku_id": skus[1], "quantity": 2}, token=customer_token)
    calls.detach()

    # THEN the analytics send is one call, after every DynamoDB call of the request, and the event is queued
    assert status == 201
    sends = [index for index, (service, _) in enumerate(calls.made) if service == "sqs"]
    assert len(sends) == 1 and sends[0] == len(calls.made) - 1
    [event] = queued()
    assert (event["type"], event["sku_id"], event["quantity"]) == ("cart_item_added", skus[1], 2)


def test_events_of_one_invocation_leave_in_one_batched_send(client: ShopClient) -> None:
    calls = Calls()
    calls.attach()

    def handler(_: Any) -> None:
        for n in range(3):
            emitter.emit(emitter.favorite_added("u_1", f"p_{n}"))
        assert queued() == []  # nothing sent while the function runs

    observe_invocation(Invocation(Deadline(30)), handler)
    calls.detach()

    assert [name for service, name in calls.made if service == "sqs"].count("SendMessageBatch") == 1
    assert sorted(e["product_id"] for e in queued()) == ["p_0", "p_1", "p_2"]


def test_no_event_is_lost_when_the_function_times_out(client: ShopClient) -> None:
    # GIVEN an invocation with 1.3 s left (the emitter sends what waits 1 s before the deadline)
    seen_before_deadline: list[dict[str, Any]] = []

    def handler(event: Invocation) -> None:
        # WHEN it emits an event and then hangs until its deadline (Lambda would kill it there)
        emitter.emit(emitter.favorite_added("u_1", "p_late"))
        while event.lambda_context.get_remaining_time_in_millis() > 100:
            time.sleep(0.05)
        seen_before_deadline.extend(queued())

    observe_invocation(Invocation(Deadline(1.3)), handler)

    # THEN the event was on the queue before the deadline, sent by the timer, not by the end of the invocation
    assert [e["product_id"] for e in seen_before_deadline] == ["p_late"]
    assert queued() == []
