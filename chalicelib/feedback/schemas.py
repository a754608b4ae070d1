"""Request, query and response models of the feedback routes (they also feed the OpenAPI spec)."""

from __future__ import annotations

from typing import Literal

from pydantic import ConfigDict, Field, StrictBool, StrictStr

from chalicelib.feedback.domain import MAX_CONTENT_CHARS
from chalicelib.pagination import PageQuery
from chalicelib.schema import BaseModel

FeedbackType = Literal["suggestion", "complaint", "bug", "other"]
FeedbackStatus = Literal["OPEN", "REPLIED", "CLOSED"]


class FeedbackWrite(BaseModel):
    """A suggestion, complaint or bug report, optionally about one of my orders and with images (my uploads)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    type: FeedbackType
    content: StrictStr = Field(min_length=1, max_length=MAX_CONTENT_CHARS)
    order_id: StrictStr | None = Field(None, min_length=1, max_length=64)
    images: list[StrictStr] = Field(default_factory=list, max_length=9)
    contact: StrictStr | None = Field(None, min_length=1, max_length=100)


class FeedbackReplyWrite(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    content: StrictStr = Field(min_length=1, max_length=MAX_CONTENT_CHARS)
    close: StrictBool = False


class StaffFeedbackQuery(PageQuery):
    status: FeedbackStatus | None = None
    type: FeedbackType | None = None


class FeedbackReply(BaseModel):
    content: str
    at: str


class Feedback(BaseModel):
    feedback_id: str
    type: str
    content: str
    order_id: str | None
    images: list[str]
    contact: str | None = None
    status: FeedbackStatus
    replies: list[FeedbackReply]
    created_at: str


class StaffFeedback(Feedback):
    user_id: str


class FeedbackPage(BaseModel):
    items: list[Feedback]
    next_cursor: str | None = None


class StaffFeedbackPage(BaseModel):
    items: list[StaffFeedback]
    next_cursor: str | None = None
