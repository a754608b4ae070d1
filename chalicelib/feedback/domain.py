"""What feedback is, its statuses, the shards of the staff queue, and the port asking orders whose an order is."""

from __future__ import annotations

import zlib
from typing import Protocol

from chalicelib.errors import InvalidState

TYPES = ("suggestion", "complaint", "bug", "other")
STATUSES = ("OPEN", "REPLIED", "CLOSED")
QUEUE_SHARDS = 4
MAX_CONTENT_CHARS = 1000


def queue_shard(feedback_id: str) -> int:
    """The staff queue partition of a feedback (spreads the writes; reads merge the shards)."""
    return zlib.crc32(feedback_id.encode()) % QUEUE_SHARDS


def status_after_reply(status: str, close: bool) -> str:
    """A reply answers the feedback (REPLIED), or closes it; nothing more is said once it is CLOSED."""
    if status == "CLOSED":
        raise FeedbackClosed()
    return "CLOSED" if close else "REPLIED"


class FeedbackClosed(InvalidState):
    default_message = "This feedback is closed"


class OrdersOfUser(Protocol):
    """The orders context's answer to "is this order the user's?" (feedback never imports orders)."""

    def owns(self, user_id: str, order_id: str) -> bool: ...
