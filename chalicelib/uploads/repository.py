"""The only module touching the upload model, and the bucket the bytes go to."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from pynamodb.exceptions import DoesNotExist

from chalicelib.aws import client
from chalicelib.uploads.models import UPLOAD_PREFIX, UploadModel


@dataclass(frozen=True)
class Upload:
    upload_id: str
    user_id: str
    purpose: str
    content_type: str
    size_bytes: int
    key: str
    created_at: str


class UploadsRepository(Protocol):
    def save(self, upload: Upload) -> None: ...
    def get(self, user_id: str, upload_id: str) -> Upload | None:
        """The user's upload of that id; None if it is not theirs or does not exist."""


class UploadStorage(Protocol):
    def presigned_put(self, key: str, content_type: str, size_bytes: int, seconds: int) -> tuple[str, dict[str, str]]:
        """A URL to PUT the object to, and the headers the PUT must carry."""

    def stored(self, key: str) -> tuple[int, str] | None:
        """(size in bytes, content type) of the object, None when nothing was put there."""

    def public_url(self, key: str) -> str: ...
    def key_of(self, url: str) -> str | None:
        """The key a public_url stands for; None for a URL that is not one of ours."""


def _user_pk(user_id: str) -> str:
    return f"USER#{user_id}"


class DynamoUploadsRepository:
    def save(self, upload: Upload) -> None:
        UploadModel(
            _user_pk(upload.user_id),
            f"{UPLOAD_PREFIX}{upload.upload_id}",
            upload_id=upload.upload_id,
            purpose=upload.purpose,
            content_type=upload.content_type,
            size_bytes=upload.size_bytes,
            key=upload.key,
            created_at=upload.created_at,
        ).save(condition=UploadModel.sk.does_not_exist())

    def get(self, user_id: str, upload_id: str) -> Upload | None:
        try:
            item = UploadModel.get(_user_pk(user_id), f"{UPLOAD_PREFIX}{upload_id}")
        except DoesNotExist:
            return None
        return Upload(
            upload_id=item.upload_id,
            user_id=user_id,
            purpose=item.purpose,
            content_type=item.content_type,
            size_bytes=int(item.size_bytes),
            key=item.key,
            created_at=item.created_at,
        )


class S3UploadStorage:
    """UploadStorage in the uploads bucket (UPLOADS_BUCKET); public URLs under UPLOADS_PUBLIC_BASE_URL (the bucket's
    own URL by default, a CDN in front of it when one is set)."""

    def __init__(self, bucket: str, public_base_url: str) -> None:
        self.bucket = bucket
        self.public_base_url = public_base_url.rstrip("/")

    def presigned_put(self, key: str, content_type: str, size_bytes: int, seconds: int) -> tuple[str, dict[str, str]]:
        params: dict[str, Any] = {
            "Bucket": self.bucket,
            "Key": key,
            "ContentType": content_type,
            "ContentLength": size_bytes,
        }
        url = client("s3").generate_presigned_url("put_object", Params=params, ExpiresIn=seconds, HttpMethod="PUT")
        return url, {"Content-Type": content_type, "Content-Length": str(size_bytes)}

    def stored(self, key: str) -> tuple[int, str] | None:
        s3 = client("s3")
        try:
            head = s3.head_object(Bucket=self.bucket, Key=key)
        except s3.exceptions.ClientError as error:
            if error.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                return None
            raise
        return int(head["ContentLength"]), str(head.get("ContentType", ""))

    def public_url(self, key: str) -> str:
        return f"{self.public_base_url}/{key}"

    def key_of(self, url: str) -> str | None:
        prefix = f"{self.public_base_url}/"
        return url[len(prefix) :] if url.startswith(prefix) else None
