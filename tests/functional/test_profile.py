"""The personal center through the HTTP API on moto: addresses, favorites, footprints, search history."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from chalicelib.accounts.tokens import verify_access_token
from chalicelib.clock import iso, utcnow
from chalicelib.profile import service
from chalicelib.profile.dynamo_repository import DynamoProfileRepository
from tests.functional.catalog_data import create_catalog, create_product
from tests.functional.conftest import ShopClient, register_and_login


def address(receiver: str = "张三", **overrides: Any) -> dict[str, Any]:
    body = {
        "receiver": receiver,
        "phone": "+8613800138000",
        "province": "广东省",
        "city": "深圳市",
        "district": "南山区",
        "detail": "科技园南区 1 栋 101",
    }
    body.update(overrides)
    return body


def user_id_of(token: str) -> str:
    """The user id inside an access token, read as the authorizer does."""
    claims = verify_access_token(token)
    assert claims is not None
    return claims.user_id


@pytest.fixture
def products(client: ShopClient, admin_token: str) -> list[str]:
    create_catalog(client, admin_token)
    return [create_product(client, admin_token, f"华为 Mate {n}")["product_id"] for n in range(3)]


def favorite_count(client: ShopClient, product_id: str) -> int:
    status, body, _ = client.call("GET", f"/products/{product_id}")
    assert status == 200, body
    return int(body["favorite_count"])


# -- addresses -----------------------------------------------------------------------------------------------------


def test_the_first_address_is_the_default_and_the_list_shows_the_default_first_then_newest(
    client: ShopClient, customer_token: str
) -> None:
    status, first, _ = client.call("POST", "/me/addresses", address("张三"), token=customer_token)
    assert status == 201, first
    assert first["is_default"] is True and first["phone"] == "13800138000"
    assert {"address_id", "created_at", "updated_at", "detail"} <= set(first)
    second = client.call("POST", "/me/addresses", address("李四"), token=customer_token)[1]
    third = client.call("POST", "/me/addresses", address("王五"), token=customer_token)[1]

    status, body, _ = client.call("GET", "/me/addresses", token=customer_token)

    assert status == 200
    assert body["next_cursor"] is None
    assert [a["address_id"] for a in body["items"]] == [
        first["address_id"],
        third["address_id"],
        second["address_id"],
    ]
    assert [a["is_default"] for a in body["items"]] == [True, False, False]


def test_making_another_address_the_default_leaves_exactly_one_default(client: ShopClient, customer_token: str) -> None:
    first = client.call("POST", "/me/addresses", address("张三"), token=customer_token)[1]
    second = client.call("POST", "/me/addresses", address("李四", is_default=True), token=customer_token)[1]
    assert second["is_default"] is True
    third = client.call("POST", "/me/addresses", address("王五"), token=customer_token)[1]

    status, replaced = client.call(
        "PUT", f"/me/addresses/{third['address_id']}", address("王五", detail="新地址", is_default=True),
        token=customer_token,
    )[:2]  # fmt: skip

    assert status == 200 and replaced["is_default"] is True and replaced["detail"] == "新地址"
    assert replaced["created_at"] == third["created_at"]
    items = client.call("GET", "/me/addresses", token=customer_token)[1]["items"]
    defaults = [a["address_id"] for a in items if a["is_default"]]
    assert defaults == [third["address_id"]]
    assert first["address_id"] in {a["address_id"] for a in items}


def test_a_put_without_is_default_keeps_the_default_and_false_clears_it(
    client: ShopClient, customer_token: str
) -> None:
    first = client.call("POST", "/me/addresses", address(), token=customer_token)[1]
    path = f"/me/addresses/{first['address_id']}"

    kept = client.call("PUT", path, address(receiver="赵六"), token=customer_token)[1]
    cleared = client.call("PUT", path, address(is_default=False), token=customer_token)[1]

    assert kept["is_default"] is True and kept["receiver"] == "赵六"
    assert cleared["is_default"] is False
    items = client.call("GET", "/me/addresses", token=customer_token)[1]["items"]
    assert [a["is_default"] for a in items] == [False]


def test_deleting_the_default_makes_the_newest_remaining_address_the_default(
    client: ShopClient, customer_token: str
) -> None:
    first = client.call("POST", "/me/addresses", address("张三"), token=customer_token)[1]
    second = client.call("POST", "/me/addresses", address("李四"), token=customer_token)[1]
    third = client.call("POST", "/me/addresses", address("王五"), token=customer_token)[1]
    client.call("DELETE", f"/me/addresses/{second['address_id']}", token=customer_token)

    status, body, _ = client.call("DELETE", f"/me/addresses/{first['address_id']}", token=customer_token)

    assert status == 204 and body is None
    items = client.call("GET", "/me/addresses", token=customer_token)[1]["items"]
    assert [(a["address_id"], a["is_default"]) for a in items] == [(third["address_id"], True)]
    assert client.call("DELETE", f"/me/addresses/{first['address_id']}", token=customer_token)[0] == 404


def test_the_21st_address_is_a_409_until_one_is_deleted(client: ShopClient, customer_token: str) -> None:
    created = [client.call("POST", "/me/addresses", address(f"收件人{n}"), token=customer_token) for n in range(20)]
    assert {status for status, _, _ in created} == {201}

    status, body, _ = client.call("POST", "/me/addresses", address("第二十一"), token=customer_token)

    assert status == 409 and body["code"] == "CONFLICT" and "20" in body["message"]
    client.call("DELETE", f"/me/addresses/{created[5][1]['address_id']}", token=customer_token)
    assert client.call("POST", "/me/addresses", address("第二十一"), token=customer_token)[0] == 201
    assert len(client.call("GET", "/me/addresses", token=customer_token)[1]["items"]) == 20


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"receiver": ""}, "receiver"),
        ({"receiver": "   "}, "receiver"),
        ({"receiver": "名" * 21}, "receiver"),
        ({"phone": "12800138000"}, "phone"),
        ({"phone": "1380013800"}, "phone"),
        ({"province": "省" * 21}, "province"),
        ({"city": ""}, "city"),
        ({"district": 5}, "district"),
        ({"detail": "址" * 121}, "detail"),
        ({"is_default": "yes"}, "is_default"),
        ({"tag": "home"}, "tag"),
    ],
)
def test_an_invalid_address_is_a_400_naming_the_field(
    client: ShopClient, customer_token: str, change: dict[str, Any], field: str
) -> None:
    status, body, _ = client.call("POST", "/me/addresses", address(**change), token=customer_token)

    assert status == 400, body
    assert body["code"] == "VALIDATION_ERROR"
    assert field in {error["field"] for error in body["errors"]}


def test_an_address_body_missing_a_field_or_not_json_is_refused(client: ShopClient, customer_token: str) -> None:
    body = address()
    del body["detail"]
    assert client.call("POST", "/me/addresses", body, token=customer_token)[0] == 400
    assert client.call("POST", "/me/addresses", b"{not json", token=customer_token)[0] == 400
    created = client.call("POST", "/me/addresses", address(), token=customer_token)[1]
    assert client.call("PUT", f"/me/addresses/{created['address_id']}", body, token=customer_token)[0] == 400
    assert client.call("PUT", "/me/addresses/a_nope", address(), token=customer_token)[0] == 404


# -- favorites -----------------------------------------------------------------------------------------------------


def test_favoriting_twice_counts_once_and_unfavoriting_twice_uncounts_once(
    client: ShopClient, customer_token: str, products: list[str]
) -> None:
    product_id = products[0]

    first = client.call("PUT", f"/me/favorites/{product_id}", token=customer_token)
    again = client.call("PUT", f"/me/favorites/{product_id}", token=customer_token)

    assert first[0] == 200 and first[1]["newly_added"] is True
    assert again[0] == 200 and again[1]["newly_added"] is False
    assert again[1]["favorited_at"] == first[1]["favorited_at"]
    assert favorite_count(client, product_id) == 1

    assert client.call("DELETE", f"/me/favorites/{product_id}", token=customer_token)[0] == 204
    assert client.call("DELETE", f"/me/favorites/{product_id}", token=customer_token)[0] == 204
    assert favorite_count(client, product_id) == 0
    assert client.call("GET", "/me/favorites", token=customer_token)[1]["items"] == []


def test_two_users_favoriting_one_product_count_two(
    client: ShopClient, customer_token: str, products: list[str]
) -> None:
    bob = register_and_login(client, "bob")
    for token in (customer_token, bob, customer_token):
        client.call("PUT", f"/me/favorites/{products[1]}", token=token)

    assert favorite_count(client, products[1]) == 2


def test_favoriting_a_product_that_does_not_exist_is_a_404(client: ShopClient, customer_token: str) -> None:
    status, body, _ = client.call("PUT", "/me/favorites/p_missing", token=customer_token)

    assert status == 404 and body["code"] == "NOT_FOUND"
    assert client.call("GET", "/me/favorites", token=customer_token)[1]["items"] == []


def test_whether_i_favorited_a_product_is_one_read(
    client: ShopClient, customer_token: str, products: list[str]
) -> None:
    # GIVEN one favorited product and one not
    favorited = client.call("PUT", f"/me/favorites/{products[0]}", token=customer_token)[1]

    # WHEN I ask about each, and about the first once I unfavorite it
    mine = client.call("GET", f"/me/favorites/{products[0]}", token=customer_token)
    other = client.call("GET", f"/me/favorites/{products[1]}", token=customer_token)
    client.call("DELETE", f"/me/favorites/{products[0]}", token=customer_token)
    gone = client.call("GET", f"/me/favorites/{products[0]}", token=customer_token)

    # THEN a favorite says so and since when; the others are not favorites
    assert (mine[0], mine[1]) == (
        200, {"product_id": products[0], "favorited": True, "favorited_at": favorited["favorited_at"]})  # fmt: skip
    not_favorite = {"favorited": False, "favorited_at": None}
    assert (other[0], gone[0]) == (200, 200) and other[1] == {"product_id": products[1], **not_favorite}
    assert gone[1] == {"product_id": products[0], **not_favorite}


def test_favorites_list_newest_first_as_product_cards_in_cursor_pages(
    client: ShopClient, customer_token: str, products: list[str]
) -> None:
    for product_id in products:
        client.call("PUT", f"/me/favorites/{product_id}", token=customer_token)

    status, first_page, _ = client.call("GET", "/me/favorites?page_size=2", token=customer_token)
    cursor = first_page["next_cursor"]
    second_page = client.call("GET", f"/me/favorites?page_size=2&cursor={cursor}", token=customer_token)[1]

    assert status == 200
    listed = [item["product_id"] for item in first_page["items"] + second_page["items"]]
    assert listed == list(reversed(products))
    card = first_page["items"][0]
    assert card["title"] == "华为 Mate 2" and card["price_fen"] == 689900 and card["available"] is True
    assert card["image_url"] == "https://img.shop.example/a.jpg" and card["favorited_at"].endswith("Z")
    assert client.call("GET", "/me/favorites?cursor=forged", token=customer_token)[0] == 400


# -- footprints ----------------------------------------------------------------------------------------------------


def test_footprints_are_newest_first_one_per_product_and_a_redelivered_batch_changes_nothing(
    client: ShopClient, customer_token: str, products: list[str]
) -> None:
    user_id = user_id_of(customer_token)
    start = utcnow() - timedelta(hours=1)
    views = [
        (user_id, products[0], iso(start)),
        (user_id, products[1], iso(start + timedelta(minutes=1))),
        (user_id, products[0], iso(start + timedelta(minutes=2))),
        (user_id, products[2], iso(start - timedelta(minutes=1))),
    ]
    repo = DynamoProfileRepository()
    service.record_footprints(repo, views)
    service.record_footprints(repo, views[:2])  # redelivered part of the batch: older views lose

    status, body, _ = client.call("GET", "/me/footprints", token=customer_token)

    assert status == 200
    assert [(f["product_id"], f["viewed_at"]) for f in body["items"]] == [
        (products[0], iso(start + timedelta(minutes=2))),
        (products[1], iso(start + timedelta(minutes=1))),
        (products[2], iso(start - timedelta(minutes=1))),
    ]
    assert body["items"][0]["title"] == "华为 Mate 0"
    assert client.call("DELETE", "/me/footprints", token=customer_token)[0] == 204
    assert client.call("GET", "/me/footprints", token=customer_token)[1]["items"] == []


def test_footprints_keep_the_newest_100_and_forget_views_older_than_90_days(
    client: ShopClient, customer_token: str, products: list[str]
) -> None:
    user_id = user_id_of(customer_token)
    start = utcnow() - timedelta(days=1)
    views = [(user_id, f"p_gone{n:03d}", iso(start + timedelta(seconds=n))) for n in range(101)]
    views.append((user_id, products[0], iso(start + timedelta(seconds=200))))
    views.append((user_id, products[1], iso(utcnow() - timedelta(days=91))))
    repo = DynamoProfileRepository()

    service.record_footprints(repo, views)

    stored = repo.footprints(user_id)
    assert len(stored) == 100
    assert {f["product_id"] for f in stored} == {products[0]} | {f"p_gone{n:03d}" for n in range(2, 101)}
    body = client.call("GET", "/me/footprints", token=customer_token)[1]
    assert [f["product_id"] for f in body["items"]] == [products[0]]  # products that do not exist are left out


# -- search history ------------------------------------------------------------------------------------------------


def test_search_history_is_newest_first_deduplicated_and_the_last_20(client: ShopClient, customer_token: str) -> None:
    user_id = user_id_of(customer_token)
    repo = DynamoProfileRepository()
    start = utcnow() - timedelta(hours=1)
    for n in range(22):
        service.record_search(repo, user_id, f"keyword {n}", iso(start + timedelta(seconds=n)))
    service.record_search(repo, user_id, "  华为   MATE  ", iso(start + timedelta(seconds=30)))
    service.record_search(repo, user_id, "华为 mate", iso(start + timedelta(seconds=40)))

    status, body, _ = client.call("GET", "/me/search-history", token=customer_token)

    assert status == 200
    keywords = [item["keyword"] for item in body["items"]]
    assert keywords == ["华为 mate"] + [f"keyword {n}" for n in range(21, 2, -1)]
    assert body["items"][0]["searched_at"] == iso(start + timedelta(seconds=40))
    assert client.call("DELETE", "/me/search-history", token=customer_token)[0] == 204
    assert client.call("GET", "/me/search-history", token=customer_token)[1]["items"] == []


# -- who sees what -------------------------------------------------------------------------------------------------


def test_another_user_can_neither_see_nor_change_my_things(
    client: ShopClient, customer_token: str, products: list[str]
) -> None:
    mine = client.call("POST", "/me/addresses", address(), token=customer_token)[1]
    client.call("PUT", f"/me/favorites/{products[0]}", token=customer_token)
    user_id = user_id_of(customer_token)
    repo = DynamoProfileRepository()
    service.record_footprints(repo, [(user_id, products[0], iso(utcnow()))])
    service.record_search(repo, user_id, "华为", iso(utcnow()))
    bob = register_and_login(client, "bob")
    path = f"/me/addresses/{mine['address_id']}"

    assert client.call("PUT", path, address("鲍勃"), token=bob)[0] == 404
    assert client.call("DELETE", path, token=bob)[0] == 404
    for listing in ("/me/addresses", "/me/favorites", "/me/footprints", "/me/search-history"):
        assert client.call("GET", listing, token=bob)[1]["items"] == [], listing
    assert client.call("GET", "/me/addresses", token=customer_token)[1]["items"] == [mine]
    assert [f["product_id"] for f in client.call("GET", "/me/favorites", token=customer_token)[1]["items"]] == [
        products[0]
    ]


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/me/addresses"),
        ("POST", "/me/addresses"),
        ("PUT", "/me/addresses/a_1"),
        ("DELETE", "/me/addresses/a_1"),
        ("GET", "/me/favorites"),
        ("PUT", "/me/favorites/p_1"),
        ("DELETE", "/me/favorites/p_1"),
        ("GET", "/me/footprints"),
        ("DELETE", "/me/footprints"),
        ("GET", "/me/search-history"),
        ("DELETE", "/me/search-history"),
    ],
)
def test_every_personal_center_route_needs_a_token(client: ShopClient, method: str, path: str) -> None:
    status, body, _ = client.call(method, path, address() if method in ("POST", "PUT") else None)

    assert status == 401 and body["code"] == "UNAUTHORIZED"
