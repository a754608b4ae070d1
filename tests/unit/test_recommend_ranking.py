"""Hot, new arrivals and the same category/brand fallback on hand-made behaviour and catalogs."""

from __future__ import annotations

from chalicelib.recommend.behaviour import Interaction, decay, purchases
from chalicelib.recommend.ranking import ProductFacts, content_neighbours, hot, new_arrivals

DAY = 86_400.0
NOW = 1_800_000_000.0


def product(product_id: str, category: str = "c1", brand: str = "b1", **facts: object) -> ProductFacts:
    values: dict = {"created_at": NOW - DAY, "in_stock": True, "on_sale": True, "sales": 0, "rating_avg": 0.0}
    values.update(facts)
    return ProductFacts(product_id, category, brand, **values)


def test_decay_halves_the_weight_every_half_life_and_the_future_counts_in_full() -> None:
    assert decay(3 * DAY, 3.0) == 0.5
    assert abs(decay(6 * DAY, 3.0) - 0.25) < 1e-12
    assert decay(-DAY, 3.0) == 1.0


def test_recent_views_outrank_more_numerous_old_ones_in_hot() -> None:
    old = [Interaction(f"u{i}", "old", "view", NOW - 30 * DAY) for i in range(10)]
    recent = [Interaction(f"u{i}", "recent", "view", NOW - DAY) for i in range(2)]
    ranked = hot(old + recent, NOW)
    assert [p for p, _ in ranked] == ["recent", "old"]


def test_a_sale_counts_more_than_a_view_in_hot() -> None:
    ranked = hot([Interaction("u1", "viewed", "view", NOW), Interaction("u2", "sold", "order", NOW)], NOW)
    assert ranked[0][0] == "sold"


def test_hot_ties_go_to_the_smaller_product_id_and_limit_applies() -> None:
    events = [Interaction("u1", p, "view", NOW) for p in ("p3", "p1", "p2")]
    assert [p for p, _ in hot(events, NOW, limit=2)] == ["p1", "p2"]


def test_nothing_happened_gives_empty_lists() -> None:
    assert hot([], NOW) == []
    assert new_arrivals([], NOW) == []
    assert content_neighbours([]) == {}
    assert purchases([]) == {}


def test_new_arrivals_are_recent_sellable_products_newest_first() -> None:
    products = [
        product("older", created_at=NOW - 5 * DAY),
        product("newest", created_at=NOW - DAY),
        product("sold_out", created_at=NOW - DAY, in_stock=False),
        product("off_sale", created_at=NOW - DAY, on_sale=False),
        product("ancient", created_at=NOW - 90 * DAY),
    ]
    assert new_arrivals(products, NOW) == ["newest", "older"]


def test_content_neighbours_prefer_same_category_and_brand_then_category_then_brand() -> None:
    products = [
        product("cold", "phones", "acme"),
        product("same_brand_phone", "phones", "acme", sales=1),
        product("other_phone_bestseller", "phones", "zeta", sales=100),
        product("acme_charger", "chargers", "acme", sales=50),
        product("unrelated", "snacks", "yum", sales=1000),
        product("hidden_phone", "phones", "acme", on_sale=False, sales=999),
    ]
    listed = content_neighbours(products, limit=3)["cold"]
    assert [p for p, _ in listed] == ["same_brand_phone", "other_phone_bestseller", "acme_charger"]
    assert listed[0][1] > listed[1][1] > listed[2][1]


def test_content_neighbours_never_list_the_product_itself_and_respect_the_limit() -> None:
    products = [product(f"p{i}", sales=i) for i in range(30)]
    neighbours = content_neighbours(products, limit=5)
    assert all(len(listed) == 5 and pid not in dict(listed) for pid, listed in neighbours.items())
    assert [p for p, _ in neighbours["p29"]] == ["p28", "p27", "p26", "p25", "p24"]


def test_purchases_collect_bought_products_but_not_views_or_carts() -> None:
    events = [
        Interaction("u1", "a", "view", NOW),
        Interaction("u1", "b", "cart_add", NOW),
        Interaction("u1", "c", "pay", NOW),
        Interaction("u2", "d", "order", NOW),
    ]
    assert purchases(events) == {"u1": {"c"}, "u2": {"d"}}
