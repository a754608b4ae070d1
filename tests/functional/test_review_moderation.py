"""Review moderation: sensitive words hold a review for staff, photos, filters, the merchant's reply, follow-ups."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.functional.catalog_data import create_catalog, create_product
from tests.functional.conftest import ShopClient, hand_over, register_and_login
from tests.functional.test_reviews import FakeReceivedLines, user_id_of
from tests.functional.test_uploads_feedback import upload_image


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


def write(
    client: ShopClient, token: str, orders: FakeReceivedLines, sku_id: str, content: str, rating: int = 5, **extra: Any
) -> tuple[int, Any]:
    order_id = f"o_{len(orders.lines)}"
    orders.add(user_id_of(client, token), order_id, sku_id)
    body = {"items": [{"sku_id": sku_id, "rating": rating, "content": content, **extra}]}
    status, answer, _ = client.call("POST", f"/orders/{order_id}/reviews", body, token=token)
    return status, answer


def product_page(client: ShopClient, product_id: str, query: str = "") -> Any:
    status, page, _ = client.call("GET", f"/products/{product_id}/reviews{query}")
    assert status == 200, page
    return page


def test_a_review_with_a_sensitive_word_waits_for_staff_and_counts_once_approved(
    client: ShopClient, customer_token: str, admin_token: str, orders: FakeReceivedLines, product_id: str
) -> None:
    status, created = write(client, customer_token, orders, f"{product_id}-01", "客服说 Ｆ ｕ ＣＫ，口 交 什么的")
    assert status == 201, created
    review_id = created["items"][0]["review_id"]
    assert created["items"][0]["status"] == "PENDING"
    assert product_page(client, product_id)["items"] == []
    assert product_page(client, product_id)["summary"]["count"] == 0
    mine = client.call("GET", "/me/reviews", token=customer_token)[1]["items"]
    assert [(r["review_id"], r["status"]) for r in mine] == [(review_id, "PENDING")]
    queue = client.call("GET", "/admin/reviews?status=PENDING", token=admin_token)[1]["items"]
    assert [(r["review_id"], r["product_id"], sorted(r["matched_words"])) for r in queue] == [
        (review_id, product_id, ["fuck", "口交"])
    ]

    status, decided, _ = client.call("POST", f"/admin/reviews/{review_id}/approve", token=admin_token)

    assert (status, decided["status"]) == (200, "PUBLISHED")
    page = product_page(client, product_id)
    assert [r["review_id"] for r in page["items"]] == [review_id]
    assert page["summary"]["count"] == 1
    assert client.call("GET", "/me/reviews", token=customer_token)[1]["items"][0]["status"] == "PUBLISHED"
    status, again, _ = client.call("POST", f"/admin/reviews/{review_id}/approve", token=admin_token)
    assert (status, again["code"]) == (409, "INVALID_STATE")
    assert client.call("GET", "/admin/reviews?status=PENDING", token=admin_token)[1]["items"] == []


def test_a_rejected_review_shows_its_reason_to_its_author_only(
    client: ShopClient, customer_token: str, admin_token: str, orders: FakeReceivedLines, product_id: str
) -> None:
    review_id = write(client, customer_token, orders, f"{product_id}-01", "加我扣扣买便宜货")[1]["items"][0][
        "review_id"
    ]

    status, decided, _ = client.call(
        "POST", f"/admin/reviews/{review_id}/reject", {"reason": "含广告"}, token=admin_token
    )

    assert (status, decided["status"]) == (200, "REJECTED")
    mine = client.call("GET", "/me/reviews", token=customer_token)[1]["items"][0]
    assert (mine["status"], mine["reject_reason"]) == ("REJECTED", "含广告")
    assert product_page(client, product_id)["items"] == []
    rejected = client.call("GET", "/admin/reviews?status=REJECTED", token=admin_token)[1]["items"]
    assert [r["review_id"] for r in rejected] == [review_id]
    status, again, _ = client.call("POST", f"/admin/reviews/{review_id}/reject", {"reason": "x"}, token=admin_token)
    assert (status, again["code"]) == (409, "INVALID_STATE")
    assert client.call("POST", "/admin/reviews/rv_nope/approve", token=admin_token)[0] == 404


def test_staff_keep_the_word_list_that_the_filter_uses(
    client: ShopClient, customer_token: str, admin_token: str, orders: FakeReceivedLines, product_id: str
) -> None:
    seeded = client.call("GET", "/admin/review-words?page_size=100", token=admin_token)[1]
    assert len(seeded["items"]) == 100 and seeded["next_cursor"]
    status, added, _ = client.call("POST", "/admin/review-words", {"words": ["垃圾货", "ＳＣＡＭ"]}, token=admin_token)
    assert (status, added["words"]) == (201, ["垃圾货", "scam"])

    assert write(client, customer_token, orders, f"{product_id}-01", "垃 圾 货")[1]["items"][0]["status"] == "PENDING"
    assert write(client, customer_token, orders, f"{product_id}-02", "a Scam")[1]["items"][0]["status"] == "PENDING"
    assert client.call("DELETE", "/admin/review-words/%E5%9E%83%E5%9C%BE%E8%B4%A7", token=admin_token)[0] == 204
    assert write(client, customer_token, orders, f"{product_id}-03", "垃圾货")[1]["items"][0]["status"] == "PUBLISHED"
    status, missing, _ = client.call("DELETE", "/admin/review-words/nothing-here", token=admin_token)
    assert (status, missing["code"]) == (404, "NOT_FOUND")
    for words in ([], ["x" * 21], ["词"] * 51, ["   "]):
        status, answer, _ = client.call("POST", "/admin/review-words", {"words": words}, token=admin_token)
        assert (status, answer["code"]) == (400, "VALIDATION_ERROR"), words


def test_photo_reviews_filter_by_images_and_rating_and_take_only_my_uploads(
    client: ShopClient, customer_token: str, orders: FakeReceivedLines, product_id: str
) -> None:
    photo = upload_image(client, customer_token, purpose="review")["public_url"]
    bobs = upload_image(client, register_and_login(client, "bob"), purpose="review")["public_url"]
    status, answer = write(client, customer_token, orders, f"{product_id}-01", "有图", images=[bobs])
    assert (status, answer["code"]) == (400, "VALIDATION_ERROR")

    assert write(client, customer_token, orders, f"{product_id}-01", "有图有真相", 5, images=[photo])[0] == 201
    assert write(client, customer_token, orders, f"{product_id}-02", "一般", 3)[0] == 201

    with_images = product_page(client, product_id, "?with_images=true")
    assert [(r["content"], r["images"]) for r in with_images["items"]] == [("有图有真相", [photo])]
    assert with_images["summary"]["with_images_count"] == 1
    assert [r["content"] for r in product_page(client, product_id, "?rating=3")["items"]] == ["一般"]
    assert [r["images"] for r in client.call("GET", "/me/reviews", token=customer_token)[1]["items"]] == [[], [photo]]
    for query in ("?with_images=maybe", "?rating=6", "?rating=0", "?rating=x"):
        status, answer, _ = client.call("GET", f"/products/{product_id}/reviews{query}")
        assert (status, answer["code"]) == (400, "VALIDATION_ERROR"), query


def test_the_merchant_replies_once_to_a_published_review(
    client: ShopClient, customer_token: str, admin_token: str, orders: FakeReceivedLines, product_id: str
) -> None:
    review_id = write(client, customer_token, orders, f"{product_id}-01", "很好")[1]["items"][0]["review_id"]
    held = write(client, customer_token, orders, f"{product_id}-02", "fuck")[1]["items"][0]["review_id"]

    status, replied, _ = client.call(
        "POST", f"/admin/reviews/{review_id}/reply", {"content": "感谢支持"}, token=admin_token
    )

    assert (status, replied["reply"]["content"]) == (201, "感谢支持")
    assert product_page(client, product_id)["items"][0]["reply"] == replied["reply"]
    for target, code in ((review_id, "CONFLICT"), (held, "INVALID_STATE")):
        status, answer, _ = client.call("POST", f"/admin/reviews/{target}/reply", {"content": "再"}, token=admin_token)
        assert (status, answer["code"]) == (409, code)
    assert client.call("POST", "/admin/reviews/rv_nope/reply", {"content": "再"}, token=admin_token)[0] == 404


def test_the_author_follows_up_once_and_a_flagged_follow_up_waits_for_staff(
    client: ShopClient, customer_token: str, admin_token: str, orders: FakeReceivedLines, product_id: str
) -> None:
    first = write(client, customer_token, orders, f"{product_id}-01", "很好")[1]["items"][0]["review_id"]
    second = write(client, customer_token, orders, f"{product_id}-02", "不错")[1]["items"][0]["review_id"]
    bob = register_and_login(client, "bob")

    status, answer, _ = client.call("POST", f"/reviews/{first}/follow-ups", {"content": "用了一个月"}, token=bob)
    assert (status, answer["code"]) == (404, "NOT_FOUND")
    status, done, _ = client.call(
        "POST", f"/reviews/{first}/follow-ups", {"content": "用了一个月，依旧好"}, token=customer_token
    )
    assert (status, done["status"]) == (201, "PUBLISHED")
    status, answer, _ = client.call("POST", f"/reviews/{first}/follow-ups", {"content": "再追"}, token=customer_token)
    assert (status, answer["code"]) == (409, "CONFLICT")
    status, held, _ = client.call("POST", f"/reviews/{second}/follow-ups", {"content": "楼凤"}, token=customer_token)
    assert (status, held["status"]) == (201, "PENDING")

    shown = {r["review_id"]: r["follow_up"] for r in product_page(client, product_id)["items"]}
    assert shown[first]["content"] == "用了一个月，依旧好" and shown[second] is None
    queue = client.call("GET", "/admin/reviews?status=PENDING", token=admin_token)[1]["items"]
    assert [(r["review_id"], r["kind"]) for r in queue] == [(second, "follow_up")]
    status, _, _ = client.call("POST", f"/admin/reviews/{second}/follow-up/approve", token=admin_token)
    assert status == 200
    shown = {r["review_id"]: r["follow_up"] for r in product_page(client, product_id)["items"]}
    assert shown[second]["content"] == "楼凤"
    status, answer, _ = client.call(
        "POST", f"/admin/reviews/{second}/follow-up/reject", {"reason": "x"}, token=admin_token
    )
    assert (status, answer["code"]) == (409, "INVALID_STATE")
