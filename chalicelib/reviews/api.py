"""HTTP routes of reviews: write reviews of a received order and their follow-ups, read a product's reviews and my
own; staff (role service) moderate them, reply, and keep the sensitive-word list."""

from __future__ import annotations

from chalice.app import Response

from chalicelib.analytics import emitter as analytics
from chalicelib.auth import Principal
from chalicelib.membership.repository import MembershipRepository
from chalicelib.pagination import PageQuery
from chalicelib.reviews import moderation, service
from chalicelib.reviews.domain import ReceivedLines
from chalicelib.reviews.repository import ReviewsRepository
from chalicelib.reviews.schemas import (
    CreatedReviews,
    Decision,
    FollowUpCreated,
    FollowUpDecision,
    FollowUpWrite,
    MyReviewPage,
    ProductReviewPage,
    ProductReviewQuery,
    RejectWrite,
    ReplyCreated,
    ReplyWrite,
    ReviewsWrite,
    StaffReviewPage,
    StaffReviewQuery,
    WordPage,
    WordsAdded,
    WordsWrite,
)
from chalicelib.reviews.words_repository import ReviewWordsRepository
from chalicelib.routes import Json, Routes
from chalicelib.uploads.domain import OwnImages

reviews_api = Routes(__name__, tags=("reviews",), admin_tags=("admin",))


@reviews_api.post("/orders/{order_id}/reviews", status=201, errors=(404, 409))
def create_reviews(
    principal: Principal,
    order_id: str,
    body: ReviewsWrite,
    reviews: ReviewsRepository,
    received_lines: ReceivedLines,
    review_words: ReviewWordsRepository,
    own_images: OwnImages,
    membership: MembershipRepository,
) -> Json[CreatedReviews]:
    """Review lines of my received order: once per line, all items or none; text with a sensitive word is PENDING
    (404 not my order or line, 409 INVALID_STATE before receipt, 409 CONFLICT reviewed already)"""
    created = service.write_reviews(
        reviews, received_lines, review_words, own_images, membership, principal.user_id, order_id, body.items
    )
    analytics.emit_as(analytics.reviews_posted, principal.user_id, order_id, created["items"])
    return created


@reviews_api.get("/products/{product_id}/reviews", errors=(404,))
def list_product_reviews(
    product_id: str, query: ProductReviewQuery, reviews: ReviewsRepository
) -> Json[ProductReviewPage]:
    """A product's published reviews, newest first, with its rating summary"""
    return service.list_product_reviews(reviews, product_id, query, query.with_images == "true", query.rating)


@reviews_api.get("/me/reviews")
def list_my_reviews(principal: Principal, query: PageQuery, reviews: ReviewsRepository) -> Json[MyReviewPage]:
    """My reviews, newest first, each with its status"""
    return service.list_my_reviews(reviews, principal.user_id, query)


@reviews_api.post("/reviews/{review_id}/follow-ups", status=201, errors=(404, 409))
def follow_up(
    principal: Principal,
    review_id: str,
    body: FollowUpWrite,
    reviews: ReviewsRepository,
    review_words: ReviewWordsRepository,
    own_images: OwnImages,
) -> Json[FollowUpCreated]:
    """追评: my one follow-up to my review, moderated like a review (404 not mine, 409 one already)"""
    return moderation.follow_up(
        reviews, review_words, own_images, principal.user_id, review_id, body.content, body.images
    )


@reviews_api.get("/admin/reviews", roles=("service",))
def list_reviews_for_staff(query: StaffReviewQuery, reviews: ReviewsRepository) -> Json[StaffReviewPage]:
    """Reviews and follow-ups by status, oldest first, with the sensitive words they matched (role service)"""
    return moderation.staff_list(reviews, query.status, query)


@reviews_api.post("/admin/reviews/{review_id}/approve", errors=(404, 409), roles=("service",))
def approve_review(review_id: str, reviews: ReviewsRepository, membership: MembershipRepository) -> Json[Decision]:
    """Publish a PENDING review (409 INVALID_STATE otherwise; role service)"""
    return moderation.decide(reviews, membership, review_id, approve=True, reason=None)


@reviews_api.post("/admin/reviews/{review_id}/reject", errors=(404, 409), roles=("service",))
def reject_review(
    review_id: str, body: RejectWrite, reviews: ReviewsRepository, membership: MembershipRepository
) -> Json[Decision]:
    """Reject a PENDING review with a reason its author sees (409 INVALID_STATE otherwise; role service)"""
    return moderation.decide(reviews, membership, review_id, approve=False, reason=body.reason)


@reviews_api.post("/admin/reviews/{review_id}/follow-up/approve", errors=(404, 409), roles=("service",))
def approve_follow_up(review_id: str, reviews: ReviewsRepository) -> Json[FollowUpDecision]:
    """Publish a PENDING follow-up (409 INVALID_STATE otherwise; role service)"""
    return moderation.decide_follow_up(reviews, review_id, approve=True, reason=None)


@reviews_api.post("/admin/reviews/{review_id}/follow-up/reject", errors=(404, 409), roles=("service",))
def reject_follow_up(review_id: str, body: RejectWrite, reviews: ReviewsRepository) -> Json[FollowUpDecision]:
    """Reject a PENDING follow-up (409 INVALID_STATE otherwise; role service)"""
    return moderation.decide_follow_up(reviews, review_id, approve=False, reason=body.reason)


@reviews_api.post("/admin/reviews/{review_id}/reply", status=201, errors=(404, 409), roles=("service",))
def reply_to_review(review_id: str, body: ReplyWrite, reviews: ReviewsRepository) -> Json[ReplyCreated]:
    """The merchant's one reply to a published review (409 a second time or unpublished; role service)"""
    return moderation.reply(reviews, review_id, body.content)


@reviews_api.get("/admin/review-words", roles=("service",))
def list_review_words(query: PageQuery, review_words: ReviewWordsRepository) -> Json[WordPage]:
    """The sensitive-word list, newest first (role service)"""
    return moderation.list_words(review_words, query)


@reviews_api.post("/admin/review-words", status=201, roles=("service",))
def add_review_words(body: WordsWrite, review_words: ReviewWordsRepository) -> Json[WordsAdded]:
    """Add 1..50 words of 1..20 characters (role service)"""
    return moderation.add_words(review_words, body.words)


@reviews_api.delete("/admin/review-words/{word}", status=204, errors=(404,), text_params=("word",), roles=("service",))
def remove_review_word(word: str, review_words: ReviewWordsRepository) -> Response:
    """Take a word off the list (role service); the word percent-encoded in the path"""
    moderation.remove_word(review_words, word)
    return Response(body="", status_code=204)
