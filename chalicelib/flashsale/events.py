"""The asynchronous side of flash sales: the admission queue's consumer (each attempt decided in arrival order), the
schedule that closes ended sessions, and the admission queue's adapter to SQS."""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, datetime
from typing import Any

from chalice.app import Rate, SQSEvent

from chalicelib.aws import client
from chalicelib.batch import each_message
from chalicelib.config import resource_name
from chalicelib.deps import Handlers
from chalicelib.flashsale import admission
from chalicelib.flashsale.service import FlashSale, NotWrittenYet
from chalicelib.observability import logger, metrics
from chalicelib.orders.service import Shop

flashsale_events = Handlers(__name__)
FLASH_SALE_QUEUE = resource_name("flash-sale-attempts")
NOT_WRITTEN_RETRY_SECONDS = 2


class SqsAdmissionQueue:
    """service.AdmissionQueue on the flash-sale attempts queue (FLASH_SALE_QUEUE_URL)."""

    def __init__(self, queue_url: str) -> None:
        self.queue_url = queue_url

    def send(self, message: dict[str, Any]) -> None:
        client("sqs").send_message(QueueUrl=self.queue_url, MessageBody=json.dumps(message, ensure_ascii=False))

    def retry_later(self, receipt_handle: str, seconds: int) -> None:
        client("sqs").change_message_visibility(
            QueueUrl=self.queue_url, ReceiptHandle=receipt_handle, VisibilityTimeout=seconds
        )


def _arrival(record: dict[str, Any]) -> tuple[int, str]:
    return int((record.get("attributes") or {}).get("SentTimestamp") or 0), str(record.get("messageId") or "")


@flashsale_events.on_sqs_message(queue=FLASH_SALE_QUEUE, batch_size=10)
def decide_flash_sale_attempts(event: SQSEvent, flash_sale: FlashSale, shop: Shop) -> dict[str, Any]:
    """Decides each queued attempt, the batch in arrival order (SentTimestamp): WON with its order, or LOST. An
    attempt not written yet comes back alone in a moment; a failed one after the queue's backoff, then its DLQ."""
    raw = event.to_dict()
    ordered = SQSEvent({**raw, "Records": sorted(raw.get("Records") or [], key=_arrival)}, event.context)
    outcomes: Counter[str] = Counter()
    batch = admission.Batch(flash_sale)

    def decide(record: Any) -> None:
        message = json.loads(record.body)
        queued_at = datetime.fromtimestamp(int(record.attributes.sent_timestamp or 0) / 1000, UTC)
        try:
            outcomes[admission.decide(flash_sale, shop, message, queued_at, batch)] += 1
        except NotWrittenYet:
            flash_sale.queue.retry_later(record.receipt_handle, NOT_WRITTEN_RETRY_SECONDS)
            raise
        except Exception:
            logger.exception("a flash-sale attempt could not be decided", extra={"attempt": message})
            raise

    answer = each_message(ordered, decide)
    for outcome, count in outcomes.items():
        metrics.add_metric(name=f"FlashSaleAttempts_{outcome}", unit="Count", value=count)
    return answer


@flashsale_events.schedule(Rate(1, unit=Rate.MINUTES))
def close_ended_flash_sales(event: Any, flash_sale: FlashSale) -> dict[str, Any]:
    """Every minute: sessions that have ended are closed, their unsold promo stock back to the SKUs."""
    return admission.close_ended(flash_sale)
