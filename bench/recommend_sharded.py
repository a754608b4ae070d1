"""The sharded refresh's steps (chalicelib/recommend/shards.py) on the bench's compacted days, each shard in a child
process (CPU seconds and peak RSS of its own), and the lists checked equal to the one-Lambda refresh's.

Run: .venv/bin/python bench/recommend_sharded.py [--millions 1] [--product-blocks 4] [--shopper-buckets 4]
Data: bench/recommend.py --scale's compacted day objects (bench/_recommend_scale.py: 1M events a shard, 50,000
products, 100,000 shoppers a million), in an in-memory lake; the run's catalog as the plan freezes it.
Measured: each similar shard (a product block), the merge, each for-you shard (a shopper bucket), the reduce's merge
of the lists (no store). Then the one-Lambda refresh.compute on the same window and moment, and the lists compared.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from _recommend_scale import catalog, prepare, shard

from chalicelib.clock import iso

RUN = "bench"


class DiskLake:
    """The bench's day objects (read-only, on disk) and the run's objects (written to a folder)."""

    def __init__(self, days: Path, run: Path) -> None:
        self.days, self.run = days, run

    def _path(self, key: str) -> Path:
        day = self.days / key.replace("/", "_")
        return day if day.exists() else self.run / key.replace("/", "_")

    def get_bytes(self, key: str) -> bytes | None:
        path = self._path(key)
        return path.read_bytes() if path.exists() else None

    def put_bytes(self, key: str, body: bytes, content_type: str) -> None:
        (self.run / key.replace("/", "_")).write_bytes(body)


def _measured(step: str, lake_dirs: tuple[str, str], argument: Any) -> dict[str, Any]:
    from chalicelib.recommend import shards

    lake = DiskLake(Path(lake_dirs[0]), Path(lake_dirs[1]))
    started, wall = resource.getrusage(resource.RUSAGE_SELF), time.perf_counter()
    if step == "similar":
        out = shards.similar_shard(lake, argument)  # type: ignore[arg-type]
    elif step == "merge":
        out = shards.merge_similar(lake, argument)  # type: ignore[arg-type]
    else:
        out = shards.for_you_shard(lake, argument, None)  # type: ignore[arg-type]
    ended = resource.getrusage(resource.RUSAGE_SELF)
    cpu = (ended.ru_utime - started.ru_utime) + (ended.ru_stime - started.ru_stime)
    shown = {k: v for k, v in out.items() if k != "failed_shards"}
    return {"step": step, "cpu_s": round(cpu, 1), "wall_s": round(time.perf_counter() - wall, 1),
            "peak_mb": round(ended.ru_maxrss / 1024), **shown}  # fmt: skip


def run_in_child(step: str, lake_dirs: tuple[str, str], argument: Any) -> dict[str, Any]:
    with ProcessPoolExecutor(1) as pool:
        return pool.submit(_measured, step, lake_dirs, argument).result()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--millions", type=int, default=1)
    parser.add_argument("--product-blocks", type=int, default=4)
    parser.add_argument("--shopper-buckets", type=int, default=4)
    args = parser.parse_args()

    from chalicelib.recommend import refresh, shards
    from chalicelib.recommend import window as columns

    folder = prepare(args.millions)
    meta = json.loads((folder / "meta.json").read_text())
    now = datetime.fromtimestamp(float(meta["now"]), UTC)
    snapshot = catalog(shard(0), float(meta["now"]))
    run_dir = Path(folder.parent / f"run-{args.millions}M")
    run_dir.mkdir(exist_ok=True)
    dirs = (str(folder), str(run_dir))
    lake = DiskLake(folder, run_dir)
    objects = sorted(p.name.replace("_", "/", 2) for p in folder.glob("*.npz"))
    assert all(lake.get_bytes(key) for key in objects), "day object names"
    prefix = shards.run_prefix(RUN)
    catalog_json = {"products": [_asdict(p) for p in snapshot.products],
                    "sku_prices": {}}  # fmt: skip
    lake.put_bytes(f"{prefix}catalog.json", json.dumps(catalog_json).encode(), "application/json")
    ids = sorted(p.product_id for p in snapshot.products)
    size = -(-len(ids) // args.product_blocks)
    common = {"run_id": RUN, "now": iso(now), "objects": objects}
    blocks = shards._blocks(ids, size)
    figures = []
    for n, (first, end) in enumerate(blocks):
        figures.append(run_in_child("similar", dirs, {**common, "shard": n, "first": first, "end": end}))
        print(figures[-1], flush=True)
    run = {"run_id": RUN, "now": iso(now), "similar_shards": len(blocks), "for_you_shards": args.shopper_buckets}
    figures.append(run_in_child("merge", dirs, run))
    print(figures[-1], flush=True)
    for n in range(args.shopper_buckets):
        figures.append(run_in_child("for_you", dirs, {**common, "shard": n, "of": args.shopper_buckets}))
        print(figures[-1], flush=True)
    started = time.process_time()
    _, sharded, counts = shards.reduce(lake, run, [], [])
    print({"step": "reduce (merge of lists)", "cpu_s": round(time.process_time() - started, 1), **counts})

    started = time.process_time()
    window = columns.merge([columns.DayColumns.from_bytes(lake.get_bytes(key) or b"") for key in objects])
    whole = refresh.compute(window, snapshot, [], [], now)
    print({"step": "one-Lambda compute", "cpu_s": round(time.process_time() - started, 1)})
    same = {k: v for k, v in whole.lists.items() if k[0] != "segment"} == sharded
    print({"events": meta["events"], "lists": len(sharded), "equal_to_one_lambda": same})
    cpu = [f["cpu_s"] for f in figures]
    print({"shard_cpu_total_s": round(sum(cpu), 1), "slowest_shard_cpu_s": max(cpu),
           "largest_shard_peak_mb": max(f["peak_mb"] for f in figures)})  # fmt: skip


def _asdict(product: Any) -> dict[str, Any]:
    from dataclasses import asdict

    return asdict(product)


if __name__ == "__main__":
    main()
