"""HTTP routes for operators and clients: health, the OpenAPI document and its reference page."""

from __future__ import annotations

from typing import Any

from chalice.app import Request, Response

from chalicelib.errors import NotFound
from chalicelib.openapi import build_document
from chalicelib.ops import reference
from chalicelib.routes import Json, Routes
from chalicelib.schema import BaseModel

ops_api = Routes(__name__, tags=("ops",))


class Health(BaseModel):
    status: str


@ops_api.get("/health")
def health() -> Json[Health]:
    """Liveness"""
    return {"status": "ok"}


@ops_api.get("/openapi.json")
def openapi(request: Request) -> dict[str, Any]:
    """This API's OpenAPI 3.1 document, its server the base URL it was asked at"""
    return build_document(reference.base_url(request.headers, request.context))


@ops_api.get("/docs", media_type="text/html")
def api_reference() -> Response:
    """The API reference: Swagger UI over /openapi.json, every script served from here"""
    return reference.page()


@ops_api.get("/docs/{asset}", errors=(404,), media_type="text/plain")
def api_reference_asset(asset: str) -> Response:
    """A script, style sheet or icon of the API reference page"""
    found = reference.asset(asset)
    if found is None:
        raise NotFound("No such file")
    return found
