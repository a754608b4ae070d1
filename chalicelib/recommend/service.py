"""Recommendation rules: the refresh (read behaviour, catalog, promotions, themes; store every list) and the reads
of the home page, similar items and search recommendations, each in one or two requests."""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from chalicelib.analytics.lake import Lake
from chalicelib.catalog.repository import CatalogRepository
from chalicelib.catalog.service import category_tree, summary
from chalicelib.clock import iso, utcnow
from chalicelib.errors import NotFound
from chalicelib.promotions.repository import PromotionsRepository
from chalicelib.promotions.service import promotion_value
from chalicelib.recommend import audience as audiences
from chalicelib.recommend import refresh
from chalicelib.recommend.refresh import ListKey
from chalicelib.recommend.repository import CatalogFacts, RecommendationStore
from chalicelib.recommend.segments import Audience
from chalicelib.themes.repository import ThemeRepository

if TYPE_CHECKING:
    from chalicelib.recommend.window import Window

HOME_SHOWN = 10  # products per home list
HOME_THEMES = 3  # theme shelves on the home page
# Candidates read beyond what is shown, so a product taken off sale since the refresh leaves no hole. With these
# numbers the home page needs at most 4 x 12 + 3 x 12 = 84 cards: one BatchGetItem (100 keys).
SLACK = 2
SEARCH_SEEDS = 3  # the search results whose similar lists feed the search's recommendations
LIST_TTL = timedelta(days=3)  # per-product, per-category and per-shopper lists a refresh no longer writes expire
FALLBACK_LISTING = 40  # products read for the home page before the first refresh


def refresh_recommendations(
    events: Iterable[Mapping[str, Any]] | Window,
    catalog: CatalogFacts,
    promotions: PromotionsRepository,
    themes: ThemeRepository,
    store: RecommendationStore,
    now: datetime | None = None,
    audience: Audience | None = None,
    written: Lake | None = None,
) -> dict[str, Any]:
    """Compute every list from the behaviour window and the catalog as it is now, and store the changed ones whole
    (with the audience segments' lists when the shoppers' profiles are handed over).

    With `written` (the lake bucket), a digest of every stored list is kept there and only new or changed lists
    (and any a day old, well before its 3-day TTL) are written; without it every list is. Lists are written before
    the home item, so a home page that shows a refresh's time has its lists too. Two refreshes running at once both
    write whole lists: the last writer wins on each, and either one is a complete answer.
    """
    started = time.monotonic()
    moment = now or utcnow()
    snapshot = catalog.catalog_snapshot()
    running = [promotion_value(record) for record in promotions.all()]
    result = refresh.compute(events, snapshot, running, themes.themes(), moment)
    segment_lists = audiences.add_segment_lists(result, snapshot, audience, moment) if audience is not None else 0
    generated_at = iso(moment)
    count = store_lists(store, result.lists, result.home, moment, written)
    return {
        "generated_at": generated_at,
        "interactions": result.interactions,
        "products": len(snapshot.products),
        "sellable": sum(1 for p in snapshot.products if p.sellable),
        "shoppers": result.shoppers,
        "similar_lists": result.count("similar"),
        "category_lists": result.count("hot"),
        "for_you_lists": result.count("for_you"),
        "segment_lists": segment_lists,
        "lists_written": count,
        "hot": len(result.home["hot"]),
        "seconds": round(time.monotonic() - started, 3),
    }


def store_lists(
    store: RecommendationStore,
    lists: Mapping[ListKey, list[str]],
    home: dict[str, Any],
    moment: datetime,
    written: Lake | None,
) -> int:
    """Write the lists (only the new or changed ones, and any a day old, with `written`), then the home item; how
    many lists were written."""
    generated_at = iso(moment)
    expires_at = int((moment + LIST_TTL).timestamp())
    if written is not None:
        from chalicelib.recommend.written import Written, plan

        changed, state = plan(lists, Written.load(written), int(moment.timestamp()))
        count = store.save_lists({key: lists[key] for key in changed}, generated_at, expires_at)
        state.save(written)
    else:
        count = store.save_lists(lists, generated_at, expires_at)
    store.save_home(home, generated_at)
    return count


def plan_sharded_refresh(
    lake: Lake, bucket: str, catalog: CatalogFacts, run_id: str, days: int, now: datetime, **sizes: int
) -> dict[str, Any]:
    """The first step of the sharded refresh: its inputs frozen in the lake and its manifests written."""
    from chalicelib.analytics.rollup import BUSINESS_TZ
    from chalicelib.recommend import shards

    until = now.astimezone(BUSINESS_TZ).date()
    return shards.plan(lake, bucket, run_id, catalog.catalog_snapshot(), days, until, now, **sizes)


def reduce_sharded_refresh(
    lake: Lake, run: Mapping[str, Any], promotions: PromotionsRepository, themes: ThemeRepository,
    store: RecommendationStore,
) -> dict[str, Any]:  # fmt: skip
    """The last step of the sharded refresh: the shards' lists merged and the changed ones written, then the home."""
    from chalicelib.clock import parse_iso
    from chalicelib.recommend import shards

    started = time.monotonic()
    moment = parse_iso(run["now"])
    running = [promotion_value(record) for record in promotions.all()]
    home, lists, counts = shards.reduce(lake, run, running, themes.themes())
    count = store_lists(store, lists, home, moment, lake)
    return {
        "generated_at": iso(moment),
        "run_id": run["run_id"],
        "similar_shards": int(run["similar_shards"]),
        "for_you_shards": int(run["for_you_shards"]),
        **counts,
        "similar_lists": sum(1 for key in lists if key[0] == "similar"),
        "for_you_lists": sum(1 for key in lists if key[0] == "for_you"),
        "lists_written": count,
        "seconds": round(time.monotonic() - started, 3),
    }


def _cards(catalog: CatalogRepository, product_ids: Iterable[str]) -> dict[str, dict[str, Any]]:
    """Cards of the products still there and on sale, read now (one BatchGetItem up to 100 ids)."""
    wanted = list(dict.fromkeys(product_ids))
    found = catalog.products_by_ids(wanted) if wanted else {}
    return {pid: summary(product) for pid, product in found.items() if product.get("on_sale")}


def _shown(ids: Iterable[str], cards: Mapping[str, dict[str, Any]], limit: int = HOME_SHOWN) -> list[dict[str, Any]]:
    return [cards[pid] for pid in ids if pid in cards][:limit]


def _parents(catalog: CatalogRepository) -> dict[str, str | None]:
    return {cid: category.get("parent_id") for cid, category in category_tree.get(catalog).items()}


def home(
    store: RecommendationStore,
    catalog: CatalogRepository,
    user_id: str | None,
    now: datetime | None = None,
    audience: Audience | None = None,
) -> dict[str, Any]:
    """The home page: one BatchGetItem of the home lists (and the shopper's picks), one of the cards. A signed-in
    shopper with no picks of their own gets their audience segment's (their profile, its lists and cards read)."""
    stored, lists = store.read(True, [("for_you", user_id)] if user_id else [])
    if stored is None:
        return _home_before_first_refresh(catalog)
    at = iso(now or utcnow())
    take = HOME_SHOWN + SLACK
    personal = lists.get(("for_you", user_id)) if user_id else None
    sections = {
        "hot": stored.get("hot", [])[:take],
        "new": stored.get("new", [])[:take],
        "promotions": [e["product_id"] for e in stored.get("promotions", []) if e["ends_at"] > at][:take],
        "for_you": (personal if personal is not None else stored.get("hot", []))[:take],
    }
    themes = [t for t in stored.get("themes", []) if t["starts_at"] <= at < t["ends_at"]][:HOME_THEMES]
    cards = _cards(catalog, [pid for ids in sections.values() for pid in ids] +
                   [pid for t in themes for pid in t["product_ids"][:take]])  # fmt: skip
    answer: dict[str, Any] = {name: _shown(ids, cards) for name, ids in sections.items()}
    answer["themes"] = [
        {key: theme[key] for key in ("theme_id", "title", "subtitle", "banner_url")}
        | {"items": _shown(theme["product_ids"][:take], cards)}
        for theme in themes
    ]
    answer["personal"] = personal is not None
    answer["for_you_source"] = "behaviour" if personal is not None else "hot"
    if personal is None and user_id and audience is not None:
        picks, source = audiences.cold_picks(
            store, audience, lambda ids: _cards(catalog, ids), _parents(catalog), user_id, sections["hot"], set(),
            now or utcnow(),
        )  # fmt: skip
        answer["for_you"], answer["for_you_source"] = picks[:HOME_SHOWN], source
    answer["generated_at"] = stored.get("generated_at")
    return answer


def _home_before_first_refresh(catalog: CatalogRepository) -> dict[str, Any]:
    """No refresh has run yet (a new stage): the newest products on sale, and those by sales as the hot list."""
    newest, _ = catalog.list_products("all", None, None, FALLBACK_LISTING, None)
    by_sales = sorted(newest, key=lambda p: -int(p.get("sales") or 0))  # stable: newest first among equals
    hot = [summary(p) for p in by_sales[:HOME_SHOWN]]
    return {
        "hot": hot,
        "new": [summary(p) for p in newest[:HOME_SHOWN]],
        "promotions": [],
        "themes": [],
        "for_you": hot,
        "for_you_source": "hot",
        "personal": False,
        "generated_at": None,
    }


def similar_items(
    store: RecommendationStore, catalog: CatalogRepository, product_id: str, limit: int
) -> dict[str, Any]:
    """Products similar to this one: its stored list (one GetItem) and the cards with the product itself (one
    BatchGetItem: an unknown product is 404). Without a stored list (listed since the last refresh, or no refresh
    yet) the newest of its category stand in."""
    key: ListKey = ("similar", product_id)
    _, lists = store.read(False, [key])
    stored = lists.get(key)
    ids = [pid for pid in (stored or []) if pid != product_id][: limit + SLACK]
    found = catalog.products_by_ids([product_id, *ids])
    product = found.get(product_id)
    if product is None:
        raise NotFound("No such product")
    if stored is None:
        same_category, _ = catalog.list_products("category", product["category_id"], None, limit + 1, None)
        return {"items": [summary(p) for p in same_category if p["product_id"] != product_id][:limit]}
    cards = {pid: summary(p) for pid, p in found.items() if p.get("on_sale") and pid != product_id}
    return {"items": _shown(ids, cards, limit)}


def _interleaved(lists: list[list[str]]) -> list[str]:
    """The first of every list, then the second of every list, ...: each result's neighbours get a turn."""
    merged: list[str] = []
    for rank in range(max((len(ids) for ids in lists), default=0)):
        merged.extend(ids[rank] for ids in lists if rank < len(ids))
    return merged


def recommendations_for_search(
    store: RecommendationStore,
    catalog: CatalogRepository,
    product_ids: list[str],
    category_id: str | None,
    limit: int = 10,
    user_id: str | None = None,
    audience: Audience | None = None,
) -> tuple[list[dict[str, Any]], str]:
    """Cards to suggest beside search results: the similar lists of the top results taken in turn, then the hot
    list of the category, then the shop's hot list; never a product of the results. Two requests (a BatchGetItem of
    the lists, one of the cards). Empty before the first refresh: the caller keeps its own fallback then.

    With the source: `behaviour` for a shopper with picks of their own, `segment` for a signed-in one without whose
    audience segment has a list (its picks then), else `hot`."""
    seeds = list(dict.fromkeys(product_ids))[:SEARCH_SEEDS]
    keys: list[ListKey] = [("similar", pid) for pid in seeds] + ([("hot", category_id)] if category_id else [])
    stored_home, lists = store.read(True, keys + ([("for_you", user_id)] if user_id else []))
    shown = set(product_ids)
    if user_id and ("for_you", user_id) not in lists and audience is not None and stored_home is not None:
        hot = stored_home.get("hot", [])[: limit + len(shown) + SLACK]
        picks, source = audiences.cold_picks(
            store, audience, lambda ids: _cards(catalog, ids), _parents(catalog), user_id, hot, shown, utcnow()
        )
        if source == "segment":
            return picks[:limit], source
    merged = _interleaved([lists[("similar", pid)] for pid in seeds if ("similar", pid) in lists])
    if category_id:
        merged += lists.get(("hot", category_id), [])
    merged += (stored_home or {}).get("hot", [])
    candidates = [pid for pid in dict.fromkeys(merged) if pid not in shown][: limit + SLACK]
    source = "behaviour" if user_id and ("for_you", user_id) in lists else "hot"
    return _shown(candidates, _cards(catalog, candidates), limit), source
