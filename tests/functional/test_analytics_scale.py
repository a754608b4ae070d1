"""Analytics past one partition on moto: write-sharded roll-ups, and reports beyond 31 days from the columnar lake."""

from __future__ import annotations

from typing import Any

import boto3

from chalicelib.analytics import emitter
from chalicelib.config import get_settings
from tests.functional.conftest import ShopClient
from tests.functional.test_analytics import AnalyticsQueue, an_order, summary

DAY = "2026-11-24"


def send_views(queue: AnalyticsQueue, count: int) -> list[dict[str, Any]]:
    """`count` views, each taken off the queue as its own batch (as many consumers would)."""
    batches = []
    for n in range(count):
        emitter.emit(emitter.product_viewed(f"p_{n % 3}", f"u_{n}", f"{DAY}T00:{n:02d}:00Z", view_id=f"v{n}"))
        batches.append(queue.take())
    return batches


def test_counters_land_on_sharded_partitions_that_the_summary_adds_up_and_redelivery_counts_nothing_twice(
    client: ShopClient, admin_token: str
) -> None:
    # GIVEN 12 views and a paid order, each consumed as its own batch
    queue = AnalyticsQueue(client)
    batches = send_views(queue, 12)
    order = an_order("o_1", "u_a", f"{DAY}T01:00:00Z", [("p_1", 2, 20000)])
    emitter.emit(emitter.order_placed(order), emitter.order_paid(order, f"{DAY}T01:05:00Z", "pay_1", "sandbox"))
    batches.append(queue.take())
    # WHEN every batch is consumed, then delivered again
    counted = sum(queue.consume(batch)["counted"] for batch in batches)
    again = sum(queue.consume(batch)["counted"] for batch in batches)
    # THEN each event counted once, and the summary adds the shards up
    assert (counted, again) == (14, 0)
    status, figures = summary(client, admin_token)
    assert status == 200
    assert figures["funnel"] == {"views": 12, "cart_adds": 0, "orders": 1, "payments": 1}
    assert (figures["gmv_fen"], figures["buyers"]) == (20800, 1)
    assert {p["product_id"]: p["views"] for p in figures["top_products"]} == {"p_0": 4, "p_1": 4, "p_2": 4}
    # AND no roll-up or buyer partition key is a constant: every one carries a shard, and the views spread over several
    table = boto3.resource("dynamodb").Table(get_settings().analytics_table)
    keys = [item["pk"] for item in table.scan(ProjectionExpression="pk")["Items"]]
    rollups = [pk for pk in keys if not pk.startswith("EVENT#")]
    assert rollups and all(pk.rsplit("#", 1)[1].isdigit() for pk in rollups)
    assert len({pk for pk in rollups if pk.startswith("DAY#")}) > 1
