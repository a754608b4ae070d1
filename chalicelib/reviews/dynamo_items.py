"""How reviews map to their items (part of the repository: only it and chalicelib/reviews/repository.py touch the
review models)."""

from __future__ import annotations

from typing import Any

from pynamodb.attributes import MapAttribute
from pynamodb.expressions.condition import Condition

from chalicelib.reviews.domain import FOLLOW_UP_SUFFIX, PUBLISHED, Ratings, queue_shard
from chalicelib.reviews.models import (
    REVIEW_PREFIX,
    FollowUpAttribute,
    ModerationEntryModel,
    ProductRatingsModel,
    ProductReviewModel,
    UserReviewModel,
    product_reviews_pk,
    queue_pk,
    user_pk,
)


def _plain(value: Any) -> Any:
    return value.as_dict() if isinstance(value, MapAttribute) else value


def _ratings_of(item: ProductRatingsModel) -> Ratings:
    counts = [int(getattr(item, f"rating_{rating}") or 0) for rating in (1, 2, 3, 4, 5)]
    return Ratings(
        review_count=int(item.review_count or 0),
        rating_sum=int(item.rating_sum or 0),
        distribution=(counts[0], counts[1], counts[2], counts[3], counts[4]),
        with_images_count=int(item.with_images_count or 0),
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
        model.with_images_count.set(after.with_images_count),
        *(getattr(model, f"rating_{rating}").set(after.distribution[rating - 1]) for rating in (1, 2, 3, 4, 5)),
    ]
    condition = model.pk.exists() & _is(model.review_count, seen.review_count) & _is(model.rating_sum, seen.rating_sum)
    return actions, condition


def _follow_up(value: dict[str, Any] | None) -> FollowUpAttribute | None:
    return None if value is None else FollowUpAttribute(**value)


def _entry(review: dict[str, Any], status: str, follow_up: bool = False) -> ModerationEntryModel:
    text = review["follow_up"] if follow_up else review
    return ModerationEntryModel(
        queue_pk(status, queue_shard(review["review_id"])),
        review["review_id"] + (FOLLOW_UP_SUFFIX if follow_up else ""),
        review_id=review["review_id"],
        kind="follow_up" if follow_up else "review",
        user_id=review["user_id"],
        product_id=review["product_id"],
        content=text["content"],
        matched_words=list(text.get("matched_words") or []),
        created_at=text["created_at"],
    )


def _product_review(review: dict[str, Any]) -> ProductReviewModel:
    follow_up = review.get("follow_up")
    return ProductReviewModel(
        product_reviews_pk(review["product_id"]),
        f"{REVIEW_PREFIX}{review['review_id']}",
        **{name: review[name] for name in _PRODUCT_FIELDS},
        images=review.get("images") or None,
        follow_up=_follow_up(follow_up) if follow_up and follow_up["status"] == PUBLISHED else None,
    )


def _user_review(user_id: str, review: dict[str, Any]) -> UserReviewModel:
    return UserReviewModel(
        user_pk(user_id),
        f"{REVIEW_PREFIX}{review['review_id']}",
        **{name: review[name] for name in _USER_FIELDS},
        user=review["user"],
        status=review["status"],
        matched_words=review.get("matched_words") or None,
        images=review.get("images") or None,
    )


def _as_read(review: dict[str, Any]) -> Condition:
    """The user's review is still in the status it was read in (reviews older than moderation have none)."""
    if review["stored_status"] is None:
        return UserReviewModel.pk.exists() & UserReviewModel.status.does_not_exist()
    return UserReviewModel.status == review["stored_status"]


_PRODUCT_FIELDS = ("review_id", "product_id", "sku_id", "rating", "content", "user", "attributes", "created_at")
_USER_FIELDS = (
    "review_id", "order_id", "product_id", "sku_id", "title", "attributes", "rating", "content", "created_at",
)  # fmt: skip
_USER_EXTRA = ("user", "reject_reason", "matched_words", "images", "follow_up")


def _user_dict(user_id: str, item: UserReviewModel) -> dict[str, Any]:
    review = {name: _value(item, name) for name in (*_USER_FIELDS, *_USER_EXTRA)}
    review["user_id"] = user_id
    review["stored_status"] = item.status
    review["status"] = item.status or PUBLISHED  # written before moderation: published at once
    review["images"] = review["images"] or []
    review["matched_words"] = review["matched_words"] or []
    return review


def _entry_dict(item: ModerationEntryModel) -> dict[str, Any]:
    names = ("review_id", "kind", "user_id", "product_id", "content", "matched_words", "created_at")
    return {name: _value(item, name) for name in names}


def _value(item: Any, name: str) -> Any:
    value = getattr(item, name)
    if name == "attributes":
        return dict(_plain(value) or {})
    if name == "rating":
        return int(value)
    if name in ("images", "matched_words"):
        return list(value) if value else []
    if name in ("reply", "follow_up"):
        return None if value is None else _plain(value)
    return value
