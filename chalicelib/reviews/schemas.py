"""Request, query and response models of the review routes (they also feed the OpenAPI spec)."""

from __future__ import annotations

import unicodedata
from typing import Annotated

from pydantic import AfterValidator, ConfigDict, Field, StrictInt, StrictStr, field_validator

from chalicelib.reviews.domain import MAX_CONTENT_CHARS, MAX_ITEMS_PER_REQUEST
from chalicelib.schema import BaseModel


def _no_control_characters(text: str) -> str:
    if any(unicodedata.category(char) == "Cc" and char != "\n" for char in text):
        raise ValueError("Control characters are not allowed (line breaks are)")
    return text


ReviewText = Annotated[
    StrictStr, Field(min_length=1, max_length=MAX_CONTENT_CHARS), AfterValidator(_no_control_characters)
]


class ReviewWrite(BaseModel):
    """One order line's review: the SKU bought, 1..5 stars and 1..500 characters of text (trimmed first)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    sku_id: StrictStr = Field(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9_.\-]+$")
    rating: StrictInt = Field(ge=1, le=5)
    content: ReviewText


class ReviewsWrite(BaseModel):
    """Reviews of some lines of one order, written together (all or none); each SKU at most once."""

    model_config = ConfigDict(extra="forbid")

    items: list[ReviewWrite] = Field(min_length=1, max_length=MAX_ITEMS_PER_REQUEST)

    @field_validator("items")
    @classmethod
    def _distinct_skus(cls, items: list[ReviewWrite]) -> list[ReviewWrite]:
        if len({item.sku_id for item in items}) != len(items):
            raise ValueError("Name each sku_id at most once")
        return items


class MyReview(BaseModel):
    review_id: str
    order_id: str
    product_id: str
    sku_id: str
    title: str
    attributes: dict[str, str]
    rating: int
    content: str
    created_at: str


class CreatedReviews(BaseModel):
    """The reviews written, in the order they were sent."""

    items: list[MyReview]


class MyReviewPage(BaseModel):
    """My reviews, newest first."""

    items: list[MyReview]
    next_cursor: str | None = None


class ProductReview(BaseModel):
    rating: int
    content: str
    user: str = Field(description="the reviewer's nickname, masked: 小***明")
    created_at: str
    attributes: dict[str, str] = Field(description='the SKU bought, e.g. {"颜色": "雅川青"}')


class RatingSummary(BaseModel):
    rating_avg: float = Field(description="rating_sum / count, two decimals; 0 without reviews")
    count: int
    distribution: dict[str, int] = Field(description='reviews per star: {"1": n, ..., "5": n}')


class ProductReviewPage(BaseModel):
    """A product's reviews, newest first, and its rating summary."""

    items: list[ProductReview]
    next_cursor: str | None = None
    summary: RatingSummary
