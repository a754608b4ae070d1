"""The orders' outbox: what a committed change of the orders table sets off, and its delivery, at least once.

The orders table's stream is the outbox: a write and its stream record commit together, so nothing a change sets
off is lost when the request that made it dies. `messages_for_change` turns one changed item into messages (start
the execution of a new order, answer the task that waited on the status the order left, tell the buyer of an order
the system cancelled), the stream handler puts them on the order-outbox queue, and its consumer `deliver`s each one
(retried with backoff, then the queue's DLQ). Every message is idempotent: an execution starts once by name, and a
task token already answered or expired counts as answered.
"""

from __future__ import annotations

import json
from typing import Any, Protocol

from chalicelib.aws import client
from chalicelib.errors import DependencyUnavailable
from chalicelib.observability import logger
from chalicelib.orders.domain import FINAL_STATUSES, FLASH_SALE, WAITING_TOKEN, Order, Refund
from chalicelib.orders.service import Shop
from chalicelib.orders.tasks import start_execution

START = "start"
ANSWER = "answer"
REFUND_DECIDED = "refund_decided"
NOTIFY = "notify"
SHIP_DEADLINE_REFUND = "ship_deadline_refund"
FLASH_UNIT_BACK = "flash_unit_back"
CLOSE_TRADES = "close_trades"


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
    """The answers an order's move from old["status"] to new["status"] owes the task that waited on the old one.

    The tokens are the new image's: a task keeps its token only while the order is in the status it waits on, so a
    token written before the change is in the image, and a task that comes after the change finds the new status."""
    before, after = old.status, new.status
    if before == after:
        return []
    if before == "PENDING_PAYMENT" and after == "PAID":
        payment_id = (new.payment or {}).get("payment_id")
        return _succeed(new, "payment_token", {"status": "PAID", "payment_id": payment_id})
    if before == "PENDING_PAYMENT" and after == "CANCELLED":
        return _fail(new, "payment_token", "OrderCancelled", "cancelled")
    if before == "PAID" and after == "SHIPPED":
        return _succeed(new, "shipment_token", {"status": "SHIPPED"})
    if before == "SHIPPED" and after == "RECEIVED":
        return _succeed(new, "receipt_token", {"status": "RECEIVED"})
    if before in WAITING_TOKEN and after == "REFUNDING":
        return _fail(new, WAITING_TOKEN[before], "RefundRequested", f"refund {new.refund_id} requested")
    if before == "REFUNDING" and after in WAITING_TOKEN:  # the refund was rejected
        return _succeed(new, "refund_token", {"decision": "REJECTED", "refund_id": old.refund_id})
    return []


def answers_owed_in(order: Order, refund: Refund | None) -> list[dict[str, Any]]:
    """Every answer the order's current status implies, for the sweeper to send again when an execution still waits
    (answering a token twice, or one that expired, changes nothing)."""
    status = order.status
    answers: list[dict[str, Any]] = []
    if status in ("PAID", "SHIPPED", "RECEIVED", "REFUNDING"):
        payment_id = (order.payment or {}).get("payment_id")
        answers += _succeed(order, "payment_token", {"status": "PAID", "payment_id": payment_id})
    if status == "SHIPPED":
        answers += _succeed(order, "shipment_token", {"status": "SHIPPED"})
    if status == "RECEIVED":
        answers += _succeed(order, "receipt_token", {"status": "RECEIVED"})
    if status == "REFUNDING" and order.refund_from in WAITING_TOKEN:
        field = WAITING_TOKEN[order.refund_from]
        answers += _fail(order, field, "RefundRequested", f"refund {order.refund_id} requested")
    if refund is not None and refund.refund_id == order.refund_id:
        if status == "REFUNDING" and refund.status in ("APPROVED", "REFUNDED"):
            answers += _succeed(order, "refund_token", {"decision": "APPROVED", "refund_id": refund.refund_id})
        if status in WAITING_TOKEN and refund.status == "REJECTED":
            answers += _succeed(order, "refund_token", {"decision": "REJECTED", "refund_id": refund.refund_id})
    return answers


def messages_for_order_change(old: Order | None, new: Order | None) -> list[dict[str, Any]]:
    """What one change of an order item sets off: its execution's start when it is placed, answers when its status
    moves on."""
    if new is None:
        return []
    if old is None:
        return [] if new.status in FINAL_STATUSES else [{"kind": START, "order_id": new.order_id}]
    messages = answers_for_status_change(old, new)
    if new.kind == FLASH_SALE and old.status == "PENDING_PAYMENT" and new.status == "CANCELLED":
        messages.append({"kind": FLASH_UNIT_BACK, "order_id": new.order_id})  # its unit back to the session
    if old.status == "PENDING_PAYMENT" and new.status == "CANCELLED":
        messages.append({"kind": CLOSE_TRADES, "order_id": new.order_id})  # its open trades closed at the providers
    return messages


def messages_for_refund_change(old: Refund | None, new: Refund | None) -> list[dict[str, Any]]:
    """What one change of a refund item sets off: its approval answers the decision task; a refund the system opened
    (the ship deadline passed) tells the buyer."""
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
    if old is not None and old.status == "PENDING" and new.status == "APPROVED":
        messages.append({"kind": REFUND_DECIDED, "order_id": new.order_id, "refund_id": new.refund_id})
    return messages


def ship_deadline_text(order: Order, amount_fen: int) -> str:
    """The buyer's SMS when the ship deadline cancelled their paid order."""
    paid = f"{amount_fen // 100}.{amount_fen % 100:02d}"
    return (
        f"【Shop】很抱歉，您的订单 {order.order_no or order.order_id} 未能在发货期限内发货，已自动取消，"
        f"已付的 {paid} 元将原路退回。"
    )


def deliver(shop: Shop, message: dict[str, Any], notifier: BuyerNotifier) -> str:
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
    if kind == REFUND_DECIDED:
        order = shop.orders.order(order_id)
        if order is None or order.refund_id != message["refund_id"] or not order.token("refund_token"):
            return "gone"  # the decision task has not kept its token: it reads the decision itself
        output = {"decision": "APPROVED", "refund_id": message["refund_id"]}
        return "answered" if shop.workflow.succeed(str(order.token("refund_token")), output) else "gone"
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
    logger.warning("dropping an outbox message of an unknown kind", extra={"outbox_message": message})
    return "unknown"
