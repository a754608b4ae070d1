"""The refresh beyond one Lambda: the steps of infra/statemachines/recommend_refresh.asl.json, a Step Functions
Distributed Map over JSON manifests of shards. Each step runs the one-Lambda refresh's own functions
(chalicelib/recommend/refresh.py) on its block, so both paths give the same lists for the same data.

plan: freeze the window (every finished day's compacted columns, today's columns copied into the run) and the catalog
into the run's prefix of the lake bucket; write one manifest of product blocks, one of shopper buckets.
similar shard (a product block): the block's similar items and hot scores, from the whole window.
merge: every block's neighbours and hot scores into the popular order and one neighbour table.
for-you shard (shopper bucket i of n, crc32 of the user id): the picks and segment tallies of its shoppers.
reduce: the home item, category, similar, for-you and segment lists; only the changed lists are written.

A shard that failed (within the map's failure threshold) leaves its lists as the last refresh wrote them: the reduce
writes what the shards produced and nothing in their place. numpy only, imported by the steps' handlers.
"""

from __future__ import annotations

import json
import zlib
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict
from datetime import date, datetime, timedelta
from itertools import pairwise
from typing import Any

import numpy as np

from chalicelib.analytics.lake import Lake, day_prefix
from chalicelib.clock import SHANGHAI, iso, parse_iso
from chalicelib.pricing.promotion import Promotion
from chalicelib.recommend import refresh, segments
from chalicelib.recommend.refresh import CatalogProduct, CatalogSnapshot, ListKey
from chalicelib.recommend.segments import Audience
from chalicelib.recommend.window import READERS, DayColumns, Window, compact_key, load_day, merge

RUNS_PREFIX = "recommend/runs/"
PRODUCTS_PER_SHARD = 20_000  # a product block: rows of X^T X computed by one shard
# Shoppers are bucketed by crc32(user_id) % buckets, one bucket per this many events of the window (each for-you
# shard still reads the whole window: fewer, larger buckets read it fewer times).
EVENTS_PER_SHOPPER_SHARD = 20_000_000


def run_prefix(run_id: str) -> str:
    return f"{RUNS_PREFIX}{run_id}/"


def window_days(days: int, until: date) -> list[str]:
    """The business days of the window, oldest first, `until` (today) last: the one-Lambda refresh's choice."""
    return [(until - timedelta(days=offset)).isoformat() for offset in range(max(days, 0) - 1, -1, -1)]


def window_bytes(lake: Lake, days: int, until: date) -> int:
    """The size of the window's raw lake objects: what the scheduled refresh compares with its threshold."""
    return sum(lake.size(day_prefix(day)) for day in window_days(days, until))


def _put_json(lake: Lake, key: str, value: Any) -> None:
    lake.put_bytes(key, json.dumps(value, separators=(",", ":")).encode(), "application/json")


def _get_json(lake: Lake, key: str) -> Any:
    body = lake.get_bytes(key)
    return None if body is None else json.loads(body)


def _blocks(product_ids: Sequence[str], size: int) -> list[tuple[str | None, str | None]]:
    """Half-open id ranges [first, end) covering every id (None: unbounded), `size` catalog products each."""
    bounds: list[str | None] = [None, *product_ids[size::size], None]
    return list(pairwise(bounds))


def plan(
    lake: Lake,
    bucket: str,
    run_id: str,
    snapshot: CatalogSnapshot,
    days: int,
    until: date,
    now: datetime,
    products_per_shard: int = PRODUCTS_PER_SHARD,
    events_per_shopper_shard: int = EVENTS_PER_SHOPPER_SHARD,
) -> dict[str, Any]:
    """Freeze the run's inputs and write its two manifests; what the state machine's next states read."""
    prefix = run_prefix(run_id)
    chosen = window_days(days, until)
    objects = [compact_key(day) for day in chosen[:-1]] + [f"{prefix}today.npz"]
    with ThreadPoolExecutor(READERS) as pool, ThreadPoolExecutor(READERS) as reads:
        finished = list(pool.map(lambda day: int(load_day(lake, day, True, reads).at.size), chosen[:-1]))
        today = load_day(lake, chosen[-1], False, reads)
    lake.put_bytes(objects[-1], today.to_bytes(), "application/octet-stream")
    catalog = {"products": [asdict(p) for p in snapshot.products], "sku_prices": snapshot.sku_prices}
    _put_json(lake, f"{prefix}catalog.json", catalog)
    common = {"run_id": run_id, "now": iso(now), "objects": objects}
    ids = sorted(p.product_id for p in snapshot.products)
    similar = [{**common, "shard": n, "first": first, "end": end}
               for n, (first, end) in enumerate(_blocks(ids, max(products_per_shard, 1)))]  # fmt: skip
    events = int(sum(finished) + today.at.size)
    buckets = max(1, -(-events // max(events_per_shopper_shard, 1)))
    for_you = [{**common, "shard": n, "of": buckets} for n in range(buckets)]
    _put_json(lake, f"{prefix}similar.json", similar)
    _put_json(lake, f"{prefix}for_you.json", for_you)
    return {
        "run_id": run_id, "bucket": bucket, "now": iso(now), "similar_manifest": f"{prefix}similar.json",
        "for_you_manifest": f"{prefix}for_you.json", "similar_shards": len(similar), "for_you_shards": buckets,
        "events": events,
    }  # fmt: skip


def _window(lake: Lake, keys: Sequence[str]) -> Window:
    def read(key: str) -> DayColumns:
        body = lake.get_bytes(key)
        if body is None:
            raise LookupError(f"the run's day object {key} is gone")
        return DayColumns.from_bytes(body)

    with ThreadPoolExecutor(READERS) as pool:
        return merge(list(pool.map(read, keys)))


def _catalog(lake: Lake, run_id: str) -> CatalogSnapshot:
    """The catalog as the plan read it: every step of a run sees the same products."""
    saved = _get_json(lake, f"{run_prefix(run_id)}catalog.json")
    return CatalogSnapshot([CatalogProduct(**p) for p in saved["products"]], saved["sku_prices"])


def similar_shard(lake: Lake, item: Mapping[str, Any]) -> dict[str, Any]:
    """One product block: its products' neighbours (behaviour, then content) and the hot scores of its products."""
    window = _window(lake, item["objects"])
    products = _catalog(lake, item["run_id"]).products
    moment = parse_iso(item["now"]).timestamp()
    first, end = item["first"], item["end"]
    rows = refresh.shopper_rows(window, {p.product_id for p in products})
    encoded = refresh._encoded(window, rows) if rows.any() else None
    neighbours = refresh.neighbours_of(encoded, products, moment, (first, end))
    ids, scores = refresh.hot_scores(window, moment)
    inside = np.ones(len(ids), bool)
    if first is not None:
        inside &= ids >= first
    if end is not None:
        inside &= ids < end
    hot = [[pid, score] for pid, score in zip(ids[inside].tolist(), scores[inside].tolist(), strict=True)]
    _put_json(
        lake, f"{run_prefix(item['run_id'])}similar/{item['shard']:05d}.json", {"neighbours": neighbours, "hot": hot}
    )
    return {"shard": item["shard"], "products": len(neighbours)}


def merge_similar(lake: Lake, run: Mapping[str, Any]) -> dict[str, Any]:
    """Every product block's output into the popular order and the neighbour table the for-you shards read."""
    prefix = run_prefix(run["run_id"])
    neighbours: dict[str, Any] = {}
    ids: list[str] = []
    scores: list[float] = []
    missing = []
    for shard in range(int(run["similar_shards"])):
        found = _get_json(lake, f"{prefix}similar/{shard:05d}.json")
        if found is None:
            missing.append(shard)
            continue
        neighbours.update(found["neighbours"])
        ids += [pid for pid, _ in found["hot"]]
        scores += [score for _, score in found["hot"]]
    products = _catalog(lake, run["run_id"]).products
    popular = refresh._topped_with_catalog(refresh.ranked(np.asarray(ids, dtype=str), scores), products)
    _put_json(lake, f"{prefix}neighbours.json", {"neighbours": neighbours, "popular": popular})
    return {"products": len(neighbours), "failed_shards": missing}


def _bucket_of(user_ids: np.ndarray, buckets: int) -> np.ndarray:
    return np.fromiter((zlib.crc32(u.encode()) % buckets for u in user_ids.tolist()), np.int64, len(user_ids))


def for_you_shard(lake: Lake, item: Mapping[str, Any], audience: Audience | None) -> dict[str, Any]:
    """One shopper bucket: its shoppers' picks and its share of the audience segments' tallies."""
    prefix = run_prefix(item["run_id"])
    window = _window(lake, item["objects"])
    products = _catalog(lake, item["run_id"]).products
    stage = _get_json(lake, f"{prefix}neighbours.json")
    moment = parse_iso(item["now"]).timestamp()
    sellable = {p.product_id for p in products if p.sellable}
    neighbours = {pid: [(n, s) for n, s in listed] for pid, listed in stage["neighbours"].items()}
    mine = _bucket_of(window.user_ids, int(item["of"])) == int(item["shard"])
    rows = refresh.shopper_rows(window, {p.product_id for p in products}) & mine[window.user]
    lists = refresh.for_you_lists(window, rows, neighbours, stage["popular"], sellable, moment)
    tallies: dict[str, Any] = {}
    if audience is not None:
        behaviour = refresh.ShopperRows(window, rows)
        user_ids = sorted({interaction.user_id for interaction in behaviour})
        profiles = audience.profiles(user_ids) if user_ids else {}
        today = parse_iso(item["now"]).astimezone(SHANGHAI).date()
        tallies = segments.segment_tallies(behaviour, profiles, sellable, today)
    out = {"for_you": {key[1]: ids for key, ids in lists.items()}, "segments": tallies}
    _put_json(lake, f"{prefix}for_you/{item['shard']:05d}.json", out)
    return {"shard": item["shard"], "shoppers": len(lists)}


def reduce(
    lake: Lake,
    run: Mapping[str, Any],
    promotions: Sequence[Promotion],
    themes: Sequence[Mapping[str, Any]],
) -> tuple[dict[str, Any], dict[ListKey, list[str]], dict[str, int]]:
    """The home item and every list the run's shards produced, merged; with counts for the run's outcome."""
    prefix = run_prefix(run["run_id"])
    now = parse_iso(run["now"])
    frozen = _catalog(lake, run["run_id"])
    products = frozen.products
    stage = _get_json(lake, f"{prefix}neighbours.json")
    home, lists = refresh.home_lists(stage["popular"], frozen, promotions, themes, now)
    sellable = {p.product_id for p in products if p.sellable}
    lists.update(refresh.similar_lists(stage["neighbours"], stage["neighbours"], sellable))
    tallies: list[Mapping[str, Any]] = []
    shoppers, failed = 0, 0
    for shard in range(int(run["for_you_shards"])):
        found = _get_json(lake, f"{prefix}for_you/{shard:05d}.json")
        if found is None:
            failed += 1
            continue
        for user_id, ids in found["for_you"].items():
            lists[("for_you", user_id)] = ids
        shoppers += len(found["for_you"])
        tallies.append(found["segments"])
    segment_lists = segments.lists_of_tallies(segments.merged_tallies(tallies))
    for key, ids in segment_lists.items():
        lists[("segment", key)] = ids
    counts = {"shoppers": shoppers, "segment_lists": len(segment_lists), "failed_shopper_shards": failed}
    return home, lists, counts
