"""HTTP routes of promotions: admin writes and the public list of what is on."""

from __future__ import annotations

from chalice.app import Response

from chalicelib.catalog.repository import CatalogRepository
from chalicelib.promotions import service
from chalicelib.promotions.repository import PromotionsRepository
from chalicelib.promotions.schemas import (
    ActiveQuery,
    AdminPromotion,
    AdminPromotionList,
    PromotionList,
    PromotionWrite,
)
from chalicelib.routes import Json, Routes

promotions_api = Routes(__name__, tags=("promotions",), admin_tags=("admin",))


@promotions_api.get("/promotions")
def list_public_promotions(query: ActiveQuery, promotions: PromotionsRepository) -> Json[PromotionList]:
    """Promotions running now (active=false: and those starting later)"""
    return service.public_promotions(promotions, running_only=query.active == "true")


@promotions_api.get("/admin/promotions", roles=("operator",))
def list_promotions(promotions: PromotionsRepository) -> Json[AdminPromotionList]:
    """Every promotion, latest start first"""
    return service.list_promotions(promotions)


@promotions_api.post("/admin/promotions", status=201, roles=("operator",))
def create_promotion(
    body: PromotionWrite, promotions: PromotionsRepository, catalog: CatalogRepository
) -> Json[AdminPromotion]:
    """Create a time-limited price or threshold promotion"""
    return service.create_promotion(promotions, catalog, body)


@promotions_api.put("/admin/promotions/{promotion_id}", errors=(404, 409), roles=("operator",))
def replace_promotion(
    promotion_id: str, body: PromotionWrite, promotions: PromotionsRepository, catalog: CatalogRepository
) -> Json[AdminPromotion]:
    """Replace a promotion"""
    return service.replace_promotion(promotions, catalog, promotion_id, body)


@promotions_api.delete("/admin/promotions/{promotion_id}", status=204, errors=(404,), roles=("operator",))
def delete_promotion(promotion_id: str, promotions: PromotionsRepository) -> Response:
    """Remove a promotion (204)"""
    service.delete_promotion(promotions, promotion_id)
    return Response(body="", status_code=204)
