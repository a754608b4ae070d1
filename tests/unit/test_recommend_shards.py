"""The pieces of the sharded refresh that must add up to the one-Lambda refresh: a product block's similarity rows and
segment tallies of disjoint shoppers."""

from __future__ import annotations

import random
from datetime import date

from chalicelib.recommend.behaviour import KINDS, Interaction
from chalicelib.recommend.segments import (
    AudienceProfile,
    lists_of_tallies,
    merged_tallies,
    segment_lists,
    segment_tallies,
)
from chalicelib.recommend.similarity import encode, item_item

NOW = 1_800_000_000.0


def behaviour(seed: int = 5, users: int = 60, products: int = 30, events: int = 900) -> list[Interaction]:
    rng = random.Random(seed)
    return [
        Interaction(f"u{rng.randrange(users):03d}", f"p{rng.randrange(products):03d}", rng.choice(KINDS),
                    NOW - rng.uniform(0, 30 * 86_400))
        for _ in range(events)
    ]  # fmt: skip


def test_the_similar_items_of_product_blocks_are_those_of_the_whole_catalog() -> None:
    # GIVEN shoppers' behaviour over 30 products
    encoded = encode(behaviour())
    whole = dict(item_item(encoded, NOW, k=5))

    # WHEN the products are cut into blocks [first, end) and each block computed alone
    blocks = [(None, "p010"), ("p010", "p021"), ("p021", None)]
    parts = [dict(item_item(encoded, NOW, k=5, block=block)) for block in blocks]

    # THEN every block holds exactly its products' rows, and together they are the whole
    assert sorted(parts[1]) == [p for p in sorted(whole) if "p010" <= p < "p021"]
    assert {pid: row for part in parts for pid, row in part.items()} == whole


def test_segment_tallies_of_disjoint_shoppers_add_up_to_the_lists_of_all_of_them() -> None:
    # GIVEN shoppers with profiles in a few segments, and their behaviour
    events = behaviour(seed=9)
    occupations = ("student", "office_worker", "teacher")
    profiles = {f"u{n:03d}": AudienceProfile("1995-05-01", "female", occupations[n % 3], ("c1",)) for n in range(60)}
    sellable = {f"p{n:03d}" for n in range(0, 30, 2)}
    today = date(2026, 12, 6)

    # WHEN the shoppers are split in two buckets, each tallied alone, and the tallies merged
    halves = [[e for e in events if int(e.user_id[1:]) % 2 == bucket] for bucket in (0, 1)]
    merged = merged_tallies(segment_tallies(half, profiles, sellable, today) for half in halves)

    # THEN the lists are those of all the shoppers at once
    assert lists_of_tallies(merged) == segment_lists(events, profiles, sellable, today)
    assert lists_of_tallies(merged)
