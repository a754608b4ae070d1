"""The catalog through the HTTP API on moto: admin writes, public reads, paging, stock and view counts."""

from __future__ import annotations

import json

import boto3
import pytest

from chalicelib.catalog.repository import DynamoCatalogRepository
from chalicelib.errors import Conflict
from tests.functional.catalog_data import create_catalog, create_product, product_body
from tests.functional.conftest import ShopClient


def test_the_category_tree_lists_roots_first_with_their_children(client: ShopClient, admin_token: str) -> None:
    create_catalog(client, admin_token)

    status, body, _ = client.call("GET", "/categories")

    assert status == 200
    assert body["items"][0] == {"category_id": "c_digital", "name": "手机数码", "parent_id": None, "sort_order": 0}
    assert {c["category_id"]: c["parent_id"] for c in body["items"][1:]} == {
        "c_phone": "c_digital",
        "c_earphone": "c_digital",
    }
    assert [b["name"] for b in client.call("GET", "/brands")[1]["items"]] == ["华为", "小米"]


def test_a_created_product_shows_its_specs_skus_and_after_sales_terms(client: ShopClient, admin_token: str) -> None:
    create_catalog(client, admin_token)
    created = create_product(client, admin_token, "华为 Mate 60 Pro 5G手机 12GB+512GB")

    status, detail, _ = client.call("GET", f"/products/{created['product_id']}")

    assert status == 200
    assert detail["title"] == "华为 Mate 60 Pro 5G手机 12GB+512GB"
    assert detail["specs"] == [{"name": "颜色", "values": ["雅川青", "雅丹黑"]}]
    assert [(s["attributes"], s["price_fen"], s["stock"], s["available"]) for s in detail["skus"]] == [
        ({"颜色": "雅川青"}, 699900, 10, True),
        ({"颜色": "雅丹黑"}, 689900, 0, False),
    ]
    assert detail["after_sales"] == ["七天无理由退货", "正品保障"]
    assert detail["price_fen"] == 689900
    assert (detail["rating_avg"], detail["review_count"], detail["view_count"], detail["favorite_count"]) == (
        0,
        0,
        0,
        0,
    )


def test_lists_filter_by_leaf_or_root_category_and_brand(client: ShopClient, admin_token: str) -> None:
    create_catalog(client, admin_token)
    mate = create_product(client, admin_token, "华为 Mate 60 Pro")
    xiaomi = create_product(client, admin_token, "小米14", brand="b_xiaomi")
    buds = create_product(client, admin_token, "华为 FreeBuds Pro 3", category="c_earphone")

    def ids(query: str) -> list[str]:
        status, body, _ = client.call("GET", f"/products?{query}")
        assert status == 200, body
        return [p["product_id"] for p in body["items"]]

    assert ids("") == [buds["product_id"], xiaomi["product_id"], mate["product_id"]]
    assert ids("category_id=c_phone") == [xiaomi["product_id"], mate["product_id"]]
    assert ids("category_id=c_digital") == [buds["product_id"], xiaomi["product_id"], mate["product_id"]]
    assert ids("brand_id=b_huawei") == [buds["product_id"], mate["product_id"]]
    assert ids("category_id=c_phone&brand_id=b_huawei") == [mate["product_id"]]
    summary = client.call("GET", "/products?brand_id=b_xiaomi")[1]["items"][0]
    assert summary == {
        "product_id": xiaomi["product_id"], "title": "小米14", "price_fen": 689900,
        "image_url": "https://img.shop.example/a.jpg", "sales": 0, "rating_avg": 0.0,
        "category_id": "c_phone", "brand_id": "b_xiaomi",
    }  # fmt: skip


def test_cursor_pages_visit_every_product_once(client: ShopClient, admin_token: str) -> None:
    create_catalog(client, admin_token)
    created = {create_product(client, admin_token, f"手机 {n}")["product_id"] for n in range(7)}

    seen: list[str] = []
    cursor = ""
    for _ in range(10):
        status, body, _ = client.call("GET", f"/products?category_id=c_phone&page_size=3{cursor}")
        assert status == 200
        seen += [p["product_id"] for p in body["items"]]
        if body["next_cursor"] is None:
            break
        cursor = f"&cursor={body['next_cursor']}"
        assert client.call("GET", f"/products?brand_id=b_huawei&page_size=3{cursor}")[0] == 400

    assert sorted(seen) == sorted(created)
    assert len(seen) == 7


def test_replacing_a_product_keeps_stock_and_an_unknown_product_is_not_found(
    client: ShopClient, admin_token: str
) -> None:
    create_catalog(client, admin_token)
    created = create_product(client, admin_token, "华为 Mate 60 Pro")
    kept = created["skus"][0]["sku_id"]
    client.call("PATCH", f"/admin/skus/{kept}/stock", {"stock": 3}, token=admin_token)
    body = product_body("华为 Mate 60 Pro 新款")
    body["skus"] = [{"sku_id": kept, "attributes": {"颜色": "雅川青"}, "price_fen": 599900}]

    status, updated, _ = client.call("PUT", f"/admin/products/{created['product_id']}", body, token=admin_token)
    missing = client.call("PUT", "/admin/products/p_nothing", body, token=admin_token)

    assert status == 200
    assert [(s["sku_id"], s["stock"], s["price_fen"]) for s in updated["skus"]] == [(kept, 3, 599900)]
    assert updated["title"] == "华为 Mate 60 Pro 新款"
    assert missing[0] == 404


def test_admin_sets_stock_and_a_sku_at_zero_is_unavailable(client: ShopClient, admin_token: str) -> None:
    create_catalog(client, admin_token)
    sku_id = create_product(client, admin_token, "华为 Mate 60 Pro")["skus"][0]["sku_id"]

    status, body, _ = client.call("PATCH", f"/admin/skus/{sku_id}/stock", {"stock": 0}, token=admin_token)
    negative = client.call("PATCH", f"/admin/skus/{sku_id}/stock", {"stock": -1}, token=admin_token)
    unknown = client.call("PATCH", "/admin/skus/p_nothing-01/stock", {"stock": 1}, token=admin_token)

    assert status == 200
    assert body["stock"] == 0
    assert body["available"] is False
    assert negative[0] == 400
    assert unknown[0] == 404


def test_invalid_products_are_refused_with_the_reason(client: ShopClient, admin_token: str) -> None:
    create_catalog(client, admin_token)
    not_a_leaf = product_body("x", category="c_digital")
    bad_sku = product_body("x")
    bad_sku["skus"][0]["attributes"] = {"颜色": "金色"}
    no_brand = product_body("x", brand="b_nobody")
    price_float = product_body("x")
    price_float["skus"][0]["price_fen"] = 19.9

    for body in (not_a_leaf, bad_sku, no_brand, price_float):
        status, answer, _ = client.call("POST", "/admin/products", body, token=admin_token)
        assert (status, answer["code"]) == (400, "VALIDATION_ERROR"), body


def test_duplicate_categories_and_brands_are_conflicts(client: ShopClient, admin_token: str) -> None:
    create_catalog(client, admin_token)

    category = client.call("POST", "/admin/categories", {"category_id": "c_phone", "name": "x"}, token=admin_token)
    brand = client.call("POST", "/admin/brands", {"brand_id": "b_huawei", "name": "x"}, token=admin_token)
    renamed = client.call("PUT", "/admin/brands/b_huawei", {"name": "HUAWEI 华为"}, token=admin_token)

    assert category[0] == brand[0] == 409
    assert renamed[0] == 200
    assert client.call("GET", "/brands")[1]["items"][0]["name"] == "HUAWEI 华为"


def test_views_are_queued_and_counted_in_batches_off_the_request_path(
    client: ShopClient, admin_token: str, customer_token: str, aws_env: dict[str, str]
) -> None:
    create_catalog(client, admin_token)
    product_id = create_product(client, admin_token, "华为 Mate 60 Pro")["product_id"]
    for _ in range(2):
        assert client.call("GET", f"/products/{product_id}")[0] == 200
    assert client.call("GET", f"/products/{product_id}", token=customer_token)[0] == 200
    assert client.call("GET", f"/products/{product_id}", token="expired-or-garbage")[0] == 200  # browsing goes on
    assert client.call("GET", "/me/footprints", token=customer_token)[1]["items"] == []  # nothing on the request path

    sqs = boto3.client("sqs")
    messages = []
    while batch := sqs.receive_message(QueueUrl=aws_env["PRODUCT_VIEWS_QUEUE_URL"], MaxNumberOfMessages=10).get(
        "Messages"
    ):
        messages += batch
    event = client.events.generate_sqs_event(
        message_bodies=[m["Body"] for m in messages], queue_name="shop-local-product-views"
    )
    result = client.lambda_.invoke("count_product_views", event)

    assert json.loads(messages[0]["Body"])["product_id"] == product_id
    assert result.payload == {"products": 1, "views": 4, "footprints": 1}
    assert client.call("GET", f"/products/{product_id}")[1]["view_count"] == 4
    footprints = client.call("GET", "/me/footprints", token=customer_token)[1]["items"]
    assert [f["product_id"] for f in footprints] == [product_id]


def test_a_replacement_keeps_counters_bumped_since_it_read_and_refuses_a_stale_version(
    client: ShopClient, admin_token: str
) -> None:
    create_catalog(client, admin_token)
    product_id = create_product(client, admin_token, "华为 Mate 60 Pro")["product_id"]
    repo = DynamoCatalogRepository()
    product, skus = repo.product_with_skus(product_id) or ({}, [])
    repo.add_view_counts({product_id: 5})  # a view batch lands between the admin's read and write

    fresh = {**product, "title": "华为 Mate 60 Pro 新", "version": product["version"] + 1}
    sku_writes = [{**sku, "existing": True} for sku in skus]
    repo.save_product(fresh, sku_writes, [], create=False)
    with pytest.raises(Conflict):
        repo.save_product({**fresh, "title": "stale"}, sku_writes, [], create=False)

    detail = client.call("GET", f"/products/{product_id}")[1]
    assert (detail["title"], detail["view_count"]) == ("华为 Mate 60 Pro 新", 5)


def test_skus_read_in_one_batch_carry_their_products_current_card(client: ShopClient, admin_token: str) -> None:
    create_catalog(client, admin_token)
    created = create_product(client, admin_token, "华为 Mate 60 Pro")
    sku_ids = [s["sku_id"] for s in created["skus"]]
    body = product_body("华为 Mate 60 Pro 改名", brand="b_xiaomi")
    body["skus"] = [{"sku_id": sku_ids[0], "attributes": {"颜色": "雅川青"}, "price_fen": 599900}]
    client.call("PUT", f"/admin/products/{created['product_id']}", body, token=admin_token)

    skus = DynamoCatalogRepository().skus_by_ids([*sku_ids, "p_nothing-01"])

    assert list(skus) == [sku_ids[0]]
    assert {k: skus[sku_ids[0]][k] for k in ("title", "brand_id", "price_fen", "stock", "on_sale")} == {
        "title": "华为 Mate 60 Pro 改名", "brand_id": "b_xiaomi", "price_fen": 599900, "stock": 10, "on_sale": True,
    }  # fmt: skip
