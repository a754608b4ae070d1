"""What may be uploaded (types, sizes, purposes), how long a presigned PUT lives, and the port other contexts use to
accept image URLs (OwnImages)."""

from __future__ import annotations

from typing import Protocol

from chalicelib.errors import ValidationError

PURPOSES = ("review", "feedback", "avatar", "after_sales")
CONTENT_TYPES = {"image/jpeg": "jpg", "image/png": "png", "image/webp": "webp"}
MAX_SIZE_BYTES = 5 * 1024 * 1024
URL_SECONDS = 15 * 60
MAX_IMAGES = 9
KEY_PREFIX = "u/"


def object_key(upload_id: str, content_type: str) -> str:
    """The bucket key of an upload: its id and an extension, nothing about who sent it."""
    return f"{KEY_PREFIX}{upload_id}.{CONTENT_TYPES[content_type]}"


class NotAnImageOfYours(ValidationError):
    """An `images` URL that is not one of the caller's own completed uploads."""

    default_message = "images take only the public_url of your own completed uploads"


class OwnImages(Protocol):
    """The uploads context's answer to "are these the caller's own completed uploads?" (reviews, feedback and
    after-sales use it and never import uploads)."""

    def check(self, user_id: str, urls: list[str], purposes: tuple[str, ...] | None = None) -> list[str]:
        """The URLs as given when each is the public_url of one of the user's uploads whose object is in the bucket
        with the declared size and type, and (purposes given) was uploaded for one of them; NotAnImageOfYours (400)
        otherwise. No purposes: an upload of any purpose."""
