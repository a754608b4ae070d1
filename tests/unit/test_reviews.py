"""Unit tests of the review rules on in-memory fakes: received lines only, once per line, exact ratings, races."""

from __future__ import annotations

import threading
import time
from typing import Any

import pydantic
import pytest

from chalicelib.errors import ChangedMeanwhile, Conflict, InvalidState, NotFound, ValidationError
from chalicelib.pagination import PageQuery
from chalicelib.reviews import service
from chalicelib.reviews.domain import (
    AlreadyReviewed,
    Ratings,
    ReviewableLine,
    masked_name,
)
from chalicelib.reviews.schemas import ReviewsWrite, ReviewWrite
from tests.unit.fakes import FakeMembership, FakeOwnImages, FakeReviewWords


class FakeReceivedLines:
    """ReceivedLines over a dict: (user_id, order_id, sku_id) -> line."""

    def __init__(self) -> None:
        self.lines: dict[tuple[str, str, str], ReviewableLine] = {}

    def add(self, user_id: str, order_id: str, sku_id: str, received: bool = True) -> None:
        product_id = sku_id.rsplit("-", 1)[0]
        self.lines[(user_id, order_id, sku_id)] = ReviewableLine(
            product_id=product_id, title=f"title of {product_id}", attributes={"颜色": "黑"}, received=received
        )

    def line(self, user_id: str, order_id: str, sku_id: str) -> ReviewableLine | None:
        return self.lines.get((user_id, order_id, sku_id))


class FakeReviewsRepository:
    """ReviewsRepository in memory; save_reviews is atomic and conditional like the real transaction."""

    def __init__(self, product_ids: tuple[str, ...] = ("p1", "p2")) -> None:
        self.lock = threading.Lock()
        self.ratings_by_product: dict[str, Ratings] = {product_id: Ratings() for product_id in product_ids}
        self.reviewed_lines: set[tuple[str, str, str]] = set()
        self.reviews: list[tuple[str, dict[str, Any]]] = []
        self.names = {"u1": "小明明", "u2": "bob"}
        self.before_save: list[Any] = []

    def reviewer_name(self, user_id: str) -> str:
        return self.names.get(user_id, "")

    def ratings(self, product_id: str) -> Ratings | None:
        return self.ratings_by_product.get(product_id)

    def save_reviews(
        self, user_id: str, reviews: list[dict[str, Any]], seen: dict[str, Ratings], growth: int = 0
    ) -> None:
        if self.before_save:
            self.before_save.pop(0)()
        with self.lock:
            lines = [(user_id, review["order_id"], review["sku_id"]) for review in reviews]
            if any(line in self.reviewed_lines for line in lines):
                raise AlreadyReviewed()
            if any(self.ratings_by_product[product_id] != ratings for product_id, ratings in seen.items()):
                raise ChangedMeanwhile()
            for review in reviews:
                product_id = review["product_id"]
                if review["status"] == "PUBLISHED":
                    ratings = self.ratings_by_product[product_id]
                    self.ratings_by_product[product_id] = ratings.plus([review["rating"]], int(bool(review["images"])))
            self.reviewed_lines.update(lines)
            self.reviews.extend((user_id, dict(review)) for review in reviews)

    def _page(self, rows: list[dict[str, Any]], limit: int, start: dict[str, Any] | None) -> Any:
        rows = sorted(rows, key=lambda review: review["review_id"], reverse=True)
        if start:
            rows = [review for review in rows if review["review_id"] < start["review_id"]]
        chunk = rows[:limit]
        more = len(rows) > limit
        return [dict(review) for review in chunk], ({"review_id": chunk[-1]["review_id"]} if more else None)

    def product_reviews(
        self, product_id: str, limit: int, start: dict[str, Any] | None, with_images: bool, rating: int | None
    ) -> Any:
        shown = [
            r
            for _, r in self.reviews
            if r["product_id"] == product_id
            and r["status"] == "PUBLISHED"
            and (r["images"] or not with_images)
            and rating in (None, r["rating"])
        ]
        return self._page(shown, limit, start)

    def user_reviews(self, user_id: str, limit: int, start: dict[str, Any] | None) -> Any:
        return self._page([r for u, r in self.reviews if u == user_id], limit, start)


WORDS = FakeReviewWords()
IMAGES = FakeOwnImages()
MEMBERS = FakeMembership()


def items(*reviews: tuple[str, int]) -> list[ReviewWrite]:
    return [ReviewWrite(sku_id=sku_id, rating=rating, content=f"{rating} 星") for sku_id, rating in reviews]


@pytest.fixture
def repo() -> FakeReviewsRepository:
    return FakeReviewsRepository()


@pytest.fixture
def lines() -> FakeReceivedLines:
    source = FakeReceivedLines()
    source.add("u1", "o1", "p1-01")
    source.add("u1", "o1", "p2-01")
    return source


def test_a_buyer_reviews_the_lines_of_a_received_order(repo: FakeReviewsRepository, lines: FakeReceivedLines) -> None:
    created = service.write_reviews(repo, lines, WORDS, IMAGES, MEMBERS, "u1", "o1", items(("p1-01", 5), ("p2-01", 3)))

    assert [(r["sku_id"], r["rating"], r["title"]) for r in created["items"]] == [
        ("p1-01", 5, "title of p1"),
        ("p2-01", 3, "title of p2"),
    ]
    page = service.list_product_reviews(repo, "p1", PageQuery())
    assert page["items"][0]["user"] == "小**"
    assert page["items"][0]["attributes"] == {"颜色": "黑"}
    assert page["summary"] == {
        "rating_avg": 5.0, "count": 1, "distribution": {"1": 0, "2": 0, "3": 0, "4": 0, "5": 1}, "with_images_count": 0,
    }  # fmt: skip


def test_a_line_is_reviewed_once(repo: FakeReviewsRepository, lines: FakeReceivedLines) -> None:
    service.write_reviews(repo, lines, WORDS, IMAGES, MEMBERS, "u1", "o1", items(("p1-01", 5)))

    with pytest.raises(Conflict) as error:
        service.write_reviews(repo, lines, WORDS, IMAGES, MEMBERS, "u1", "o1", items(("p1-01", 1)))

    assert type(error.value) is AlreadyReviewed
    assert repo.ratings_by_product["p1"].review_count == 1


def test_a_request_with_one_reviewed_line_writes_none_of_its_reviews(
    repo: FakeReviewsRepository, lines: FakeReceivedLines
) -> None:
    service.write_reviews(repo, lines, WORDS, IMAGES, MEMBERS, "u1", "o1", items(("p1-01", 5)))

    with pytest.raises(AlreadyReviewed):
        service.write_reviews(repo, lines, WORDS, IMAGES, MEMBERS, "u1", "o1", items(("p2-01", 4), ("p1-01", 1)))

    assert repo.ratings_by_product["p2"] == Ratings()
    assert service.list_my_reviews(repo, "u1", PageQuery())["items"][0]["sku_id"] == "p1-01"


def test_reviews_wait_for_receipt(repo: FakeReviewsRepository, lines: FakeReceivedLines) -> None:
    lines.add("u1", "o2", "p1-01", received=False)

    with pytest.raises(InvalidState):
        service.write_reviews(repo, lines, WORDS, IMAGES, MEMBERS, "u1", "o2", items(("p1-01", 5)))

    assert repo.reviews == []


def test_another_users_order_or_an_unknown_line_is_not_found(
    repo: FakeReviewsRepository, lines: FakeReceivedLines
) -> None:
    with pytest.raises(NotFound):
        service.write_reviews(repo, lines, WORDS, IMAGES, MEMBERS, "u2", "o1", items(("p1-01", 5)))
    with pytest.raises(NotFound):
        service.write_reviews(repo, lines, WORDS, IMAGES, MEMBERS, "u1", "o1", items(("p1-02", 5)))

    assert repo.reviews == []


def test_averages_are_exact_after_several_reviews(repo: FakeReviewsRepository) -> None:
    source = FakeReceivedLines()
    ratings = [5, 4, 4, 1, 3, 5, 2]
    for number, rating in enumerate(ratings):
        source.add("u1", f"o{number}", "p1-01")
        service.write_reviews(repo, source, WORDS, IMAGES, MEMBERS, "u1", f"o{number}", items(("p1-01", rating)))

    summary = service.list_product_reviews(repo, "p1", PageQuery())["summary"]

    assert summary == {
        "rating_avg": round(24 / 7, 2),
        "count": 7,
        "distribution": {"1": 1, "2": 1, "3": 1, "4": 2, "5": 2},
        "with_images_count": 0,
    }
    assert repo.ratings_by_product["p1"].rating_sum == sum(ratings)


def test_a_concurrent_review_of_the_same_product_is_counted_after_a_retry(
    repo: FakeReviewsRepository, lines: FakeReceivedLines
) -> None:
    other = FakeReceivedLines()
    other.add("u2", "o9", "p1-02")
    repo.before_save.append(
        lambda: service.write_reviews(repo, other, WORDS, IMAGES, MEMBERS, "u2", "o9", items(("p1-02", 1)))
    )

    service.write_reviews(repo, lines, WORDS, IMAGES, MEMBERS, "u1", "o1", items(("p1-01", 5)))

    assert repo.ratings_by_product["p1"] == Ratings(review_count=2, rating_sum=6, distribution=(1, 0, 0, 0, 1))


def test_racing_reviews_of_one_line_make_exactly_one(repo: FakeReviewsRepository, lines: FakeReceivedLines) -> None:
    barrier = threading.Barrier(8)
    outcomes: list[str] = []

    def review() -> None:
        barrier.wait()
        try:
            service.write_reviews(repo, lines, WORDS, IMAGES, MEMBERS, "u1", "o1", items(("p1-01", 4)))
            outcomes.append("created")
        except Conflict as error:
            outcomes.append(error.code)

    threads = [threading.Thread(target=review) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(outcomes) == ["CONFLICT"] * 7 + ["created"]
    assert repo.ratings_by_product["p1"] == Ratings(review_count=1, rating_sum=4, distribution=(0, 0, 0, 1, 0))


def test_a_product_page_is_newest_first_with_a_cursor(repo: FakeReviewsRepository) -> None:
    source = FakeReceivedLines()
    for number in range(5):
        source.add("u1", f"o{number}", "p1-01")
        service.write_reviews(repo, source, WORDS, IMAGES, MEMBERS, "u1", f"o{number}", items(("p1-01", number + 1)))
        time.sleep(0.002)  # review ids order by the millisecond

    first = service.list_product_reviews(repo, "p1", PageQuery(page_size=3))
    second = service.list_product_reviews(repo, "p1", PageQuery(page_size=3, cursor=first["next_cursor"]))

    assert [r["rating"] for r in first["items"] + second["items"]] == [5, 4, 3, 2, 1]
    assert second["next_cursor"] is None
    with pytest.raises(ValidationError):
        service.list_product_reviews(repo, "p2", PageQuery(cursor=first["next_cursor"]))


def test_an_unknown_product_has_no_reviews_page(repo: FakeReviewsRepository) -> None:
    with pytest.raises(NotFound):
        service.list_product_reviews(repo, "nope", PageQuery())


@pytest.mark.parametrize(
    ("name", "masked"),
    [("小明", "小*"), ("张小明", "张**"), ("欧阳小明", "欧阳**"), ("王", "*"), ("alice", "al***"), ("", "***")],
)
def test_reviewers_names_are_masked_never_showing_more_than_half(name: str, masked: str) -> None:
    assert masked_name(name) == masked
    assert len(masked.rstrip("*")) <= len(name) // 2


@pytest.mark.parametrize(
    "item",
    [
        {"sku_id": "p1-01", "rating": 0, "content": "好"},
        {"sku_id": "p1-01", "rating": 6, "content": "好"},
        {"sku_id": "p1-01", "rating": "5", "content": "好"},
        {"sku_id": "p1-01", "rating": True, "content": "好"},
        {"sku_id": "p1-01", "rating": 5, "content": "   "},
        {"sku_id": "p1-01", "rating": 5, "content": "好" * 501},
        {"sku_id": "p1-01", "rating": 5, "content": "好\x00评"},
        {"sku_id": "p1-01", "rating": 5, "content": "好", "extra": 1},
    ],
)
def test_a_review_breaking_a_field_rule_is_refused(item: dict[str, Any]) -> None:
    with pytest.raises(pydantic.ValidationError):
        ReviewsWrite.model_validate({"items": [item]})


def test_content_is_trimmed_and_may_span_lines() -> None:
    write = ReviewsWrite.model_validate({"items": [{"sku_id": "p1-01", "rating": 5, "content": "  好\n很好  "}]})

    assert write.items[0].content == "好\n很好"


def test_one_sku_twice_in_a_request_is_refused() -> None:
    with pytest.raises(pydantic.ValidationError):
        ReviewsWrite.model_validate({"items": [{"sku_id": "p1-01", "rating": 5, "content": "好"}] * 2})
