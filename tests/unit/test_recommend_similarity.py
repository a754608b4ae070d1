"""Item-item similarity on tiny hand-made behaviour: planted pairs are found, decay, ties, fallbacks, imports."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from chalicelib.recommend.behaviour import Interaction
from chalicelib.recommend.similarity import item_item, with_fallback

DAY = 86_400.0
NOW = 1_800_000_000.0
ROOT = Path(__file__).resolve().parents[2]


def bought_together(users: range, first: str, second: str, at: float = NOW - DAY) -> list[Interaction]:
    return [Interaction(f"u{u}", p, "order", at) for u in users for p in (first, second)]


def test_products_bought_by_the_same_shoppers_are_each_others_first_neighbour() -> None:
    events = bought_together(range(5), "tent", "sleeping_bag") + bought_together(range(5, 10), "phone", "case")
    # One shopper crosses the groups: a weak link, outranked by the planted pairs.
    events += [Interaction("u0", "phone", "view", NOW - DAY)]
    similar = item_item(events, NOW)
    assert similar["tent"][0][0] == "sleeping_bag"
    assert similar["phone"][0][0] == "case"
    assert similar["case"][0][0] == "phone"
    assert all(p != "tent" for p, _ in similar["tent"])


def test_old_co_occurrence_counts_less_than_recent_co_occurrence() -> None:
    events = bought_together(range(3), "tent", "old_partner", at=NOW - 200 * DAY)
    events += bought_together(range(3, 6), "tent", "new_partner", at=NOW - DAY)
    ranked = [p for p, _ in item_item(events, NOW)["tent"]]
    assert ranked == ["new_partner", "old_partner"]


def test_equal_scores_are_ordered_by_product_id_on_every_run() -> None:
    events = [Interaction("u1", p, "view", NOW) for p in ("hub", "zeta", "alpha", "mid")]
    for _ in range(3):
        assert [p for p, _ in item_item(events, NOW)["hub"]] == ["alpha", "mid", "zeta"]


def test_only_the_top_k_neighbours_are_kept_best_first() -> None:
    events = [Interaction(f"u{n}", "hub", "order", NOW) for n in range(8)]
    events += [Interaction(f"u{n}", f"p{n}", "view" if n % 2 else "order", NOW) for n in range(8)]
    listed = item_item(events, NOW, k=3)["hub"]
    assert len(listed) == 3
    assert [s for _, s in listed] == sorted((s for _, s in listed), reverse=True)
    assert {p for p, _ in listed} == {"p0", "p2", "p4"}


def test_non_candidates_are_never_offered_as_neighbours() -> None:
    events = bought_together(range(4), "tent", "discontinued") + bought_together(range(2), "tent", "lamp")
    similar = item_item(events, NOW, candidates={"tent", "lamp"})
    assert [p for p, _ in similar["tent"]] == ["lamp"]


def test_products_without_behaviour_get_the_content_fallback_after_behavioural_neighbours() -> None:
    similar = item_item(bought_together(range(3), "tent", "sleeping_bag"), NOW)
    content = {"tent": [("stove", 1.0), ("sleeping_bag", 1.0)], "new_tent": [("tent", 1.0), ("stove", 0.6)]}
    merged = with_fallback(similar, content, k=3)
    assert [p for p, _ in merged["tent"]] == ["sleeping_bag", "stove"]
    assert merged["tent"][1][1] < merged["tent"][0][1]
    assert [p for p, _ in merged["new_tent"]] == ["tent", "stove"]
    assert "new_tent" not in similar


def test_no_behaviour_gives_no_neighbours() -> None:
    similar = item_item([], NOW)
    assert len(similar) == 0
    assert dict(similar) == {}


def test_importing_the_app_loads_neither_numpy_nor_scipy() -> None:
    probe = "import sys, app; print(sorted(m for m in ('numpy', 'scipy') if m in sys.modules))"
    env = {"AWS_DEFAULT_REGION": "us-east-1", "SHOP_STAGE": "local", "PATH": "/usr/bin:/bin"}
    out = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, env=env, check=True)
    assert out.stdout.strip() == "[]"
