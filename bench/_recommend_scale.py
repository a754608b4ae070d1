"""bench/recommend.py --scale: the refresh's computation at 1M, 3M and 10M events in 30 days, each in a child process
(CPU seconds and peak RSS of its own), with a fitted growth, and what its S3 and DynamoDB calls cost on AWS.

Data: bench/_behaviour_generator.py in shards of 1M events over 30 days (shard i: shoppers i x 100,000 + its own,
the same 50,000 products), turned into the compacted day objects the refresh reads (recommend/days/dt=<day>.npz).
Measured in the child: reading the 30 day objects, merging them, refresh.compute (hot, per-category hot, similar
items for every product, for-you for every active shopper) and the changed-lists plan (digests of every list).
Not in the child: compacting a day (done once per finished day; timed apart at 1M events).
AWS times from counted requests x 30 ms, 8 at a time (the refresh's parallelism): the day objects, and the
BatchWriteItem requests (25 lists each) of the lists written.
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
from _behaviour_generator import DAY, Generated, Shape, generate, product_id, user_id

from chalicelib.recommend import window as columns
from chalicelib.recommend.behaviour import KINDS
from chalicelib.recommend.refresh import CatalogProduct, CatalogSnapshot

SHARD = Shape(users=100_000, products=50_000, events=1_000_000, categories=250, brands=2_500, groups=250, days=30.0)
SCALES = (1, 3, 10)
CACHE = Path(tempfile.gettempdir()) / "recommend-scale-bench"  # generated once, reused by later runs
REQUEST_S = 0.030  # a typical S3 GET / DynamoDB BatchWriteItem round trip
PARALLEL = 8
GOAL_MB_PER_MILLION = 200
GOAL_CPU_10M = 60.0


def shard(index: int) -> Generated:
    path = CACHE / f"shard-{index}.npz"
    if path.exists():
        with np.load(path) as saved:
            return Generated(**{k: saved[k] for k in saved.files if k != "now"}, now=float(saved["now"]))
    data = generate(SHARD, seed=100 + index)
    CACHE.mkdir(exist_ok=True)
    np.savez(path, **data.__dict__)
    return data


def prepare(millions: int) -> Path:
    """The compacted day objects of `millions` shards on disk (what the child reads, as the refresh reads S3)."""
    folder = CACHE / f"days-{millions}M"
    if not (folder / "meta.json").exists():
        blobs, now, events = day_objects(millions)
        folder.mkdir(parents=True, exist_ok=True)
        for key, body in blobs.items():
            (folder / key.replace("/", "_")).write_bytes(body)
        (folder / "meta.json").write_text(json.dumps({"now": now, "events": events}))
    return folder


def day_objects(millions: int) -> tuple[dict[str, bytes], float, int]:
    """The compacted day objects of `millions` shards (events shifted to end at one `now`), the now, the events."""
    parts = [shard(i) for i in range(millions)]
    now = max(p.now for p in parts)
    users = np.concatenate([p.user.astype(np.int64) + i * SHARD.users for i, p in enumerate(parts)])
    products = np.concatenate([p.product for p in parts])
    kinds = np.concatenate([p.kind for p in parts])
    at = np.concatenate([p.at + (now - p.now) for p in parts])
    day = ((now - at) // DAY).astype(np.int64)
    blobs: dict[str, bytes] = {}
    for offset in range(30):
        rows = np.flatnonzero(day == offset)
        user_codes, user = np.unique(users[rows], return_inverse=True)
        product_codes, product = np.unique(products[rows], return_inverse=True)
        empty = np.zeros(0, np.int32)
        day_name = datetime.fromtimestamp(now - offset * DAY, UTC).date().isoformat()
        blobs[columns.compact_key(day_name)] = columns.DayColumns(
            users=np.asarray([user_id(int(u)) for u in user_codes], dtype=str),
            products=np.asarray([product_id(int(p)) for p in product_codes], dtype=str),
            orders=np.asarray([], dtype=str), user=user.astype(np.int32), product=product.astype(np.int32),
            kind=kinds[rows].astype(np.int8), at=at[rows], line_order=empty, line_product=empty,
            receipt_user=empty, receipt_order=empty, receipt_at=np.zeros(0), skipped=np.asarray(0),
            source=np.asarray(""), format=np.asarray(columns.FORMAT),
        ).to_bytes()  # fmt: skip
    return blobs, now, len(users)


def catalog(data: Generated, now: float) -> CatalogSnapshot:
    return CatalogSnapshot(
        products=[
            CatalogProduct(product_id(p), f"c{int(c)}", f"r{int(c) // 10}", f"b{int(b)}", float(t), True, True)
            for p, (c, b, t) in enumerate(zip(data.category, data.brand, np.minimum(data.created_at, now), strict=True))
        ]
    )


def child(millions: int) -> dict[str, float]:
    from chalicelib.recommend import refresh, written

    folder = prepare(millions)
    meta = json.loads((folder / "meta.json").read_text())
    now, events = float(meta["now"]), int(meta["events"])
    snapshot = catalog(shard(0), now)
    paths = sorted(folder.glob("*.npz"))
    del_keys = [p.name for p in paths]
    before_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    started = resource.getrusage(resource.RUSAGE_SELF)
    wall = time.perf_counter()
    days = [columns.DayColumns.from_bytes(path.read_bytes()) for path in paths]
    merged = columns.merge(days)
    del days
    result = refresh.compute(merged, snapshot, [], [], datetime.fromtimestamp(now, UTC))
    to_write, _ = written.plan(result.lists, written.Written.empty(), int(now))
    ended = resource.getrusage(resource.RUSAGE_SELF)
    return {
        "events": events,
        "window_rows": len(merged),
        "cpu_s": (ended.ru_utime - started.ru_utime) + (ended.ru_stime - started.ru_stime),
        "wall_s": time.perf_counter() - wall,
        "peak_mb": ended.ru_maxrss / 1024,
        "before_mb": before_mb,
        "lists": len(result.lists),
        "shoppers": result.shoppers,
        "written_first": len(to_write),
        "day_objects": len(del_keys),
    }


def compaction_per_million() -> float:
    """CPU seconds to compact 1M lake events (JSON dicts) into day columns: paid once per finished day."""
    data = shard(0)
    events = [
        {"event_id": f"e{i}", "type": "product_viewed" if KINDS[k] in ("view", "search_click") else "cart_item_added",
         "occurred_at": datetime.fromtimestamp(a, UTC).isoformat(), "user_id": user_id(int(u)),
         "product_id": product_id(int(p)), "sku_id": "s", "quantity": 1}
        for i, (u, p, k, a) in enumerate(zip(data.user[:200_000].tolist(), data.product[:200_000].tolist(),
                                             data.kind[:200_000].tolist(), data.at[:200_000].tolist(), strict=True))
    ]  # fmt: skip
    started = time.process_time()
    columns.day_columns(events).to_bytes()
    return (time.process_time() - started) * 5


def main(script: str, scales: tuple[int, ...] = SCALES) -> None:
    results = []
    for millions in scales:
        prepare(millions)  # in this process: the child's peak RSS is the refresh's own
        run = subprocess.run([sys.executable, script, "--scale-child", str(millions)], capture_output=True, text=True)
        if run.returncode != 0:
            print(run.stderr[-2000:])
            raise SystemExit(run.returncode)
        results.append(json.loads(run.stdout.strip().splitlines()[-1]))
        r = results[-1]
        print(f"{r['events'] / 1e6:.0f}M events: CPU {r['cpu_s']:.1f} s (wall {r['wall_s']:.1f} s), peak RSS "
              f"{r['peak_mb']:.0f} MB, {r['lists']:,} lists, {r['shoppers']:,} shoppers", flush=True)  # fmt: skip
    events = np.array([r["events"] / 1e6 for r in results])
    cpu = np.array([r["cpu_s"] for r in results])
    peak = np.array([r["peak_mb"] for r in results])
    if len(results) < 2:
        return
    cpu_slope, cpu_base = np.polyfit(events, cpu, 1)
    mb_slope, mb_base = np.polyfit(events, peak, 1)
    exponent = np.polyfit(np.log(events), np.log(cpu), 1)[0]
    print(f"\nfitted: CPU = {cpu_base:.1f} s + {cpu_slope:.2f} s per million events (log-log slope {exponent:.2f}); "
          f"peak RSS = {mb_base:.0f} MB + {mb_slope:.0f} MB per million events")  # fmt: skip
    for millions in (30, 100):
        print(f"  extrapolated to {millions}M: CPU {cpu_base + cpu_slope * millions:.0f} s, "
              f"peak RSS {(mb_base + mb_slope * millions) / 1024:.1f} GB")  # fmt: skip
    print("\n| events in 30 days | refresh CPU | peak RSS | day objects read on AWS | list writes on AWS (first run) |")
    print("|---|---|---|---|---|")
    for r in results:
        gets = r["day_objects"] * REQUEST_S / PARALLEL
        writes = -(-r["written_first"] // 25) * REQUEST_S / PARALLEL
        print(f"| {r['events'] / 1e6:.0f}M | {r['cpu_s']:.0f} s | {r['peak_mb'] / 1024:.2f} GB | "
              f"{r['day_objects']} objects, ~{gets:.1f} s | "
              f"{r['written_first']:,} lists, ~{writes:.0f} s |")  # fmt: skip
    print(f"\ncompacting a finished day: {compaction_per_million():.1f} CPU s per million events (once per day)")
    ten = max(results, key=lambda r: r["events"])
    memory_met = "met" if mb_slope <= GOAL_MB_PER_MILLION else "NOT met"
    print(f"goal <= {GOAL_MB_PER_MILLION} MB per million events: {memory_met} ({mb_slope:.0f})")
    print(f"goal 10M events in <= {GOAL_CPU_10M:.0f} s CPU: {'met' if ten['cpu_s'] <= GOAL_CPU_10M else 'NOT met'}"
          f" ({ten['cpu_s']:.0f} s at {ten['events'] / 1e6:.0f}M)")  # fmt: skip
