"""Uploads: hand out a presigned PUT, and accept an image URL only when it is the caller's own finished upload."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from chalicelib.clock import iso, utcnow
from chalicelib.ids import new_id
from chalicelib.uploads.domain import MAX_IMAGES, URL_SECONDS, NotAnImageOfYours, object_key
from chalicelib.uploads.repository import Upload, UploadsRepository, UploadStorage


def start_upload(
    repo: UploadsRepository, storage: UploadStorage, user_id: str, purpose: str, content_type: str, size_bytes: int
) -> dict[str, Any]:
    """Record what the user will upload and sign a PUT of exactly that (type and length are signed headers)."""
    now = utcnow()
    upload_id = new_id("up")
    key = object_key(upload_id, content_type)
    repo.save(Upload(upload_id, user_id, purpose, content_type, size_bytes, key, iso(now)))
    url, headers = storage.presigned_put(key, content_type, size_bytes, URL_SECONDS)
    return {
        "upload_id": upload_id,
        "upload_url": url,
        "method": "PUT",
        "headers": headers,
        "public_url": storage.public_url(key),
        "expires_at": iso(now + timedelta(seconds=URL_SECONDS)),
    }


def own_images(
    repo: UploadsRepository,
    storage: UploadStorage,
    user_id: str,
    urls: list[str],
    purposes: tuple[str, ...] | None = None,
) -> list[str]:
    """The URLs when each is the public_url of the user's upload (for one of the purposes, when given) whose bytes
    are in the bucket as declared (a HEAD of each); 400 otherwise. At most MAX_IMAGES, each once."""
    if len(urls) > MAX_IMAGES or len(set(urls)) != len(urls):
        raise NotAnImageOfYours(f"At most {MAX_IMAGES} images, each once")
    for url in urls:
        key = storage.key_of(url)
        upload_id = key.split("/")[-1].split(".")[0] if key else ""
        upload = repo.get(user_id, upload_id) if upload_id else None
        if upload is None or upload.key != key:
            raise NotAnImageOfYours()
        if purposes is not None and upload.purpose not in purposes:
            raise NotAnImageOfYours(
                f"This image was uploaded for {upload.purpose}; here only for {' or '.join(purposes)}"
            )
        stored = storage.stored(upload.key)
        if stored is None or stored != (upload.size_bytes, upload.content_type):
            raise NotAnImageOfYours("This upload has not been completed (or not as declared): PUT it first")
    return list(urls)


class UploadedImages:
    """domain.OwnImages on the uploads repository and bucket."""

    def __init__(self, repo: UploadsRepository, storage: UploadStorage) -> None:
        self.repo = repo
        self.storage = storage

    def check(self, user_id: str, urls: list[str], purposes: tuple[str, ...] | None = None) -> list[str]:
        return own_images(self.repo, self.storage, user_id, urls, purposes)
