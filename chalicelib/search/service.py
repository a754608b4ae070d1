"""Search rules: answering a search from the held index, suggestions, the search log and the decayed hot words."""

from __future__ import annotations

import hashlib
from collections import Counter, defaultdict
from collections.abc import Callable
from contextlib import AbstractContextManager
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from chalicelib.clock import SHANGHAI, parse_iso, shanghai_day
from chalicelib.observability import logger
from chalicelib.profile import service as profile_service
from chalicelib.profile.domain import MAX_KEYWORD_CHARS, normalize_keyword
from chalicelib.profile.repository import ProfileRepository
from chalicelib.search.repository import SearchRepository
from chalicelib.search.schemas import SearchLogged, SearchParams

SUGGESTIONS = 10
HOT_DAYS = 7  # hot words look at today and the six days before
HOT_DECAY = 0.7  # a search from yesterday weighs 0.7 of one today, from a week ago 0.12
HOT_TOP_SIZE = 100  # the folded list: /search/hot shows the first few, index builds take all for suggestions
HOT_SHOWN = 10
COUNTER_TTL_DAYS = HOT_DAYS + 2
# One searcher (a user, or the address of anonymous ones) counts a keyword at most once a day, and at most this many
# keywords a day: repeating junk from one client, or from one script with many keywords, cannot make it trend.
HOT_KEYWORDS_PER_SOURCE_PER_DAY = 30
ANONYMOUS_SOURCE = "anonymous"


# (product ids of the results, category id, how many, the signed-in shopper) -> (product cards, their source): the
# recommendations refresh's picks (chalicelib.recommend.service.recommendations_for_search); none until its first
# refresh.
Recommend = Callable[[list[str], str | None, int, str | None], tuple[list[dict[str, Any]], str]]
RECOMMENDATIONS = 6  # as many as the engine's own popular-in-category list


class IndexSource(Protocol):
    def use(self) -> AbstractContextManager[Any]: ...


class SearchLog(Protocol):
    def searched(self, keyword: str, user_id: str | None, at: str, total: int, relaxed: bool, source: str) -> None:
        """Queue one search for hot words and history; never raises."""


def search_source(user_id: str | None, source_ip: str | None) -> str:
    """Who a search counts for in hot words: the user, else the address it came from (hashed: no IPs are kept)."""
    if user_id:
        return f"u:{user_id}"
    if source_ip:
        return "ip:" + hashlib.sha256(source_ip.encode("utf-8", "replace")).hexdigest()[:20]
    return ANONYMOUS_SOURCE


def empty_page(page: int) -> dict[str, Any]:
    """What a search answers before the first index is published (a new stage): nothing, not an error."""
    return {
        "items": [],
        "total": 0,
        "page": page,
        "facets": {"category": [], "brand": []},
        "recommendations": [],
        "recommendations_source": "hot",
        "relaxed": False,
        "suggestions": [],
        "did_you_mean": None,
    }


def search(
    index_source: IndexSource,
    params: SearchParams,
    to_query: Callable[[SearchParams], Any],
    log: SearchLog,
    user_id: str | None,
    at: str,
    recommend: Recommend | None = None,
    source: str = ANONYMOUS_SOURCE,
) -> dict[str, Any]:
    """One page of results from the index this container holds; the first page of a worded search is logged."""
    with index_source.use() as index:
        result = empty_page(params.page) if index is None else index.search(to_query(params))
    page = {**empty_page(params.page), **result, "page": params.page}
    if recommend is not None:
        page["recommendations"], page["recommendations_source"] = _behavioural_recommendations(
            recommend, page, params, user_id
        )
    shown = {item.get("product_id") for item in page["items"]}
    page["recommendations"] = [card for card in page["recommendations"] if card.get("product_id") not in shown]
    keyword = " ".join(params.q.split())
    if keyword and params.page == 1:  # paging through one search is still one search
        log.searched(keyword, user_id, at, int(page["total"]), bool(page.get("relaxed")), source)
    return page


def _behavioural_recommendations(
    recommend: Recommend, page: dict[str, Any], params: SearchParams, user_id: str | None
) -> tuple[list[Any], str]:
    """Picks from behaviour (products similar to the top results, then the category's hot ones); the engine's
    popular-in-category list stays when there are none yet (before the first refresh) or they cannot be read."""
    items = page["items"]
    category_id = params.category_id or (items[0].get("category_id") if items else None)
    try:
        picks, source = recommend([item["product_id"] for item in items], category_id, RECOMMENDATIONS, user_id)
    except Exception:  # recommendations must never fail a search
        logger.exception("could not read recommendations for a search")
        return list(page["recommendations"]), "hot"
    return (picks, source) if picks else (list(page["recommendations"]), "hot")


def suggest(index_source: IndexSource, prefix: str) -> dict[str, Any]:
    text = " ".join(prefix.split())
    if not text:
        return {"suggestions": []}
    with index_source.use() as index:
        found = [] if index is None else list(index.suggest(text, SUGGESTIONS))
    return {"suggestions": [{"text": suggestion} for suggestion in found[:SUGGESTIONS]]}


def hot_words(repo: SearchRepository, limit: int = HOT_SHOWN) -> dict[str, Any]:
    items, _ = repo.hot_top()
    return {"items": [{"keyword": str(i["keyword"]), "count": int(i["count"])} for i in items[:limit]]}


def popular_queries(repo: SearchRepository) -> list[tuple[str, int]]:
    """The hot list, for index builds to rank suggestions by."""
    items, _ = repo.hot_top()
    return [(str(item["keyword"]), int(item["count"])) for item in items]


def record_searches(
    repo: SearchRepository,
    profiles: ProfileRepository,
    searches: list[SearchLogged],
    now: datetime,
    refresh_seconds: int,
) -> dict[str, int]:
    """Fold a batch of logged searches into the day counters and the searchers' histories, then the hot list.

    Only searches that found something on their own terms count towards hot words (typos, junk, and queries whose
    results came only through relaxed matching should not trend), each at most once per searcher and Asia/Shanghai
    day, and at most HOT_KEYWORDS_PER_SOURCE_PER_DAY keywords per searcher and day (so a redelivered batch counts
    nothing twice). Every search of a signed-in user goes to their history.
    """
    counts: dict[str, Counter[str]] = defaultdict(Counter)
    histories = 0
    for logged in searches:
        keyword = normalize_keyword(logged.keyword)
        if not keyword:
            continue
        try:
            moment = parse_iso(logged.at).astimezone(UTC)
        except ValueError:
            logger.warning("dropping a search with a malformed time", extra={"at": logged.at[:64]})
            continue
        if logged.total > 0 and not logged.relaxed:
            day = shanghai_day(moment)
            source = logged.source or (f"u:{logged.user_id}" if logged.user_id else ANONYMOUS_SOURCE)
            if repo.claim_hot_count(day, source, keyword, HOT_KEYWORDS_PER_SOURCE_PER_DAY, _day_expiry(day)):
                counts[day][keyword] += 1
        if logged.user_id:
            profile_service.record_search(profiles, logged.user_id, logged.keyword[:MAX_KEYWORD_CHARS], moment)
            histories += 1
    for day, day_counts in counts.items():
        repo.add_hot_counts(day, dict(day_counts), _day_expiry(day, COUNTER_TTL_DAYS))
    refreshed = refresh_hot_words(repo, now, refresh_seconds) if counts else False
    return {"counted": sum(sum(c.values()) for c in counts.values()), "histories": histories, "refreshed": refreshed}


def _day_expiry(day: str, days_after: int = 1) -> int:
    """Epoch seconds `days_after` days past the end of an Asia/Shanghai day."""
    start = datetime.strptime(day, "%Y-%m-%d").replace(tzinfo=SHANGHAI)
    return int((start + timedelta(days=1 + days_after)).timestamp())


def refresh_hot_words(repo: SearchRepository, now: datetime, min_interval_seconds: int = 0) -> bool:
    """Fold the last HOT_DAYS day counters into the top list, at most every min_interval_seconds; True if folded."""
    now_ms = int(now.timestamp() * 1000)
    _, refreshed_at = repo.hot_top()
    if now_ms - refreshed_at < min_interval_seconds * 1000:
        return False
    days = [shanghai_day(now - timedelta(days=age)) for age in range(HOT_DAYS)]
    by_day = repo.hot_counts(days)
    scores: dict[str, float] = defaultdict(float)
    totals: Counter[str] = Counter()
    for age, day in enumerate(days):
        for keyword, count in by_day.get(day, {}).items():
            scores[keyword] += count * HOT_DECAY**age
            totals[keyword] += count
    ranked = sorted(scores, key=lambda keyword: (-scores[keyword], keyword))[:HOT_TOP_SIZE]
    top = [{"keyword": k, "count": totals[k], "score": round(scores[k], 4)} for k in ranked]
    return repo.save_hot_top(top, now_ms)


def engine_query(params: SearchParams) -> Any:
    """The engine's query for these parameters (the engine loads with the first search)."""
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
