"""Moderation: the sensitive-word list staff keep, the matcher built from it, and staff decisions on held reviews and
follow-ups, their one merchant reply, and the author's one follow-up (追评)."""

from __future__ import annotations

import threading
from typing import Any

from chalicelib.clock import now_iso
from chalicelib.errors import NotFound, ValidationError
from chalicelib.ids import new_id
from chalicelib.membership import service as membership
from chalicelib.membership.repository import MembershipRepository
from chalicelib.pagination import PageQuery, decode_cursor, encode_cursor, page
from chalicelib.retry import retrying
from chalicelib.reviews.domain import (
    PENDING,
    PUBLISHED,
    REJECTED,
    AlreadyFollowedUp,
    NotPending,
    NotPublished,
    status_of,
)
from chalicelib.reviews.repository import ReviewsRepository
from chalicelib.reviews.words import MAX_WORD_CHARS, SensitiveWords, normalized, starting_list
from chalicelib.reviews.words_repository import ReviewWordsRepository
from chalicelib.uploads.domain import OwnImages

ATTEMPTS = 5
STATUSES = (PENDING, PUBLISHED, REJECTED)

_matchers: dict[tuple[str, int], SensitiveWords] = {}
_building = threading.Lock()


def matcher(words: ReviewWordsRepository) -> SensitiveWords:
    """The matcher of the list as it is now: one read of the list's version per call; the list itself is read and the
    automaton built again only when staff changed it (or in a new container). Seeds the starting list on first use."""
    version = words.version()
    if version is None:
        words.seed(new_id("wl"), list(starting_list()), now_iso())
        version = words.version()
        assert version is not None
    found = _matchers.get(version)
    if found is None:
        with _building:
            found = _matchers.get(version) or SensitiveWords(words.all_words())
            _matchers.clear()
            _matchers[version] = found
    return found


# -- the word list -------------------------------------------------------------------------------------------------


def list_words(words: ReviewWordsRepository, query: PageQuery) -> dict[str, Any]:
    matcher(words)  # seeds the starting list when the stage has none yet
    items, last_key = words.page(query.page_size, decode_cursor(query.cursor, "review-words"))
    return page(items, encode_cursor(last_key, "review-words"))


def add_words(words: ReviewWordsRepository, given: list[str]) -> dict[str, Any]:
    """Add words (normalized as the filter compares them; those already listed are left as they are)."""
    wanted = list(dict.fromkeys(normalized(word) for word in given))
    if not all(0 < len(word) <= MAX_WORD_CHARS for word in wanted):
        raise ValidationError(f"Each word needs 1..{MAX_WORD_CHARS} characters besides white space")
    at = now_iso()

    def attempt() -> list[str]:
        matcher(words)
        version = words.version()
        assert version is not None
        return words.add(wanted, at, version[1])

    added = retrying(attempt, ATTEMPTS)
    return {"items": [{"word": word, "created_at": at} for word in added], "words": wanted}


def remove_word(words: ReviewWordsRepository, word: str) -> None:
    key = normalized(word)

    def attempt() -> bool:
        matcher(words)
        version = words.version()
        assert version is not None
        return words.remove(key, version[1])

    if not key or not retrying(attempt, ATTEMPTS):
        raise NotFound("No such word in the list")


# -- staff decisions ------------------------------------------------------------------------------------------------


def staff_list(repo: ReviewsRepository, status: str | None, query: PageQuery) -> dict[str, Any]:
    """Reviews and follow-ups of a status (all of them without one), oldest first."""
    scope = f"staff-reviews|{status or ''}"
    entries, following = repo.entries(
        (status,) if status else STATUSES, query.page_size, decode_cursor(query.cursor, scope)
    )
    return page(entries, encode_cursor(following, scope))


def _pending(repo: ReviewsRepository, review_id: str, follow_up: bool) -> dict[str, Any]:
    """The review (with user_id) whose review or follow-up is PENDING; 404 unknown, 409 decided already."""
    entry = repo.entry(PENDING, review_id, follow_up)
    if entry is None:
        if any(repo.entry(status, review_id, follow_up) for status in (PUBLISHED, REJECTED)):
            raise NotPending()
        raise NotFound("No such review" if not follow_up else "No such follow-up")
    review = repo.user_review(entry["user_id"], review_id)
    if review is None:
        raise NotFound("No such review")
    return review


def decide(
    repo: ReviewsRepository, members: MembershipRepository, review_id: str, approve: bool, reason: str | None
) -> dict[str, Any]:
    """Approve (PUBLISHED: on the product's page, counted in its ratings, growth for its author) or reject
    (REJECTED, with the reason the author sees) a PENDING review; 409 INVALID_STATE if it is not PENDING."""

    def attempt() -> dict[str, Any]:
        review = _pending(repo, review_id, follow_up=False)
        if review["status"] != PENDING:
            raise NotPending()
        seen = repo.ratings(review["product_id"]) if approve else None
        if approve and seen is None:
            raise NotFound("This product is no longer in the catalog")
        growth = membership.level_table(members)["rules"]["growth_per_review"] if approve else 0
        repo.decide(review, PUBLISHED if approve else REJECTED, None if approve else reason, seen, growth)
        return {"review_id": review_id, "status": PUBLISHED if approve else REJECTED, "reject_reason": reason}

    return retrying(attempt, ATTEMPTS)


def decide_follow_up(repo: ReviewsRepository, review_id: str, approve: bool, reason: str | None) -> dict[str, Any]:
    def attempt() -> dict[str, Any]:
        review = _pending(repo, review_id, follow_up=True)
        if not review["follow_up"] or review["follow_up"]["status"] != PENDING:
            raise NotPending()
        status = PUBLISHED if approve else REJECTED
        repo.decide_follow_up(review, status, None if approve else reason)
        return {"review_id": review_id, "follow_up": {"status": status, "reject_reason": reason}}

    return retrying(attempt, ATTEMPTS)


def reply(repo: ReviewsRepository, review_id: str, content: str) -> dict[str, Any]:
    """The one merchant reply to a PUBLISHED review: 404 unknown, 409 INVALID_STATE unpublished, 409 CONFLICT twice."""
    entry = repo.entry(PUBLISHED, review_id)
    if entry is None:
        if any(repo.entry(status, review_id) for status in (PENDING, REJECTED)):
            raise NotPublished()
        raise NotFound("No such review")
    answer = {"content": content, "at": now_iso()}
    repo.reply(entry["product_id"], review_id, answer)
    return {"review_id": review_id, "reply": answer}


def follow_up(
    repo: ReviewsRepository,
    words: ReviewWordsRepository,
    images: OwnImages,
    user_id: str,
    review_id: str,
    content: str,
    image_urls: list[str],
) -> dict[str, Any]:
    """The author's one follow-up (others: 404), moderated like a review: 409 CONFLICT for a second one."""
    checked = images.check(user_id, image_urls)
    matched = matcher(words).found_in(content)

    def attempt() -> dict[str, Any]:
        review = repo.user_review(user_id, review_id)
        if review is None:
            raise NotFound("No such review")
        if review["follow_up"] is not None:
            raise AlreadyFollowedUp()
        added = {
            "content": content,
            "images": checked,
            "created_at": now_iso(),
            "status": status_of(matched),
            "reject_reason": None,
            "matched_words": matched,
        }
        repo.add_follow_up(review, added)
        return {"review_id": review_id, "status": added["status"], "content": content, "images": checked}

    return retrying(attempt, ATTEMPTS)
