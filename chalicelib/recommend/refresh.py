"""The scheduled refresh's computation: lake events and catalog facts in, every list to store out.

Pure apart from numpy/scipy, which only `compute` imports (inside its body: `import app` must never load them).
"""

from __future__ import annotations

import sys
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal

from chalicelib.clock import parse_iso
from chalicelib.pricing.promotion import Promotion
from chalicelib.recommend import ranking
from chalicelib.recommend.behaviour import KINDS, SECONDS_PER_DAY, Interaction, Kind
from chalicelib.recommend.shelves import HOME_LIST, promotion_entries, theme_entries

if TYPE_CHECKING:
    from chalicelib.recommend.similarity import Behaviour
    from chalicelib.recommend.window import Window

ListKind = Literal["similar", "hot", "for_you", "segment"]
ListKey = tuple[ListKind, str]

NEW_AT_LEAST = 12  # "new" is topped up with the newest older products so the section is never empty
SIMILAR_K = 20
FOR_YOU_K = 20
HOT_PER_CATEGORY = 20
ACTIVE_DAYS = 30.0
HOT_HALF_LIFE_DAYS = 3.0  # shoppers with behaviour this recent get a for-you list

# Analytics event types -> behaviour kinds; order events count once per line. search_performed names no product and
# order_refunded changes nothing here (the purchase stays excluded from the shopper's picks).
PRODUCT_EVENT_KINDS: dict[str, Kind] = {
    "product_viewed": "view",
    "favorite_added": "favorite",
    "cart_item_added": "cart_add",
    "review_posted": "review",
}
ORDER_EVENT_KINDS: dict[str, Kind] = {"order_placed": "order", "order_paid": "pay"}


@dataclass(frozen=True, slots=True)
class CatalogProduct:
    """A product as the refresh sees it: ranking facts plus what the rules of promotions and themes look at."""

    product_id: str
    category_id: str
    root_category_id: str
    brand_id: str
    created_at: float
    on_sale: bool
    in_stock: bool
    sales: int = 0
    rating_avg: float = 0.0
    price_fen: int = 0

    @property
    def sellable(self) -> bool:
        return self.on_sale and self.in_stock

    def facts(self) -> ranking.ProductFacts:
        return ranking.ProductFacts(
            self.product_id, self.category_id, self.brand_id, self.created_at, self.in_stock, self.on_sale,
            self.sales, self.rating_avg,
        )  # fmt: skip


@dataclass(frozen=True)
class CatalogSnapshot:
    products: list[CatalogProduct]
    sku_prices: dict[str, int] = field(default_factory=dict)  # sku_id -> list price (fen)


class ShopperRows:
    """The window's rows of signed-in shoppers as Interactions, made one at a time when read (re-iterable), so the
    window's columns are not copied into an object per event."""

    def __init__(self, window: Any, rows: Any) -> None:
        self.window, self.rows = window, rows

    def __iter__(self) -> Iterator[Interaction]:
        window = self.window
        for index in self.rows.nonzero()[0]:
            yield Interaction(
                str(window.user_ids[window.user[index]]),
                str(window.product_ids[window.product[index]]),
                KINDS[int(window.kind[index])],
                float(window.at[index]),
            )


@dataclass
class RefreshResult:
    """What to store: the home lists (one item) and the per-product, per-category and per-shopper lists."""

    home: dict[str, Any]
    lists: dict[ListKey, list[str]]
    interactions: int = 0
    shoppers: int = 0
    # The signed-in shoppers' interactions with catalog products (audience segments read them), one at a time.
    behaviour: Iterable[Interaction] = field(default_factory=list)

    def count(self, kind: ListKind) -> int:
        return sum(1 for key in self.lists if key[0] == kind)


def _epoch(value: Any) -> float:
    return parse_iso(value).timestamp()


def interactions_from_events(events: Iterable[Mapping[str, Any]]) -> tuple[list[Interaction], int]:
    """The lake's events as interactions (anonymous views keep user_id ""), and how many lines were unusable.

    order_received names no products: it counts as `receive` for the lines of the same order's order_placed or
    order_paid seen in the window (an order placed before the window is not received here).
    """
    interactions: list[Interaction] = []
    order_lines: dict[str, list[str]] = {}
    received: list[tuple[str, str, float]] = []
    skipped = 0
    for event in events:
        try:
            kind_name = str(event["type"])
            at = _epoch(event["occurred_at"])
            user_id = str(event.get("user_id") or "")
            if kind_name in PRODUCT_EVENT_KINDS:
                if kind_name != "product_viewed" and not user_id:
                    continue
                interactions.append(Interaction(user_id, str(event["product_id"]), PRODUCT_EVENT_KINDS[kind_name], at))
            elif kind_name in ORDER_EVENT_KINDS:
                products = list(dict.fromkeys(str(line["product_id"]) for line in event.get("lines") or []))
                order_lines.setdefault(str(event["order_id"]), products)
                if user_id:
                    kind = ORDER_EVENT_KINDS[kind_name]
                    interactions.extend(Interaction(user_id, product_id, kind, at) for product_id in products)
            elif kind_name == "order_received" and user_id:
                received.append((user_id, str(event["order_id"]), at))
        except (KeyError, TypeError, ValueError):
            skipped += 1
    for user_id, order_id, at in received:
        products = order_lines.get(order_id, [])
        interactions.extend(Interaction(user_id, product_id, "receive", at) for product_id in products)
    return interactions, skipped


def popular_order(interactions: Sequence[Interaction], products: Sequence[CatalogProduct], now: float) -> list[str]:
    """Every sellable product, hottest first: decayed behaviour (views, carts, sales...), then the catalog's sales,
    then the newest, so a shop without any behaviour yet still has a hot list."""
    return _topped_with_catalog([pid for pid, _ in ranking.hot(interactions, now, limit=sys.maxsize)], products)


def _topped_with_catalog(ranked_ids: list[str], products: Sequence[CatalogProduct]) -> list[str]:
    sellable = {p.product_id: p for p in products if p.sellable}
    ranked = [pid for pid in ranked_ids if pid in sellable]
    taken = set(ranked)
    rest = sorted(
        (p for p in sellable.values() if p.product_id not in taken),
        key=lambda p: (-p.sales, -p.created_at, p.product_id),
    )
    return ranked + [p.product_id for p in rest]


def hot_scores(window: Window, now: float) -> tuple[Any, Any]:
    """The products with behaviour in the window (ids, sorted) and their decayed weights summed (ranking.hot's
    score). A shard of the refresh takes the slice of its product block; ranked() orders any union of slices."""
    import numpy as np

    size = len(window.product_ids)
    scores = np.bincount(window.product, weights=window.decayed(now, HOT_HALF_LIFE_DAYS), minlength=size)
    codes = np.flatnonzero(np.bincount(window.product, minlength=size))
    return window.product_ids[codes], scores[codes]


def ranked(product_ids: Any, scores: Any) -> list[str]:
    """Best score first, ties by product id."""
    import numpy as np

    return list(np.asarray(product_ids)[np.lexsort((product_ids, -np.asarray(scores)))].tolist())


def _hot_ids(window: Window, now: float) -> list[str]:
    """ranking.hot over the window's columns: decayed weights summed per product, best first, ties by id."""
    return ranked(*hot_scores(window, now))


def new_list(products: Sequence[CatalogProduct], now: float) -> list[str]:
    """Sellable products listed in the last 30 days, newest first; topped up with the next newest if that is short."""
    fresh = ranking.new_arrivals([p.facts() for p in products], now, limit=HOME_LIST)
    if len(fresh) >= NEW_AT_LEAST:
        return fresh
    taken = set(fresh)
    older = sorted((p for p in products if p.sellable and p.product_id not in taken and p.created_at <= now),
                   key=lambda p: (-p.created_at, p.product_id))  # fmt: skip
    return fresh + [p.product_id for p in older[: NEW_AT_LEAST - len(fresh)]]


def hot_by_category(popular: list[str], products: Sequence[CatalogProduct]) -> dict[str, list[str]]:
    """category_id (leaf and top-level) -> its hottest sellable products."""
    by_id = {p.product_id: p for p in products}
    lists: dict[str, list[str]] = {}
    for product_id in popular:
        product = by_id[product_id]
        for category_id in dict.fromkeys((product.category_id, product.root_category_id)):
            chosen = lists.setdefault(category_id, [])
            if len(chosen) < HOT_PER_CATEGORY:
                chosen.append(product_id)
    return lists


def _sellable_top(
    picks: list[str], sellable: set[str], exclude: Collection[str], popular: list[str], k: int
) -> list[str]:
    chosen = [pid for pid in picks if pid in sellable and pid not in exclude][:k]
    taken = set(chosen)
    for product_id in popular:
        if len(chosen) >= k:
            break
        if product_id not in taken and product_id not in exclude:
            taken.add(product_id)
            chosen.append(product_id)
    return chosen


def home_lists(
    popular: list[str],
    snapshot: CatalogSnapshot,
    promotions: Sequence[Promotion],
    themes: Sequence[Mapping[str, Any]],
    now: datetime,
) -> tuple[dict[str, Any], dict[ListKey, list[str]]]:
    """The home item (hot, new, promotions, themes) and the hot list of every category, from the popular order."""
    products, moment = snapshot.products, now.timestamp()
    home = {
        "hot": popular[:HOME_LIST],
        "new": new_list(products, moment),
        "promotions": promotion_entries(promotions, snapshot, popular, now),
        "themes": theme_entries(themes, products, popular, moment),
    }
    lists: dict[ListKey, list[str]] = {("hot", c): ids for c, ids in hot_by_category(popular, products).items()}
    return home, lists


def shopper_rows(behaviour: Window, catalog_ids: Collection[str]) -> Any:
    """The rows similarity and personal picks read: signed-in shoppers' behaviour with catalog products (anonymous
    views only count towards hot)."""
    import numpy as np

    in_catalog = np.isin(behaviour.product_ids, np.asarray(sorted(catalog_ids), dtype=str))
    return (behaviour.user_ids[behaviour.user] != "") & in_catalog[behaviour.product]


def neighbours_of(
    encoded: Behaviour | None,
    products: Sequence[CatalogProduct],
    moment: float,
    block: tuple[str | None, str | None] = (None, None),
) -> dict[str, list[tuple[str, float]]]:
    """Every catalog product's similar items (behaviour first, topped up from content) whose id is in the block
    [first, end) (None: unbounded), the whole catalog by default."""
    from chalicelib.recommend import similarity

    first, end = block
    inside = [p for p in products if (first is None or p.product_id >= first) and (end is None or p.product_id < end)]
    sellable = sorted(p.product_id for p in products if p.sellable)
    content = ranking.content_neighbours([p.facts() for p in products], limit=SIMILAR_K)
    content = {p.product_id: content.get(p.product_id, []) for p in inside}
    behavioural = (
        similarity.item_item(encoded, moment, k=SIMILAR_K, candidates=sellable, block=block)
        if encoded is not None
        else {}
    )
    return similarity.with_fallback(behavioural, content, k=SIMILAR_K)


def similar_lists(
    neighbours: Mapping[str, list[tuple[str, float]]], product_ids: Iterable[str], sellable: Collection[str]
) -> dict[ListKey, list[str]]:
    return {("similar", pid): [n for n, _ in neighbours.get(pid, []) if n in sellable] for pid in sorted(product_ids)}


def for_you_lists(
    behaviour: Window,
    rows: Any,
    neighbours: Mapping[str, list[tuple[str, float]]],
    popular: list[str],
    sellable: set[str],
    moment: float,
) -> dict[ListKey, list[str]]:
    """The picks of every shopper of `rows` active in the last ACTIVE_DAYS: sellable, never bought, topped up from
    hot (complete unless hot is short)."""
    from chalicelib.recommend import personal
    from chalicelib.recommend import window as columns

    if not rows.any():
        return {}
    bought = columns.bought(behaviour, rows)
    picks = personal.for_all_users(
        _encoded(behaviour, rows), neighbours, bought, popular[:FOR_YOU_K], k=FOR_YOU_K,
        active_since=moment - ACTIVE_DAYS * SECONDS_PER_DAY, now=moment, candidates=sellable,
    )  # fmt: skip
    lists: dict[ListKey, list[str]] = {}
    for user_id, chosen in picks.items():
        if len(chosen) < FOR_YOU_K:
            chosen = _sellable_top(chosen, sellable, bought.get(user_id, frozenset()), popular, FOR_YOU_K)
        lists[("for_you", user_id)] = chosen
    return lists


def compute(
    events: Iterable[Mapping[str, Any]] | Window,
    snapshot: CatalogSnapshot,
    promotions: Sequence[Promotion],
    themes: Sequence[Mapping[str, Any]],
    now: datetime,
) -> RefreshResult:
    """Every list the shop shows, from the behaviour window (columns, or event dicts) and the catalog as it is now.
    The sharded refresh (chalicelib/recommend/shards.py) runs the same steps on blocks of products and shoppers."""
    from chalicelib.recommend import window as columns

    moment = now.timestamp()
    behaviour = events if isinstance(events, columns.Window) else columns.from_events(events)
    products = snapshot.products
    catalog_ids = {p.product_id for p in products}
    sellable = {p.product_id for p in products if p.sellable}
    popular = _topped_with_catalog(_hot_ids(behaviour, moment), products)
    home, lists = home_lists(popular, snapshot, promotions, themes, now)
    rows = shopper_rows(behaviour, catalog_ids)
    neighbours = neighbours_of(_encoded(behaviour, rows) if rows.any() else None, products, moment)
    lists.update(similar_lists(neighbours, catalog_ids, sellable))
    picks = for_you_lists(behaviour, rows, neighbours, popular, sellable, moment)
    lists.update(picks)
    return RefreshResult(
        home=home, lists=lists, interactions=len(behaviour), shoppers=len(picks),
        behaviour=ShopperRows(behaviour, rows),
    )  # fmt: skip


def _encoded(behaviour: Window, rows: Any) -> Behaviour:
    """The shoppers' rows as similarity's Behaviour, straight from the columns (ids stay sorted)."""
    import numpy as np

    from chalicelib.recommend.similarity import Behaviour
    from chalicelib.recommend.window import WEIGHTS

    users, user_codes = np.unique(behaviour.user[rows], return_inverse=True)
    products, product_codes = np.unique(behaviour.product[rows], return_inverse=True)
    return Behaviour(
        behaviour.user_ids[users].tolist(), behaviour.product_ids[products].tolist(),
        user_codes.astype(np.int32), product_codes.astype(np.int32),
        WEIGHTS[behaviour.kind[rows]], behaviour.at[rows],
    )  # fmt: skip
