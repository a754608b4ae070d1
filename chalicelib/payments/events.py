"""Payments' asynchronous side: finishing the refunds of late payments (paid after the order was cancelled, or a
second payment of a paid order) that could not finish while their notify was answered."""

from __future__ import annotations

import json
from typing import Any

from chalice.app import SQSEvent

from chalicelib.aws import client
from chalicelib.batch import each_message
from chalicelib.config import resource_name
from chalicelib.deps import Handlers
from chalicelib.errors import DependencyUnavailable, NotFound
from chalicelib.observability import logger
from chalicelib.payments import service
from chalicelib.payments.service import Payments

payments_events = Handlers(__name__)
LATE_REFUNDS_QUEUE = resource_name("payment-refunds")


class SqsLateRefunds:
    """payments.service.LateRefunds: a message per payment on shop-<stage>-payment-refunds."""

    def enqueue(self, payment_id: str) -> None:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            sqs = client("sqs")
            url = sqs.get_queue_url(QueueName=LATE_REFUNDS_QUEUE)["QueueUrl"]
            sqs.send_message(QueueUrl=url, MessageBody=json.dumps({"payment_id": payment_id}))
        except (BotoCoreError, ClientError) as error:
            raise DependencyUnavailable("The late-refund queue could not be reached") from error


class LateRefundUnfinished(Exception):
    """The provider is still processing the refund: the message comes back after the visibility timeout."""


@payments_events.on_sqs_message(queue=LATE_REFUNDS_QUEUE, batch_size=1)
def refund_late_payments(event: SQSEvent, payments: Payments) -> dict[str, Any]:
    """Refund each late payment in full through its channel, once (the refund id is derived from the payment).

    An unreachable provider (DependencyUnavailable) or a refund still PROCESSING fails the message, so it is
    delivered again after the queue's visibility timeout; after 10 tries it lands in the DLQ, whose alarm tells the
    admins. A refusal is logged and counted (LateRefundsRefused) for a person to settle with the payer."""

    def refund(record: Any) -> None:
        try:
            payment_id = str(json.loads(record.body)["payment_id"])
        except (ValueError, KeyError, TypeError):
            logger.warning("dropping a malformed late-refund job", extra={"body": record.body[:200]})
            return
        try:
            outcome = service.refund_late_payment(payments, payment_id)
        except NotFound:
            logger.warning("a late-refund job names no late payment", extra={"payment_id": payment_id})
            return
        if outcome == "PROCESSING":
            raise LateRefundUnfinished(f"the refund of {payment_id} is still processing")

    return each_message(event, refund)
