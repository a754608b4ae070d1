"""HTTP routes of search: results with filters, facets and sorts, suggestions, hot words.

The engine is imported on a search's first use, not at import, so the other routes' cold start stays light.
"""

from __future__ import annotations

from typing import Any

from chalice.app import Blueprint, Request

from chalicelib.clock import precise_iso, utcnow
from chalicelib.config import get_settings
from chalicelib.http import Principal, endpoint, source_ip
from chalicelib.recommend.service import recommendations_for_search
from chalicelib.search import service
from chalicelib.search.events import SqsSearchLog
from chalicelib.search.repository import DynamoSearchRepository
from chalicelib.search.schemas import HotWords, SearchPage, SearchParams, Suggestions, SuggestParams
from chalicelib.search.store import IndexHolder, S3IndexStorage

search_api = Blueprint(__name__)
TAGS = ("search",)
repo = DynamoSearchRepository()
search_log = SqsSearchLog()


def open_index(path: str) -> Any:
    from chalicelib.search.engine import SearchIndex

    return SearchIndex(path)


def engine_query(params: SearchParams) -> Any:
    from chalicelib.search.engine import SearchQuery

    return SearchQuery(
        text=params.q,
        category_id=params.category_id or None,
        brand_id=params.brand_id or None,
        price_min_fen=params.price_min_fen,
        price_max_fen=params.price_max_fen,
        in_stock=params.in_stock,
        sort=params.sort,
        page=params.page,
        page_size=params.page_size,
    )


index_holder = IndexHolder(
    repository=DynamoSearchRepository,
    storage=S3IndexStorage,
    opener=open_index,
    check_seconds=lambda: get_settings().search_index_check_seconds,
)


@endpoint(search_api, "/search", summary="Search goods (Chinese, pinyin) with filters, facets and sorts", tags=TAGS,
          auth="optional", query=SearchParams, response=SearchPage, errors=(400,))  # fmt: skip
def search(query: SearchParams, principal: Principal | None, request: Request) -> dict[str, Any]:
    user_id = principal.user_id if principal else None
    source = service.search_source(user_id, source_ip(request))
    return service.search(
        index_holder,
        query,
        engine_query,
        search_log,
        user_id,
        precise_iso(utcnow()),
        recommendations_for_search,
        source,
    )


@endpoint(search_api, "/search/suggest", summary="Complete a prefix (Chinese, full pinyin or initials)", tags=TAGS,
          query=SuggestParams, response=Suggestions, errors=(400,))  # fmt: skip
def suggest(query: SuggestParams) -> dict[str, Any]:
    return service.suggest(index_holder, query.q)


@endpoint(search_api, "/search/hot", summary="Hot searches of the last days", tags=TAGS, response=HotWords)
def hot_searches() -> dict[str, Any]:
    return service.hot_words(repo)
