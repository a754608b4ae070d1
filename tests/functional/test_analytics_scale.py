"""Analytics past one partition on moto: write-sharded roll-ups, and reports beyond 31 days from the columnar lake."""

from __future__ import annotations

from typing import Any

import boto3

from chalicelib.analytics import emitter
from chalicelib.config import get_settings
from tests.functional.conftest import ShopClient
from tests.functional.test_analytics import AnalyticsQueue, an_order, summary

DAY = "2026-11-24"
D2 = "2026-09-10"  # the lake test's days (the lake bucket outlives a test): 2026-09-09 and 2026-09-10


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


def scheduled(days: list[str]) -> dict[str, Any]:
    return {"version": "0", "id": "x", "detail-type": "Scheduled Event", "source": "aws.events", "account": "1",
            "time": "2026-11-26T00:00:00Z", "region": "us-east-1", "resources": [],
            "detail": {"days": days}}  # fmt: skip


def test_a_range_beyond_31_days_is_answered_from_the_columnar_lake_with_the_same_figures_as_the_roll_ups(
    client: ShopClient, admin_token: str
) -> None:
    # GIVEN views, cart adds, orders paid or not, a refund and a search over two days, counted and compacted
    queue = AnalyticsQueue(client)
    o1 = an_order("o_1", "u_a", "2026-09-09T01:00:00Z", [("p_1", 2, 20000), ("p_2", 1, 5000)])
    o2 = an_order("o_2", "u_b", f"{D2}T02:00:00Z", [("p_1", 1, 10000)])
    o3 = an_order("o_3", "u_a", f"{D2}T03:00:00Z", [("p_2", 3, 15000)])
    emitter.emit(
        emitter.product_viewed("p_1", "u_a", "2026-09-09T00:10:00Z", view_id="m1"),
        emitter.product_viewed("p_1", None, f"{D2}T00:11:00Z", view_id="m2"),
        emitter.product_viewed("p_2", "u_b", f"{D2}T00:12:00Z", view_id="m3"),
        emitter.cart_item_added("u_a", "p_1", "p_1-01", 2, "2026-09-09T00:20:00Z"),
        emitter.order_placed(o1), emitter.order_placed(o2), emitter.order_placed(o3),
        emitter.order_paid(o1, "2026-09-09T01:05:00Z", "pay_1", "sandbox"),
        emitter.order_paid(o3, f"{D2}T03:05:00Z", "pay_3", "sandbox"),
        emitter.order_refunded("o_3", "r_1", 5000, "u_a", f"{D2}T05:00:00Z"),
        emitter.search_performed("手机", "u_a", 12, f"{D2}T00:05:00Z"),
    )  # fmt: skip
    queue.consume(queue.take())
    compacted = client.lambda_.invoke("compact_analytics_lake", scheduled(["2026-09-09", D2])).payload
    assert {day: compacted["days"][day] for day in ("2026-09-09", D2)} == {"2026-09-09": 4, D2: 7}
    # WHEN the same days are asked for as a short range (roll-ups) and inside a 40-day range (the lake)
    status, short = summary(client, admin_token, "2026-09-09", D2)
    status_long, long = summary(client, admin_token, "2026-08-02", D2)
    # THEN every figure is the same; the long daily series has the other days at zero
    assert (status, status_long) == (200, 200)
    assert len(long["daily"]) == 40
    assert [d for d in long["daily"] if d["date"] >= "2026-09-09"] == short["daily"]
    assert all(d["orders"] == d["views"] == 0 for d in long["daily"] if d["date"] < "2026-09-09")
    same = ("gmv_fen", "orders", "paid_orders", "buyers", "aov_fen", "refunds", "refunded_fen", "net_gmv_fen",
            "top_products", "funnel", "share_by_category", "behaviour")  # fmt: skip
    assert {k: long[k] for k in same} == {k: short[k] for k in same}
    assert (long["gmv_fen"], long["buyers"], long["funnel"]["views"]) == (25800 + 15800, 1, 3)
    # AND the CSV export of the long range reads the lake too
    response = client.http.get(
        "/admin/analytics/export.csv?from=2026-08-02&to=2026-09-10&report=products",
        headers={"authorization": f"Bearer {admin_token}"},
    )
    assert response.status_code == 200
    lines = response.body.decode("utf-8-sig").splitlines()
    assert [line.split(",")[:4] for line in lines[1:]] == [
        ["p_2", "商品 p_2", "", "20000"],
        ["p_1", "商品 p_1", "", "20000"],
    ]
