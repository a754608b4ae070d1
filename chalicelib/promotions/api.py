"""HTTP routes of promotions: admin writes and the public list of what is on."""

from __future__ import annotations

from typing import Any

from chalice.app import Blueprint, Response

from chalicelib.catalog.repository import DynamoCatalogRepository
from chalicelib.http import endpoint
from chalicelib.promotions import service
from chalicelib.promotions.repository import DynamoPromotionsRepository
from chalicelib.promotions.schemas import (
    ActiveQuery,
    AdminPromotion,
    AdminPromotionList,
    PromotionList,
    PromotionWrite,
)

promotions_api = Blueprint(__name__)
repo = DynamoPromotionsRepository()
catalog = DynamoCatalogRepository()
TAGS = ("promotions",)
ADMIN_TAGS = ("admin",)


@endpoint(promotions_api, "/promotions", summary="Promotions running now (active=false: and those starting later)",
          tags=TAGS, query=ActiveQuery, response=PromotionList)  # fmt: skip
def list_public_promotions(query: ActiveQuery) -> dict[str, Any]:
    return service.public_promotions(repo, running_only=query.active == "true")


@endpoint(promotions_api, "/admin/promotions", summary="Every promotion, latest start first", tags=ADMIN_TAGS,
          auth="admin", response=AdminPromotionList)  # fmt: skip
def list_promotions() -> dict[str, Any]:
    return service.list_promotions(repo)


@endpoint(promotions_api, "/admin/promotions", "POST", summary="Create a time-limited price or threshold promotion",
          tags=ADMIN_TAGS, auth="admin", body=PromotionWrite, response=AdminPromotion, status=201)  # fmt: skip
def create_promotion(body: PromotionWrite) -> dict[str, Any]:
    return service.create_promotion(repo, catalog, body)


@endpoint(promotions_api, "/admin/promotions/{promotion_id}", "PUT", summary="Replace a promotion", tags=ADMIN_TAGS,
          auth="admin", body=PromotionWrite, response=AdminPromotion, errors=(404, 409))  # fmt: skip
def replace_promotion(promotion_id: str, body: PromotionWrite) -> dict[str, Any]:
    return service.replace_promotion(repo, catalog, promotion_id, body)


@endpoint(promotions_api, "/admin/promotions/{promotion_id}", "DELETE", summary="Remove a promotion (204)",
          tags=ADMIN_TAGS, auth="admin", status=204, errors=(404,))  # fmt: skip
def delete_promotion(promotion_id: str) -> Response:
    service.delete_promotion(repo, promotion_id)
    return Response(body="", status_code=204)
