"""HTTP routes of recommendations: the home page lists and similar items, read from what the refresh stored."""

from __future__ import annotations

from chalicelib.auth import Principal
from chalicelib.catalog.repository import CatalogRepository
from chalicelib.config import Settings
from chalicelib.recommend import runs, service
from chalicelib.recommend.repository import RecommendationStore
from chalicelib.recommend.schemas import HomeRecommendations, RefreshRun, SimilarProducts, SimilarQuery
from chalicelib.recommend.segments import Audience
from chalicelib.routes import Json, Routes

recommend_api = Routes(__name__, tags=("recommendations",))


@recommend_api.get("/recommendations/home")
def recommendations_home(
    principal: Principal | None, recommendations: RecommendationStore, catalog: CatalogRepository, audience: Audience
) -> Json[HomeRecommendations]:
    """Home page lists: hot, new, promotions, themes, for you"""
    return service.home(recommendations, catalog, principal.user_id if principal else None, audience=audience)


@recommend_api.get("/products/{product_id}/similar", errors=(404,))
def similar_products(
    product_id: str, query: SimilarQuery, recommendations: RecommendationStore, catalog: CatalogRepository
) -> Json[SimilarProducts]:
    """Products similar to this one"""
    return service.similar_items(recommendations, catalog, product_id, query.limit)


@recommend_api.post("/admin/recommendations/refresh", status=202, errors=(502,), tags=("admin",), roles=("operator",))
def refresh_recommendations_now(
    principal: Principal, recommendations: RecommendationStore, settings: Settings
) -> Json[RefreshRun]:
    """Refresh the recommendations now, besides the schedule; poll the run for its status"""
    return runs.start(recommendations, runs.SqsRefreshQueue(settings.recommend_refresh_queue_url), principal.user_id)


@recommend_api.get("/admin/recommendations/refresh/{run_id}", errors=(404,), tags=("admin",), roles=("operator",))
def recommendations_refresh_run(run_id: str, recommendations: RecommendationStore) -> Json[RefreshRun]:
    """A refresh run: RUNNING, SUCCEEDED or FAILED"""
    return runs.status(recommendations, run_id)
