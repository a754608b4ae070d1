"""Request, query and response models of the review routes (they also feed the OpenAPI spec)."""

from __future__ import annotations

import unicodedata
from typing import Annotated, Literal

from pydantic import AfterValidator, ConfigDict, Field, StrictInt, StrictStr, field_validator

from chalicelib.pagination import PageQuery
from chalicelib.reviews.domain import MAX_CONTENT_CHARS, MAX_ITEMS_PER_REQUEST
from chalicelib.schema import BaseModel

ReviewStatus = Literal["PENDING", "PUBLISHED", "REJECTED"]
Images = Annotated[
    list[Annotated[StrictStr, Field(min_length=1, max_length=1024)]],
    Field(max_length=9, description="public_urls of my own completed uploads (POST /uploads)"),
]


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
    images: Images = Field(default_factory=list)


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


class FollowUpWrite(BaseModel):
    """追评: the author's one follow-up to their review, moderated like a review."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    content: ReviewText
    images: Images = Field(default_factory=list)


class FollowUpCreated(BaseModel):
    review_id: str
    status: ReviewStatus
    content: str
    images: list[str]


class MyFollowUp(BaseModel):
    content: str
    images: list[str]
    created_at: str
    status: ReviewStatus
    reject_reason: str | None = None


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
    status: ReviewStatus = Field(description="PENDING until staff decide on text with a sensitive word")
    reject_reason: str | None = None
    images: list[str]
    follow_up: MyFollowUp | None = None


class CreatedReviews(BaseModel):
    """The reviews written, in the order they were sent."""

    items: list[MyReview]


class MyReviewPage(BaseModel):
    """My reviews, newest first."""

    items: list[MyReview]
    next_cursor: str | None = None


class ReviewReply(BaseModel):
    content: str
    at: str


class FollowUp(BaseModel):
    content: str
    images: list[str]
    created_at: str


class ProductReview(BaseModel):
    review_id: str
    rating: int
    content: str
    user: str = Field(description="the reviewer's nickname, at most half of it shown: 小明 -> 小*, 张小明 -> 张**")
    created_at: str
    attributes: dict[str, str] = Field(description='the SKU bought, e.g. {"颜色": "雅川青"}')
    images: list[str]
    reply: ReviewReply | None = Field(description="the merchant's reply")
    follow_up: FollowUp | None = Field(description="追评, once PUBLISHED")


class RatingSummary(BaseModel):
    rating_avg: float = Field(description="rating_sum / count, two decimals; 0 without reviews")
    count: int
    distribution: dict[str, int] = Field(description='reviews per star: {"1": n, ..., "5": n}')
    with_images_count: int = Field(description="published reviews with photos")


class ProductReviewQuery(PageQuery):
    """?with_images=true: only reviews with photos; ?rating=1..5: only those of that rating."""

    with_images: Literal["true", "false"] = "false"
    rating: int | None = Field(None, ge=1, le=5)


class StaffReviewQuery(PageQuery):
    status: ReviewStatus | None = None


class StaffReview(BaseModel):
    review_id: str
    kind: Literal["review", "follow_up"]
    product_id: str
    user_id: str
    content: str
    status: ReviewStatus
    matched_words: list[str]
    created_at: str


class StaffReviewPage(BaseModel):
    """Reviews and follow-ups of a status, oldest first."""

    items: list[StaffReview]
    next_cursor: str | None = None


class RejectWrite(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    reason: StrictStr = Field(min_length=1, max_length=200)


class ReplyWrite(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    content: ReviewText


class Decision(BaseModel):
    review_id: str
    status: ReviewStatus
    reject_reason: str | None = None


class FollowUpDecision(BaseModel):
    review_id: str
    follow_up: dict[str, str | None] = Field(description='{"status", "reject_reason"}')


class ReplyCreated(BaseModel):
    review_id: str
    reply: ReviewReply


class WordsWrite(BaseModel):
    model_config = ConfigDict(extra="forbid")

    words: list[Annotated[StrictStr, Field(min_length=1, max_length=20)]] = Field(min_length=1, max_length=50)


class Word(BaseModel):
    word: str
    created_at: str


class WordPage(BaseModel):
    items: list[Word]
    next_cursor: str | None = None


class WordsAdded(BaseModel):
    """The words added (those listed already are not repeated), and every word as the filter compares it."""

    items: list[Word]
    words: list[str]


class ProductReviewPage(BaseModel):
    """A product's reviews, newest first, and its rating summary."""

    items: list[ProductReview]
    next_cursor: str | None = None
    summary: RatingSummary
