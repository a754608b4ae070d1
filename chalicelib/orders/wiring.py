"""The order context's production wiring: Dynamo repositories, the Step Functions workflow, refunds through the
payments context, running promotions, the order-outbox queue and texts to buyers."""

from __future__ import annotations

import json
from functools import cache
from typing import Any

from chalicelib.aws import client
from chalicelib.cart.repository import DynamoCartRepository
from chalicelib.catalog.repository import DynamoCatalogRepository
from chalicelib.config import get_settings
from chalicelib.coupons.repository import DynamoCouponsRepository
from chalicelib.orders.repository import DynamoOrdersRepository
from chalicelib.orders.service import Shop
from chalicelib.orders.workflow import StepFunctionsOrderWorkflow
from chalicelib.points.repository import DynamoPointsRepository
from chalicelib.pricing.promotion import Promotion
from chalicelib.profile.repository import DynamoProfileRepository
from chalicelib.promotions import service as promotions_service
from chalicelib.promotions.repository import DynamoPromotionsRepository
from chalicelib.reviews.domain import ReviewableLine, use_received_lines

RECEIVED_STATUSES = ("RECEIVED", "COMPLETED")
SQS_BATCH = 10


class ChannelRefunds:
    """Refunds through chalicelib.payments, imported when first used (payment SDKs stay off the cold start)."""

    def refund(self, order: dict[str, Any], refund_id: str, amount_fen: int, reason: str) -> str:
        from chalicelib.payments.service import refund_order_payment

        return refund_order_payment(order, refund_id, amount_fen, reason)


@cache
def shop() -> Shop:
    return Shop(
        orders=DynamoOrdersRepository(),
        catalog=DynamoCatalogRepository(),
        profile=DynamoProfileRepository(),
        cart=DynamoCartRepository(),
        coupons=DynamoCouponsRepository(),
        points=DynamoPointsRepository(),
        workflow=StepFunctionsOrderWorkflow(),
        refunds=ChannelRefunds(),
    )


class SqsOrderOutbox:
    """The order-outbox queue (ORDER_OUTBOX_QUEUE_URL): ten messages to a SendMessageBatch."""

    def send(self, messages: list[dict[str, Any]]) -> None:
        from chalicelib.errors import DependencyUnavailable

        queue_url = get_settings().order_outbox_queue_url
        for start in range(0, len(messages), SQS_BATCH):
            chunk = messages[start : start + SQS_BATCH]
            entries = [{"Id": str(i), "MessageBody": json.dumps(m, ensure_ascii=False)} for i, m in enumerate(chunk)]
            answer = client("sqs").send_message_batch(QueueUrl=queue_url, Entries=entries)
            if answer.get("Failed"):  # raising makes the stream deliver the batch again
                raise DependencyUnavailable(f"SQS refused {len(answer['Failed'])} order outbox messages")

    def retry_later(self, receipt_handle: str, seconds: int) -> None:
        """A message that failed comes back after `seconds` (its backoff), not the queue's visibility timeout."""
        client("sqs").change_message_visibility(
            QueueUrl=get_settings().order_outbox_queue_url, ReceiptHandle=receipt_handle, VisibilityTimeout=seconds
        )


class SmsBuyerNotifier:
    """Texts a buyer through the accounts' SMS sender (SNS; the local stage's /dev/outbox keeps a copy): the phone
    bound to the account, else the order's delivery address's."""

    def tell(self, order: dict[str, Any], text: str) -> bool:
        from chalicelib.accounts.repository import DynamoAccountsRepository
        from chalicelib.accounts.security_repository import DynamoSecurityRepository
        from chalicelib.accounts.sms_sender import SnsSmsSender

        user = DynamoAccountsRepository().get_user(order["user_id"])
        phone = (user.phone if user is not None else None) or (order.get("address") or {}).get("phone")
        if not phone:
            return False
        SnsSmsSender(DynamoSecurityRepository()).send(str(phone), text)
        return True


def promotions_now() -> list[Promotion]:
    return promotions_service.running_promotions(DynamoPromotionsRepository())


class OrderLinesForReviews:
    """What reviews may ask of orders: a line of the user's order, and whether the order was received."""

    def line(self, user_id: str, order_id: str, sku_id: str) -> ReviewableLine | None:
        order = shop().orders.order(order_id)
        if order is None or order["user_id"] != user_id:
            return None
        found: dict[str, Any] | None = next((line for line in order["items"] if line["sku_id"] == sku_id), None)
        if found is None:
            return None
        return ReviewableLine(
            product_id=str(found["product_id"]),
            title=str(found["title"]),
            attributes=dict(found.get("attributes") or {}),
            received=order["status"] in RECEIVED_STATUSES,
        )


use_received_lines(OrderLinesForReviews())
