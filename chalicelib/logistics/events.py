"""Logistics' asynchronous side: each shipped parcel subscribed at kuaidi100, one message per parcel on
shop-<stage>-parcel-subscriptions (queued by the order outbox when an order ships with a kuaidi100 carrier code,
chalicelib/logistics/subscription.py)."""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

from chalice.app import SQSEvent

from chalicelib.aws import client
from chalicelib.batch import backoff_seconds, each_message
from chalicelib.deps import Handlers
from chalicelib.logistics.subscription import PARCEL_SUBSCRIPTIONS_QUEUE, ParcelSubscriber
from chalicelib.observability import logger, metrics

logistics_events = Handlers(__name__)
MAX_RETRY_DELAY_SECONDS = 900  # 1, 2, 4, ... 512, then 900 s: about an hour over its 14 receives, then its DLQ


@logistics_events.on_sqs_message(queue=PARCEL_SUBSCRIPTIONS_QUEUE, batch_size=1)
def subscribe_parcels(event: SQSEvent, kuaidi100_subscriber: ParcelSubscriber) -> dict[str, Any]:
    """Subscribes each parcel at kuaidi100 (200 subscribed, 501 subscribed before: done; 400, 700-702: given up,
    logged). Any other answer, or none, fails the message: it comes back after a backoff that doubles with each
    receive, and after 14 receives the queue keeps it in its DLQ, whose alarm tells the admins. Subscribing twice
    is harmless (kuaidi100 answers 501)."""
    outcomes: Counter[str] = Counter()

    def subscribe(record: Any) -> None:
        try:
            message = json.loads(record.body)
            carrier_code, tracking_no = str(message["carrier_code"]), str(message["tracking_no"])
        except (ValueError, KeyError, TypeError):
            logger.warning("dropping a malformed parcel subscription", extra={"body": record.body[:200]})
            return
        try:
            outcomes[kuaidi100_subscriber.subscribe(carrier_code, tracking_no, str(message.get("phone") or ""))] += 1
        except Exception:
            logger.exception("a parcel subscription failed", extra={"tracking_no": tracking_no})
            _retry_later(record)
            raise

    answer = each_message(event, subscribe)
    metrics.add_metric(name="ParcelsSubscribed", unit="Count", value=sum(outcomes.values()))
    return answer


def _retry_later(record: Any) -> None:
    """The failed message comes back after its backoff, not the queue's visibility timeout."""
    from botocore.exceptions import BotoCoreError, ClientError

    receives = int(record.attributes.approximate_receive_count or 1)
    try:
        sqs = client("sqs")
        url = sqs.get_queue_url(QueueName=PARCEL_SUBSCRIPTIONS_QUEUE)["QueueUrl"]
        sqs.change_message_visibility(
            QueueUrl=url,
            ReceiptHandle=record.receipt_handle,
            VisibilityTimeout=backoff_seconds(receives, MAX_RETRY_DELAY_SECONDS),
        )
    except (BotoCoreError, ClientError):  # it comes back after the queue's visibility timeout instead
        logger.warning("the parcel subscription's backoff could not be set", exc_info=True)
