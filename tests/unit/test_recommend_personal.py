"""For you on tiny hand-made behaviour: neighbours of what a shopper did, never what they bought, fallbacks."""

from __future__ import annotations

import random

from chalicelib.recommend.behaviour import KINDS, Interaction, purchases
from chalicelib.recommend.personal import for_all_users, for_you
from chalicelib.recommend.similarity import item_item

DAY = 86_400.0
NOW = 1_800_000_000.0
NEIGHBOURS = {
    "tent": [("sleeping_bag", 0.9), ("stove", 0.4)],
    "phone": [("case", 0.8), ("charger", 0.7)],
    "sleeping_bag": [("tent", 0.9), ("mat", 0.4)],
}
HOT = ["best_seller", "tent", "runner_up", "third"]


def test_a_shopper_who_viewed_a_tent_gets_its_neighbours_and_the_tent_again() -> None:
    picks = for_you([Interaction("u1", "tent", "view", NOW)], NEIGHBOURS, set(), HOT, k=3)
    assert picks == ["sleeping_bag", "tent", "stove"]


def test_bought_products_are_never_recommended_back() -> None:
    history = [Interaction("u1", "tent", "order", NOW), Interaction("u1", "sleeping_bag", "view", NOW)]
    picks = for_you(history, NEIGHBOURS, {"tent"}, HOT, k=10)
    assert picks == ["sleeping_bag", "stove", "mat", "best_seller", "runner_up", "third"]


def test_recent_footprints_outweigh_old_ones() -> None:
    history = [Interaction("u1", "phone", "view", NOW - 60 * DAY), Interaction("u1", "tent", "view", NOW - DAY)]
    picks = for_you(history, NEIGHBOURS, set(), [], k=2, now=NOW)
    assert picks == ["sleeping_bag", "tent"]


def test_a_new_shopper_gets_hot_without_what_they_bought() -> None:
    assert for_you([], NEIGHBOURS, {"best_seller"}, HOT, k=2) == ["tent", "runner_up"]


def test_a_shopper_whose_products_have_no_neighbours_is_topped_up_from_hot() -> None:
    picks = for_you([Interaction("u1", "cold", "view", NOW)], NEIGHBOURS, set(), HOT, k=3)
    assert picks == ["cold", "best_seller", "tent"]


def test_the_batch_excludes_purchases_and_only_covers_active_shoppers() -> None:
    events = [
        Interaction("active", "tent", "order", NOW - DAY),
        Interaction("active", "phone", "view", NOW - DAY),
        Interaction("gone", "tent", "view", NOW - 90 * DAY),
    ]
    picks = for_all_users(events, NEIGHBOURS, purchases(events), HOT, k=4, active_since=NOW - 30 * DAY, now=NOW)
    assert set(picks) == {"active"}
    assert picks["active"] == ["sleeping_bag", "stove", "case", "charger"]


def test_the_batch_of_nothing_is_empty() -> None:
    assert for_all_users([], NEIGHBOURS, {}, HOT) == {}


def test_the_batch_gives_each_shopper_what_for_you_gives_them() -> None:
    rng = random.Random(5)
    products = [f"p{n:02d}" for n in range(25)]
    events = [
        Interaction(f"u{rng.randrange(12)}", rng.choice(products), rng.choice(KINDS), NOW - rng.uniform(0, 40 * DAY))
        for _ in range(300)
    ]
    similar = item_item(events, NOW, k=5)
    bought = purchases(events)
    batch = for_all_users(events, similar, bought, ["p00", "p01", "p02"], k=8, now=NOW)
    plain = dict(similar)  # the plain-dict path of the batch must agree too
    batch_from_dict = for_all_users(events, plain, bought, ["p00", "p01", "p02"], k=8, now=NOW)
    assert len(batch) == 12
    for user_id, picks in batch.items():
        history = [e for e in events if e.user_id == user_id]
        alone = for_you(history, similar, bought.get(user_id, set()), ["p00", "p01", "p02"], k=8, now=NOW)
        assert picks == alone == batch_from_dict[user_id]
        assert not set(picks) & bought.get(user_id, set())
