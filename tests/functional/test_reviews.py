"""Functional tests of reviews on moto: a fake ReceivedLines stands in for orders; the tables are the real ones."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest

from chalicelib.errors import ChangedMeanwhile
from chalicelib.reviews.domain import (
    AlreadyReviewed,
    Ratings,
    ReviewableLine,
)
from chalicelib.reviews.repository import DynamoReviewsRepository
from tests.functional.catalog_data import create_catalog, create_product
from tests.functional.conftest import ShopClient, hand_over, register_and_login


class FakeReceivedLines:
    """Orders as reviews see them: lines put here by the test, per user and order."""

    def __init__(self) -> None:
        self.lines: dict[tuple[str, str, str], ReviewableLine] = {}

    def add(self, user_id: str, order_id: str, sku_id: str, received: bool = True) -> None:
        self.lines[(user_id, order_id, sku_id)] = ReviewableLine(
            product_id=sku_id.rsplit("-", 1)[0],
            title="华为 Mate 60 Pro",
            attributes={"颜色": "雅川青"},
            received=received,
        )

    def line(self, user_id: str, order_id: str, sku_id: str) -> ReviewableLine | None:
        return self.lines.get((user_id, order_id, sku_id))


@pytest.fixture
def orders() -> Iterator[FakeReceivedLines]:
    source = FakeReceivedLines()
    restore = hand_over("received_lines", source)
    try:
        yield source
    finally:
        restore()


@pytest.fixture
def product_id(client: ShopClient, admin_token: str) -> str:
    create_catalog(client, admin_token)
    return str(create_product(client, admin_token, "华为 Mate 60 Pro")["product_id"])


def user_id_of(client: ShopClient, token: str) -> str:
    return str(client.call("GET", "/me", token=token)[1]["user_id"])


def review(client: ShopClient, token: str, order_id: str, *lines: tuple[str, int, str]) -> tuple[int, Any]:
    body = {"items": [{"sku_id": sku_id, "rating": rating, "content": content} for sku_id, rating, content in lines]}
    status, answer, _ = client.call("POST", f"/orders/{order_id}/reviews", body, token=token)
    return status, answer


def test_a_buyer_reviews_a_received_order_and_everyone_sees_it_on_the_product(
    client: ShopClient, customer_token: str, orders: FakeReceivedLines, product_id: str
) -> None:
    client.call("PATCH", "/me", {"nickname": "小明明"}, token=customer_token)
    orders.add(user_id_of(client, customer_token), "o_1", f"{product_id}-01")

    status, created = review(client, customer_token, "o_1", (f"{product_id}-01", 4, "  很好用，续航不错  "))

    assert status == 201, created
    assert [(r["sku_id"], r["rating"], r["content"]) for r in created["items"]] == [
        (f"{product_id}-01", 4, "很好用，续航不错")
    ]
    status, page, _ = client.call("GET", f"/products/{product_id}/reviews")
    assert status == 200
    assert page["items"] == [
        {
            "review_id": created["items"][0]["review_id"],
            "rating": 4,
            "content": "很好用，续航不错",
            "user": "小**",
            "created_at": created["items"][0]["created_at"],
            "attributes": {"颜色": "雅川青"},
            "images": [],
            "reply": None,
            "follow_up": None,
        }
    ]
    assert created["items"][0]["status"] == "PUBLISHED"
    assert page["summary"] == {
        "rating_avg": 4.0, "count": 1, "distribution": {"1": 0, "2": 0, "3": 0, "4": 1, "5": 0}, "with_images_count": 0,
    }  # fmt: skip
    detail = client.call("GET", f"/products/{product_id}")[1]
    assert (detail["rating_avg"], detail["review_count"]) == (4.0, 1)


def test_ratings_stay_exact_after_several_reviews(
    client: ShopClient, orders: FakeReceivedLines, product_id: str
) -> None:
    ratings = [5, 4, 4, 1, 3]
    for number, rating in enumerate(ratings):
        token = register_and_login(client, f"buyer{number}")
        orders.add(user_id_of(client, token), f"o_{number}", f"{product_id}-01")
        assert review(client, token, f"o_{number}", (f"{product_id}-01", rating, "评价"))[0] == 201

    summary = client.call("GET", f"/products/{product_id}/reviews")[1]["summary"]
    detail = client.call("GET", f"/products/{product_id}")[1]

    assert summary == {
        "rating_avg": 3.4, "count": 5, "distribution": {"1": 1, "2": 0, "3": 1, "4": 2, "5": 1}, "with_images_count": 0,
    }  # fmt: skip
    assert (detail["rating_avg"], detail["review_count"]) == (3.4, 5)


def test_a_line_is_reviewed_once_and_a_request_is_all_or_nothing(
    client: ShopClient, customer_token: str, orders: FakeReceivedLines, product_id: str
) -> None:
    user_id = user_id_of(client, customer_token)
    orders.add(user_id, "o_1", f"{product_id}-01")
    orders.add(user_id, "o_1", f"{product_id}-02")
    assert review(client, customer_token, "o_1", (f"{product_id}-01", 5, "好"))[0] == 201

    status, body = review(client, customer_token, "o_1", (f"{product_id}-02", 3, "还行"), (f"{product_id}-01", 1, "差"))

    assert (status, body["code"]) == (409, "CONFLICT")
    mine = client.call("GET", "/me/reviews", token=customer_token)[1]["items"]
    assert [(r["sku_id"], r["rating"]) for r in mine] == [(f"{product_id}-01", 5)]
    assert client.call("GET", f"/products/{product_id}/reviews")[1]["summary"]["count"] == 1


def test_reviews_wait_for_receipt(
    client: ShopClient, customer_token: str, orders: FakeReceivedLines, product_id: str
) -> None:
    orders.add(user_id_of(client, customer_token), "o_1", f"{product_id}-01", received=False)

    status, body = review(client, customer_token, "o_1", (f"{product_id}-01", 5, "好"))

    assert (status, body["code"]) == (409, "INVALID_STATE")
    assert client.call("GET", "/me/reviews", token=customer_token)[1]["items"] == []


def test_another_users_order_and_an_unknown_line_are_not_found(
    client: ShopClient, customer_token: str, orders: FakeReceivedLines, product_id: str
) -> None:
    orders.add(user_id_of(client, customer_token), "o_1", f"{product_id}-01")
    intruder = register_and_login(client, "intruder")

    assert review(client, intruder, "o_1", (f"{product_id}-01", 1, "差"))[1]["code"] == "NOT_FOUND"
    assert review(client, customer_token, "o_1", (f"{product_id}-02", 1, "差"))[1]["code"] == "NOT_FOUND"
    assert client.call("GET", f"/products/{product_id}/reviews")[1]["items"] == []


@pytest.mark.parametrize(
    "body",
    [
        {"items": []},
        {"items": [{"sku_id": "p_1-01", "rating": 6, "content": "好"}]},
        {"items": [{"sku_id": "p_1-01", "rating": 5, "content": ""}]},
        {"items": [{"sku_id": "p_1-01", "rating": 5, "content": "好\u0007"}]},
        {"items": [{"sku_id": "p_1-01", "rating": 5, "content": "好" * 501}]},
        {"items": [{"sku_id": "p_1-01", "rating": 5}]},
        {"items": "all"},
    ],
)
def test_a_malformed_review_is_a_validation_error(client: ShopClient, customer_token: str, body: Any) -> None:
    status, answer, _ = client.call("POST", "/orders/o_1/reviews", body, token=customer_token)

    assert (status, answer["code"]) == (400, "VALIDATION_ERROR")


def test_my_reviews_and_a_products_reviews_page_newest_first(
    client: ShopClient, customer_token: str, orders: FakeReceivedLines, product_id: str
) -> None:
    user_id = user_id_of(client, customer_token)
    for number in range(3):
        orders.add(user_id, f"o_{number}", f"{product_id}-01")
        assert (
            review(client, customer_token, f"o_{number}", (f"{product_id}-01", number + 1, f"第{number}次"))[0] == 201
        )
        time.sleep(0.002)  # review ids order by the millisecond

    first = client.call("GET", "/me/reviews?page_size=2", token=customer_token)[1]
    second = client.call("GET", f"/me/reviews?page_size=2&cursor={first['next_cursor']}", token=customer_token)[1]
    products = client.call("GET", f"/products/{product_id}/reviews?page_size=2")[1]

    assert [r["order_id"] for r in first["items"] + second["items"]] == ["o_2", "o_1", "o_0"]
    assert second["next_cursor"] is None
    assert [r["rating"] for r in products["items"]] == [3, 2]
    status, body, _ = client.call("GET", f"/products/{product_id}/reviews?cursor={first['next_cursor']}")
    assert (status, body["code"]) == (400, "VALIDATION_ERROR")


def test_an_unknown_products_reviews_are_not_found(client: ShopClient) -> None:
    status, body, _ = client.call("GET", "/products/p_nope/reviews")

    assert (status, body["code"]) == (404, "NOT_FOUND")


def test_the_stored_conditions_refuse_a_second_review_and_stale_ratings(
    client: ShopClient, customer_token: str, product_id: str
) -> None:
    repo = DynamoReviewsRepository()
    user_id = user_id_of(client, customer_token)

    def one(review_id: str, order_id: str) -> dict[str, Any]:
        return {
            "review_id": review_id, "order_id": order_id, "product_id": product_id, "sku_id": f"{product_id}-01",
            "title": "华为", "attributes": {}, "rating": 5, "content": "好", "user": "a***e",
            "created_at": "2026-11-24T08:00:00Z", "status": "PUBLISHED", "images": [], "matched_words": [],
        }  # fmt: skip

    seen = repo.ratings(product_id)
    assert seen == Ratings()
    repo.save_reviews(user_id, [one("rv_1", "o_1")], {product_id: seen})

    with pytest.raises(AlreadyReviewed):  # the same line again, as a racing request that read before the first
        repo.save_reviews(user_id, [one("rv_2", "o_1")], {product_id: repo.ratings(product_id) or Ratings()})
    with pytest.raises(ChangedMeanwhile):  # another line, on ratings read before the first review was counted
        repo.save_reviews(user_id, [one("rv_3", "o_2")], {product_id: seen})
    assert repo.ratings(product_id) == Ratings(review_count=1, rating_sum=5, distribution=(0, 0, 0, 0, 1))
    assert [r["review_id"] for r in repo.user_reviews(user_id, 10, None)[0]] == ["rv_1"]
