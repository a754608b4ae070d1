"""The only module that touches the review models (and, in the same transactions, the rating counters of a product);
the word list's models are chalicelib/reviews/words_repository.py's."""

from __future__ import annotations

from typing import Any, Protocol

from pynamodb.exceptions import DoesNotExist, TransactWriteError, UpdateError
from pynamodb.expressions.condition import Condition
from pynamodb.transactions import TransactWrite

from chalicelib.accounts.repository import DynamoAccountsRepository
from chalicelib.catalog.models import product_pk
from chalicelib.clock import now_iso
from chalicelib.dynamo import cancelled_conditions, connection, merged_page, newest_page
from chalicelib.errors import ChangedMeanwhile
from chalicelib.membership.repository import add_growth_credit
from chalicelib.reviews.domain import (
    FOLLOW_UP_SUFFIX,
    PENDING,
    PUBLISHED,
    QUEUE_SHARDS,
    AlreadyReplied,
    AlreadyReviewed,
    Ratings,
    queue_shard,
)
from chalicelib.reviews.dynamo_items import (
    _PRODUCT_FIELDS,
    _as_read,
    _entry,
    _entry_dict,
    _product_review,
    _ratings_of,
    _ratings_update,
    _user_dict,
    _user_review,
    _value,
)
from chalicelib.reviews.models import (
    REVIEW_PREFIX,
    REVIEWED_LINE_PREFIX,
    FollowUpAttribute,
    ModerationEntryModel,
    ProductRatingsModel,
    ProductReviewModel,
    ReplyAttribute,
    ReviewedLineModel,
    UserReviewModel,
    product_reviews_pk,
    queue_pk,
    user_pk,
)


class ReviewsRepository(Protocol):
    def reviewer_name(self, user_id: str) -> str:
        """The user's nickname, or username when they have none."""

    def ratings(self, product_id: str) -> Ratings | None:
        """The product's rating counters (strongly consistent); None if there is no such product."""

    def save_reviews(
        self, user_id: str, reviews: list[dict[str, Any]], seen: dict[str, Ratings], growth: int = 0
    ) -> None:
        """Store the reviews (each with its order line's guard and its staff list entry; the PUBLISHED ones on their
        product's page too) and each product's ratings as seen plus its PUBLISHED ones, all in one transaction.
        The author earns `growth` per PUBLISHED review (one
        growth posting for the request, its ref the first review's id). AlreadyReviewed if a line has a review;
        ChangedMeanwhile if a product's ratings are not as seen."""

    def product_reviews(
        self, product_id: str, limit: int, start: dict[str, Any] | None, with_images: bool, rating: int | None
    ) -> tuple[list[dict[str, Any]], dict[str, Any] | None]: ...
    def user_reviews(
        self, user_id: str, limit: int, start: dict[str, Any] | None
    ) -> tuple[list[dict[str, Any]], dict[str, Any] | None]: ...
    def user_review(self, user_id: str, review_id: str) -> dict[str, Any] | None: ...
    def rename_reviewer(self, product_id: str, review_id: str, name: str) -> None:
        """Show the review under another name (a review that is gone is left alone)."""

    def entry(self, status: str, review_id: str, follow_up: bool = False) -> dict[str, Any] | None:
        """The staff list entry of the review (or its follow-up) in that status, if it is there."""

    def entries(
        self, statuses: tuple[str, ...], limit: int, start: dict[str, Any] | None
    ) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
        """The staff list of these statuses, oldest first."""

    def decide(
        self, review: dict[str, Any], status: str, reason: str | None, seen: Ratings | None, growth: int = 0
    ) -> None:
        """Move the PENDING review (as read, with user_id) to PUBLISHED (onto its product's page, counted in its
        ratings as seen, `growth` for its author) or REJECTED; ChangedMeanwhile if it is not as read any more."""

    def add_follow_up(self, review: dict[str, Any], follow_up: dict[str, Any]) -> None:
        """Give the review (as read) its one follow-up; ChangedMeanwhile if it has one or changed meanwhile."""

    def decide_follow_up(self, review: dict[str, Any], status: str, reason: str | None) -> None:
        """Move the review's PENDING follow-up to PUBLISHED or REJECTED; ChangedMeanwhile if not as read."""

    def reply(self, product_id: str, review_id: str, reply: dict[str, str]) -> None:
        """The review's one merchant reply; AlreadyReplied if it has one."""


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

    def save_reviews(
        self, user_id: str, reviews: list[dict[str, Any]], seen: dict[str, Ratings], growth: int = 0
    ) -> None:
        published: dict[str, list[dict[str, Any]]] = {}
        guards: list[int] = []
        actions = 0
        try:
            with TransactWrite(connection=connection()) as transaction:
                for review in reviews:
                    guard = ReviewedLineModel(
                        user_pk(user_id),
                        f"{REVIEWED_LINE_PREFIX}{review['order_id']}#{review['sku_id']}",
                        review_id=review["review_id"],
                    )
                    transaction.save(guard, condition=ReviewedLineModel.sk.does_not_exist())
                    guards.append(actions)
                    transaction.save(_user_review(user_id, review), condition=UserReviewModel.sk.does_not_exist())
                    transaction.save(_entry({**review, "user_id": user_id}, review["status"]))
                    actions += 3
                    if review["status"] == PUBLISHED:
                        transaction.save(_product_review(review), condition=ProductReviewModel.sk.does_not_exist())
                        published.setdefault(review["product_id"], []).append(review)
                        actions += 1
                for product_id, shown in published.items():
                    after = seen[product_id].plus(
                        [review["rating"] for review in shown], sum(1 for review in shown if review.get("images"))
                    )
                    update, condition = _ratings_update(seen[product_id], after)
                    transaction.update(
                        ProductRatingsModel(product_pk(product_id), "META"), actions=update, condition=condition
                    )
                earned = growth * sum(len(shown) for shown in published.values())
                if earned:
                    first = next(review for review in reviews if review["status"] == PUBLISHED)
                    add_growth_credit(transaction, user_id, earned, "review", first["review_id"], first["created_at"])
        except TransactWriteError as error:
            failed = cancelled_conditions(error)
            if any(index < len(failed) and failed[index] for index in guards):
                raise AlreadyReviewed() from error
            if not getattr(error, "cancellation_reasons", None) and error.cause_response_code not in (
                "TransactionCanceledException",
                "TransactionConflictException",
            ):
                raise
            raise ChangedMeanwhile() from error

    def product_reviews(
        self, product_id: str, limit: int, start: dict[str, Any] | None, with_images: bool, rating: int | None
    ) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
        condition: Condition | None = None
        if with_images:
            condition = ProductReviewModel.images.exists()
        if rating is not None:
            condition = (
                (ProductReviewModel.rating == rating) & condition if condition else ProductReviewModel.rating == rating
            )
        results = ProductReviewModel.query(
            product_reviews_pk(product_id),
            ProductReviewModel.sk.startswith(REVIEW_PREFIX),
            filter_condition=condition,
            scan_index_forward=False,
            limit=limit,
            page_size=limit,
            last_evaluated_key=start,
        )
        items = list(results)
        fields = (*_PRODUCT_FIELDS, "images", "reply", "follow_up")
        return [{name: _value(item, name) for name in fields} for item in items], results.last_evaluated_key

    def user_reviews(
        self, user_id: str, limit: int, start: dict[str, Any] | None
    ) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
        items, last_key = newest_page(UserReviewModel, user_pk(user_id), REVIEW_PREFIX, limit, start)
        return [_user_dict(user_id, item) for item in items], last_key

    def user_review(self, user_id: str, review_id: str) -> dict[str, Any] | None:
        try:
            item = UserReviewModel.get(user_pk(user_id), f"{REVIEW_PREFIX}{review_id}", consistent_read=True)
        except DoesNotExist:
            return None
        return _user_dict(user_id, item)

    def rename_reviewer(self, product_id: str, review_id: str, name: str) -> None:
        try:
            ProductReviewModel(product_reviews_pk(product_id), f"{REVIEW_PREFIX}{review_id}").update(
                actions=[ProductReviewModel.user.set(name)], condition=ProductReviewModel.pk.exists()
            )
        except UpdateError as error:
            if error.cause_response_code != "ConditionalCheckFailedException":
                raise

    def entry(self, status: str, review_id: str, follow_up: bool = False) -> dict[str, Any] | None:
        sk = review_id + (FOLLOW_UP_SUFFIX if follow_up else "")
        try:
            item = ModerationEntryModel.get(queue_pk(status, queue_shard(review_id)), sk, consistent_read=True)
        except DoesNotExist:
            return None
        return {**_entry_dict(item), "status": status}

    def entries(
        self, statuses: tuple[str, ...], limit: int, start: dict[str, Any] | None
    ) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
        keys = [queue_pk(status, shard) for status in statuses for shard in range(QUEUE_SHARDS)]
        items, following = merged_page(ModerationEntryModel, keys, limit, start, ascending=True)
        return [{**_entry_dict(item), "status": item.pk.split("#")[1]} for item in items], following

    def decide(
        self, review: dict[str, Any], status: str, reason: str | None, seen: Ratings | None, growth: int = 0
    ) -> None:
        user_review = UserReviewModel(user_pk(review["user_id"]), f"{REVIEW_PREFIX}{review['review_id']}")
        actions: list[Any] = [UserReviewModel.status.set(status)]
        if reason is not None:
            actions.append(UserReviewModel.reject_reason.set(reason))
        try:
            with TransactWrite(connection=connection()) as transaction:
                transaction.update(user_review, actions=actions, condition=_as_read(review))
                transaction.delete(_entry(review, PENDING))
                transaction.save(_entry(review, status))
                if status == PUBLISHED and seen is not None:
                    transaction.save(_product_review(review), condition=ProductReviewModel.sk.does_not_exist())
                    after = seen.plus([review["rating"]], 1 if review.get("images") else 0)
                    update, condition = _ratings_update(seen, after)
                    transaction.update(
                        ProductRatingsModel(product_pk(review["product_id"]), "META"),
                        actions=update,
                        condition=condition,
                    )
                    if growth:
                        user_id, review_id = review["user_id"], review["review_id"]
                        add_growth_credit(transaction, user_id, growth, "review", review_id, now_iso())
        except TransactWriteError as error:
            raise ChangedMeanwhile() from error

    def add_follow_up(self, review: dict[str, Any], follow_up: dict[str, Any]) -> None:
        user_review = UserReviewModel(user_pk(review["user_id"]), f"{REVIEW_PREFIX}{review['review_id']}")
        with_it = {**review, "follow_up": follow_up}
        try:
            with TransactWrite(connection=connection()) as transaction:
                transaction.update(
                    user_review,
                    actions=[UserReviewModel.follow_up.set(FollowUpAttribute(**follow_up))],
                    condition=_as_read(review) & UserReviewModel.follow_up.does_not_exist(),
                )
                if follow_up["status"] == PENDING:
                    transaction.save(_entry(with_it, PENDING, follow_up=True))
                elif review["status"] == PUBLISHED:
                    transaction.update(
                        ProductReviewModel(
                            product_reviews_pk(review["product_id"]), f"{REVIEW_PREFIX}{review['review_id']}"
                        ),
                        actions=[ProductReviewModel.follow_up.set(FollowUpAttribute(**follow_up))],
                        condition=ProductReviewModel.pk.exists(),
                    )
        except TransactWriteError as error:
            raise ChangedMeanwhile() from error

    def decide_follow_up(self, review: dict[str, Any], status: str, reason: str | None) -> None:
        follow_up = {**review["follow_up"], "status": status, "reject_reason": reason}
        with_it = {**review, "follow_up": follow_up}
        user_review = UserReviewModel(user_pk(review["user_id"]), f"{REVIEW_PREFIX}{review['review_id']}")
        try:
            with TransactWrite(connection=connection()) as transaction:
                transaction.update(
                    user_review,
                    actions=[UserReviewModel.follow_up.set(FollowUpAttribute(**follow_up))],
                    condition=_as_read(review) & (UserReviewModel.follow_up.status == PENDING),
                )
                transaction.delete(_entry(review, PENDING, follow_up=True))
                transaction.save(_entry(with_it, status, follow_up=True))
                if status == PUBLISHED and review["status"] == PUBLISHED:
                    transaction.update(
                        ProductReviewModel(
                            product_reviews_pk(review["product_id"]), f"{REVIEW_PREFIX}{review['review_id']}"
                        ),
                        actions=[ProductReviewModel.follow_up.set(FollowUpAttribute(**follow_up))],
                        condition=ProductReviewModel.pk.exists(),
                    )
        except TransactWriteError as error:
            raise ChangedMeanwhile() from error

    def reply(self, product_id: str, review_id: str, reply: dict[str, str]) -> None:
        try:
            ProductReviewModel(product_reviews_pk(product_id), f"{REVIEW_PREFIX}{review_id}").update(
                actions=[ProductReviewModel.reply.set(ReplyAttribute(**reply))],
                condition=ProductReviewModel.pk.exists() & ProductReviewModel.reply.does_not_exist(),
            )
        except UpdateError as error:
            if error.cause_response_code == "ConditionalCheckFailedException":
                raise AlreadyReplied() from error
            raise
