"""Review rules: only the buyer's received lines, once per line, ratings counted with the review in one transaction."""

from __future__ import annotations

from typing import Any

from chalicelib.accounts.domain import DELETED_USERNAME
from chalicelib.clock import now_iso
from chalicelib.errors import InvalidState, NotFound
from chalicelib.ids import new_id
from chalicelib.membership import service as membership
from chalicelib.membership.repository import MembershipRepository
from chalicelib.pagination import PageQuery, decode_cursor, encode_cursor, page
from chalicelib.retry import retrying
from chalicelib.reviews.domain import PUBLISHED, Ratings, ReceivedLines, masked_name, shown_name, status_of
from chalicelib.reviews.moderation import matcher
from chalicelib.reviews.repository import ReviewsRepository
from chalicelib.reviews.schemas import ReviewWrite
from chalicelib.reviews.words_repository import ReviewWordsRepository
from chalicelib.uploads.domain import OwnImages

ATTEMPTS = 5


def write_reviews(
    repo: ReviewsRepository,
    lines: ReceivedLines,
    words: ReviewWordsRepository,
    images: OwnImages,
    members: MembershipRepository,
    user_id: str,
    order_id: str,
    items: list[ReviewWrite],
) -> dict[str, Any]:
    """Review lines of the user's received order, all or none: text with a sensitive word is PENDING (staff decide),
    clean text PUBLISHED at once (and earns the author growth_per_review); images are the user's own completed uploads
    (else 400).

    404 for an order that is not the user's or a line it does not have, 409 INVALID_STATE before receipt,
    409 CONFLICT for a line reviewed already (also when two requests race for it).
    """
    bought = []
    for item in items:
        line = lines.line(user_id, order_id, item.sku_id)
        if line is None:
            raise NotFound("No such order line")
        bought.append(line)
    if not all(line.received for line in bought):
        raise InvalidState("Reviews open once the order is received")
    checked = [images.check(user_id, item.images) for item in items]
    found = matcher(words)
    matched = [found.found_in(item.content) for item in items]
    user = masked_name(repo.reviewer_name(user_id))
    created_at = now_iso()
    reviews: list[dict[str, Any]] = [
        {
            "review_id": new_id("rv"),
            "order_id": order_id,
            "product_id": line.product_id,
            "sku_id": item.sku_id,
            "title": line.title,
            "attributes": dict(line.attributes),
            "rating": item.rating,
            "content": item.content,
            "user": user,
            "created_at": created_at,
            "images": urls,
            "matched_words": words_found,
            "status": status_of(words_found),
            "reject_reason": None,
            "follow_up": None,
        }
        for item, line, urls, words_found in zip(items, bought, checked, matched, strict=True)
    ]

    growth = membership.level_table(members)["rules"]["growth_per_review"]

    def attempt() -> None:
        seen: dict[str, Ratings] = {}
        for product_id in dict.fromkeys(review["product_id"] for review in reviews):
            ratings = repo.ratings(product_id)
            if ratings is None:
                raise NotFound("This product is no longer in the catalog")
            seen[product_id] = ratings
        repo.save_reviews(user_id, reviews, seen, growth)

    retrying(attempt, ATTEMPTS)
    return {"items": [_mine(review) for review in reviews]}


MINE = (
    "review_id", "order_id", "product_id", "sku_id", "title", "attributes", "rating", "content", "created_at",
    "status", "reject_reason", "images",
)  # fmt: skip


def _mine(review: dict[str, Any]) -> dict[str, Any]:
    follow_up = review.get("follow_up")
    shown = None
    if follow_up:
        names = ("content", "images", "created_at", "status", "reject_reason")
        shown = {name: follow_up.get(name) for name in names}
    return {**{name: review.get(name) for name in MINE}, "follow_up": shown}


def _on_page(review: dict[str, Any]) -> dict[str, Any]:
    names = ("review_id", "rating", "content", "created_at", "attributes")
    follow_up = review.get("follow_up")
    return {
        **{name: review[name] for name in names},
        "images": list(review.get("images") or []),
        "reply": review.get("reply"),
        "user": shown_name(review["user"], DELETED_USERNAME),
        "follow_up": None
        if not follow_up or follow_up.get("status") != PUBLISHED
        else {
            "content": follow_up["content"],
            "images": list(follow_up.get("images") or []),
            "created_at": follow_up["created_at"],
        },
    }


def list_product_reviews(
    repo: ReviewsRepository, product_id: str, query: PageQuery, with_images: bool = False, rating: int | None = None
) -> dict[str, Any]:
    """PUBLISHED reviews, newest first (only those with photos, or of one rating, when asked), with the product's
    rating summary; 404 for a product that does not exist."""
    ratings = repo.ratings(product_id)
    if ratings is None:
        raise NotFound("No such product")
    scope = f"product-reviews|{product_id}|{int(with_images)}|{rating or ''}"
    reviews, last_key = repo.product_reviews(
        product_id, query.page_size, decode_cursor(query.cursor, scope), with_images, rating
    )
    return {
        **page([_on_page(review) for review in reviews], encode_cursor(last_key, scope)),
        "summary": ratings.summary(),
    }


def list_my_reviews(repo: ReviewsRepository, user_id: str, query: PageQuery) -> dict[str, Any]:
    scope = f"my-reviews|{user_id}"
    reviews, last_key = repo.user_reviews(user_id, query.page_size, decode_cursor(query.cursor, scope))
    return page([_mine(review) for review in reviews], encode_cursor(last_key, scope))


def forget_reviewer(repo: ReviewsRepository, user_id: str) -> None:
    """The user deleted their account: their reviews stay (ratings and words are the shop's to keep) and show
    DELETED_USERNAME instead of their masked nickname. Idempotent."""
    start = None
    while True:
        reviews, start = repo.user_reviews(user_id, 100, start)
        for review in reviews:
            repo.rename_reviewer(review["product_id"], review["review_id"], DELETED_USERNAME)
        if not start:
            return
