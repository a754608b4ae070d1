"""What a review is, the order lines it may be written for (ReceivedLines, answered by orders), and ratings."""

from __future__ import annotations

import zlib
from dataclasses import dataclass, field
from typing import Protocol

from chalicelib.errors import Conflict, InvalidState

MAX_ITEMS_PER_REQUEST = 19  # 4 writes per review + 1 per product + 3 for the growth: at most 98 of 100 actions
MAX_CONTENT_CHARS = 500
RATINGS = (1, 2, 3, 4, 5)


@dataclass(frozen=True)
class ReviewableLine:
    """One line of a buyer's order as reviews need it: what was bought, and whether it has been received."""

    product_id: str
    title: str
    attributes: dict[str, str] = field(default_factory=dict)
    received: bool = False


class ReceivedLines(Protocol):
    """The orders context's answer to "may this user review this line?" (reviews never import orders)."""

    def line(self, user_id: str, order_id: str, sku_id: str) -> ReviewableLine | None:
        """The line of sku_id in the user's order; None if there is no such order of this user or no such line."""


@dataclass(frozen=True)
class Ratings:
    """A product's rating counters as stored on its catalog META item: rating_avg is rating_sum / review_count."""

    review_count: int = 0
    rating_sum: int = 0
    distribution: tuple[int, int, int, int, int] = (0, 0, 0, 0, 0)
    with_images_count: int = 0

    @property
    def rating_avg(self) -> float:
        """Two decimals, the one rounding used everywhere (the exact value is rating_sum / review_count)."""
        return round(self.rating_sum / self.review_count, 2) if self.review_count else 0.0

    def plus(self, ratings: list[int], with_images: int = 0) -> Ratings:
        """These ratings counted in (with_images of them from reviews with photos)."""
        counts = list(self.distribution)
        for rating in ratings:
            counts[rating - 1] += 1
        return Ratings(
            review_count=self.review_count + len(ratings),
            rating_sum=self.rating_sum + sum(ratings),
            distribution=(counts[0], counts[1], counts[2], counts[3], counts[4]),
            with_images_count=self.with_images_count + with_images,
        )

    def summary(self) -> dict[str, object]:
        return {
            "rating_avg": self.rating_avg,
            "count": self.review_count,
            "distribution": {str(rating): self.distribution[rating - 1] for rating in RATINGS},
            "with_images_count": self.with_images_count,
        }


class AlreadyReviewed(Conflict):
    """This order line has a review already: each line is reviewed once."""

    default_message = "This order line has been reviewed already"


PENDING, PUBLISHED, REJECTED = "PENDING", "PUBLISHED", "REJECTED"
QUEUE_SHARDS = 8
FOLLOW_UP_SUFFIX = "#FU"


def queue_shard(review_id: str) -> int:
    """The staff list partition of a review and its follow-up (spreads the writes of publishing)."""
    return zlib.crc32(review_id.encode()) % QUEUE_SHARDS


def status_of(matched_words: list[str]) -> str:
    """Text with a sensitive word waits for staff; clean text is published at once."""
    return PENDING if matched_words else PUBLISHED


class NotPending(InvalidState):
    default_message = "Only a PENDING review (or follow-up) can be approved or rejected"


class NotPublished(InvalidState):
    default_message = "Only a PUBLISHED review can be replied to"


class AlreadyReplied(Conflict):
    default_message = "This review has a reply already: one reply per review"


class AlreadyFollowedUp(Conflict):
    default_message = "This review has a follow-up already: one per review"


def shown_name(stored: str, deleted: str) -> str:
    """The reviewer's name as a product page shows it: masked again at read time, so a name stored under an older,
    looser mask (小***明) shows no more than half of itself either (masked_name is idempotent on its own output)."""
    return stored if stored == deleted else masked_name(stored)


def masked_name(name: str) -> str:
    """The reviewer as other shoppers see them, never more than half of it: the first len // 2 characters, a star
    for each other one (小明 -> 小*, 张小明 -> 张**, 欧阳小明 -> 欧阳**, a single character -> *)."""
    name = name.strip()
    if not name:
        return "***"
    shown = len(name) // 2
    return name[:shown] + "*" * (len(name) - shown)
