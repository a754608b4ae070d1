"""Audience recommendations around the refresh and the reads: the segment lists a refresh stores, and a cold
shopper's picks (signed in, no behaviour of their own) from their segment (chalicelib.recommend.segments)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any

from chalicelib.clock import SHANGHAI
from chalicelib.recommend import segments
from chalicelib.recommend.refresh import CatalogSnapshot, ListKey, RefreshResult
from chalicelib.recommend.repository import RecommendationStore
from chalicelib.recommend.segments import Audience

INTEREST_LISTS = 3  # the first interests whose categories' best sellers follow the segment's picks
# product ids -> their cards (on sale) keyed by id; category id -> its parent (None for a root)
Cards = Callable[[Sequence[str]], Mapping[str, dict[str, Any]]]


def add_segment_lists(result: RefreshResult, snapshot: CatalogSnapshot, audience: Audience, now: datetime) -> int:
    """Compute every segment's list from the refresh's behaviour and the shoppers' profiles; add them to what the
    refresh stores. How many segments got a list."""
    user_ids = sorted({interaction.user_id for interaction in result.behaviour})
    profiles = audience.profiles(user_ids) if user_ids else {}
    sellable = {product.product_id for product in snapshot.products if product.sellable}
    found = segments.segment_lists(result.behaviour, profiles, sellable, now.astimezone(SHANGHAI).date())
    for key, product_ids in found.items():
        result.lists[("segment", key)] = product_ids
    return len(found)


def cold_picks(
    store: RecommendationStore,
    audience: Audience,
    cards_of: Cards,
    parents: Mapping[str, str | None],
    user_id: str,
    hot: Sequence[str],
    exclude: set[str],
    now: datetime,
) -> tuple[list[dict[str, Any]], str]:
    """A cold shopper's cards and their source: `segment` when a list of their segment (at some width) is stored,
    else `hot`. Their interest categories' products come first either way."""
    profile = audience.profiles([user_id]).get(user_id)
    if profile is None:
        hot_cards = cards_of(hot)
        return [hot_cards[pid] for pid in hot if pid in hot_cards and pid not in exclude], "hot"
    keys: list[ListKey] = [("segment", key) for key in segments.segment_keys(profile, now.astimezone(SHANGHAI).date())]
    interests = list(profile.interests[:INTEREST_LISTS])
    _, lists = store.read(False, keys + [("hot", category_id) for category_id in interests])
    segment = next((lists[key] for key in keys if key in lists), None)
    best_sellers = [lists.get(("hot", category_id), []) for category_id in interests]
    candidates = list(dict.fromkeys([*(segment or []), *(pid for best in best_sellers for pid in best), *hot]))[:100]
    cards = cards_of(candidates)
    wanted = set(profile.interests)
    in_interest = {
        pid
        for pid, card in cards.items()
        if card["category_id"] in wanted or parents.get(card["category_id"]) in wanted
    }
    ordered = segments.compose(segment or [], in_interest, best_sellers, hot, exclude)
    return [cards[pid] for pid in ordered if pid in cards], "segment" if segment else "hot"
