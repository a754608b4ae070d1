"""Analytics on moto: events through the real queue and consumer, the S3 lake, the roll-ups, the admin reports."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from datetime import date, timedelta
from typing import Any

import boto3
import pytest

from app import app
from chalicelib.analytics import emitter
from chalicelib.analytics.lake import S3Lake, read_recent_events
from chalicelib.bootstrap import container
from chalicelib.config import get_settings, reset_caches
from chalicelib.orders import service as orders_service
from local.aws import lambda_dispatch
from local.aws.sqs_poller import lambda_record
from tests.functional.catalog_data import create_catalog, create_product
from tests.functional.conftest import ShopClient, register_and_login
from tests.functional.order_machinery import stop_running_executions
from tests.functional.test_orders import ADDRESS

DAY = "2026-11-24"


class AnalyticsQueue:
    """The analytics-events queue and its consumer, driven by hand as the local runtime's poller does."""

    def __init__(self, client: ShopClient) -> None:
        self.client = client
        self.sqs = boto3.client("sqs")
        self.url = get_settings().analytics_events_queue_url
        self.arn = self.sqs.get_queue_attributes(QueueUrl=self.url, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]

    def take(self) -> dict[str, Any]:
        """Everything on the queue, taken off it, as one SQS event."""
        records = []
        while messages := self.sqs.receive_message(QueueUrl=self.url, MaxNumberOfMessages=10).get("Messages", []):
            for message in messages:
                records.append(lambda_record(message, self.arn, "us-east-1"))
                self.sqs.delete_message(QueueUrl=self.url, ReceiptHandle=message["ReceiptHandle"])
        return {"Records": records}

    def consume(self, event: dict[str, Any]) -> dict[str, Any]:
        return dict(self.client.lambda_.invoke("record_analytics_events", event).payload)


def an_order(order_id: str, user_id: str, created_at: str, lines: list[tuple[str, int, int]]) -> dict[str, Any]:
    """An order as the orders context stores it; payable = lines + 800 fen shipping."""
    items = [{"sku_id": f"{p}-01", "product_id": p, "title": f"商品 {p}", "quantity": q, "payable_fen": fen}
             for p, q, fen in lines]  # fmt: skip
    payable = sum(fen for _, _, fen in lines) + 800
    return {"order_id": order_id, "user_id": user_id, "created_at": created_at, "items": items,
            "amounts": {"payable_fen": payable}}  # fmt: skip


def summary(client: ShopClient, token: str, first: str = DAY, last: str = DAY) -> tuple[int, Any]:
    status, body, _ = client.call("GET", f"/admin/analytics/summary?from={first}&to={last}", token=token)
    return status, body


def test_given_events_with_duplicates_and_garbage_when_consumed_twice_then_every_figure_and_the_lake_are_exact(
    client: ShopClient, admin_token: str
) -> None:
    queue = AnalyticsQueue(client)
    o1 = an_order("o_1", "u_a", f"{DAY}T01:00:00Z", [("p_1", 2, 20000), ("p_2", 1, 5000)])
    o2 = an_order("o_2", "u_b", f"{DAY}T02:00:00Z", [("p_1", 1, 10000)])
    o3 = an_order("o_3", "u_a", f"{DAY}T03:00:00Z", [("p_2", 3, 15000)])
    sent = emitter.emit(
        emitter.product_viewed("p_1", "u_a", f"{DAY}T00:10:00Z", view_id="m1"),
        emitter.product_viewed("p_1", None, f"{DAY}T00:11:00Z", view_id="m2"),
        emitter.product_viewed("p_2", "u_b", f"{DAY}T00:12:00Z", view_id="m3"),
        emitter.cart_item_added("u_a", "p_1", "p_1-01", 2, f"{DAY}T00:20:00Z"),
        emitter.order_placed(o1),
        emitter.order_placed(o2),
        emitter.order_placed(o3),
        emitter.order_paid(o1, f"{DAY}T01:05:00Z", "pay_1", "sandbox"),
        emitter.order_paid(o1, f"{DAY}T01:05:00Z", "pay_1", "sandbox"),  # a retried notify emits it again
        emitter.order_paid(o3, f"{DAY}T03:05:00Z", "pay_3", "sandbox"),
        emitter.order_refunded("o_3", "r_1", 5000, "u_a", f"{DAY}T05:00:00Z"),
        emitter.search_performed("手机", "u_a", 12, f"{DAY}T00:05:00Z"),
    )
    queue.sqs.send_message(QueueUrl=queue.url, MessageBody='{"type": "order_paid", "order_id": "o_x"}')
    queue.sqs.send_message(QueueUrl=queue.url, MessageBody="not json at all")
    batch = queue.take()

    first = queue.consume(batch)
    redelivered = queue.consume(batch)
    status, figures = summary(client, admin_token)

    assert sent == 12
    assert first == {"received": 14, "malformed": 2, "duplicates": 1, "counted": 11, "lake_objects": 1}
    assert redelivered == {"received": 14, "malformed": 2, "duplicates": 12, "counted": 0, "lake_objects": 0}
    assert status == 200
    assert figures["gmv_fen"] == 25800 + 15800
    assert (figures["orders"], figures["paid_orders"], figures["buyers"], figures["aov_fen"]) == (3, 2, 1, 20800)
    assert (figures["refunds"], figures["refunded_fen"], figures["net_gmv_fen"]) == (1, 5000, 36600)
    assert figures["daily"] == [
        {"date": DAY, "gmv_fen": 41600, "orders": 3, "paid_orders": 2, "buyers": 1, "aov_fen": 20800, "views": 3,
         "cart_adds": 1, "payments": 2, "refunds": 1, "refunded_fen": 5000}
    ]  # fmt: skip
    assert figures["funnel"] == {"views": 3, "cart_adds": 1, "orders": 3, "payments": 2}
    assert [(p["product_id"], p["gmv_fen"], p["units"], p["orders"], p["views"]) for p in figures["top_products"]] == [
        ("p_2", 20000, 4, 2, 1),
        ("p_1", 20000, 2, 2, 2),
    ]
    assert figures["top_products"][0]["title"] == "商品 p_2"
    assert figures["behaviour"]["searches"] == 1
    lake = list(read_recent_events(1, S3Lake(), until=date.fromisoformat(DAY)))
    assert len(lake) == 11
    assert {line["event_id"] for line in lake} >= {
        "product_viewed:m1", "product_viewed:m2", "product_viewed:m3", "order_placed:o_1", "order_placed:o_2",
        "order_placed:o_3", "order_paid:o_1", "order_paid:o_3", "order_refunded:r_1",
    }  # fmt: skip
    assert {line["type"] for line in lake} >= {"cart_item_added", "search_performed"}
    objects = boto3.client("s3").list_objects_v2(Bucket=get_settings().analytics_bucket, Prefix="events/")["Contents"]
    assert [o["Key"].rsplit("/", 1)[0] for o in objects] == [f"events/dt={DAY}"]
    raw = boto3.client("s3").get_object(Bucket=get_settings().analytics_bucket, Key=objects[0]["Key"])["Body"].read()
    lines = [json.loads(line) for line in raw.decode().splitlines()]
    assert len(lines) == 11 and len({line["event_id"] for line in lines}) == 11


def test_the_csv_export_is_the_daily_series_as_a_download(client: ShopClient, admin_token: str) -> None:
    queue = AnalyticsQueue(client)
    order = an_order("o_9", "u_z", "2026-11-23T17:00:00Z", [("p_9", 1, 9900)])  # 01:00 on the 24th in Shanghai
    emitter.emit(emitter.order_placed(order), emitter.order_paid(order, "2026-11-23T17:01:00Z"))
    queue.consume(queue.take())

    response = client.http.get(
        "/admin/analytics/export.csv?from=2026-11-23&to=2026-11-24",
        headers={"authorization": f"Bearer {admin_token}"},
    )
    products = client.http.get(
        f"/admin/analytics/export.csv?from={DAY}&to={DAY}&report=products",
        headers={"authorization": f"Bearer {admin_token}"},
    )

    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert response.headers["Content-Disposition"] == (
        'attachment; filename="analytics-daily-2026-11-23-2026-11-24.csv"'
    )
    text = response.body.decode("utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert [(r["date"], r["orders"], r["paid_orders"], r["gmv_fen"], r["buyers"]) for r in rows] == [
        ("2026-11-23", "0", "0", "0", "0"),
        ("2026-11-24", "1", "1", "10700", "1"),
    ]
    product_rows = list(csv.DictReader(io.StringIO(products.body.decode("utf-8-sig"))))
    assert [(r["product_id"], r["title"], r["gmv_fen"], r["units"]) for r in product_rows] == [
        ("p_9", "商品 p_9", "9900", "1")
    ]


@pytest.mark.parametrize(
    "query",
    [
        "from=2026-11-25&to=2026-11-24",
        "from=2025-01-01&to=2026-01-02",
        "from=2026-02-30&to=2026-03-01",
        "from=2026-1-1&to=2026-01-02",
        "to=2026-01-02",
        "from=yesterday&to=today",
    ],
)
def test_a_bad_range_is_a_400_validation_error(client: ShopClient, admin_token: str, query: str) -> None:
    for path in ("/admin/analytics/summary", "/admin/analytics/export.csv"):
        status, body, _ = client.call("GET", f"{path}?{query}", token=admin_token)

        assert status == 400, (path, body)
        assert body["code"] == "VALIDATION_ERROR"


def test_customers_cannot_read_analytics(client: ShopClient, customer_token: str) -> None:
    assert summary(client, customer_token)[0] == 403
    assert client.call("GET", f"/admin/analytics/export.csv?from={DAY}&to={DAY}", token=customer_token)[0] == 403


def test_the_emitter_swallows_a_queue_that_is_not_there(client: ShopClient, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ANALYTICS_EVENTS_QUEUE_URL", get_settings().analytics_events_queue_url + "-gone")
    reset_caches()
    try:
        sent = emitter.emit(emitter.favorite_added("u_a", "p_1"), emitter.favorite_added("u_a", "p_2"))
        one = emitter.emit(emitter.favorite_added("u_a", "p_3"))
        unbuildable = emitter.emit_as(emitter.cart_item_added, "u_a", "p_1", "p_1-01", 0)
    finally:
        monkeypatch.undo()
        reset_caches()

    assert (sent, one, unbuildable) == (0, 0, 0)


def test_views_favorites_and_cart_adds_of_the_shop_reach_the_summary_once_each(
    client: ShopClient, admin_token: str, customer_token: str, aws_env: dict[str, str]
) -> None:
    create_catalog(client, admin_token)
    product_id = create_product(client, admin_token, "华为 Mate 60 Pro")["product_id"]
    queue = AnalyticsQueue(client)
    assert client.call("GET", f"/products/{product_id}")[0] == 200
    assert client.call("GET", f"/products/{product_id}", token=customer_token)[0] == 200
    for _ in range(2):  # the second favorite changes nothing, so it is no event
        assert client.call("PUT", f"/me/favorites/{product_id}", token=customer_token)[0] in (200, 201)
    cart = client.call("POST", "/cart/items", {"sku_id": f"{product_id}-01", "quantity": 3}, token=customer_token)
    assert cart[0] == 201
    sqs = boto3.client("sqs")
    views = []
    while batch := sqs.receive_message(QueueUrl=aws_env["PRODUCT_VIEWS_QUEUE_URL"], MaxNumberOfMessages=10).get(
        "Messages"
    ):
        views += batch
    arn = sqs.get_queue_attributes(QueueUrl=aws_env["PRODUCT_VIEWS_QUEUE_URL"], AttributeNames=["QueueArn"])
    view_event = {"Records": [lambda_record(m, arn["Attributes"]["QueueArn"], "us-east-1") for m in views]}
    client.lambda_.invoke("count_product_views", view_event)
    client.lambda_.invoke("count_product_views", view_event)  # the view batch redelivered

    outcome = queue.consume(queue.take())
    status, figures = summary(client, admin_token, first=_yesterday(), last=_tomorrow())

    assert outcome["counted"] == 4 and outcome["duplicates"] == 2
    assert status == 200
    assert figures["funnel"] == {"views": 2, "cart_adds": 1, "orders": 0, "payments": 0}
    assert figures["behaviour"]["favorites"] == 1
    (product,) = figures["top_products"]
    assert (product["product_id"], product["views"], product["cart_adds"], product["favorites"]) == (
        product_id, 2, 1, 1
    )  # fmt: skip
    assert product["category_id"] == "c_phone"
    assert sum(day["views"] for day in figures["daily"]) == 2  # the range spans the days around today


def _yesterday() -> str:
    return (date.today() - timedelta(days=1)).isoformat()


def _tomorrow() -> str:
    return (date.today() + timedelta(days=1)).isoformat()


@pytest.fixture
def order_tasks(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Orders start real executions: their tasks run in process, nothing times out during the test, and the
    executions are stopped at the end (so none wakes up in a later module's moto account)."""
    monkeypatch.setenv("PAYMENT_TIMEOUT_SECONDS", "600")
    reset_caches()
    lambda_dispatch.install(app, "local")
    try:
        yield
    finally:
        stop_running_executions()
        lambda_dispatch.uninstall()
        monkeypatch.undo()
        reset_caches()


def test_given_real_orders_paid_or_not_the_summary_matches_the_orders_exactly(
    client: ShopClient, admin_token: str, order_tasks: None
) -> None:
    create_catalog(client, admin_token)
    phone = create_product(client, admin_token, "华为 Mate 60")["skus"][0]["sku_id"]
    earphones = create_product(client, admin_token, "华为 FreeBuds", category="c_earphone")["skus"][0]["sku_id"]
    buyers = []
    for name in ("alice", "bob"):
        token = register_and_login(client, name)
        status, address, _ = client.call("POST", "/me/addresses", ADDRESS, token=token)
        assert status == 201, address
        buyers.append((token, address["address_id"]))
    wanted = [
        (buyers[0], [(phone, 1), (earphones, 2)]),
        (buyers[0], [(earphones, 1)]),
        (buyers[1], [(phone, 2)]),
    ]
    orders = []
    for index, ((token, address_id), lines) in enumerate(wanted):
        body = {"address_id": address_id, "items": [{"sku_id": s, "quantity": q} for s, q in lines]}
        status, placed, _ = client.call("POST", "/orders", body, token=token, **{"Idempotency-Key": f"k-{index}"})
        assert status == 201, placed
        orders.append(placed)
    paid = [orders[0], orders[2]]
    for order in paid:
        service_confirm(order)
    service_confirm(orders[0])  # a duplicate notify: the same payment again

    AnalyticsQueue(client).consume(AnalyticsQueue(client).take())
    today = business_today()
    status, figures = summary(client, admin_token, today, today)

    gmv = sum(order["amounts"]["payable_fen"] for order in paid)
    assert status == 200
    assert (figures["orders"], figures["paid_orders"], figures["buyers"]) == (3, 2, 2)
    assert figures["gmv_fen"] == gmv
    assert figures["aov_fen"] == (2 * gmv + 2) // 4
    assert figures["funnel"]["orders"] == 3 and figures["funnel"]["payments"] == 2
    assert figures["daily"] == [
        {"date": today, "gmv_fen": gmv, "orders": 3, "paid_orders": 2, "buyers": 2, "aov_fen": figures["aov_fen"],
         "views": 0, "cart_adds": 0, "payments": 2, "refunds": 0, "refunded_fen": 0}
    ]  # fmt: skip
    lines_paid = [item for order in paid for item in order["items"]]
    by_product = {p["product_id"]: p for p in figures["top_products"]}
    for product_id in {item["sku_id"].rsplit("-", 1)[0] for item in lines_paid}:
        its_lines = [item for item in lines_paid if item["sku_id"].rsplit("-", 1)[0] == product_id]
        assert by_product[product_id]["units"] == sum(item["quantity"] for item in its_lines)
        assert by_product[product_id]["gmv_fen"] == sum(item["payable_fen"] for item in its_lines)
    assert by_product[earphones.rsplit("-", 1)[0]]["orders"] == 2  # placed twice, paid once
    shares = {s["category_id"]: s["gmv_fen"] for s in figures["share_by_category"]}
    assert sum(shares.values()) == sum(item["payable_fen"] for item in lines_paid)
    assert set(shares) == {"c_phone", "c_earphone"}


def service_confirm(order: dict[str, Any]) -> None:
    answer = orders_service.confirm_payment(
        container().shop, order["order_id"], f"pay-{order['order_id']}", order["amounts"]["payable_fen"]
    )
    assert answer["status"] == "PAID", answer


def business_today() -> str:
    from chalicelib.analytics.rollup import today

    return today().isoformat()


def test_moving_a_cart_line_to_favorites_counts_as_a_favorite_once(
    client: ShopClient, admin_token: str, customer_token: str
) -> None:
    create_catalog(client, admin_token)
    first = create_product(client, admin_token, "华为 Mate 60 Pro")["product_id"]
    second = create_product(client, admin_token, "小米 14")["product_id"]
    queue = AnalyticsQueue(client)
    assert client.call("PUT", f"/me/favorites/{second}", token=customer_token)[0] in (200, 201)
    for product_id in (first, second):
        line = {"sku_id": f"{product_id}-01", "quantity": 1}
        assert client.call("POST", "/cart/items", line, token=customer_token)[0] == 201
        moved = client.call("POST", f"/cart/items/{product_id}-01/move-to-favorites", token=customer_token)
        assert moved[0] == 200 and set(moved[1]) == {"sku_id", "product_id", "favorited_at"}

    queue.consume(queue.take())
    status, figures = summary(client, admin_token, first=_yesterday(), last=_tomorrow())

    assert status == 200
    assert figures["behaviour"]["favorites"] == 2  # the second product was a favorite already: no new event
    assert {p["product_id"]: p["favorites"] for p in figures["top_products"]} == {first: 1, second: 1}
