"""Catalog's asynchronous side: product views travel through SQS and are folded into view counts in batches."""

from __future__ import annotations

import json
from typing import Any

from chalice.app import SQSEvent

from chalicelib.analytics import emitter as analytics
from chalicelib.aws import client
from chalicelib.catalog import service
from chalicelib.catalog.repository import CatalogRepository
from chalicelib.catalog.service import Footprints
from chalicelib.clock import precise_iso, utcnow
from chalicelib.config import resource_name
from chalicelib.deps import Handlers
from chalicelib.observability import logger, metrics

catalog_events = Handlers(__name__)
PRODUCT_VIEWS_QUEUE = resource_name("product-views")


class SqsViewEvents:
    """ViewEvents on the product-views queue: one small message per view, never a table write on the request path."""

    def __init__(self, queue_url: str) -> None:
        self.queue_url = queue_url

    def product_viewed(self, product_id: str, user_id: str | None) -> None:
        # To the microsecond: views of p1, p2, p1 within one second must still put p1 on top of the footprints.
        message = {"type": "product_viewed", "product_id": product_id, "user_id": user_id, "at": precise_iso(utcnow())}
        try:
            client("sqs").send_message(QueueUrl=self.queue_url, MessageBody=json.dumps(message))
        except Exception:  # a lost view count must never fail the page
            logger.exception("could not queue a product view", extra={"product_id": product_id})


@catalog_events.on_sqs_message(queue=PRODUCT_VIEWS_QUEUE, batch_size=100, maximum_batching_window_in_seconds=10)
def count_product_views(event: SQSEvent, catalog: CatalogRepository, footprints: Footprints) -> dict[str, Any]:
    """Adds a batch of views to the products' view_count, one update per product, and records signed-in
    viewers' footprints (one per user and product, the newest view wins).

    The views are counted per batch (one update per product), so a failure raises and the whole batch comes back
    (after 5 tries, the DLQ): a retried batch may count some views twice. That is the right side to err on for a
    popularity counter.
    """
    product_ids: list[str] = []
    viewers: list[tuple[str, str, str]] = []
    viewed: list[Any] = []
    for record in event:
        try:
            message = json.loads(record.body)
            product_ids.append(str(message["product_id"]))
            if message.get("user_id"):
                viewers.append((str(message["user_id"]), str(message["product_id"]), str(message["at"])))
            view_id = record.to_dict().get("messageId")  # a redelivered view keeps its id: analytics counts it once
            viewed.append(
                analytics.product_viewed(message["product_id"], message.get("user_id"), message.get("at"), view_id)
            )
        except (ValueError, KeyError, TypeError):
            logger.warning("dropping a malformed view message", extra={"body": record.body[:200]})
    counts = service.record_views(catalog, product_ids) if product_ids else {}
    if viewers:
        footprints.record(viewers)
    metrics.add_metric(name="ProductViewsCounted", unit="Count", value=len(product_ids))
    analytics.emit(*viewed)  # the views also go on as analytics events (never raises)
    return {"products": len(counts), "views": len(product_ids), "footprints": len(viewers)}
