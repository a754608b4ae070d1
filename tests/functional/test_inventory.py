"""Stock events, reservations, restock texts and low-stock alerts through the HTTP API, the stream and the queue."""

from __future__ import annotations

from typing import Any

import boto3
import pytest
from moto.core import DEFAULT_ACCOUNT_ID
from moto.sns.models import sns_backends

from chalicelib.config import get_settings
from local.aws.sqs_poller import lambda_record
from local.aws.stream_poller import lambda_stream_record
from tests.functional import conftest
from tests.functional.catalog_data import create_catalog, create_product
from tests.functional.conftest import ShopClient, register_and_login

ALICE_PHONE = "13912345678"


class CatalogStream:
    """Reads what the catalog table's stream got since it was opened, as Lambda's event source hands it over."""

    def __init__(self) -> None:
        self.streams = boto3.client("dynamodbstreams")
        table = boto3.client("dynamodb").describe_table(TableName=get_settings().catalog_table)["Table"]
        self.arn = table["LatestStreamArn"]
        shards = self.streams.describe_stream(StreamArn=self.arn)["StreamDescription"]["Shards"]
        self.iterators = [
            self.streams.get_shard_iterator(StreamArn=self.arn, ShardId=s["ShardId"], ShardIteratorType="LATEST")[
                "ShardIterator"
            ]
            for s in shards
        ]

    def records(self) -> list[dict[str, Any]]:
        records: list[dict[str, Any]] = []
        for index, iterator in enumerate(self.iterators):
            answer = self.streams.get_records(ShardIterator=iterator)
            records += [lambda_stream_record(r, self.arn) for r in answer["Records"]]
            self.iterators[index] = answer["NextShardIterator"]
        return records


class StockPipeline:
    """The stream handler and the queue consumer, driven by hand: what the local runtime's pollers do."""

    def __init__(self, client: ShopClient) -> None:
        self.client = client
        self.stream = CatalogStream()
        self.sqs = boto3.client("sqs")
        self.queue_url = get_settings().stock_events_queue_url
        self.queue_arn = self.sqs.get_queue_attributes(QueueUrl=self.queue_url, AttributeNames=["QueueArn"])[
            "Attributes"
        ]["QueueArn"]

    def publish(self) -> dict[str, Any]:
        """Hand the stream's new records to the stream handler; return its answer."""
        event = {"Records": self.stream.records()}
        return dict(self.client.lambda_.invoke("publish_stock_changes", event).payload)

    def queued(self) -> dict[str, Any]:
        """Everything on the stock-events queue, taken off it, as one SQS event."""
        records = []
        while messages := self.sqs.receive_message(
            QueueUrl=self.queue_url, MaxNumberOfMessages=10, AttributeNames=["All"]
        ).get("Messages", []):
            for message in messages:
                records.append(lambda_record(message, self.queue_arn, "us-east-1"))
                self.sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=message["ReceiptHandle"])
        return {"Records": records}

    def consume(self, event: dict[str, Any]) -> dict[str, Any]:
        return dict(self.client.lambda_.invoke("handle_stock_events", event).payload)

    def run(self) -> dict[str, Any]:
        """Stream -> queue -> consumer, once; returns the SQS event, for redelivering it."""
        self.publish()
        event = self.queued()
        self.consume(event)
        return event


@pytest.fixture
def pipeline(client: ShopClient) -> StockPipeline:
    return StockPipeline(client)


@pytest.fixture
def sold_out_sku(client: ShopClient, admin_token: str) -> str:
    """A SKU with no stock (the product's second SKU)."""
    create_catalog(client, admin_token)
    product = create_product(client, admin_token, "华为 Mate 60 Pro")
    return str(product["skus"][1]["sku_id"]) if "skus" in product else f"{product['product_id']}-02"


def set_stock(client: ShopClient, admin_token: str, sku_id: str, stock: int) -> None:
    status, body, _ = client.call("PATCH", f"/admin/skus/{sku_id}/stock", {"stock": stock}, token=admin_token)
    assert status == 200, body


def restock_texts(client: ShopClient, phone: str) -> list[str]:
    messages = client.call("GET", f"/dev/outbox?to={phone}")[1]["messages"]
    return [m["text"] for m in messages if "到货" in m["text"]]


def register_with_phone(client: ShopClient, username: str, phone: str) -> str:
    password = "correct horse 1"
    status, body = conftest.register_with_phone(client, username, phone, password)  # with the texted code
    assert status == 201, body
    return str(client.call("POST", "/auth/login", {"username": username, "password": password})[1]["access_token"])


def admin_alerts() -> list[tuple[str, str]]:
    """(subject, message) of every publish to the admin alerts topic, from moto's record of them."""
    topic = sns_backends[DEFAULT_ACCOUNT_ID]["us-east-1"].topics[get_settings().admin_alerts_topic_arn]
    return [(subject, message) for _id, message, subject, *_rest in topic.sent_notifications]


def reservations(client: ShopClient, token: str) -> list[dict[str, Any]]:
    status, body, _ = client.call("GET", "/me/reservations", token=token)
    assert status == 200, body
    return list(body["items"])


# ---------------------------------------------------------------- reservations


def test_a_customer_reserves_a_sold_out_sku_once_and_sees_it_with_its_card_and_stock(
    client: ShopClient, sold_out_sku: str
) -> None:
    token = register_and_login(client, "bob")

    first = client.call("POST", "/me/reservations", {"sku_id": sold_out_sku}, token=token)
    again = client.call("POST", "/me/reservations", {"sku_id": sold_out_sku}, token=token)
    listed = reservations(client, token)

    assert (first[0], first[1]["newly_reserved"]) == (201, True)
    assert (again[0], again[1]["newly_reserved"]) == (201, False)
    assert again[1]["reserved_at"] == first[1]["reserved_at"]
    assert len(listed) == 1
    (item,) = listed
    assert item["sku_id"] == sold_out_sku
    assert item["title"] == "华为 Mate 60 Pro"
    assert item["attributes"] == {"颜色": "雅丹黑"}
    assert (item["stock"], item["available"], item["price_fen"]) == (0, False, 689900)
    assert (item["notified_at"], item["notify_result"]) == (None, None)


def test_reserving_an_unknown_sku_is_404_and_one_in_stock_is_409(
    client: ShopClient, admin_token: str, sold_out_sku: str
) -> None:
    token = register_and_login(client, "bob")
    in_stock = sold_out_sku.rsplit("-", 1)[0] + "-01"

    unknown = client.call("POST", "/me/reservations", {"sku_id": "p_nothing-01"}, token=token)
    available = client.call("POST", "/me/reservations", {"sku_id": in_stock}, token=token)
    malformed = client.call("POST", "/me/reservations", {"sku_id": sold_out_sku, "extra": 1}, token=token)
    bad_id = client.call("POST", "/me/reservations", {"sku_id": "a b"}, token=token)

    assert (unknown[0], unknown[1]["code"]) == (404, "NOT_FOUND")
    assert (available[0], available[1]["code"]) == (409, "INVALID_STATE")
    assert (malformed[0], malformed[1]["code"]) == (400, "VALIDATION_ERROR")
    assert (bad_id[0], bad_id[1]["code"]) == (400, "VALIDATION_ERROR")
    assert reservations(client, token) == []


def test_reservations_are_listed_newest_first_and_a_cancelled_one_is_gone(
    client: ShopClient, admin_token: str, sold_out_sku: str
) -> None:
    other = create_product(client, admin_token, "小米 14", brand="b_xiaomi")
    other_sku = f"{other['product_id']}-02"
    token = register_and_login(client, "bob")
    client.call("POST", "/me/reservations", {"sku_id": sold_out_sku}, token=token)
    client.call("POST", "/me/reservations", {"sku_id": other_sku}, token=token)

    newest_first = [item["sku_id"] for item in reservations(client, token)]
    cancelled = client.call("DELETE", f"/me/reservations/{sold_out_sku}", token=token)
    cancelled_again = client.call("DELETE", f"/me/reservations/{sold_out_sku}", token=token)

    assert newest_first == [other_sku, sold_out_sku]
    assert cancelled[0] == 204
    assert (cancelled_again[0], cancelled_again[1]["code"]) == (404, "NOT_FOUND")
    assert [item["sku_id"] for item in reservations(client, token)] == [other_sku]


# ---------------------------------------------------------------- restock texts


def test_a_restock_texts_each_waiting_user_exactly_once_through_bounces_and_redelivery(
    client: ShopClient, admin_token: str, sold_out_sku: str, pipeline: StockPipeline
) -> None:
    alice = register_with_phone(client, "alice", ALICE_PHONE)
    bob = register_and_login(client, "bob")  # no phone bound
    for token in (alice, bob):
        assert client.call("POST", "/me/reservations", {"sku_id": sold_out_sku}, token=token)[0] == 201

    set_stock(client, admin_token, sold_out_sku, 5)
    published = pipeline.publish()
    delivered = pipeline.queued()
    first = pipeline.consume(delivered)
    texted_first = len(restock_texts(client, ALICE_PHONE))
    redelivered = pipeline.consume(delivered)  # SQS hands the same batch over again
    texted_again = len(restock_texts(client, ALICE_PHONE))
    set_stock(client, admin_token, sold_out_sku, 0)
    pipeline.run()
    set_stock(client, admin_token, sold_out_sku, 5)
    pipeline.run()

    assert published == {"records": 1, "stock_changes": 1}
    assert first == redelivered == {"batchItemFailures": []}
    assert (texted_first, texted_again) == (1, 1)
    texts = restock_texts(client, ALICE_PHONE)
    assert len(texts) == 1
    assert "华为 Mate 60 Pro" in texts[0] and "5 件" in texts[0]
    (alices,) = reservations(client, alice)
    (bobs,) = reservations(client, bob)
    assert alices["notified_at"] is not None and alices["notify_result"] == "sent"
    assert bobs["notified_at"] is not None and bobs["notify_result"] == "no_phone"
    assert (alices["stock"], alices["available"]) == (5, True)


def test_a_stream_batch_delivered_twice_still_texts_once(
    client: ShopClient, admin_token: str, sold_out_sku: str, pipeline: StockPipeline
) -> None:
    alice = register_with_phone(client, "alice", ALICE_PHONE)
    client.call("POST", "/me/reservations", {"sku_id": sold_out_sku}, token=alice)
    set_stock(client, admin_token, sold_out_sku, 3)
    records = {"Records": pipeline.stream.records()}

    client.lambda_.invoke("publish_stock_changes", records)
    client.lambda_.invoke("publish_stock_changes", records)
    twice = pipeline.queued()
    pipeline.consume(twice)

    assert len(twice["Records"]) == 2
    assert len(restock_texts(client, ALICE_PHONE)) == 1


def test_a_user_who_reserves_again_after_being_told_is_told_again_at_the_next_restock(
    client: ShopClient, admin_token: str, sold_out_sku: str, pipeline: StockPipeline
) -> None:
    alice = register_with_phone(client, "alice", ALICE_PHONE)
    client.call("POST", "/me/reservations", {"sku_id": sold_out_sku}, token=alice)
    set_stock(client, admin_token, sold_out_sku, 5)
    told = pipeline.run()
    set_stock(client, admin_token, sold_out_sku, 0)
    pipeline.run()

    renewed = client.call("POST", "/me/reservations", {"sku_id": sold_out_sku}, token=alice)
    waiting = reservations(client, alice)
    pipeline.consume(told)  # a late copy of the first restock reaches no one
    set_stock(client, admin_token, sold_out_sku, 8)
    pipeline.run()

    assert (renewed[0], renewed[1]["newly_reserved"], renewed[1]["notified_at"]) == (201, True, None)
    assert [item["notified_at"] for item in waiting] == [None]
    assert len(restock_texts(client, ALICE_PHONE)) == 2
    assert "8 件" in restock_texts(client, ALICE_PHONE)[0]


def test_a_cancelled_reservation_is_not_texted(
    client: ShopClient, admin_token: str, sold_out_sku: str, pipeline: StockPipeline
) -> None:
    alice = register_with_phone(client, "alice", ALICE_PHONE)
    client.call("POST", "/me/reservations", {"sku_id": sold_out_sku}, token=alice)
    client.call("DELETE", f"/me/reservations/{sold_out_sku}", token=alice)

    set_stock(client, admin_token, sold_out_sku, 5)
    pipeline.run()

    assert restock_texts(client, ALICE_PHONE) == []


# ---------------------------------------------------------------- low stock


def low_stock(client: ShopClient, admin_token: str) -> list[dict[str, Any]]:
    status, body, _ = client.call("GET", "/admin/inventory/low-stock", token=admin_token)
    assert status == 200, body
    return list(body["items"])


def test_a_sku_falling_under_its_threshold_is_listed_and_alerted_once_until_it_recovers(
    client: ShopClient, admin_token: str, sold_out_sku: str, pipeline: StockPipeline
) -> None:
    in_stock = sold_out_sku.rsplit("-", 1)[0] + "-01"  # stock 10, threshold 10
    alerts_before = len(admin_alerts())

    set_stock(client, admin_token, in_stock, 4)
    fell = pipeline.run()
    pipeline.consume(fell)  # redelivered: no second alert
    listed = low_stock(client, admin_token)
    set_stock(client, admin_token, in_stock, 2)
    pipeline.run()
    lower = low_stock(client, admin_token)
    set_stock(client, admin_token, in_stock, 10)
    pipeline.run()
    recovered = low_stock(client, admin_token)
    set_stock(client, admin_token, in_stock, 1)
    pipeline.run()

    alerts = admin_alerts()[alerts_before:]
    assert [(item["sku_id"], item["stock"], item["threshold"], item["title"]) for item in listed] == [
        (in_stock, 4, 10, "华为 Mate 60 Pro")
    ]
    assert listed[0]["since"].endswith("Z")
    assert [(item["stock"], item["since"]) for item in lower] == [(2, listed[0]["since"])]
    assert recovered == []
    assert [item["stock"] for item in low_stock(client, admin_token)] == [1]
    assert len(alerts) == 2
    subject, message = alerts[0]
    assert subject == f"Low stock: SKU {in_stock} has 4 left (threshold 10)"
    assert "10 -> 4" in message and "华为 Mate 60 Pro" in message


def test_the_low_stock_list_pages_by_sku_across_its_shards(
    client: ShopClient, admin_token: str, sold_out_sku: str, pipeline: StockPipeline
) -> None:
    # GIVEN two SKUs under their threshold (their entries on different shards of the list)
    in_stock = sold_out_sku.rsplit("-", 1)[0] + "-01"
    set_stock(client, admin_token, in_stock, 4)
    set_stock(client, admin_token, sold_out_sku, 1)
    pipeline.run()
    # WHEN the admin reads the list one per page
    seen, cursor = [], None
    for _ in range(4):
        path = "/admin/inventory/low-stock?page_size=1" + (f"&cursor={cursor}" if cursor else "")
        status, body, _ = client.call("GET", path, token=admin_token)
        assert status == 200, body
        seen += [item["sku_id"] for item in body["items"]]
        cursor = body["next_cursor"]
        if not cursor:
            break
    # THEN each comes once, by SKU id, and the last page has no cursor
    assert seen == sorted([in_stock, sold_out_sku])
    assert cursor is None


def test_the_migration_moves_low_stock_entries_of_the_one_old_partition_to_their_shards_once(
    client: ShopClient, admin_token: str, sold_out_sku: str
) -> None:
    from chalicelib.inventory.models import LOW_STOCK_PK, LowStockModel
    from infra.migrations import low_stock_shards

    # GIVEN an entry as a release before the shards kept it
    LowStockModel(
        LOW_STOCK_PK, sold_out_sku, sku_id=sold_out_sku, product_id=sold_out_sku.rsplit("-", 1)[0], title="t",
        stock=0, threshold=10, since="2026-01-01T00:00:00Z",
    ).save()  # fmt: skip
    assert low_stock(client, admin_token) == []
    # WHEN the migration runs twice THEN it is listed again, moved once
    assert low_stock_shards.run()["moved"] == 1
    assert low_stock_shards.run()["moved"] == 0
    assert [item["sku_id"] for item in low_stock(client, admin_token)] == [sold_out_sku]


def test_stock_events_arriving_out_of_order_leave_the_newest_state_listed(
    client: ShopClient, admin_token: str, sold_out_sku: str, pipeline: StockPipeline
) -> None:
    in_stock = sold_out_sku.rsplit("-", 1)[0] + "-01"
    set_stock(client, admin_token, in_stock, 3)
    set_stock(client, admin_token, in_stock, 20)
    pipeline.publish()
    queued = pipeline.queued()

    pipeline.consume({"Records": list(reversed(queued["Records"]))})

    assert len(queued["Records"]) == 2
    assert low_stock(client, admin_token) == []


def test_edits_that_leave_stock_and_threshold_alone_send_no_stock_event(
    client: ShopClient, admin_token: str, sold_out_sku: str, pipeline: StockPipeline
) -> None:
    product_id = sold_out_sku.rsplit("-", 1)[0]
    set_stock(client, admin_token, sold_out_sku, 0)  # the same stock again

    client.call("PUT", f"/me/favorites/{product_id}", token=register_and_login(client, "bob"))
    answer = pipeline.publish()

    assert answer["stock_changes"] == 0
    assert pipeline.queued() == {"Records": []}


def test_the_low_stock_list_is_for_admins_only(client: ShopClient, customer_token: str) -> None:
    status, body, _ = client.call("GET", "/admin/inventory/low-stock", token=customer_token)

    assert (status, body["code"]) == (403, "FORBIDDEN")
