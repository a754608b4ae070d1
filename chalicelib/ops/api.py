"""HTTP routes for operators and clients: health and the OpenAPI document."""

from __future__ import annotations

from typing import Any

from chalicelib.openapi import build_document
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
def openapi() -> dict[str, Any]:
    """This API's OpenAPI 3.1 document"""
    return build_document()
