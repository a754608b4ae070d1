"""HTTP routes of reviews: write reviews of a received order, read a product's reviews and my own."""

from __future__ import annotations

from chalicelib.analytics import emitter as analytics
from chalicelib.auth import Principal
from chalicelib.pagination import PageQuery
from chalicelib.reviews import service
from chalicelib.reviews.domain import ReceivedLines
from chalicelib.reviews.repository import ReviewsRepository
from chalicelib.reviews.schemas import CreatedReviews, MyReviewPage, ProductReviewPage, ReviewsWrite
from chalicelib.routes import Json, Routes

reviews_api = Routes(__name__, tags=("reviews",))


@reviews_api.post("/orders/{order_id}/reviews", status=201, errors=(404, 409))
def create_reviews(
    principal: Principal, order_id: str, body: ReviewsWrite, reviews: ReviewsRepository, received_lines: ReceivedLines
) -> Json[CreatedReviews]:
    """Review lines of my received order: once per line, all items or none (404 not my order or line, 409 INVALID_STATE
    before receipt, 409 CONFLICT reviewed already)"""
    created = service.write_reviews(reviews, received_lines, principal.user_id, order_id, body.items)
    analytics.emit_as(analytics.reviews_posted, principal.user_id, order_id, created["items"])
    return created


@reviews_api.get("/products/{product_id}/reviews", errors=(404,))
def list_product_reviews(product_id: str, query: PageQuery, reviews: ReviewsRepository) -> Json[ProductReviewPage]:
    """A product's reviews, newest first, with its rating summary"""
    return service.list_product_reviews(reviews, product_id, query)


@reviews_api.get("/me/reviews")
def list_my_reviews(principal: Principal, query: PageQuery, reviews: ReviewsRepository) -> Json[MyReviewPage]:
    """My reviews, newest first"""
    return service.list_my_reviews(reviews, principal.user_id, query)
