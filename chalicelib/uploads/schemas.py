"""Request and response models of POST /uploads (they also feed the OpenAPI spec)."""

from __future__ import annotations

from typing import Literal

from pydantic import ConfigDict, Field, StrictInt

from chalicelib.schema import BaseModel
from chalicelib.uploads.domain import MAX_SIZE_BYTES


class UploadRequest(BaseModel):
    """What the client is about to upload: an image of at most 5 MiB."""

    model_config = ConfigDict(extra="forbid")

    purpose: Literal["review", "feedback", "avatar", "after_sales"] = Field(
        description="what the image is for: a review, feedback, an avatar, or an after-sales request's photos"
    )
    content_type: Literal["image/jpeg", "image/png", "image/webp"]
    size_bytes: StrictInt = Field(ge=1, le=MAX_SIZE_BYTES)


class UploadTicket(BaseModel):
    """PUT the bytes to upload_url with these headers before expires_at; then public_url serves them and may be
    named in `images`."""

    upload_id: str
    upload_url: str
    method: Literal["PUT"]
    headers: dict[str, str]
    public_url: str
    expires_at: str
