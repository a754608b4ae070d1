"""The orders' outbox: what a committed change of the orders table sets off, and its delivery, at least once.

The orders table's stream is the outbox: a write and its stream record commit together, so nothing a change sets
off is lost when the request that made it dies. `messages_for_change` turns one changed item into messages (start
the payment wait of a new order, answer the payment task when the order is paid or cancelled, start the execution
of a refund once it is approved, tell the buyer of an order the system cancelled, subscribe a shipped parcel at
kuaidi100), the stream handler puts them on the order-outbox queue, and its consumer `deliver`s each one (retried
with backoff, then the queue's DLQ). Every message is idempotent: an execution starts once by name, a task token
already answered or expired counts as answered, and kuaidi100 answers a parcel subscribed again "501" (done).
Shipping, receipt and a refund's decision answer no task: they move the order and its due time, and the order
sweeper acts when that time comes.
"""

from __future__ import annotations

import json
from typing import Any, Protocol

from chalicelib.aws import client
from chalicelib.errors import DependencyUnavailable
from chalicelib.logistics.subscription import ParcelSubscriber
from chalicelib.observability import logger
from chalicelib.orders.aftersales_domain import money_due
from chalicelib.orders.domain import FINAL_STATUSES, FLASH_SALE, SHIPPED, Order, Refund
from chalicelib.orders.service import Shop
from chalicelib.orders.tasks import start_execution, start_refund

START = "start"
ANSWER = "answer"
START_REFUND = "start_refund"
REFUND_DECIDED = "refund_decided"  # an approval queued before refunds ran in their own execution: starts it too
NOTIFY = "notify"
SHIP_DEADLINE_REFUND = "ship_deadline_refund"
FLASH_UNIT_BACK = "flash_unit_back"
CLOSE_TRADES = "close_trades"
SUBSCRIBE_PARCEL = "subscribe_parcel"


SQS_BATCH = 10


class BuyerNotifier(Protocol):
    def tell(self, order: Order, text: str) -> bool:
        """Text the buyer of the order (their phone, else the address's); False if there is no phone to text."""


class OrderOutbox(Protocol):
    """The order-outbox queue the stream handler fills and the delivery drains."""

    def send(self, messages: list[dict[str, Any]]) -> None:
        """Queue these messages; raises if any was refused (the stream then delivers its batch again)."""

    def retry_later(self, receipt_handle: str, seconds: int) -> None:
        """A message that failed comes back after `seconds` (its backoff), not the queue's visibility timeout."""


class SqsOrderOutbox:
    """OrderOutbox on the order-outbox queue (ORDER_OUTBOX_QUEUE_URL): ten messages to a SendMessageBatch."""

    def __init__(self, queue_url: str) -> None:
        self.queue_url = queue_url

    def send(self, messages: list[dict[str, Any]]) -> None:
        for start in range(0, len(messages), SQS_BATCH):
            chunk = messages[start : start + SQS_BATCH]
            entries = [{"Id": str(i), "MessageBody": json.dumps(m, ensure_ascii=False)} for i, m in enumerate(chunk)]
            answer = client("sqs").send_message_batch(QueueUrl=self.queue_url, Entries=entries)
            if answer.get("Failed"):  # raising makes the stream deliver the batch again
                raise DependencyUnavailable(f"SQS refused {len(answer['Failed'])} order outbox messages")

    def retry_later(self, receipt_handle: str, seconds: int) -> None:
        client("sqs").change_message_visibility(
            QueueUrl=self.queue_url, ReceiptHandle=receipt_handle, VisibilityTimeout=seconds
        )


def _succeed(order: Order, field: str, output: dict[str, Any]) -> list[dict[str, Any]]:
    token = order.token(field)
    if not token:  # the task has not kept its token yet: it will find the new status itself
        return []
    return [{"kind": ANSWER, "order_id": order.order_id, "token": token, "output": output}]


def _fail(order: Order, field: str, error: str, cause: str) -> list[dict[str, Any]]:
    token = order.token(field)
    if not token:
        return []
    return [{"kind": ANSWER, "order_id": order.order_id, "token": token, "error": error, "cause": cause}]


def answers_for_status_change(old: Order, new: Order) -> list[dict[str, Any]]:
    """The answer an order's move out of PENDING_PAYMENT owes the payment task (paid: the execution ends; cancelled:
    it compensates and ends). No other status change has a task waiting on it.

    The token is the new image's: the task keeps its token only while the order awaits payment, so a token written
    before the change is in the image, and a task that comes after the change finds the new status."""
    if old.status == new.status or old.status != "PENDING_PAYMENT":
        return []
    if new.status == "PAID":
        payment_id = (new.payment or {}).get("payment_id")
        return _succeed(new, "payment_token", {"status": "PAID", "payment_id": payment_id})
    if new.status == "CANCELLED":
        return _fail(new, "payment_token", "OrderCancelled", "cancelled")
    return []


def messages_for_order_change(old: Order | None, new: Order | None) -> list[dict[str, Any]]:
    """What one change of an order item sets off: its execution's start when it is placed, the payment task's answer
    when it is paid or cancelled, a flash-sale unit back when such an order is cancelled, and its parcel's
    subscription at kuaidi100 when it ships with a carrier code (a carrier name without one subscribes nothing)."""
    if new is None:
        return []
    if old is None:
        return [] if new.status in FINAL_STATUSES else [{"kind": START, "order_id": new.order_id}]
    messages = answers_for_status_change(old, new)
    if new.kind == FLASH_SALE and old.status == "PENDING_PAYMENT" and new.status == "CANCELLED":
        messages.append({"kind": FLASH_UNIT_BACK, "order_id": new.order_id})  # its unit back to the session
    if old.status == "PENDING_PAYMENT" and new.status == "CANCELLED":
        messages.append({"kind": CLOSE_TRADES, "order_id": new.order_id})  # its open trades closed at the providers
    shipment = new.shipment or {}
    if new.status == SHIPPED and old.status != SHIPPED and shipment.get("carrier_code"):  # kuaidi100 to push events
        parcel = {"carrier_code": shipment["carrier_code"], "tracking_no": shipment["tracking_no"]}
        messages.append({"kind": SUBSCRIBE_PARCEL, "order_id": new.order_id, **parcel})
    return messages


def messages_for_refund_change(old: Refund | None, new: Refund | None) -> list[dict[str, Any]]:
    """What one change of a refund item sets off: its money falling due (its approval by the staff, by the system
    when nobody decided in time, or a refund the system opens approved when the ship deadline passed; a units
    return_refund's return received) starts its execution; a refund the
    system opened tells the buyer."""
    if new is None:
        return []
    messages: list[dict[str, Any]] = []
    if old is None and new.requested_by == "system":
        messages.append(
            {
                "kind": NOTIFY,
                "order_id": new.order_id,
                "event": SHIP_DEADLINE_REFUND,
                "refund_id": new.refund_id,
                "amount_fen": new.amount_fen,
            }
        )
    if money_due(new) and (old is None or not money_due(old)):
        messages.append({"kind": START_REFUND, "order_id": new.order_id, "refund_id": new.refund_id})
    return messages


def ship_deadline_text(order: Order, amount_fen: int) -> str:
    """The buyer's SMS when the ship deadline cancelled their paid order."""
    paid = f"{amount_fen // 100}.{amount_fen % 100:02d}"
    return (
        f"【Shop】很抱歉，您的订单 {order.order_no or order.order_id} 未能在发货期限内发货，已自动取消，"
        f"已付的 {paid} 元将原路退回。"
    )


def deliver(
    shop: Shop, message: dict[str, Any], notifier: BuyerNotifier, parcels: ParcelSubscriber | None = None
) -> str:
    """Do what one outbox message asks, idempotently; raises while it cannot be done (the queue retries it)."""
    kind = message.get("kind")
    order_id = str(message.get("order_id") or "")
    if kind == START:
        return start_execution(shop, order_id)
    if kind == ANSWER:
        token = str(message["token"])
        if "output" in message:
            answered = shop.workflow.succeed(token, dict(message["output"]))
        else:
            answered = shop.workflow.fail(token, str(message["error"]), str(message.get("cause") or ""))
        return "answered" if answered else "gone"
    if kind in (START_REFUND, REFUND_DECIDED):
        return start_refund(shop, str(message["refund_id"]))
    if kind == NOTIFY and message.get("event") == SHIP_DEADLINE_REFUND:
        order = shop.orders.order(order_id)
        if order is None:
            return "missing"
        return "told" if notifier.tell(order, ship_deadline_text(order, int(message["amount_fen"]))) else "no_phone"
    if kind == FLASH_UNIT_BACK:
        order = shop.orders.order(order_id)
        return "missing" if order is None else shop.flash_units.give_back(order)
    if kind == CLOSE_TRADES:
        order = shop.orders.order(order_id)
        return "missing" if order is None else shop.open_payments.close_trades(order)
    if kind == SUBSCRIBE_PARCEL:
        if parcels is None:
            return "no_subscriber"
        order = shop.orders.order(order_id)
        phone = str((order.address or {}).get("phone") or "") if order is not None else ""
        return parcels.subscribe(str(message["carrier_code"]), str(message["tracking_no"]), phone)
    logger.warning("dropping an outbox message of an unknown kind", extra={"outbox_message": message})
    return "unknown"
