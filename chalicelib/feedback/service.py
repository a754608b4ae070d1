"""Feedback: a customer files it (about their own order, with their own images), staff reply and close it."""

from __future__ import annotations

from typing import Any

from chalicelib.clock import now_iso
from chalicelib.errors import NotFound
from chalicelib.feedback.domain import STATUSES, FeedbackClosed, OrdersOfUser, status_after_reply
from chalicelib.feedback.repository import FeedbackRepository
from chalicelib.feedback.schemas import FeedbackWrite
from chalicelib.ids import new_id
from chalicelib.pagination import PageQuery, decode_cursor, encode_cursor, page
from chalicelib.retry import retrying
from chalicelib.uploads.domain import OwnImages

ATTEMPTS = 3
MINE = ("feedback_id", "type", "content", "order_id", "images", "contact", "status", "replies", "created_at")


def _mine(feedback: dict[str, Any]) -> dict[str, Any]:
    return {name: feedback[name] for name in MINE}


def file_feedback(
    repo: FeedbackRepository, orders: OrdersOfUser, images: OwnImages, user_id: str, body: FeedbackWrite
) -> dict[str, Any]:
    """OPEN at once; 404 for an order that is not the user's, 400 for images that are not their own uploads."""
    if body.order_id is not None and not orders.owns(user_id, body.order_id):
        raise NotFound("No such order")
    now = now_iso()
    feedback = {
        "feedback_id": new_id("fb"),
        "user_id": user_id,
        "type": body.type,
        "content": body.content,
        "order_id": body.order_id,
        "contact": body.contact,
        "images": images.check(user_id, body.images),
        "status": "OPEN",
        "replies": [],
        "created_at": now,
        "updated_at": now,
    }
    repo.create(feedback)
    return _mine(feedback)


def my_feedback(repo: FeedbackRepository, user_id: str, query: PageQuery) -> dict[str, Any]:
    scope = f"my-feedback|{user_id}"
    items, last_key = repo.user_page(user_id, query.page_size, decode_cursor(query.cursor, scope))
    return page([_mine(item) for item in items], encode_cursor(last_key, scope))


def one_of_mine(repo: FeedbackRepository, user_id: str, feedback_id: str) -> dict[str, Any]:
    feedback = repo.get(feedback_id)
    if feedback is None or feedback["user_id"] != user_id:
        raise NotFound("No such feedback")
    return _mine(feedback)


def staff_list(repo: FeedbackRepository, status: str | None, kind: str | None, query: PageQuery) -> dict[str, Any]:
    """Oldest first, of one status or all; of one type when asked (a page may then hold fewer than page_size)."""
    statuses = (status,) if status else STATUSES
    scope = f"staff-feedback|{status or ''}|{kind or ''}"
    items, following = repo.queue_page(statuses, query.page_size, decode_cursor(query.cursor, scope))
    shown = [{**_mine(item), "user_id": item["user_id"]} for item in items if kind is None or item["type"] == kind]
    return page(shown, encode_cursor(following, scope))


def _answer(repo: FeedbackRepository, feedback_id: str, content: str | None, close: bool) -> dict[str, Any]:
    def attempt() -> dict[str, Any]:
        feedback = repo.get(feedback_id)
        if feedback is None:
            raise NotFound("No such feedback")
        at = now_iso()
        if content is None:
            if feedback["status"] == "CLOSED":
                raise FeedbackClosed()
            status, reply = "CLOSED", None
        else:
            status, reply = status_after_reply(feedback["status"], close), {"content": content, "at": at}
        repo.answer(feedback, status, reply, at)
        replies = feedback["replies"] + ([reply] if reply else [])
        return {**_mine(feedback), "status": status, "replies": replies, "user_id": feedback["user_id"]}

    return retrying(attempt, ATTEMPTS)


def reply(repo: FeedbackRepository, feedback_id: str, content: str, close: bool) -> dict[str, Any]:
    """REPLIED (CLOSED with close); 409 INVALID_STATE once closed."""
    return _answer(repo, feedback_id, content, close)


def close(repo: FeedbackRepository, feedback_id: str) -> dict[str, Any]:
    return _answer(repo, feedback_id, None, True)
