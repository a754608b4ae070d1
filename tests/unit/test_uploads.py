"""Uploads on plain values: the purposes POST /uploads takes, and which uploads an `images` field accepts (the
caller's own completed ones; for after-sales only those uploaded for after-sales or, from before, for feedback)."""

from __future__ import annotations

import pydantic
import pytest

from chalicelib.orders.aftersales_domain import PHOTO_PURPOSES
from chalicelib.uploads.domain import PURPOSES, NotAnImageOfYours
from chalicelib.uploads.repository import Upload, UploadsRepository, UploadStorage
from chalicelib.uploads.schemas import UploadRequest
from chalicelib.uploads.service import UploadedImages, start_upload

BASE = "https://cdn.example.com"


class FakeUploads(UploadsRepository):
    """uploads.repository.UploadsRepository in memory."""

    def __init__(self) -> None:
        self.items: dict[tuple[str, str], Upload] = {}

    def save(self, upload: Upload) -> None:
        self.items[(upload.user_id, upload.upload_id)] = upload

    def get(self, user_id: str, upload_id: str) -> Upload | None:
        return self.items.get((user_id, upload_id))


class FakeBucket(UploadStorage):
    """uploads.repository.UploadStorage: `put` stands for the client's PUT to the presigned URL."""

    def __init__(self) -> None:
        self.objects: dict[str, tuple[int, str]] = {}

    def presigned_put(self, key: str, content_type: str, size_bytes: int, seconds: int) -> tuple[str, dict[str, str]]:
        return f"{BASE}/put/{key}", {"Content-Type": content_type}

    def stored(self, key: str) -> tuple[int, str] | None:
        return self.objects.get(key)

    def public_url(self, key: str) -> str:
        return f"{BASE}/{key}"

    def key_of(self, url: str) -> str | None:
        return url.removeprefix(f"{BASE}/") if url.startswith(f"{BASE}/") else None

    def put(self, ticket: dict[str, object], size_bytes: int, content_type: str = "image/png") -> str:
        self.objects[str(ticket["public_url"]).removeprefix(f"{BASE}/")] = (size_bytes, content_type)
        return str(ticket["public_url"])


@pytest.fixture
def uploads() -> tuple[FakeUploads, FakeBucket]:
    return FakeUploads(), FakeBucket()


def uploaded(uploads: tuple[FakeUploads, FakeBucket], user_id: str, purpose: str) -> str:
    """The public_url of a completed upload of the user's for that purpose."""
    repo, bucket = uploads
    return bucket.put(start_upload(repo, bucket, user_id, purpose, "image/png", 120), 120)


@pytest.mark.parametrize("purpose", ["review", "feedback", "avatar", "after_sales"])
def test_an_upload_request_takes_each_purpose_of_the_api(purpose: str) -> None:
    request = UploadRequest.model_validate({"purpose": purpose, "content_type": "image/png", "size_bytes": 10})

    assert request.purpose == purpose


def test_an_upload_request_refuses_a_purpose_the_api_does_not_name() -> None:
    with pytest.raises(pydantic.ValidationError):
        UploadRequest.model_validate({"purpose": "aftersales", "content_type": "image/png", "size_bytes": 10})


def test_the_published_schema_lists_every_purpose_the_uploads_context_knows() -> None:
    schema = UploadRequest.model_json_schema()

    assert schema["properties"]["purpose"]["enum"] == list(PURPOSES)
    assert "after_sales" in PURPOSES


def test_after_sales_photos_take_uploads_for_after_sales_and_earlier_ones_for_feedback(
    uploads: tuple[FakeUploads, FakeBucket],
) -> None:
    # GIVEN a buyer's completed uploads for after-sales and (from before the purpose existed) for feedback
    photos = [uploaded(uploads, "u_1", "after_sales"), uploaded(uploads, "u_1", "feedback")]

    # WHEN an after-sales request names them THEN they are accepted as given
    assert UploadedImages(*uploads).check("u_1", photos, PHOTO_PURPOSES) == photos


@pytest.mark.parametrize("purpose", ["review", "avatar"])
def test_after_sales_photos_refuse_uploads_made_for_other_purposes(
    uploads: tuple[FakeUploads, FakeBucket], purpose: str
) -> None:
    photo = uploaded(uploads, "u_1", purpose)

    with pytest.raises(NotAnImageOfYours, match="uploaded for"):
        UploadedImages(*uploads).check("u_1", [photo], PHOTO_PURPOSES)


def test_another_users_after_sales_upload_is_refused(uploads: tuple[FakeUploads, FakeBucket]) -> None:
    bobs = uploaded(uploads, "u_bob", "after_sales")

    with pytest.raises(NotAnImageOfYours):
        UploadedImages(*uploads).check("u_1", [bobs], PHOTO_PURPOSES)


def test_without_purposes_any_own_completed_upload_is_accepted_as_reviews_and_feedback_ask(
    uploads: tuple[FakeUploads, FakeBucket],
) -> None:
    photos = [uploaded(uploads, "u_1", purpose) for purpose in PURPOSES]

    assert UploadedImages(*uploads).check("u_1", photos) == photos


def test_an_after_sales_upload_never_put_is_refused(uploads: tuple[FakeUploads, FakeBucket]) -> None:
    repo, bucket = uploads
    ticket = start_upload(repo, bucket, "u_1", "after_sales", "image/png", 120)

    with pytest.raises(NotAnImageOfYours, match="not been completed"):
        UploadedImages(repo, bucket).check("u_1", [str(ticket["public_url"])], PHOTO_PURPOSES)
