"""Inventory's asynchronous side: stock-change events from the catalog stream, restock notifications, alerts."""

from __future__ import annotations

import json
from typing import Any

from chalice.app import DynamoDBEvent, SQSEvent

from chalicelib.aws import client
from chalicelib.batch import each_message
from chalicelib.catalog.repository import CatalogRepository
from chalicelib.config import Settings, resource_name, stream_arn
from chalicelib.deps import Handlers
from chalicelib.errors import DependencyUnavailable
from chalicelib.inventory import service
from chalicelib.inventory.domain import StockChange, stock_change_of
from chalicelib.inventory.repository import InventoryRepository
from chalicelib.inventory.service import AdminAlerts, PhoneBook, StockEvents, TextSender
from chalicelib.observability import logger, metrics

inventory_events = Handlers(__name__)
STOCK_EVENTS_QUEUE = resource_name("stock-events")
CATALOG_STREAM_ARN = stream_arn(Settings.from_env(), "catalog")
SQS_BATCH = 10


class SqsStockEvents:
    """StockEvents on the stock-events queue, ten to a SendMessageBatch."""

    def __init__(self, queue_url: str) -> None:
        self.queue_url = queue_url

    def publish(self, changes: list[StockChange]) -> None:
        queue_url = self.queue_url
        for start in range(0, len(changes), SQS_BATCH):
            chunk = changes[start : start + SQS_BATCH]
            answer = client("sqs").send_message_batch(
                QueueUrl=queue_url,
                Entries=[
                    {"Id": str(i), "MessageBody": json.dumps(change.message(), ensure_ascii=False)}
                    for i, change in enumerate(chunk)
                ],
            )
            if answer.get("Failed"):
                # Raising makes Lambda deliver the stream batch again; the consumer is idempotent per event.
                raise DependencyUnavailable(f"SQS refused {len(answer['Failed'])} stock events: {answer['Failed']}")


class SnsAdminAlerts:
    """AdminAlerts on the admin alerts topic (ADMIN_ALERTS_TOPIC_ARN)."""

    def __init__(self, topic_arn: str) -> None:
        self.topic_arn = topic_arn

    def publish(self, subject: str, message: str) -> None:
        topic_arn = self.topic_arn
        if not topic_arn:
            logger.warning("no ADMIN_ALERTS_TOPIC_ARN: alert not sent", extra={"subject": subject})
            return
        client("sns").publish(TopicArn=topic_arn, Subject=subject, Message=message)


@inventory_events.on_dynamodb_record(stream_arn=CATALOG_STREAM_ARN, batch_size=100, starting_position="LATEST")
def publish_stock_changes(event: DynamoDBEvent, stock_events: StockEvents) -> dict[str, Any]:
    """Turns the catalog stream's SKU changes into stock events on the stock-events queue.

    Every writer of stock (the admin's PATCH, orders, cancellations, refunds) is covered without knowing about
    it, since the stream sees every write. A failure raises, so Lambda delivers the batch again: some events may
    then be sent twice, which the consumer shrugs off.
    """
    records = [record.to_dict() for record in event]
    changes = [change for change in map(stock_change_of, records) if change is not None and change.sku_id]
    if changes:
        stock_events.publish(changes)
    metrics.add_metric(name="StockChangesPublished", unit="Count", value=len(changes))
    return {"records": len(records), "stock_changes": len(changes)}


@inventory_events.on_sqs_message(queue=STOCK_EVENTS_QUEUE, batch_size=10)
def handle_stock_events(
    event: SQSEvent,
    inventory: InventoryRepository,
    catalog: CatalogRepository,
    texts: TextSender,
    phones: PhoneBook,
    admin_alerts: AdminAlerts,
) -> dict[str, Any]:
    """Folds stock events into the low-stock list, alerts the admins when a SKU falls under its threshold, and
    texts the users waiting for a SKU that is back in stock — each at most once, whatever is redelivered.

    Each event stands on its own: one that fails comes back alone (a partial batch response), and a redelivered one
    changes nothing that was done (after 5 tries it goes to the DLQ).
    """
    outcomes: list[dict[str, Any]] = []

    def handle(record: Any) -> None:
        try:
            change = StockChange.from_message(json.loads(record.body))
        except (ValueError, KeyError, TypeError):
            logger.warning("dropping a malformed stock event", extra={"body": record.body[:200]})
            return
        try:
            outcomes.append(service.handle_stock_change(inventory, catalog, texts, phones, admin_alerts, change))
        except Exception:
            logger.exception("stock event failed", extra={"sku_id": change.sku_id, "seq": change.seq})
            raise

    answer = each_message(event, handle)
    metrics.add_metric(name="RestockTextsSent", unit="Count", value=sum(o["texted"] for o in outcomes))
    return answer
