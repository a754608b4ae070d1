"""Audience recommendations offline: cold-start shoppers, their segment's list vs the global popularity list.

Run: make bench (or .venv/bin/python bench/recommend_audience.py [--small] [--seed N]).
Data (synthetic, planted): shoppers get a profile (birthday, gender, occupation, 0-3 interests among the root
categories) and shop from a mix of the global popularity curve (POPULAR_SHARE of their picks) and a taste that
depends on their age band, gender and first interest (the rest). So the data holds the signal segments are meant
to find; the bench measures how much of it the shipped code recovers, against the list every cold shopper gets
without it.
Held out: COLD shoppers' whole behaviour is hidden (they are cold-start); their purchases are the targets.
Models, both trained on the other shoppers' behaviour only:
  popularity   the most bought and viewed products overall (KIND_WEIGHTS)
  segment      chalicelib.recommend.segments: segment_lists over the others' behaviour and profiles, then for each
               cold shopper compose(...) of the most specific stored list of their segment (interest categories
               first, then the categories' best sellers, then popularity), as the home page does
Metric: hit-rate@10 (a cold shopper counts when one of their purchases is among the first 10). Goal: beat popularity.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT)]

from chalicelib.recommend.behaviour import KIND_WEIGHTS, Interaction  # noqa: E402
from chalicelib.recommend.segments import AudienceProfile, compose, segment_keys, segment_lists  # noqa: E402

TODAY = date(2026, 12, 6)
TOP = 10
POPULAR_SHARE = 0.4
OCCUPATIONS = ("student", "office_worker", "professional", "self_employed", "homemaker", "retired", "other")
SIZES = {"full": (20_000, 5_000, 40, 2_000), "small": (3_000, 1_000, 20, 400)}  # shoppers, products, roots, cold


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--small", action="store_true")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    shoppers, products, roots, cold = SIZES["small" if args.small else "full"]
    rng = random.Random(args.seed)
    root_of = {f"p{n}": f"c{n % roots}" for n in range(products)}
    by_root: dict[str, list[str]] = {}
    for pid, root in root_of.items():
        by_root.setdefault(root, []).append(pid)
    popular_curve = [f"p{n}" for n in range(products)]
    weights = [1 / (rank + 1) for rank in range(products)]  # Zipf: a few products everyone buys
    tastes: dict[tuple[str, str, str], list[str]] = {}

    def taste(profile: AudienceProfile) -> list[str]:
        band, gender, _occupation, interest = segment_keys(profile, TODAY)[0].split("|")
        key = (band, gender, interest)
        if key not in tastes:
            pool = by_root.get(interest) or popular_curve
            tastes[key] = rng.sample(pool, min(8, len(pool)))
        return tastes[key]

    profiles: dict[str, AudienceProfile] = {}
    behaviour: dict[str, list[Interaction]] = {}
    for n in range(shoppers):
        user = f"u{n}"
        year = rng.choice((2010, 2004, 1996, 1986, 1972, 1955))
        interests = tuple(rng.sample([f"c{r}" for r in range(roots)], rng.choice((0, 1, 1, 2, 3))))
        profiles[user] = AudienceProfile(
            f"{year}-06-01", rng.choice(("male", "female")), rng.choice(OCCUPATIONS), interests
        )
        events = []
        for step in range(rng.randint(3, 12)):
            liked = taste(profiles[user])
            pid = rng.choices(popular_curve, weights)[0] if rng.random() < POPULAR_SHARE else rng.choice(liked)
            kind = "pay" if rng.random() < 0.3 else "view"
            events.append(Interaction(user, pid, kind, float(step)))  # type: ignore[arg-type]
        behaviour[user] = events
    cold_users = rng.sample(sorted(behaviour), cold)
    cold_set = set(cold_users)
    training = [i for user, events in behaviour.items() if user not in cold_set for i in events]
    targets = {u: {i.product_id for i in behaviour[u] if i.kind == "pay"} for u in cold_users}
    targets = {u: bought for u, bought in targets.items() if bought}

    started = time.perf_counter()
    scores: dict[str, float] = {}
    for interaction in training:
        scores[interaction.product_id] = scores.get(interaction.product_id, 0.0) + KIND_WEIGHTS[interaction.kind]
    popularity = sorted(scores, key=lambda pid: (-scores[pid], pid))
    lists = segment_lists(training, profiles, set(root_of), TODAY)
    best_of_root = {root: [pid for pid in popularity if root_of[pid] == root][:20] for root in by_root}
    built = time.perf_counter() - started

    def segment_picks(user: str) -> list[str]:
        profile = profiles[user]
        segment = next((lists[key] for key in segment_keys(profile, TODAY) if key in lists), [])
        wanted = set(profile.interests)
        in_interest = {pid for pid in segment if root_of[pid] in wanted}
        best = [best_of_root[c] for c in profile.interests[:3]]
        return compose(segment, in_interest, best, popularity[:100], set())[:TOP]

    def hit_rate(picks_of: object) -> float:
        hits = sum(1 for user, bought in targets.items() if bought & set(picks_of(user)))  # type: ignore[operator]
        return round(hits / len(targets), 4)

    popularity_rate = hit_rate(lambda _user: popularity[:TOP])
    segment_rate = hit_rate(segment_picks)
    print(json.dumps({
        "shoppers": shoppers, "products": products, "cold_shoppers": len(targets), "segments_stored": len(lists),
        "hit_rate_at_10": {"popularity": popularity_rate, "segment": segment_rate},
        "beats_popularity": segment_rate > popularity_rate, "build_seconds": round(built, 2),
    }, indent=2))  # fmt: skip


if __name__ == "__main__":
    main()
