"""What staff need to run a catalog from a console: the nested category tree, the product list in every status,
and archiving a product (off the shop for good, kept in the orders that bought it)."""

from __future__ import annotations

from typing import Any

from tests.functional.catalog_data import create_catalog, create_product, product_body
from tests.functional.conftest import ShopClient, register_and_login
from tests.functional.test_orders import ADDRESS


def staff_list(client: ShopClient, admin_token: str, query: str = "") -> list[dict[str, Any]]:
    """Every page of GET /admin/products with this query, two at a time."""
    rows: list[dict[str, Any]] = []
    cursor = ""
    while True:
        status, body, _ = client.call("GET", f"/admin/products?page_size=2{query}{cursor}", token=admin_token)
        assert status == 200, body
        rows += body["items"]
        if body["next_cursor"] is None:
            return rows
        cursor = f"&cursor={body['next_cursor']}"


def test_the_category_tree_nests_children_under_their_parent_each_once(client: ShopClient, admin_token: str) -> None:
    create_catalog(client, admin_token)
    client.call(
        "POST", "/admin/categories", {"category_id": "c_home", "name": "家居", "sort_order": 1}, token=admin_token
    )

    status, body, _ = client.call("GET", "/categories/tree")

    assert status == 200
    assert body == {
        "items": [
            {
                "category_id": "c_digital",
                "name": "手机数码",
                "children": [
                    {"category_id": "c_earphone", "name": "耳机", "children": []},
                    {"category_id": "c_phone", "name": "手机", "children": []},
                ],
            },
            {"category_id": "c_home", "name": "家居", "children": []},
        ]
    }


def test_staff_list_every_product_newest_first_with_its_status_lowest_price_and_total_stock(
    client: ShopClient, admin_token: str
) -> None:
    create_catalog(client, admin_token)
    made = [create_product(client, admin_token, f"华为 nova {n}") for n in range(5)]
    off_sale = {**product_body("小米 手环 8", brand="b_xiaomi", category="c_earphone", stock=7), "on_sale": False}
    status, hidden, _ = client.call("POST", "/admin/products", off_sale, token=admin_token)
    assert status == 201, hidden

    rows = staff_list(client, admin_token)

    assert [row["product_id"] for row in rows] == [hidden["product_id"], *[p["product_id"] for p in reversed(made)]]
    assert rows[0] == {
        "product_id": hidden["product_id"],
        "title": "小米 手环 8",
        "status": "OFF_SALE",
        "category_id": "c_earphone",
        "brand_id": "b_xiaomi",
        "price_fen": 689900,
        "stock": 7,
        "sales": 0,
        "updated_at": hidden["updated_at"],
    }
    assert {row["status"] for row in rows[1:]} == {"ON_SALE"}


def test_staff_filter_the_list_by_status_category_and_title_and_the_filters_combine(
    client: ShopClient, admin_token: str
) -> None:
    create_catalog(client, admin_token)
    phone = create_product(client, admin_token, "华为 Mate 60 Pro")
    buds = create_product(client, admin_token, "华为 FreeBuds Pro 3", category="c_earphone")
    status, band, _ = client.call(
        "POST",
        "/admin/products",
        {**product_body("小米 手环 8", brand="b_xiaomi"), "on_sale": False},
        token=admin_token,
    )
    assert status == 201, band

    def ids(query: str) -> set[str]:
        return {row["product_id"] for row in staff_list(client, admin_token, query)}

    assert ids("&status=OFF_SALE") == {band["product_id"]}
    assert ids("&status=ON_SALE") == {phone["product_id"], buds["product_id"]}
    assert ids("&category_id=c_earphone") == {buds["product_id"]}
    assert ids("&category_id=c_digital") == {phone["product_id"], buds["product_id"], band["product_id"]}
    assert ids("&q=Pro") == {phone["product_id"], buds["product_id"]}
    assert ids("&q=Pro&category_id=c_phone&status=ON_SALE") == {phone["product_id"]}
    assert ids("&status=ARCHIVED") == set()


def test_staff_list_refuses_an_unknown_status_a_missing_category_and_a_cursor_of_another_query(
    client: ShopClient, admin_token: str
) -> None:
    create_catalog(client, admin_token)
    for n in range(3):
        create_product(client, admin_token, f"华为 nova {n}")
    cursor = client.call("GET", "/admin/products?page_size=1", token=admin_token)[1]["next_cursor"]

    bad_status = client.call("GET", "/admin/products?status=GONE", token=admin_token)
    no_category = client.call("GET", "/admin/products?category_id=c_nowhere", token=admin_token)
    other_query = client.call("GET", f"/admin/products?status=ON_SALE&cursor={cursor}", token=admin_token)
    customer = client.call("GET", "/admin/products", token=register_and_login(client, "shopper1"))

    assert (bad_status[0], bad_status[1]["code"]) == (400, "VALIDATION_ERROR")
    assert (no_category[0], no_category[1]["code"]) == (404, "NOT_FOUND")
    assert (other_query[0], other_query[1]["code"]) == (400, "VALIDATION_ERROR")
    assert customer[0] == 403


def test_an_archived_product_leaves_the_shop_but_stays_in_the_order_that_bought_it(
    client: ShopClient, admin_token: str
) -> None:
    create_catalog(client, admin_token)
    product = create_product(client, admin_token, "华为 Mate 60 Pro")
    sku_id = product["skus"][0]["sku_id"]
    buyer = register_and_login(client, "buyer1")
    address = client.call("POST", "/me/addresses", ADDRESS, token=buyer)[1]
    status, order, _ = client.call(
        "POST",
        "/orders",
        {"address_id": address["address_id"], "items": [{"sku_id": sku_id, "quantity": 1}]},
        token=buyer,
        **{"Idempotency-Key": "archive-1"},
    )
    assert status == 201, order

    status, body, _ = client.call("DELETE", f"/admin/products/{product['product_id']}", token=admin_token)

    assert status == 204, body
    assert client.call("GET", f"/products/{product['product_id']}")[0] == 404
    assert product["product_id"] not in {p["product_id"] for p in client.call("GET", "/products")[1]["items"]}
    added = client.call("POST", "/cart/items", {"sku_id": sku_id, "quantity": 1}, token=buyer)
    assert added[0] == 409, added[1]
    assert [row["status"] for row in staff_list(client, admin_token, "&status=ARCHIVED")] == ["ARCHIVED"]
    kept = client.call("GET", f"/orders/{order['order_id']}", token=buyer)[1]
    assert [(line["sku_id"], line["title"]) for line in kept["items"]] == [(sku_id, "华为 Mate 60 Pro")]


def test_archiving_twice_is_archiving_once_an_archived_product_cannot_be_edited_and_unknown_ones_are_404(
    client: ShopClient, admin_token: str
) -> None:
    create_catalog(client, admin_token)
    product = create_product(client, admin_token, "华为 Mate 60 Pro")
    path = f"/admin/products/{product['product_id']}"

    first = client.call("DELETE", path, token=admin_token)[0]
    second = client.call("DELETE", path, token=admin_token)[0]
    edit = client.call("PUT", path, product_body("华为 Mate 60 Pro+"), token=admin_token)
    missing = client.call("DELETE", "/admin/products/p_nowhere", token=admin_token)

    assert (first, second) == (204, 204)
    assert (edit[0], edit[1]["code"]) == (409, "INVALID_STATE")
    assert (missing[0], missing[1]["code"]) == (404, "NOT_FOUND")


def test_the_migration_lists_products_stored_before_the_staff_list_once(client: ShopClient, admin_token: str) -> None:
    import boto3

    from chalicelib.catalog.repository import DynamoCatalogRepository
    from chalicelib.config import get_settings
    from infra.migrations import product_staff_listing

    create_catalog(client, admin_token)
    old = create_product(client, admin_token, "华为 Mate 40")
    boto3.client("dynamodb").update_item(  # as stored before the staff list existed
        TableName=get_settings().catalog_table,
        Key={"pk": {"S": f"PRODUCT#{old['product_id']}"}, "sk": {"S": "META"}},
        UpdateExpression="REMOVE admin_pk",
    )
    assert staff_list(client, admin_token) == []

    first = product_staff_listing.run(DynamoCatalogRepository())
    second = product_staff_listing.run(DynamoCatalogRepository())

    assert (first["unlisted"], first["written"], second["unlisted"]) == (1, 1, 0)
    assert [row["product_id"] for row in staff_list(client, admin_token)] == [old["product_id"]]
