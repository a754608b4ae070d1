"""HTTP routes of reviews: write reviews of a received order, read a product's reviews and my own."""

from __future__ import annotations

from typing import Any

from chalice.app import Blueprint

from chalicelib.analytics import emitter as analytics
from chalicelib.http import Principal, endpoint
from chalicelib.pagination import PageQuery
from chalicelib.reviews import service
from chalicelib.reviews.domain import received_lines
from chalicelib.reviews.repository import DynamoReviewsRepository
from chalicelib.reviews.schemas import CreatedReviews, MyReviewPage, ProductReviewPage, ReviewsWrite

reviews_api = Blueprint(__name__)
repo = DynamoReviewsRepository()
TAGS = ("reviews",)


@endpoint(reviews_api, "/orders/{order_id}/reviews", "POST", summary="Review lines of my received order: once "
          "per line, all items or none (404 not my order or line, 409 INVALID_STATE before receipt, 409 CONFLICT "
          "reviewed already)", tags=TAGS, auth="customer", body=ReviewsWrite, response=CreatedReviews, status=201,
          errors=(404, 409))  # fmt: skip
def create_reviews(principal: Principal, order_id: str, body: ReviewsWrite) -> dict[str, Any]:
    created = service.write_reviews(repo, received_lines(), principal.user_id, order_id, body.items)
    analytics.emit_as(analytics.reviews_posted, principal.user_id, order_id, created["items"])
    return created


@endpoint(reviews_api, "/products/{product_id}/reviews", summary="A product's reviews, newest first, with its "
          "rating summary", tags=TAGS, query=PageQuery, response=ProductReviewPage, errors=(404,))  # fmt: skip
def list_product_reviews(product_id: str, query: PageQuery) -> dict[str, Any]:
    return service.list_product_reviews(repo, product_id, query)


@endpoint(reviews_api, "/me/reviews", summary="My reviews, newest first", tags=TAGS, auth="customer",
          query=PageQuery, response=MyReviewPage)  # fmt: skip
def list_my_reviews(principal: Principal, query: PageQuery) -> dict[str, Any]:
    return service.list_my_reviews(repo, principal.user_id, query)
