"""HTTP route of uploads: a signed-in customer asks where to PUT an image."""

from __future__ import annotations

from chalicelib.auth import Principal
from chalicelib.routes import Json, Routes
from chalicelib.uploads import service
from chalicelib.uploads.repository import UploadsRepository, UploadStorage
from chalicelib.uploads.schemas import UploadRequest, UploadTicket

uploads_api = Routes(__name__, tags=("uploads",))


@uploads_api.post("/uploads", status=201)
def start_upload(
    principal: Principal, body: UploadRequest, uploads: UploadsRepository, upload_storage: UploadStorage
) -> Json[UploadTicket]:
    """Where to PUT an image (presigned S3, 15 minutes, with `headers`); its public_url then serves it"""
    return service.start_upload(
        uploads, upload_storage, principal.user_id, body.purpose, body.content_type, body.size_bytes
    )
