"""HTTP routes of recommendations: the home page lists and similar items, read from what the refresh stored."""

from __future__ import annotations

from chalicelib.auth import Principal
from chalicelib.catalog.repository import CatalogRepository
from chalicelib.recommend import service
from chalicelib.recommend.repository import RecommendationStore
from chalicelib.recommend.schemas import HomeRecommendations, SimilarProducts, SimilarQuery
from chalicelib.routes import Json, Routes

recommend_api = Routes(__name__, tags=("recommendations",))


@recommend_api.get("/recommendations/home")
def recommendations_home(
    principal: Principal | None, recommendations: RecommendationStore, catalog: CatalogRepository
) -> Json[HomeRecommendations]:
    """Home page lists: hot, new, promotions, themes, for you"""
    return service.home(recommendations, catalog, principal.user_id if principal else None)


@recommend_api.get("/products/{product_id}/similar", errors=(404,))
def similar_products(
    product_id: str, query: SimilarQuery, recommendations: RecommendationStore, catalog: CatalogRepository
) -> Json[SimilarProducts]:
    """Products similar to this one"""
    return service.similar_items(recommendations, catalog, product_id, query.limit)
