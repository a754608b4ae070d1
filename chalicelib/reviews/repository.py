"""The only module that touches the review models (and, in the same transaction, the rating counters of a product)."""

from __future__ import annotations

from typing import Any, Protocol

from pynamodb.attributes import MapAttribute
from pynamodb.exceptions import DoesNotExist, TransactWriteError, UpdateError
from pynamodb.expressions.condition import Condition
from pynamodb.transactions import TransactWrite

from chalicelib.accounts.repository import DynamoAccountsRepository
from chalicelib.catalog.models import product_pk
from chalicelib.dynamo import cancelled_conditions, connection, newest_page
from chalicelib.errors import ChangedMeanwhile
from chalicelib.reviews.domain import AlreadyReviewed, Ratings
from chalicelib.reviews.models import (
    REVIEW_PREFIX,
    REVIEWED_LINE_PREFIX,
    ProductRatingsModel,
    ProductReviewModel,
    ReviewedLineModel,
    UserReviewModel,
    product_reviews_pk,
    user_pk,
)

ACTIONS_PER_REVIEW = 3


class ReviewsRepository(Protocol):
    def reviewer_name(self, user_id: str) -> str:
        """The user's nickname, or username when they have none."""

    def ratings(self, product_id: str) -> Ratings | None:
        """The product's rating counters (strongly consistent); None if there is no such product."""

    def save_reviews(self, user_id: str, reviews: list[dict[str, Any]], seen: dict[str, Ratings]) -> None:
        """Store the reviews (each with its order line's guard) and each product's ratings as seen plus them, all in
        one transaction. AlreadyReviewed if a line has a review; ChangedMeanwhile if a product's ratings are not as
        seen (or a concurrent transaction got in the way)."""

    def product_reviews(
        self, product_id: str, limit: int, start: dict[str, Any] | None
    ) -> tuple[list[dict[str, Any]], dict[str, Any] | None]: ...
    def user_reviews(
        self, user_id: str, limit: int, start: dict[str, Any] | None
    ) -> tuple[list[dict[str, Any]], dict[str, Any] | None]: ...
    def rename_reviewer(self, product_id: str, review_id: str, name: str) -> None:
        """Show the review under another name (a review that is gone is left alone)."""


def _plain(value: Any) -> dict[str, str]:
    return dict(value.as_dict() if isinstance(value, MapAttribute) else value or {})


def _ratings_of(item: ProductRatingsModel) -> Ratings:
    counts = [int(getattr(item, f"rating_{rating}") or 0) for rating in (1, 2, 3, 4, 5)]
    return Ratings(
        review_count=int(item.review_count or 0),
        rating_sum=int(item.rating_sum or 0),
        distribution=(counts[0], counts[1], counts[2], counts[3], counts[4]),
    )


def _is(attribute: Any, value: int) -> Condition:
    if value == 0:  # a product never reviewed may have no counter at all
        return attribute.does_not_exist() | (attribute == 0)
    return attribute == value


def _ratings_update(seen: Ratings, after: Ratings) -> tuple[list[Any], Condition]:
    model = ProductRatingsModel
    actions = [
        model.review_count.set(after.review_count),
        model.rating_sum.set(after.rating_sum),
        model.rating_avg.set(after.rating_avg),
        *(getattr(model, f"rating_{rating}").set(after.distribution[rating - 1]) for rating in (1, 2, 3, 4, 5)),
    ]
    condition = model.pk.exists() & _is(model.review_count, seen.review_count) & _is(model.rating_sum, seen.rating_sum)
    return actions, condition


class DynamoReviewsRepository:
    """ReviewsRepository on the catalog and accounts tables."""

    def reviewer_name(self, user_id: str) -> str:
        user = DynamoAccountsRepository().get_user(user_id)
        if user is None:
            return ""
        return user.nickname or user.username

    def ratings(self, product_id: str) -> Ratings | None:
        try:
            item = ProductRatingsModel.get(product_pk(product_id), "META", consistent_read=True)
        except DoesNotExist:
            return None
        return _ratings_of(item)

    def save_reviews(self, user_id: str, reviews: list[dict[str, Any]], seen: dict[str, Ratings]) -> None:
        by_product: dict[str, list[int]] = {}
        for review in reviews:
            by_product.setdefault(review["product_id"], []).append(review["rating"])
        try:
            with TransactWrite(connection=connection()) as transaction:
                for review in reviews:
                    guard = ReviewedLineModel(
                        user_pk(user_id),
                        f"{REVIEWED_LINE_PREFIX}{review['order_id']}#{review['sku_id']}",
                        review_id=review["review_id"],
                    )
                    transaction.save(guard, condition=ReviewedLineModel.sk.does_not_exist())
                    transaction.save(
                        UserReviewModel(
                            user_pk(user_id),
                            f"{REVIEW_PREFIX}{review['review_id']}",
                            **{name: review[name] for name in _USER_FIELDS},
                        ),
                        condition=UserReviewModel.sk.does_not_exist(),
                    )
                    transaction.save(
                        ProductReviewModel(
                            product_reviews_pk(review["product_id"]),
                            f"{REVIEW_PREFIX}{review['review_id']}",
                            **{name: review[name] for name in _PRODUCT_FIELDS},
                        ),
                        condition=ProductReviewModel.sk.does_not_exist(),
                    )
                for product_id, ratings in by_product.items():
                    actions, condition = _ratings_update(seen[product_id], seen[product_id].plus(ratings))
                    transaction.update(
                        ProductRatingsModel(product_pk(product_id), "META"), actions=actions, condition=condition
                    )
        except TransactWriteError as error:
            failed = cancelled_conditions(error)
            guards = failed[: ACTIONS_PER_REVIEW * len(reviews) : ACTIONS_PER_REVIEW]
            if any(guards):
                raise AlreadyReviewed() from error
            if not getattr(error, "cancellation_reasons", None) and error.cause_response_code not in (
                "TransactionCanceledException",
                "TransactionConflictException",
            ):
                raise
            raise ChangedMeanwhile() from error

    def product_reviews(
        self, product_id: str, limit: int, start: dict[str, Any] | None
    ) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
        items, last_key = newest_page(ProductReviewModel, product_reviews_pk(product_id), REVIEW_PREFIX, limit, start)
        return [{name: _value(item, name) for name in _PRODUCT_FIELDS} for item in items], last_key

    def user_reviews(
        self, user_id: str, limit: int, start: dict[str, Any] | None
    ) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
        items, last_key = newest_page(UserReviewModel, user_pk(user_id), REVIEW_PREFIX, limit, start)
        return [{name: _value(item, name) for name in _USER_FIELDS} for item in items], last_key

    def rename_reviewer(self, product_id: str, review_id: str, name: str) -> None:
        try:
            ProductReviewModel(product_reviews_pk(product_id), f"{REVIEW_PREFIX}{review_id}").update(
                actions=[ProductReviewModel.user.set(name)], condition=ProductReviewModel.pk.exists()
            )
        except UpdateError as error:
            if error.cause_response_code != "ConditionalCheckFailedException":
                raise


_PRODUCT_FIELDS = ("review_id", "product_id", "sku_id", "rating", "content", "user", "attributes", "created_at")
_USER_FIELDS = (
    "review_id", "order_id", "product_id", "sku_id", "title", "attributes", "rating", "content", "created_at",
)  # fmt: skip


def _value(item: Any, name: str) -> Any:
    value = getattr(item, name)
    if name == "attributes":
        return _plain(value)
    if name == "rating":
        return int(value)
    return value
