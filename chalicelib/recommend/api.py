"""HTTP routes of recommendations: the home page lists and similar items, read from what the refresh stored."""

from __future__ import annotations

from typing import Any

from chalice.app import Blueprint

from chalicelib.catalog.repository import DynamoCatalogRepository
from chalicelib.http import Principal, endpoint
from chalicelib.recommend import service
from chalicelib.recommend.repository import DynamoRecommendationStore
from chalicelib.recommend.schemas import HomeRecommendations, SimilarProducts, SimilarQuery

recommend_api = Blueprint(__name__)
store = DynamoRecommendationStore()
catalog = DynamoCatalogRepository()
TAGS = ("recommendations",)


@endpoint(recommend_api, "/recommendations/home", summary="Home page lists: hot, new, promotions, themes, for you",
          tags=TAGS, auth="optional", response=HomeRecommendations)  # fmt: skip
def recommendations_home(principal: Principal | None) -> dict[str, Any]:
    return service.home(store, catalog, principal.user_id if principal else None)


@endpoint(recommend_api, "/products/{product_id}/similar", summary="Products similar to this one", tags=TAGS,
          query=SimilarQuery, response=SimilarProducts, errors=(404,))  # fmt: skip
def similar_products(product_id: str, query: SimilarQuery) -> dict[str, Any]:
    return service.similar_items(store, catalog, product_id, query.limit)
