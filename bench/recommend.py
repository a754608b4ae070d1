"""Recommendations offline: hit-rate@10 on held-out purchases, refresh time and peak memory, ours vs implicit.

Run: make bench (or .venv/bin/python bench/recommend.py [--small] [--seed N]; RECOMMEND_BENCH_SMALL=1 also works).
--scale: the refresh at 1M, 3M and 10M events instead (bench/_recommend_scale.py says what it measures).
Data: bench/_behaviour_generator.py (planted taste groups), 1M events / 50k products / 100k shoppers at full size.
Held out: for up to 5,000 shoppers whose last session ended in a purchase and who shopped before, that whole last
session; the target is what they bought in it. Every model trains on the same remaining events and excludes the
same products (what the shopper bought before). Shoppers the refresh does not cover (no behaviour in the 30 days
before `now`) get the popularity list, for every model alike.
Models, each in its own subprocess so that its peak RSS is its own:
  popularity   ranking.hot over the training events
  ours         similarity.item_item + personal.for_all_users for the active shoppers (the whole refresh)
  implicit-*   implicit's CosineRecommender / BM25Recommender (K=20) fit on the same weighted user x product matrix
               ours builds, then recommend() for the same shoppers, filter_already_liked_items=False, bought dropped
Times: "encode" (Interaction objects -> the weighted sparse matrix; every model but popularity needs it, done
once) and "model" (ours: similarity + for-you; implicit: fit + recommend). Peak RSS includes the loaded events.
Goals (issue 7): hit-rate@10 >= implicit's best, model time < implicit's, peak RSS < 2 GB.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "bench")]

import numpy as np  # noqa: E402
from _behaviour_generator import FULL, PURCHASE_CODE, SMALL, Generated, generate, interactions, product_id, user_id  # noqa: E402

from chalicelib.recommend.behaviour import purchases  # noqa: E402

TOP = 10
TEST_SHOPPERS = 5_000
ACTIVE_DAYS = 30.0
MODELS = ("popularity", "ours", "implicit-cosine", "implicit-bm25")
GOAL_PEAK_MB = 2048


def hold_out(data: Generated, limit: int, seed: int) -> tuple[np.ndarray, dict[int, set[int]]]:
    """Training rows, and per test shopper the products bought in their held-out last session."""
    last = np.r_[data.user[1:] != data.user[:-1], True]  # rows are ordered by shopper, then time
    last_session = np.zeros(len(data.user), np.int32)
    last_session[:] = -1
    starts = np.r_[0, np.flatnonzero(last[:-1]) + 1]
    ends = np.flatnonzero(last) + 1
    candidates = []
    for start, end in zip(starts.tolist(), ends.tolist(), strict=True):
        session = data.session[end - 1]
        first = start + int(np.argmax(data.session[start:end] == session))
        if first > start and (data.kind[first:end] == PURCHASE_CODE).any():
            candidates.append((start, first, end))
    rng = np.random.default_rng(seed)
    chosen = rng.choice(len(candidates), size=min(limit, len(candidates)), replace=False)
    train = np.ones(len(data.user), bool)
    targets: dict[int, set[int]] = {}
    for c in sorted(chosen.tolist()):
        _, first, end = candidates[c]
        train[first:end] = False
        bought = data.product[first:end][data.kind[first:end] == PURCHASE_CODE]
        targets[int(data.user[first])] = set(bought.tolist())
    return np.flatnonzero(train), targets


def scores(picks: dict[str, list[str]], targets: dict[str, set[str]]) -> dict[str, float]:
    hits, recall, ndcg = 0, 0.0, 0.0
    for shopper, wanted in targets.items():
        top = picks.get(shopper, [])[:TOP]
        found = [rank for rank, p in enumerate(top) if p in wanted]
        hits += bool(found)
        recall += len(found) / min(len(wanted), TOP)
        ideal = sum(1 / math.log2(r + 2) for r in range(min(len(wanted), TOP)))
        ndcg += sum(1 / math.log2(r + 2) for r in found) / ideal
    n = max(len(targets), 1)
    return {"hit_rate": hits / n, "recall": recall / n, "ndcg": ndcg / n}


def run_model(model: str, data_path: Path) -> dict[str, float]:
    """One model on the saved data (in the subprocess): its metrics, times and peak RSS."""
    with np.load(data_path) as saved:
        fields = {name: saved[name] for name in saved.files if name not in ("train", "targets", "now")}
        data = Generated(**fields, now=float(saved["now"]))
        train, flat_targets = saved["train"], saved["targets"]
    targets: dict[str, set[str]] = {}
    for shopper, product in flat_targets.tolist():
        targets.setdefault(user_id(shopper), set()).add(product_id(product))
    events = interactions(data, train)
    now, active_since = data.now, data.now - ACTIVE_DAYS * 86_400
    bought = purchases(events)
    before_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    from chalicelib.recommend.ranking import hot

    popular = [p for p, _ in hot(events, now, limit=200)]
    result: dict[str, float] = {}
    if model == "popularity":
        started = time.perf_counter()
        picks = {u: [p for p in popular if p not in bought.get(u, ())][:TOP] for u in targets}
        result["model_s"] = time.perf_counter() - started
        result["encode_s"] = 0.0
    else:
        from chalicelib.recommend import similarity

        started = time.perf_counter()
        behaviour = similarity.encode(events)
        encoded = time.perf_counter()
        result["encode_s"] = encoded - started
        if model == "ours":
            from chalicelib.recommend.personal import for_all_users

            similar = similarity.item_item(behaviour, now)
            picks = for_all_users(behaviour, similar, bought, popular, k=20, active_since=active_since, now=now)
            result["model_s"] = time.perf_counter() - encoded
        else:
            picks = run_implicit(model, behaviour, bought, now, active_since, result)
        for shopper in targets:
            if shopper not in picks:
                picks[shopper] = [p for p in popular if p not in bought.get(shopper, ())][:TOP]
    result.update(scores(picks, targets))
    result["covered"] = len(picks)
    result["before_mb"] = before_mb
    result["peak_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return result


def run_implicit(
    model: str, behaviour: Any, bought: dict[str, set[str]], now: float, active_since: float, result: dict[str, float]
) -> dict[str, list[str]]:
    from implicit.nearest_neighbours import BM25Recommender, CosineRecommender

    from chalicelib.recommend.similarity import SIMILARITY_HALF_LIFE_DAYS

    started = time.perf_counter()
    matrix = behaviour.matrix(now, SIMILARITY_HALF_LIFE_DAYS).astype(np.float32).tocsr()
    active = np.flatnonzero(behaviour.last_seen() >= active_since)
    result["encode_s"] += time.perf_counter() - started
    started = time.perf_counter()
    recommender = CosineRecommender(K=20) if model == "implicit-cosine" else BM25Recommender(K=20)
    recommender.fit(matrix, show_progress=False)
    most_bought = max((len(b) for b in bought.values()), default=0)
    ids, _ = recommender.recommend(
        active, matrix[active], N=20 + most_bought, filter_already_liked_items=False
    )  # fmt: skip
    picks: dict[str, list[str]] = {}
    for row, user in enumerate(active.tolist()):
        shopper = behaviour.user_ids[user]
        exclude = bought.get(shopper, ())
        listed = [behaviour.product_ids[i] for i in ids[row].tolist() if i >= 0]
        picks[shopper] = [p for p in listed if p not in exclude][:20]
    result["model_s"] = time.perf_counter() - started
    return picks


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", action="store_true", default=bool(os.environ.get("RECOMMEND_BENCH_SMALL")))
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--models", default=",".join(MODELS))
    parser.add_argument("--scale", action="store_true", help="the refresh at 1M, 3M and 10M events (CPU, peak RSS)")
    parser.add_argument("--scale-sizes", default="1,3,10", help="millions of events for --scale")
    parser.add_argument("--scale-child", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--data", help=argparse.SUPPRESS)
    parser.add_argument(
        "--audience", action="store_true", help="cold-start shoppers: audience segments vs popularity, hit-rate@10"
    )
    args = parser.parse_args()
    if args.audience:  # the measurement lives in bench/recommend_audience.py; this runs it with the same options
        import recommend_audience

        sys.argv = [sys.argv[0], *(["--small"] if args.small else []), "--seed", str(args.seed)]
        recommend_audience.main()
        return
    if args.scale or args.scale_child:
        import _recommend_scale

        if args.scale_child:
            print(json.dumps(_recommend_scale.child(args.scale_child)))
        else:
            _recommend_scale.main(__file__, tuple(int(m) for m in args.scale_sizes.split(",")))
        return
    if args.child:
        print(json.dumps(run_model(args.child, Path(args.data))))
        return

    shape = SMALL if args.small else FULL
    started = time.perf_counter()
    data = generate(shape, seed=args.seed)
    train, targets = hold_out(data, TEST_SHOPPERS if not args.small else TEST_SHOPPERS // 5, args.seed)
    flat = np.array([(u, p) for u, ps in targets.items() for p in sorted(ps)], np.int64).reshape(-1, 2)
    print(
        f"data: {len(data.user):,} events ({len(train):,} training), {len(np.unique(data.product)):,} products "
        f"touched of {shape.products:,}, {len(np.unique(data.user)):,} shoppers with behaviour of {shape.users:,}, "
        f"{len(targets):,} test shoppers; seed {args.seed}; generated in {time.perf_counter() - started:.1f} s"
    )
    results: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "behaviour.npz"
        np.savez(path, **{k: v for k, v in data.__dict__.items()}, train=train, targets=flat)
        for model in args.models.split(","):
            child = subprocess.run(
                [sys.executable, __file__, "--child", model, "--data", str(path)],
                capture_output=True, text=True, check=True,
            )  # fmt: skip
            results[model] = json.loads(child.stdout.strip().splitlines()[-1])

    print(f"{'model':<16}{'hit@10':>8}{'recall':>8}{'ndcg':>8}{'encode s':>10}{'model s':>9}", end="")
    print(f"{'RSS before':>12}{'peak RSS':>10}")
    for model, r in results.items():
        print(
            f"{model:<16}{r['hit_rate']:>8.3f}{r['recall']:>8.3f}{r['ndcg']:>8.3f}{r['encode_s']:>10.2f}"
            f"{r['model_s']:>9.2f}{r['before_mb']:>9.0f} MB{r['peak_mb']:>7.0f} MB"
        )
    implicit = [r for m, r in results.items() if m.startswith("implicit")]
    if "ours" in results and implicit:
        ours = results["ours"]
        best = max(r["hit_rate"] for r in implicit)
        fastest = min(r["model_s"] for r in implicit)
        print(f"goal hit-rate@10 >= implicit's best ({best:.3f}): {'met' if ours['hit_rate'] >= best else 'NOT met'}")
        print(f"goal refresh faster than implicit fit+recommend ({fastest:.2f} s): "
              f"{'met' if ours['model_s'] < fastest else 'NOT met'} ({ours['model_s']:.2f} s)")  # fmt: skip
        print(f"goal peak RSS < {GOAL_PEAK_MB} MB: {'met' if ours['peak_mb'] < GOAL_PEAK_MB else 'NOT met'}")


if __name__ == "__main__":
    main()
