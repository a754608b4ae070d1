"""The payment context's production wiring: Dynamo repository, channels from the environment, orders, SQS."""

from __future__ import annotations

import json
from functools import cache, lru_cache
from typing import Any

from chalicelib.aws import client
from chalicelib.config import resource_name
from chalicelib.payments.channels import PaymentChannel, channel_for
from chalicelib.payments.config import PaymentSettings
from chalicelib.payments.repository import DynamoPaymentsRepository
from chalicelib.payments.service import Payments

LATE_REFUNDS_QUEUE_SUFFIX = "payment-refunds"


@lru_cache(maxsize=8)
def _channel(name: str, settings: PaymentSettings) -> PaymentChannel:
    return channel_for(name, settings)  # keys are parsed once per channel and configuration


def configured_channel(name: str) -> PaymentChannel:
    """The channel as the environment configures it now (NotFound when unknown or not configured)."""
    return _channel(name, PaymentSettings.from_env())


def confirm_with_orders(order_id: str, payment_id: str, amount_fen: int) -> dict[str, Any]:
    from chalicelib.orders import service, wiring

    return service.confirm_payment(wiring.shop(), order_id, payment_id, amount_fen)


class SqsLateRefunds:
    """Late payments whose refund is unfinished: a message per payment on shop-<stage>-payment-refunds."""

    def enqueue(self, payment_id: str) -> None:
        from botocore.exceptions import BotoCoreError, ClientError

        from chalicelib.errors import DependencyUnavailable

        try:
            sqs = client("sqs")
            url = sqs.get_queue_url(QueueName=resource_name(LATE_REFUNDS_QUEUE_SUFFIX))["QueueUrl"]
            sqs.send_message(QueueUrl=url, MessageBody=json.dumps({"payment_id": payment_id}))
        except (BotoCoreError, ClientError) as error:
            raise DependencyUnavailable("The late-refund queue could not be reached") from error


@cache
def production_payments() -> Payments:
    return Payments(
        repo=DynamoPaymentsRepository(),
        channels=configured_channel,
        confirm=confirm_with_orders,
        late_refunds=SqsLateRefunds(),
    )
