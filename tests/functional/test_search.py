"""Search on moto with the real engine: an index built from products created through the admin API, published to
S3 and loaded by the search route; filters, sorts, facets, pages, bad input; the search log, hot words, history;
catalog changes reaching the index through the stream and the reindex queue."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import boto3
import pytest

from chalicelib.bootstrap import container
from chalicelib.catalog.events import PRODUCT_VIEWS_QUEUE
from chalicelib.clock import utcnow
from chalicelib.config import get_settings, reset_caches
from chalicelib.search import building, documents, indexer
from chalicelib.search.events import SEARCH_LOG_QUEUE, SEARCH_REINDEX_QUEUE
from chalicelib.search.repository import DynamoCatalogSource, DynamoSearchRepository
from chalicelib.search.store import S3IndexStorage
from local.aws.sqs_poller import lambda_record
from local.aws.stream_poller import lambda_stream_record
from tests.functional.catalog_data import product_body
from tests.functional.conftest import ShopClient, register_and_login

SCHEDULED = {"version": "0", "id": "1", "detail-type": "Scheduled Event", "source": "aws.events", "account": "1",
             "time": "2026-11-24T09:00:00Z", "region": "us-east-1", "resources": [], "detail": {}}  # fmt: skip


class FrozenClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch, aws_env: dict[str, str]) -> Iterator[FrozenClock]:
    """The search container starts cold (no index held) on an empty bucket, with a clock the test moves."""
    bucket = get_settings().search_index_bucket
    s3 = boto3.client("s3")
    for page in s3.get_paginator("list_object_versions").paginate(Bucket=bucket):
        for entry in page.get("Versions", []) + page.get("DeleteMarkers", []):
            s3.delete_object(Bucket=bucket, Key=entry["Key"], VersionId=entry["VersionId"])
    frozen = FrozenClock()
    held = container().search_index
    monkeypatch.setattr(held, "clock", frozen)
    held.forget()
    yield frozen
    container().search_index.forget()


@pytest.fixture
def settings_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    def set_env(**values: str) -> None:
        held_clock = container().search_index.clock
        for name, value in values.items():
            monkeypatch.setenv(name, value)
        reset_caches()  # a new container, as after a deploy: its index holder keeps the test's clock
        container().search_index.clock = held_clock

    yield set_env
    monkeypatch.undo()
    reset_caches()


def create_catalog(client: ShopClient, token: str) -> None:
    for category in (
        {"category_id": "c_digital", "name": "数码"},
        {"category_id": "c_phone", "name": "手机", "parent_id": "c_digital"},
        {"category_id": "c_earphone", "name": "耳机", "parent_id": "c_digital"},
    ):
        assert client.call("POST", "/admin/categories", category, token=token)[0] == 201
    for brand in ({"brand_id": "b_huawei", "name": "华为"}, {"brand_id": "b_xiaomi", "name": "小米"}):
        assert client.call("POST", "/admin/brands", brand, token=token)[0] == 201


def add_product(client: ShopClient, token: str, title: str, price_fen: int, stock: int = 10, **kwargs: Any) -> str:
    body = product_body(title, stock=stock, **kwargs)
    body["skus"] = [{"attributes": {"颜色": "雅川青"}, "price_fen": price_fen, "stock": stock}]
    status, created, _ = client.call("POST", "/admin/products", body, token=token)
    assert status == 201, created
    return str(created["product_id"])


@pytest.fixture
def shop(client: ShopClient, admin_token: str, clock: FrozenClock) -> dict[str, str]:
    """Three phones, one of them sold out, and an earphone; indexed and published."""
    create_catalog(client, admin_token)
    ids = {
        "mate": add_product(client, admin_token, "华为 Mate 60 Pro 手机", 699900),
        "xiaomi": add_product(client, admin_token, "小米 14 手机", 399900, brand="b_xiaomi"),
        "redmi": add_product(client, admin_token, "小米 Redmi 手机", 99900, stock=0, brand="b_xiaomi"),
        "buds": add_product(client, admin_token, "华为 FreeBuds 无线耳机", 99900, category="c_earphone"),
    }
    rebuild(client)
    return ids


def rebuild(client: ShopClient) -> dict[str, Any]:
    return dict(client.lambda_.invoke("rebuild_search_index", SCHEDULED).payload)


def search(client: ShopClient, query: str = "", token: str | None = None) -> tuple[int, dict[str, Any]]:
    status, body, _ = client.call("GET", f"/search{query}", token=token)
    return status, body


def ids_of(body: dict[str, Any]) -> list[str]:
    return [item["product_id"] for item in body["items"]]


def deliver(client: ShopClient, queue_name: str, handler: str) -> list[dict[str, Any]]:
    """Hand whatever waits on the queue to its handler as Lambda's event source would; return the handler's answers."""
    sqs = boto3.client("sqs")
    url = sqs.get_queue_url(QueueName=queue_name)["QueueUrl"]
    answers = []
    while messages := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", []):
        records = [lambda_record(m, f"arn:aws:sqs:us-east-1:123456789012:{queue_name}", "us-east-1") for m in messages]
        answers.append(dict(client.lambda_.invoke(handler, {"Records": records}).payload))
        for m in messages:
            sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
    return answers


# -- finding goods ------------------------------------------------------------------------------------------------


def test_searching_shouji_in_chinese_finds_the_phones_and_not_the_earphone(
    client: ShopClient, shop: dict[str, str]
) -> None:
    status, body = search(client, "?q=手机")

    assert status == 200, body
    assert set(ids_of(body)) == {shop["mate"], shop["xiaomi"], shop["redmi"]}
    assert body["total"] == 3 and body["page"] == 1 and body["relaxed"] is False
    assert {item["title"] for item in body["items"]} >= {"华为 Mate 60 Pro 手机"}


def test_pinyin_finds_the_same_phones(client: ShopClient, shop: dict[str, str]) -> None:
    status, body = search(client, "?q=shouji")

    assert status == 200, body
    assert set(ids_of(body)) == {shop["mate"], shop["xiaomi"], shop["redmi"]}


def test_facets_count_the_matches_by_category_and_brand(client: ShopClient, shop: dict[str, str]) -> None:
    _, body = search(client, "?q=华为")

    assert {(f["id"], f["name"], f["count"]) for f in body["facets"]["category"]} == {
        ("c_phone", "手机", 1),
        ("c_earphone", "耳机", 1),
    }
    assert body["facets"]["brand"] == [{"id": "b_huawei", "name": "华为", "count": 2}]


def test_filters_narrow_by_parent_category_brand_price_and_stock(client: ShopClient, shop: dict[str, str]) -> None:
    assert set(ids_of(search(client, "?category_id=c_digital")[1])) == set(shop.values())
    assert set(ids_of(search(client, "?q=手机&brand_id=b_xiaomi")[1])) == {shop["xiaomi"], shop["redmi"]}
    assert ids_of(search(client, "?q=手机&price_min_fen=100000&price_max_fen=500000")[1]) == [shop["xiaomi"]]
    assert set(ids_of(search(client, "?q=手机&in_stock=true")[1])) == {shop["mate"], shop["xiaomi"]}


def test_sorting_by_price_either_way_and_paging_through_one_at_a_time(client: ShopClient, shop: dict[str, str]) -> None:
    ascending = ids_of(search(client, "?q=手机&sort=price_asc")[1])
    descending = ids_of(search(client, "?q=手机&sort=price_desc")[1])
    pages = [search(client, f"?q=手机&sort=price_asc&page_size=1&page={n}")[1] for n in (1, 2, 3, 4)]

    assert ascending == [shop["redmi"], shop["xiaomi"], shop["mate"]] == descending[::-1]
    assert [ids_of(page) for page in pages] == [[shop["redmi"]], [shop["xiaomi"]], [shop["mate"]], []]
    assert [page["page"] for page in pages] == [1, 2, 3, 4] and {page["total"] for page in pages} == {3}


def test_an_unknown_category_or_brand_finds_nothing_rather_than_failing(
    client: ShopClient, shop: dict[str, str]
) -> None:
    for query in ("?q=手机&category_id=c_nothing", "?brand_id=b_nobody"):
        status, body = search(client, query)
        assert status == 200, body
        assert body["items"] == [] and body["total"] == 0


def test_fts_syntax_typed_by_a_user_is_taken_as_text_and_never_breaks_the_search(
    client: ShopClient, shop: dict[str, str]
) -> None:
    for q in ('"手机', "手机 OR", "NEAR(手机", "*", "title:手机", "手机)(", "-^", "手机 AND NOT 华为", "%22%22"):
        status, body = search(client, f"?q={q}")
        assert status == 200, (q, body)
        assert body["total"] >= len(body["items"])
    assert set(ids_of(search(client, "?q=手机 OR")[1])) >= {shop["mate"], shop["xiaomi"]}


def test_a_search_that_matches_only_some_words_is_relaxed_and_one_that_matches_nothing_gets_suggestions(
    client: ShopClient, shop: dict[str, str]
) -> None:
    _, partly = search(client, "?q=华为 电视")
    status, nothing = search(client, "?q=完全不存在的东西xyz")

    assert partly["relaxed"] is True and set(ids_of(partly)) == {shop["mate"], shop["buds"]}
    assert status == 200, nothing
    assert nothing["total"] == 0 and nothing["items"] == [] and nothing["relaxed"] is False
    assert nothing["suggestions"] and all(isinstance(text, str) for text in nothing["suggestions"])
    assert nothing["recommendations"] and nothing["did_you_mean"] is None


def test_a_query_whose_words_mostly_match_nothing_proposes_what_does(client: ShopClient, shop: dict[str, str]) -> None:
    status, body = search(client, "?q=手机 qwerty asdfgh")

    assert status == 200 and body["total"] == 0 and body["items"] == []
    assert body["did_you_mean"] == "手机" and body["recommendations"]
    assert search(client, "?q=手机")[1]["total"] == 3


def test_sorted_by_price_only_products_the_words_name_are_listed(
    client: ShopClient, admin_token: str, shop: dict[str, str]
) -> None:
    # GIVEN a cheap charger whose description mentions 手机
    body = {**product_body("绿联 快充充电器", category="c_earphone"), "description": "给手机和平板快速充电"}
    status, charger, _ = client.call("POST", "/admin/products", body, token=admin_token)
    assert status == 201, charger
    rebuild(client)
    container().search_index.forget()

    # WHEN 手机 is searched by relevance and by price
    _, by_relevance = search(client, "?q=手机")
    _, by_price = search(client, "?q=手机&sort=price_asc")

    # THEN relevance lists it last, and the list by price only the phones
    assert ids_of(by_relevance)[-1] == charger["product_id"]
    assert ids_of(by_price) == [shop["redmi"], shop["xiaomi"], shop["mate"]]


def test_joined_full_pinyin_finds_what_the_chinese_finds(client: ShopClient, shop: dict[str, str]) -> None:
    assert ids_of(search(client, "?q=huaweishouji")[1]) == ids_of(search(client, "?q=华为手机")[1]) == [shop["mate"]]


@pytest.mark.parametrize(
    "query",
    [
        "?page=0",
        "?page_size=0",
        "?page_size=101",
        "?price_min_fen=-1",
        "?price_min_fen=500&price_max_fen=100",
        "?sort=cheapest",
        "?in_stock=maybe",
        "?q=" + "手" * 101,
    ],
)
def test_bad_search_parameters_are_a_validation_error(client: ShopClient, query: str) -> None:
    status, body = search(client, query)

    assert status == 400, body
    assert body["code"] == "VALIDATION_ERROR"


def test_suggestions_complete_chinese_full_pinyin_and_initials(client: ShopClient, shop: dict[str, str]) -> None:
    for prefix in ("手", "shouji", "sj", "hua"):
        status, body, _ = client.call("GET", f"/search/suggest?q={prefix}")
        assert status == 200, body
        assert body["suggestions"], prefix
        assert all(set(s) == {"text"} for s in body["suggestions"])
    assert client.call("GET", "/search/suggest?q=")[1] == {"suggestions": []}


# -- before and between index versions ----------------------------------------------------------------------------


def test_before_any_index_is_published_search_and_suggest_answer_empty(client: ShopClient, clock: FrozenClock) -> None:
    status, body = search(client, "?q=手机")
    suggest_status, suggested, _ = client.call("GET", "/search/suggest?q=sj")

    assert status == 200 and body["items"] == [] and body["total"] == 0
    assert suggest_status == 200 and suggested == {"suggestions": []}


def test_a_newer_index_is_picked_up_once_the_check_interval_passes(
    client: ShopClient, admin_token: str, shop: dict[str, str], clock: FrozenClock, settings_env: Any
) -> None:
    settings_env(SEARCH_INDEX_CHECK_SECONDS="30")
    assert search(client, "?q=手机")[1]["total"] == 3
    honor = add_product(client, admin_token, "荣耀 Magic 手机", 299900)
    rebuild(client)

    clock.now += 29
    assert search(client, "?q=手机")[1]["total"] == 3
    clock.now += 1
    _, body = search(client, "?q=手机")
    assert body["total"] == 4 and honor in ids_of(body)


def test_a_build_that_read_the_catalog_before_the_published_one_never_replaces_it(
    client: ShopClient, shop: dict[str, str]
) -> None:
    repo = DynamoSearchRepository()
    published = repo.index_pointer()
    assert published is not None

    stale = indexer.rebuild_index(
        DynamoCatalogSource(),
        repo,
        S3IndexStorage(),
        building.build_index,
        documents.doc_from_catalog,
        [],
        lambda: utcnow() - timedelta(minutes=5),
    )

    assert not stale.published
    assert repo.index_pointer() == published
    keys = [o["Key"] for o in boto3.client("s3").list_objects_v2(Bucket=get_settings().search_index_bucket)["Contents"]]
    assert keys == [published.key]


# -- catalog changes reach the index --------------------------------------------------------------------------------


class CatalogStream:
    """What the catalog table's stream got since this was made, as Lambda's event source hands it over."""

    def __init__(self) -> None:
        self.streams = boto3.client("dynamodbstreams")
        self.arn = boto3.client("dynamodb").describe_table(TableName=get_settings().catalog_table)["Table"][
            "LatestStreamArn"
        ]
        shards = self.streams.describe_stream(StreamArn=self.arn)["StreamDescription"]["Shards"]
        self.iterators = [
            self.streams.get_shard_iterator(StreamArn=self.arn, ShardId=shard["ShardId"], ShardIteratorType="LATEST")[
                "ShardIterator"
            ]
            for shard in shards
        ]

    def event(self) -> dict[str, Any]:
        records: list[dict[str, Any]] = []
        for number, iterator in enumerate(self.iterators):
            answer = self.streams.get_records(ShardIterator=iterator)
            records += [lambda_stream_record(record, self.arn) for record in answer["Records"]]
            self.iterators[number] = answer["NextShardIterator"]
        return {"Records": records}


def test_a_renamed_product_is_found_under_its_new_name_after_the_change_goes_through_the_reindex_queue(
    client: ShopClient, admin_token: str, shop: dict[str, str], settings_env: Any
) -> None:
    settings_env(SEARCH_REINDEX_DELAY_SECONDS="0")
    stream = CatalogStream()
    renamed = product_body("华为 FreeClip 骨传导耳机", category="c_earphone")
    status, body, _ = client.call("PUT", f"/admin/products/{shop['buds']}", renamed, token=admin_token)
    assert status == 200, body
    assert search(client, "?q=骨传导")[1]["total"] == 0  # the published index predates the change
    built = DynamoSearchRepository().index_pointer()

    queued = client.lambda_.invoke("queue_search_reindex", stream.event()).payload
    answers = deliver(client, SEARCH_REINDEX_QUEUE, "reindex_search_on_catalog_change")
    container().search_index.forget()

    # The change is applied to the published index in place: the product is read, not the catalog.
    assert queued["relevant"] >= 1
    assert [(answer["rebuilt"], answer.get("updated")) for answer in answers] == [(False, True)]
    pointer = DynamoSearchRepository().index_pointer()
    assert built is not None and pointer is not None
    assert pointer.catalog_as_of == built.catalog_as_of and shop["buds"] in pointer.recent_ids
    assert ids_of(search(client, "?q=骨传导")[1]) == [shop["buds"]]
    assert search(client, "?q=手机")[1]["total"] == 3  # the other products are still there


def test_a_category_change_rebuilds_the_whole_index(client: ShopClient, shop: dict[str, str]) -> None:
    changed = {"type": "catalog_changed", "changed_at": "2999-01-01T00:00:00.000000Z", "full": True}
    event = {"Records": [sqs_record(json.dumps(changed), "shop-local-search-reindex")]}

    answer = dict(client.lambda_.invoke("reindex_search_on_catalog_change", event).payload)

    assert answer["rebuilt"] is True and answer["published"] is True
    pointer = DynamoSearchRepository().index_pointer()
    assert pointer is not None and pointer.version == answer["version"] and pointer.recent_ids == ()


def test_view_counts_set_off_no_rebuild_and_a_change_older_than_the_published_index_does_not_rebuild_it(
    client: ShopClient, shop: dict[str, str], settings_env: Any
) -> None:
    settings_env(SEARCH_REINDEX_DELAY_SECONDS="0")
    stream = CatalogStream()
    for _ in range(3):
        assert client.call("GET", f"/products/{shop['mate']}")[0] == 200
    deliver(client, PRODUCT_VIEWS_QUEUE, "count_product_views")
    views = dict(client.lambda_.invoke("queue_search_reindex", stream.event()).payload)
    pointer = DynamoSearchRepository().index_pointer()
    assert pointer is not None
    # Stamped when the published build started reading: that read saw the change.
    before = {"type": "catalog_changed", "changed_at": pointer.catalog_as_of}
    stale = {"Records": [sqs_record(json.dumps(before), "shop-local-search-reindex")]}

    answer = dict(client.lambda_.invoke("reindex_search_on_catalog_change", stale).payload)

    assert views["records"] >= 1 and views["relevant"] == 0
    assert answer["rebuilt"] is False
    assert DynamoSearchRepository().index_pointer() == pointer


def sqs_record(body: str, queue_name: str) -> dict[str, Any]:
    message = {"MessageId": "m1", "ReceiptHandle": "r1", "Body": body}
    return lambda_record(message, f"arn:aws:sqs:us-east-1:123456789012:{queue_name}", "us-east-1")


# -- the search log: hot words and history -------------------------------------------------------------------------


def test_hot_words_rank_what_was_searched_most_once_the_search_log_is_counted(
    client: ShopClient, shop: dict[str, str], settings_env: Any
) -> None:
    settings_env(SEARCH_HOT_REFRESH_SECONDS="0")
    first, second, third = (register_and_login(client, name) for name in ("reader1", "reader2", "reader3"))
    for query, token in (
        ("?q=手机", first),
        ("?q=手机", second),
        ("?q=%20%E6%89%8B%E6%9C%BA%20", third),
        ("?q=华为", first),
        ("?q=Mate", first),
        ("?q=mate", second),
        ("?q=zzzz不存在", None),
    ):
        assert search(client, query, token)[0] == 200
    search(client, "?q=手机&page=2", first)  # the same search, paged: not counted again

    assert client.call("GET", "/search/hot")[1] == {"items": []}
    deliver(client, SEARCH_LOG_QUEUE, "record_searches")
    status, body, _ = client.call("GET", "/search/hot")

    assert status == 200
    assert body["items"][:2] == [{"keyword": "手机", "count": 3}, {"keyword": "mate", "count": 2}]
    assert {"keyword": "华为", "count": 1} in body["items"]
    assert all(item["keyword"] != "zzzz不存在" for item in body["items"])


def test_a_client_repeating_junk_cannot_push_it_onto_the_hot_words(
    client: ShopClient, shop: dict[str, str], settings_env: Any
) -> None:
    """GIVEN two shoppers searching 小米 WHEN one anonymous client repeats a query found only through relaxed
    matching, another query found on its own terms, and a run of made-up queries, hundreds of times THEN the relaxed
    one never trends, the repeated one counts once (one searcher, one day), and 小米 stays on top."""
    settings_env(SEARCH_HOT_REFRESH_SECONDS="0")
    for name in ("buyer1", "buyer2"):
        search(client, "?q=小米", register_and_login(client, name))
    for _ in range(40):
        assert search(client, "?q=华为 电视")[1]["relaxed"] is True
        search(client, "?q=华为 耳机")
    for n in range(40):
        search(client, f"?q=华为 {n}")

    deliver(client, SEARCH_LOG_QUEUE, "record_searches")
    hot = client.call("GET", "/search/hot")[1]["items"]

    assert hot[0] == {"keyword": "小米", "count": 2}
    assert all(item["keyword"] != "华为 电视" for item in hot)
    assert {"keyword": "华为 耳机", "count": 1} in hot
    assert all(item["count"] <= 2 for item in hot)


def test_a_signed_in_users_searches_become_their_history_and_can_be_cleared(
    client: ShopClient, shop: dict[str, str], customer_token: str
) -> None:
    for query in ("?q=手机", "?q=耳机", "?q=手机"):
        search(client, query, token=customer_token)
    search(client, "?q=电视")  # anonymous

    deliver(client, SEARCH_LOG_QUEUE, "record_searches")
    status, history, _ = client.call("GET", "/me/search-history", token=customer_token)

    assert status == 200
    assert [entry["keyword"] for entry in history["items"]] == ["手机", "耳机"]
    assert client.call("DELETE", "/me/search-history", token=customer_token)[0] == 204
    assert client.call("GET", "/me/search-history", token=customer_token)[1]["items"] == []


def test_a_search_log_that_cannot_be_sent_never_fails_the_search(
    client: ShopClient, shop: dict[str, str], settings_env: Any
) -> None:
    settings_env(SEARCH_LOG_QUEUE_URL="https://sqs.us-east-1.amazonaws.com/123456789012/no-such-queue")

    status, body = search(client, "?q=手机")

    assert status == 200 and body["total"] == 3


def test_logged_searches_go_on_to_analytics_once_each_even_when_the_log_is_redelivered(
    client: ShopClient, shop: dict[str, str], customer_token: str
) -> None:
    search(client, "?q=手机", token=customer_token)
    search(client, "?q=zzzz不存在")
    sqs = boto3.client("sqs")
    log_url = sqs.get_queue_url(QueueName=SEARCH_LOG_QUEUE)["QueueUrl"]
    logged = sqs.receive_message(QueueUrl=log_url, MaxNumberOfMessages=10)["Messages"]
    records = [lambda_record(m, f"arn:aws:sqs:us-east-1:123456789012:{SEARCH_LOG_QUEUE}", "us-east-1") for m in logged]

    for _ in range(2):  # the same batch twice, as a redelivery would
        client.lambda_.invoke("record_searches", {"Records": records})

    analytics_url = sqs.get_queue_url(QueueName="shop-local-analytics-events")["QueueUrl"]
    events = [
        json.loads(m["Body"]) for m in sqs.receive_message(QueueUrl=analytics_url, MaxNumberOfMessages=10)["Messages"]
    ]
    searched = [e for e in events if e["type"] == "search_performed"]
    assert sorted((e["keyword"], e["results"], e.get("user_id") is not None) for e in searched) == [
        ("zzzz不存在", 0, False),
        ("zzzz不存在", 0, False),
        ("手机", 3, True),
        ("手机", 3, True),
    ]
    assert len({e["event_id"] for e in searched}) == 2  # a redelivery repeats the ids: the consumer counts it once
