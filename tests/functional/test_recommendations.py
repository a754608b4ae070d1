"""Recommendations on moto: behaviour through the analytics queue into the lake, the scheduled refresh, the reads."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest

from chalicelib.analytics import emitter
from chalicelib.clock import utcnow
from chalicelib.config import get_settings
from local.aws.sqs_poller import lambda_record
from tests.functional.catalog_data import create_catalog, create_product
from tests.functional.conftest import ShopClient, register_and_login

SCHEDULED = json.loads((Path(__file__).parents[2] / "events" / "refresh_recommendations.json").read_text())


def moment(minutes_ago: float) -> str:
    return (utcnow() - timedelta(minutes=minutes_ago)).strftime("%Y-%m-%dT%H:%M:%SZ")


def consume_behaviour(client: ShopClient, *events: Any) -> None:
    """Emit the events and run the analytics consumer over the queue, as the local poller does."""
    assert emitter.emit(*events) == len(events)
    sqs = boto3.client("sqs")
    url = get_settings().analytics_events_queue_url
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    records = []
    while messages := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", []):
        for message in messages:
            records.append(lambda_record(message, arn, "us-east-1"))
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    answer = client.lambda_.invoke("record_analytics_events", {"Records": records}).payload
    assert answer["counted"] == len(events), answer


def run_refresh(client: ShopClient) -> dict[str, Any]:
    return dict(client.lambda_.invoke("refresh_recommendations", SCHEDULED).payload)


def co_views(users: list[str], *product_ids: str, start: int = 0) -> list[Any]:
    return [
        emitter.product_viewed(pid, user, moment(30 - n), view_id=f"{user}-{pid}-{start + n}")
        for n, user in enumerate(users)
        for pid in product_ids
    ]


def ids(cards: list[dict[str, Any]]) -> list[str]:
    return [card["product_id"] for card in cards]


def user_id_of(client: ShopClient, token: str) -> str:
    status, body, _ = client.call("GET", "/me", token=token)
    assert status == 200, body
    return str(body["user_id"])


@pytest.fixture
def shop(client: ShopClient, admin_token: str) -> dict[str, str]:
    create_catalog(client, admin_token)
    names = {
        "phone_a": ("华为 Mate 手机", "c_phone", "b_huawei", 10),
        "phone_b": ("华为 nova 手机", "c_phone", "b_huawei", 10),
        "phone_c": ("小米 14 手机", "c_phone", "b_xiaomi", 10),
        "buds": ("小米 蓝牙耳机", "c_earphone", "b_xiaomi", 10),
        "sold_out": ("华为 售罄手机", "c_phone", "b_huawei", 0),
    }
    return {
        key: create_product(client, admin_token, title, category=category, brand=brand, stock=stock)["product_id"]
        for key, (title, category, brand, stock) in names.items()
    }


def test_before_any_refresh_the_home_page_and_similar_items_answer_with_fallbacks(
    client: ShopClient, shop: dict[str, str]
) -> None:
    status, home, _ = client.call("GET", "/recommendations/home")
    assert status == 200, home
    assert home["generated_at"] is None and home["personal"] is False
    assert sorted(ids(home["hot"])) == sorted(shop.values())  # by sales, then newest: none sold yet
    assert ids(home["new"])[0] == shop["sold_out"]  # the newest listing, before any refresh looked at stock
    assert set(home) >= {"hot", "new", "promotions", "themes", "for_you"}
    status, similar, _ = client.call("GET", f"/products/{shop['phone_a']}/similar")
    assert status == 200, similar
    assert shop["buds"] not in ids(similar["items"]) and shop["phone_a"] not in ids(similar["items"])
    assert shop["phone_b"] in ids(similar["items"])


def test_after_a_refresh_who_viewed_a_also_viewed_b_drives_similar_items_and_for_you_but_never_what_was_bought(
    client: ShopClient, shop: dict[str, str]
) -> None:
    fans = [user_id_of(client, register_and_login(client, f"fan{n}")) for n in range(3)]
    token = register_and_login(client, "shopper")
    shopper = user_id_of(client, token)
    order = {"order_id": "o_reco_1", "user_id": shopper, "created_at": moment(50),
             "items": [{"sku_id": f"{shop['phone_c']}-01", "product_id": shop["phone_c"], "quantity": 1,
                        "payable_fen": 699900}], "amounts": {"payable_fen": 699900}}  # fmt: skip
    consume_behaviour(
        client,
        *co_views(fans, shop["phone_a"], shop["buds"]),
        *co_views(fans, shop["sold_out"]),
        emitter.order_placed(order),
        emitter.order_paid(order, moment(49), "pay_1", "sandbox"),
        emitter.product_viewed(shop["phone_a"], shopper, moment(5), view_id="shopper-a"),
        emitter.product_viewed(shop["phone_c"], shopper, moment(4), view_id="shopper-c"),
        emitter.product_viewed(shop["phone_a"], None, moment(3), view_id="anonymous-a"),
    )
    outcome = run_refresh(client)
    assert outcome["shoppers"] == 4 and outcome["products"] == 5 and outcome["sellable"] == 4

    status, similar, _ = client.call("GET", f"/products/{shop['phone_a']}/similar?limit=3")
    assert status == 200, similar
    assert ids(similar["items"])[0] == shop["buds"]  # another category, but viewed together
    assert len(similar["items"]) == 3 and shop["sold_out"] not in ids(similar["items"])

    status, mine, _ = client.call("GET", "/recommendations/home", token=token)
    assert status == 200, mine
    assert mine["personal"] is True and mine["generated_at"] == outcome["generated_at"]
    assert shop["buds"] in ids(mine["for_you"])[:2]
    assert shop["phone_c"] not in ids(mine["for_you"])  # bought
    assert ids(mine["hot"])[:2] == [shop["phone_c"], shop["phone_a"]]  # a sale outweighs five views
    for section in ("hot", "new", "promotions", "for_you"):
        assert shop["sold_out"] not in ids(mine[section])

    status, anonymous, _ = client.call("GET", "/recommendations/home")
    assert status == 200 and anonymous["personal"] is False
    assert anonymous["for_you"] == anonymous["hot"]
    assert anonymous["hot"][0] == {
        key: anonymous["hot"][0][key]
        for key in ("product_id", "title", "price_fen", "image_url", "sales", "rating_avg", "category_id", "brand_id")
    }


def test_similar_items_change_with_behaviour_after_the_next_refresh(client: ShopClient, shop: dict[str, str]) -> None:
    consume_behaviour(client, *co_views(["u1", "u2"], shop["phone_a"], shop["phone_b"]))
    run_refresh(client)
    _, before, _ = client.call("GET", f"/products/{shop['phone_a']}/similar")
    assert ids(before["items"])[0] == shop["phone_b"]

    consume_behaviour(client, *co_views(["u3", "u4", "u5", "u6"], shop["phone_a"], shop["phone_c"], start=10))
    _, unchanged, _ = client.call("GET", f"/products/{shop['phone_a']}/similar")
    assert unchanged == before  # the stored lists change only with a refresh
    run_refresh(client)
    _, after, _ = client.call("GET", f"/products/{shop['phone_a']}/similar")
    assert ids(after["items"])[0] == shop["phone_c"]


def test_a_product_taken_off_sale_after_the_refresh_is_not_shown_and_a_second_refresh_is_harmless(
    client: ShopClient, admin_token: str, shop: dict[str, str]
) -> None:
    consume_behaviour(client, *co_views(["u1", "u2"], shop["phone_a"], shop["phone_b"]))
    first = run_refresh(client)
    second = run_refresh(client)
    assert {k: v for k, v in first.items() if k not in ("seconds", "generated_at", "lists_written")} == {
        k: v for k, v in second.items() if k not in ("seconds", "generated_at", "lists_written")
    }
    assert first["lists_written"] > 0
    assert second["lists_written"] == 0  # nothing changed: no list is written again
    status, product, _ = client.call("GET", f"/products/{shop['phone_b']}")
    body = {key: product[key] for key in ("title", "subtitle", "description", "category_id", "brand_id", "images",
                                          "after_sales")}  # fmt: skip
    body |= {"specs": product["specs"], "on_sale": False,
             "skus": [{"sku_id": s["sku_id"], "attributes": s["attributes"], "price_fen": s["list_price_fen"]}
                      for s in product["skus"]]}  # fmt: skip
    status, answer, _ = client.call("PUT", f"/admin/products/{shop['phone_b']}", body, token=admin_token)
    assert status == 200, answer
    _, home, _ = client.call("GET", "/recommendations/home")
    assert shop["phone_b"] not in ids(home["hot"]) + ids(home["new"])
    _, similar, _ = client.call("GET", f"/products/{shop['phone_a']}/similar")
    assert shop["phone_b"] not in ids(similar["items"])


@pytest.mark.parametrize("query", ["limit=0", "limit=21", "limit=many"])
def test_a_bad_limit_is_a_validation_error(client: ShopClient, shop: dict[str, str], query: str) -> None:
    status, body, _ = client.call("GET", f"/products/{shop['phone_a']}/similar?{query}")
    assert status == 400 and body["code"] == "VALIDATION_ERROR", body


def test_similar_items_of_an_unknown_product_are_not_found_before_and_after_a_refresh(
    client: ShopClient, shop: dict[str, str]
) -> None:
    status, body, _ = client.call("GET", "/products/p_nope/similar")
    assert status == 404 and body["code"] == "NOT_FOUND", body
    run_refresh(client)
    status, body, _ = client.call("GET", "/products/p_nope/similar")
    assert status == 404 and body["code"] == "NOT_FOUND", body
