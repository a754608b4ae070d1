"""HTTP routes for operators and clients: health and the OpenAPI document."""

from __future__ import annotations

from typing import Any

from chalice.app import Blueprint

from chalicelib.http import endpoint
from chalicelib.openapi import build_document
from chalicelib.schema import BaseModel

ops_api = Blueprint(__name__)


class Health(BaseModel):
    status: str


@endpoint(ops_api, "/health", summary="Liveness", tags=("ops",), response=Health)
def health() -> dict[str, Any]:
    return {"status": "ok"}


@endpoint(ops_api, "/openapi.json", summary="This API's OpenAPI 3.1 document", tags=("ops",))
def openapi() -> dict[str, Any]:
    return build_document()
