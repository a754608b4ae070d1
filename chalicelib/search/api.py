"""HTTP routes of search: results with filters, facets and sorts, suggestions, hot words.

The engine is imported on a search's first use, not at import, so the other routes' cold start stays light.
"""

from __future__ import annotations

from chalice.app import Request

from chalicelib.auth import Principal
from chalicelib.clock import precise_iso, utcnow
from chalicelib.http import source_ip
from chalicelib.routes import Json, Routes
from chalicelib.search import service
from chalicelib.search.repository import SearchRepository
from chalicelib.search.schemas import HotWords, SearchPage, SearchParams, Suggestions, SuggestParams
from chalicelib.search.service import IndexSource, Recommend, SearchLog

search_api = Routes(__name__, tags=("search",))


@search_api.get("/search", errors=(400,))
def search(
    query: SearchParams,
    principal: Principal | None,
    request: Request,
    search_index: IndexSource,
    search_log: SearchLog,
    recommend_for_search: Recommend,
) -> Json[SearchPage]:
    """Search goods (Chinese, pinyin) with filters, facets and sorts"""
    user_id = principal.user_id if principal else None
    source = service.search_source(user_id, source_ip(request))
    return service.search(
        search_index,
        query,
        service.engine_query,
        search_log,
        user_id,
        precise_iso(utcnow()),
        recommend_for_search,
        source,
    )


@search_api.get("/search/suggest", errors=(400,))
def suggest(query: SuggestParams, search_index: IndexSource) -> Json[Suggestions]:
    """Complete a prefix (Chinese, full pinyin or initials)"""
    return service.suggest(search_index, query.q)


@search_api.get("/search/hot")
def hot_searches(search_repo: SearchRepository) -> Json[HotWords]:
    """Hot searches of the last days"""
    return service.hot_words(search_repo)
