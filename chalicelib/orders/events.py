"""The orders' asynchronous side: the executions' tasks (Chalice Lambda functions the state machines invoke, each
idempotent: the payment wait, and an approved refund), the outbox (the orders table's stream to the order-outbox
queue, and its consumer) and the sweeper, which runs the order timers after payment."""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

from chalice.app import DynamoDBEvent, Rate, SQSEvent

from chalicelib.batch import backoff_seconds, each_message
from chalicelib.config import Settings, resource_name, stream_arn
from chalicelib.deps import Handlers
from chalicelib.logistics.subscription import ParcelSubscriber
from chalicelib.observability import logger, metrics
from chalicelib.orders import outbox, sweeper, tasks
from chalicelib.orders.items import order_from_image, refund_from_image
from chalicelib.orders.outbox import BuyerNotifier, OrderOutbox
from chalicelib.orders.service import Shop
from chalicelib.orders.sweeper import SweepPolicy

orders_events = Handlers(__name__)
ORDER_OUTBOX_QUEUE = resource_name("order-outbox")
ORDER_SWEEP_QUEUE = resource_name("order-sweep")
ORDERS_STREAM_ARN = stream_arn(Settings.from_env(), "orders")
MAX_RETRY_DELAY_SECONDS = 300  # 1, 2, 4, ... 256, then 300 s: its DLQ takes a message after its 10th receive


@orders_events.lambda_function(name="order_await_payment")
def order_await_payment(event: dict[str, Any], context: Any, shop: Shop) -> dict[str, Any]:
    return tasks.await_payment(shop, str(event["order_id"]), str(event["task_token"]))


@orders_events.lambda_function(name="order_compensate")
def order_compensate(event: dict[str, Any], context: Any, shop: Shop) -> dict[str, Any]:
    return tasks.compensate(shop, str(event["order_id"]))


@orders_events.lambda_function(name="order_refund_payment")
def order_refund_payment(event: dict[str, Any], context: Any, shop: Shop) -> dict[str, Any]:
    return tasks.refund_payment(shop, str(event["order_id"]), _refund_id(event))


@orders_events.lambda_function(name="order_complete_refund")
def order_complete_refund(event: dict[str, Any], context: Any, shop: Shop) -> dict[str, Any]:
    return tasks.complete_refund(shop, str(event["order_id"]), _refund_id(event))


def _refund_id(event: dict[str, Any]) -> str | None:
    """The refund execution names its refund (an event without one acts on the order's current refund)."""
    return str(event["refund_id"]) if event.get("refund_id") else None


# -- the outbox and the sweeper ------------------------------------------------------------------------------------


@orders_events.on_dynamodb_record(stream_arn=ORDERS_STREAM_ARN, batch_size=100, starting_position="TRIM_HORIZON")
def publish_order_changes(event: DynamoDBEvent, order_outbox: OrderOutbox) -> dict[str, Any]:
    """Turns each committed change of an order or a refund into its outbox messages on the order-outbox queue.

    A failure to queue raises, so the stream delivers the batch again, in order: messages may then be queued twice,
    which their delivery shrugs off. A batch the event source gives up on is what the sweeper repairs."""
    messages: list[dict[str, Any]] = []
    for record in event:
        old, new = record.old_image, record.new_image
        try:
            messages += outbox.messages_for_order_change(order_from_image(old), order_from_image(new))
            messages += outbox.messages_for_refund_change(refund_from_image(old), refund_from_image(new))
        except (ValueError, KeyError, TypeError, AttributeError):  # a malformed item must not block the shard
            logger.exception("skipping an orders stream record", extra={"keys": record.keys})
    if messages:
        order_outbox.send(messages)
    metrics.add_metric(name="OrderOutboxMessages", unit="Count", value=len(messages))
    return {"messages": len(messages)}


@orders_events.on_sqs_message(queue=ORDER_OUTBOX_QUEUE, batch_size=10)
def deliver_order_outbox(
    event: SQSEvent,
    shop: Shop,
    order_outbox: OrderOutbox,
    buyer_notifier: BuyerNotifier,
    parcel_subscriber: ParcelSubscriber,
) -> dict[str, Any]:
    """Delivers each outbox message (StartExecution of an order or a refund, the payment task's answer, a text to
    the buyer, a flash-sale unit back, a shipped parcel's subscription at kuaidi100).

    Delivered messages are done; a failed one comes back alone (a partial batch response) after a backoff that
    doubles with each receive, so nothing is lost; after 10 receives the queue moves it to its DLQ, whose alarm tells
    the admins (and the sweeper repairs the order meanwhile)."""
    outcomes: Counter[str] = Counter()

    def deliver(record: Any) -> None:
        try:
            message = json.loads(record.body)
        except ValueError:
            logger.warning("dropping a malformed order outbox message", extra={"body": record.body[:200]})
            return
        try:
            outcomes[outbox.deliver(shop, message, buyer_notifier, parcel_subscriber)] += 1
        except Exception:
            logger.exception("an order outbox message failed", extra={"outbox_message": message})
            receives = int(record.attributes.approximate_receive_count or 1)
            order_outbox.retry_later(record.receipt_handle, backoff_seconds(receives, MAX_RETRY_DELAY_SECONDS))
            raise

    answer = each_message(event, deliver)
    metrics.add_metric(name="OrderOutboxDelivered", unit="Count", value=sum(outcomes.values()))
    return answer


@orders_events.schedule(Rate(5, unit=Rate.MINUTES))
def sweep_orders(event: Any, shop: Shop, sweep_policy: SweepPolicy, order_sweeps: OrderOutbox) -> dict[str, Any]:
    """Every 5 minutes: act on the orders whose timer ran out (ship deadline, automatic receipt, settlement, automatic
    approval of a refund) and repair those an execution left behind (chalicelib/orders/sweeper.py). Beyond
    ORDER_SWEEP_MAX_ORDERS, the rest of the due index goes page by page to the order-sweep queue, whose consumer
    (sweep_order_pages) sweeps the pages in parallel invocations: no run has a cap."""
    summary = sweeper.sweep(shop, sweep_policy, hand_off=order_sweeps.send)
    metrics.add_metric(name="OrdersSwept", unit="Count", value=summary["due"])
    return summary


@orders_events.on_sqs_message(queue=ORDER_SWEEP_QUEUE, batch_size=1)
def sweep_order_pages(
    event: SQSEvent, shop: Shop, sweep_policy: SweepPolicy, order_sweeps: OrderOutbox
) -> dict[str, Any]:
    """One page of the due index handed off by the sweep (or by the page before it): its orders acted on, the next
    page handed on. A failure raises: the message comes back (then the order-sweep DLQ); acting twice is harmless,
    since every step is conditional."""
    due = 0

    def sweep(record: Any) -> None:
        nonlocal due
        due += sweeper.sweep_page(shop, sweep_policy, json.loads(record.body), order_sweeps.send)["due"]

    answer = each_message(event, sweep)
    metrics.add_metric(name="OrdersSwept", unit="Count", value=due)
    return answer
