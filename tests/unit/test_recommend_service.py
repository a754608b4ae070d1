"""Recommendation service on in-memory fakes: events -> interactions, the refresh's lists, and the reads."""

from __future__ import annotations

import copy
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from chalicelib.errors import NotFound
from chalicelib.recommend import service
from chalicelib.recommend.behaviour import Interaction
from chalicelib.recommend.refresh import CatalogProduct, CatalogSnapshot, ListKey, interactions_from_events
from tests.unit.fakes import FakeCatalogRepository

NOW = datetime(2026, 11, 24, 8, 0, tzinfo=UTC)


def at(hours_ago: float) -> str:
    return (NOW - timedelta(hours=hours_ago)).strftime("%Y-%m-%dT%H:%M:%SZ")


class FakeStore:
    """RecommendationStore in memory."""

    def __init__(self) -> None:
        self.home: dict[str, Any] | None = None
        self.lists: dict[ListKey, list[str]] = {}
        self.reads = 0

    def read(self, home: bool, keys: list[ListKey]) -> tuple[dict[str, Any] | None, dict[ListKey, list[str]]]:
        self.reads += 1
        found_home = copy.deepcopy(self.home) if home else None
        return found_home, {key: list(self.lists[key]) for key in keys if key in self.lists}

    def save_home(self, home: dict[str, Any], generated_at: str) -> None:
        self.home = copy.deepcopy(home) | {"generated_at": generated_at}

    def save_lists(self, lists: Mapping[ListKey, list[str]], generated_at: str, expires_at: int) -> int:
        self.lists.update({key: list(ids) for key, ids in lists.items()})
        return len(lists)


class FakeCatalogFacts:
    """CatalogFacts over the fake catalog repository (products and their SKUs' stock)."""

    def __init__(self, catalog: FakeCatalogRepository) -> None:
        self.catalog = catalog

    def catalog_snapshot(self) -> CatalogSnapshot:
        products = []
        for p in self.catalog.products.values():
            skus = self.catalog.skus.get(p["product_id"], {}).values()
            products.append(
                CatalogProduct(
                    p["product_id"],
                    p["category_id"],
                    p["root_category_id"],
                    p["brand_id"],
                    datetime.fromisoformat(p["created_at"].replace("Z", "+00:00")).timestamp(),
                    p["on_sale"],
                    any(s["stock"] > 0 for s in skus),
                    p["sales"],
                    p["rating_avg"],
                    p["price_fen"],
                )
            )
        prices = {s["sku_id"]: s["price_fen"] for skus in self.catalog.skus.values() for s in skus.values()}
        return CatalogSnapshot(products=sorted(products, key=lambda p: p.product_id), sku_prices=prices)


class FakePromotions:
    def __init__(self, records: list[dict[str, Any]] | None = None) -> None:
        self.records = records or []

    def all(self) -> list[dict[str, Any]]:
        return copy.deepcopy(self.records)


class FakeThemes:
    def __init__(self, themes: list[dict[str, Any]] | None = None) -> None:
        self.items = themes or []

    def themes(self) -> list[dict[str, Any]]:
        return copy.deepcopy(self.items)


def add_product(
    catalog: FakeCatalogRepository,
    product_id: str,
    category: str = "c_phone",
    brand: str = "b_1",
    days_old: float = 1.0,
    stock: int = 5,
    sales: int = 0,
    on_sale: bool = True,
    price_fen: int = 10000,
) -> None:
    catalog.products[product_id] = {
        "product_id": product_id,
        "title": f"商品 {product_id}",
        "price_fen": price_fen,
        "images": [],
        "sales": sales,
        "rating_avg": 0.0,
        "category_id": category,
        "root_category_id": "c_root",
        "brand_id": brand,
        "on_sale": on_sale,
        "created_at": at(days_old * 24),
        "version": 1,
    }
    sku_id = f"{product_id}-01"
    catalog.skus[product_id] = {sku_id: {"sku_id": sku_id, "price_fen": price_fen, "stock": stock}}


def viewed(user_id: str | None, product_id: str, hours_ago: float = 1.0) -> dict[str, Any]:
    return {
        "type": "product_viewed",
        "event_id": f"v:{user_id}:{product_id}:{hours_ago}",
        "user_id": user_id,
        "product_id": product_id,
        "occurred_at": at(hours_ago),
    }


def order_event(kind: str, user_id: str, order_id: str, products: list[str], hours_ago: float = 1.0) -> dict[str, Any]:
    lines = [{"product_id": p, "sku_id": f"{p}-01", "quantity": 1, "payable_fen": 100} for p in products]
    return {
        "type": kind,
        "event_id": f"{kind}:{order_id}",
        "user_id": user_id,
        "order_id": order_id,
        "amount_fen": 100,
        "lines": lines,
        "occurred_at": at(hours_ago),
    }


def refresh(
    catalog: FakeCatalogRepository,
    store: FakeStore,
    events: list[dict[str, Any]],
    promotions: list[dict[str, Any]] | None = None,
    themes: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    return service.refresh_recommendations(
        events, FakeCatalogFacts(catalog), FakePromotions(promotions), FakeThemes(themes), store, NOW
    )


def ids(cards: list[dict[str, Any]]) -> list[str]:
    return [card["product_id"] for card in cards]


@pytest.fixture
def catalog() -> FakeCatalogRepository:
    repo = FakeCatalogRepository()
    for product_id in ("p_a", "p_b", "p_c", "p_d", "p_e"):
        add_product(repo, product_id)
    return repo


# ---------------------------------------------------------------- events -> interactions


def test_every_behaviour_event_kind_becomes_its_interaction_and_order_events_count_once_per_line() -> None:
    events = [
        viewed("u1", "p_a"),
        viewed(None, "p_a"),
        {"type": "favorite_added", "user_id": "u1", "product_id": "p_b", "occurred_at": at(2)},
        {
            "type": "cart_item_added",
            "user_id": "u1",
            "product_id": "p_c",
            "sku_id": "p_c-01",
            "quantity": 2,
            "occurred_at": at(2),
        },
        order_event("order_placed", "u1", "o1", ["p_c", "p_d"], 3),
        order_event("order_paid", "u1", "o1", ["p_c", "p_d"], 2),
        {"type": "order_received", "user_id": "u1", "order_id": "o1", "occurred_at": at(1)},
        {
            "type": "review_posted",
            "user_id": "u1",
            "order_id": "o1",
            "product_id": "p_c",
            "sku_id": "p_c-01",
            "rating": 5,
            "occurred_at": at(0.5),
        },
        {"type": "search_performed", "user_id": "u1", "keyword": "手机", "occurred_at": at(1)},
        {
            "type": "order_refunded",
            "user_id": "u1",
            "order_id": "o1",
            "refund_id": "r1",
            "amount_fen": 1,
            "occurred_at": at(0.2),
        },
    ]
    interactions, skipped = interactions_from_events(events)
    kinds = sorted((i.user_id, i.product_id, i.kind) for i in interactions)
    assert kinds == sorted(
        [
            ("u1", "p_a", "view"),
            ("", "p_a", "view"),
            ("u1", "p_b", "favorite"),
            ("u1", "p_c", "cart_add"),
            ("u1", "p_c", "order"),
            ("u1", "p_d", "order"),
            ("u1", "p_c", "pay"),
            ("u1", "p_d", "pay"),
            ("u1", "p_c", "receive"),
            ("u1", "p_d", "receive"),
            ("u1", "p_c", "review"),
        ]
    )
    assert skipped == 0
    view = next(i for i in interactions if i.kind == "view" and i.user_id == "u1")
    assert view == Interaction("u1", "p_a", "view", (NOW - timedelta(hours=1)).timestamp())


def test_a_receipt_of_an_order_placed_before_the_window_and_broken_lines_count_nothing() -> None:
    events = [
        {"type": "order_received", "user_id": "u1", "order_id": "o_old", "occurred_at": at(1)},
        {"type": "product_viewed", "user_id": "u1", "occurred_at": at(1)},  # no product
        {"type": "product_viewed", "user_id": "u1", "product_id": "p_a", "occurred_at": "yesterday"},
    ]
    interactions, skipped = interactions_from_events(events)
    assert interactions == []
    assert skipped == 2


# ---------------------------------------------------------------- the refresh and the reads


def test_sold_out_and_off_sale_products_are_never_shown_however_popular(catalog: FakeCatalogRepository) -> None:
    add_product(catalog, "p_sold_out", stock=0)
    add_product(catalog, "p_off", on_sale=False)
    store = FakeStore()
    events = [viewed(f"u{n}", pid) for n in range(5) for pid in ("p_sold_out", "p_off", "p_a")]
    refresh(catalog, store, events)

    page = service.home(store, catalog, "u1", NOW)
    shown = {pid for name in ("hot", "new", "for_you") for pid in ids(page[name])}
    assert "p_sold_out" not in shown and "p_off" not in shown
    assert ids(page["hot"])[0] == "p_a"
    similar = service.similar_items(store, catalog, "p_a", 20)["items"]
    assert {"p_sold_out", "p_off"}.isdisjoint(ids(similar))


def test_without_any_behaviour_hot_is_by_sales_then_newest(catalog: FakeCatalogRepository) -> None:
    add_product(catalog, "p_best", sales=50, days_old=20)
    add_product(catalog, "p_second", sales=10, days_old=25)
    add_product(catalog, "p_newest", days_old=0.1)
    store = FakeStore()
    refresh(catalog, store, [])
    page = service.home(store, catalog, None, NOW)
    assert ids(page["hot"])[:3] == ["p_best", "p_second", "p_newest"]
    assert ids(page["new"])[0] == "p_newest"
    assert page["for_you"] == page["hot"] and page["personal"] is False
    assert page["generated_at"] == "2026-11-24T08:00:00Z"


def test_before_the_first_refresh_every_read_answers_with_a_fallback(catalog: FakeCatalogRepository) -> None:
    add_product(catalog, "p_seller", sales=99, days_old=5)
    add_product(catalog, "p_other_kind", category="c_tv")
    store = FakeStore()
    page = service.home(store, catalog, "u1", NOW)
    assert ids(page["hot"])[0] == "p_seller"
    assert len(page["new"]) == 7 and page["promotions"] == [] and page["themes"] == []
    assert page["for_you"] == page["hot"] and page["generated_at"] is None
    similar = ids(service.similar_items(store, catalog, "p_a", 10)["items"])
    assert "p_a" not in similar and "p_other_kind" not in similar and len(similar) == 5  # its category, newest first
    assert service.recommendations_for_search(store, catalog, ["p_a"], "c_phone", 5) == ([], "hot")


def test_who_viewed_a_also_viewed_b_makes_b_similar_to_a_and_a_pick_of_a_shopper_who_only_saw_a(
    catalog: FakeCatalogRepository,
) -> None:
    events = [viewed(f"u{n}", pid, n) for n in range(4) for pid in ("p_a", "p_b")]
    events += [viewed("u_c", "p_c"), viewed("u_c", "p_d"), viewed("newcomer", "p_a", 0.5)]
    events += [order_event("order_placed", "buyer", "o1", ["p_b"], 2), viewed("buyer", "p_a", 3)]
    store = FakeStore()
    outcome = refresh(catalog, store, events)
    assert outcome["for_you_lists"] == 7

    assert ids(service.similar_items(store, catalog, "p_a", 3)["items"])[0] == "p_b"
    mine = service.home(store, catalog, "newcomer", NOW)
    assert mine["personal"] is True and "p_b" in ids(mine["for_you"])[:2]
    bought = service.home(store, catalog, "buyer", NOW)
    assert "p_b" not in ids(bought["for_you"])  # never what they bought


def test_a_signed_in_shopper_without_picks_gets_the_hot_list(catalog: FakeCatalogRepository) -> None:
    store = FakeStore()
    refresh(catalog, store, [viewed("u1", "p_c")])
    page = service.home(store, catalog, "stranger", NOW)
    assert page["personal"] is False and page["for_you"] == page["hot"]


def test_a_product_taken_off_sale_after_the_refresh_leaves_the_lists_at_once(catalog: FakeCatalogRepository) -> None:
    store = FakeStore()
    refresh(catalog, store, [viewed("u1", "p_a"), viewed("u1", "p_b")])
    catalog.products["p_a"]["on_sale"] = False
    page = service.home(store, catalog, None, NOW)
    assert "p_a" not in ids(page["hot"]) + ids(page["new"])
    assert "p_a" not in ids(service.similar_items(store, catalog, "p_b", 10)["items"])


def test_similar_items_of_an_unknown_product_is_not_found(catalog: FakeCatalogRepository) -> None:
    store = FakeStore()
    refresh(catalog, store, [])
    with pytest.raises(NotFound):
        service.similar_items(store, catalog, "p_nope", 10)
    refresh(catalog, store, [])
    del catalog.products["p_a"]  # deleted after the refresh stored its list
    with pytest.raises(NotFound):
        service.similar_items(store, catalog, "p_a", 10)


def test_promotions_show_flash_prices_deepest_first_then_threshold_scope_and_hide_ended_ones(
    catalog: FakeCatalogRepository,
) -> None:
    add_product(catalog, "p_tv", category="c_tv")
    window = {"starts_at": at(24), "ends_at": at(-24), "tiers": [], "scope": "all", "scope_ids": []}
    promotions = [
        {
            **window,
            "promotion_id": "pr_small",
            "name": "9折",
            "kind": "flash_price",
            "sku_prices": [{"sku_id": "p_a-01", "price_fen": 9000}],
        },
        {
            **window,
            "promotion_id": "pr_big",
            "name": "5折",
            "kind": "flash_price",
            "sku_prices": [{"sku_id": "p_b-01", "price_fen": 5000}],
        },
        {
            **window,
            "promotion_id": "pr_tv",
            "name": "满减",
            "kind": "threshold",
            "sku_prices": [],
            "tiers": [{"threshold_fen": 100, "off_fen": 10}],
            "scope": "category",
            "scope_ids": ["c_tv"],
        },
        {
            **window,
            "promotion_id": "pr_soon_over",
            "name": "快结束",
            "kind": "flash_price",
            "ends_at": at(-1),
            "sku_prices": [{"sku_id": "p_c-01", "price_fen": 9500}],
        },
    ]
    store = FakeStore()
    refresh(catalog, store, [], promotions)
    assert ids(service.home(store, catalog, None, NOW)["promotions"]) == ["p_b", "p_a", "p_c", "p_tv"]
    later = service.home(store, catalog, None, NOW + timedelta(hours=2))
    assert ids(later["promotions"]) == ["p_b", "p_a", "p_tv"]


def test_themes_show_curated_items_in_order_or_rule_items_while_their_window_is_open(
    catalog: FakeCatalogRepository,
) -> None:
    add_product(catalog, "p_cheap_x", brand="b_x", price_fen=500)
    add_product(catalog, "p_dear_x", brand="b_x", price_fen=90000)
    add_product(catalog, "p_sold_out", stock=0)
    themes = [
        {
            "theme_id": "t_curated",
            "title": "精选",
            "subtitle": "",
            "banner_url": None,
            "sort_order": 1,
            "product_ids": ["p_c", "p_sold_out", "p_a"],
            "rule": None,
            "starts_at": at(5),
            "ends_at": at(-5),
        },
        {
            "theme_id": "t_rule",
            "title": "小米",
            "subtitle": "便宜",
            "banner_url": None,
            "sort_order": 0,
            "product_ids": [],
            "rule": {"brand_id": "b_x", "max_price_fen": 1000},
            "starts_at": at(5),
            "ends_at": at(-48),
        },
        {
            "theme_id": "t_later",
            "title": "双十二",
            "subtitle": "",
            "banner_url": None,
            "sort_order": 0,
            "product_ids": ["p_a"],
            "rule": None,
            "starts_at": at(-10),
            "ends_at": at(-48),
        },
        {
            "theme_id": "t_over",
            "title": "过去",
            "subtitle": "",
            "banner_url": None,
            "sort_order": 0,
            "product_ids": ["p_a"],
            "rule": None,
            "starts_at": at(50),
            "ends_at": at(40),
        },
    ]
    store = FakeStore()
    refresh(catalog, store, [], themes=themes)
    shelves = service.home(store, catalog, None, NOW)["themes"]
    assert [(s["theme_id"], ids(s["items"])) for s in shelves] == [
        ("t_rule", ["p_cheap_x"]),
        ("t_curated", ["p_c", "p_a"]),
    ]
    later = service.home(store, catalog, None, NOW + timedelta(hours=12))["themes"]
    assert [s["theme_id"] for s in later] == ["t_rule", "t_later"]


def test_search_recommendations_take_the_results_neighbours_in_turn_then_the_categorys_hot_never_a_result(
    catalog: FakeCatalogRepository,
) -> None:
    add_product(catalog, "p_tv", category="c_tv")
    events = [viewed(f"u{n}", pid, n) for n in range(3) for pid in ("p_a", "p_b")]
    events += [viewed(f"w{n}", pid, n) for n in range(3) for pid in ("p_c", "p_d")]
    events += [viewed(f"t{n}", "p_tv", n) for n in range(9)]
    store = FakeStore()
    refresh(catalog, store, events)
    reads = store.reads
    picks = ids(service.recommendations_for_search(store, catalog, ["p_a", "p_c"], "c_phone", 4)[0])
    assert store.reads == reads + 1
    assert picks == ["p_b", "p_d", "p_e", "p_tv"]  # the category's other products come before the shop's hot
    anywhere = ids(service.recommendations_for_search(store, catalog, ["p_a"], None, 10)[0])
    assert anywhere[0] == "p_b" and "p_tv" in anywhere


def test_a_second_refresh_of_the_same_inputs_stores_the_same_lists(catalog: FakeCatalogRepository) -> None:
    events = [viewed(f"u{n}", pid, n) for n in range(3) for pid in ("p_a", "p_b", "p_c")]
    first, second = FakeStore(), FakeStore()
    refresh(catalog, first, events)
    refresh(catalog, second, events)
    refresh(catalog, second, events)
    assert first.lists == second.lists and first.home == second.home
