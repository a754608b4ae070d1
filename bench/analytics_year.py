"""The admin analytics summary of a whole year at 1M events a month, from the columnar lake (goal: within 3 s).

Run: .venv/bin/python bench/analytics_year.py [--months 12] [--per-month 1000000]
Data: synthetic events (views, searches, favorites, cart adds, orders placed and paid with 1-3 lines, receipts,
refunds) over 50,000 products and 200,000 shoppers, written as the compaction writes them: one zstd Parquet file per
table and business day under columnar/<table>/dt=<day>/ in a local folder standing for the lake bucket (the raw
events and lines, and the day's roll-ups, here aggregated with numpy rather than through the consumer's arithmetic).
Timed: service.summary for the year through the DuckDB warehouse (the same four SQL statements Athena runs on AWS),
including reading the day files out of the "bucket". Athena itself cannot run here; on AWS add its queueing and
planning time (typically 1-2 s for such scans; the four statements run in parallel).
"""

from __future__ import annotations

import argparse
import contextlib
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT)]

import numpy as np  # noqa: E402
import pyarrow as pa  # noqa: E402
import pyarrow.parquet as pq  # noqa: E402

from chalicelib.analytics import service  # noqa: E402
from chalicelib.analytics.columnar import (  # noqa: E402
    BUYER_DAYS_TABLE,
    CATEGORY_DAYS_TABLE,
    DAY_TOTALS_TABLE,
    EVENT_SCHEMA,
    EVENTS_TABLE,
    LINE_SCHEMA,
    LINES_TABLE,
    PRODUCT_DAYS_TABLE,
    SCHEMAS,
    table_key,
)
from chalicelib.analytics.schemas import RangeQuery  # noqa: E402
from chalicelib.analytics.warehouse import DuckDBWarehouse  # noqa: E402

GOAL_SECONDS = 3.0
TYPES = ["product_viewed", "search_performed", "favorite_added", "cart_item_added", "order_placed", "order_paid",
         "order_received", "order_refunded"]  # fmt: skip
SHARE = [0.70, 0.10, 0.02, 0.08, 0.04, 0.035, 0.02, 0.005]


class FolderLake:
    """The lake bucket as a local folder (only what the warehouse reads)."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def keys(self, prefix: str) -> list[str]:
        return sorted(str(p.relative_to(self.root)) for p in (self.root / prefix).rglob("*.parquet"))

    def get_bytes(self, key: str) -> bytes | None:
        path = self.root / key
        return path.read_bytes() if path.exists() else None

    def put(self, key: str, lines: list[dict[str, Any]]) -> None:
        raise NotImplementedError

    def lines(self, key: str) -> list[dict[str, Any]]:
        raise NotImplementedError

    def put_bytes(self, key: str, body: bytes, content_type: str) -> None:
        path = self.root / key
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(body)


def write_day(lake: FolderLake, day: str, events: int, rng: np.random.Generator, serial: int, raw: bool = True) -> None:
    kinds = rng.choice(len(TYPES), size=events, p=SHARE)
    users = rng.integers(0, 200_000, events)
    products = (rng.pareto(1.1, events) * 500).astype(np.int64) % 50_000
    amounts = rng.integers(1_000, 100_000, events)
    type_names = np.asarray(TYPES, dtype=object)[kinds]
    ids = [f"e{serial + i}" for i in range(events)]
    orders = [f"o{serial + i}" for i in range(events)]
    has_product = np.isin(kinds, [0, 2, 3])
    is_order = np.isin(kinds, [4, 5, 6, 7])
    product_ids = np.where(has_product, np.char.add("p", products.astype(str)), None)
    columns: dict[str, Any] = {name: [None] * events for name in EVENT_SCHEMA.names}
    columns |= {"event_id": ids, "type": type_names.tolist(), "occurred_at": [f"{day}T04:00:00Z"] * events,
                "user_id": np.char.add("u", users.astype(str)).tolist(), "product_id": product_ids.tolist(),
                "category_id": np.where(has_product, np.char.add("c", (products % 250).astype(str)), None).tolist(),
                "order_id": np.where(is_order, np.asarray(orders, dtype=object), None).tolist(),
                "amount_fen": np.where(np.isin(kinds, [4, 5, 7]), amounts, None).tolist()}  # fmt: skip
    if raw:  # the report does not read them: --rollups-only skips them (a faster set-up, the same timing)
        lake.put_bytes(table_key(EVENTS_TABLE, day), _parquet(columns, EVENT_SCHEMA), "")
    placed = np.flatnonzero(np.isin(kinds, [4, 5]))
    per_order = rng.integers(1, 4, len(placed))
    rows = np.repeat(placed, per_order)
    line_products = (rng.pareto(1.1, len(rows)) * 500).astype(np.int64) % 50_000
    lines = {
        "event_id": [ids[r] for r in rows.tolist()], "type": type_names[rows].tolist(),
        "occurred_at": [f"{day}T04:00:00Z"] * len(rows),
        "user_id": np.char.add("u", users[rows].astype(str)).tolist(), "order_id": [orders[r] for r in rows.tolist()],
        "product_id": np.char.add("p", line_products.astype(str)).tolist(),
        "sku_id": np.char.add("s", line_products.astype(str)).tolist(),
        "category_id": np.char.add("c", (line_products % 250).astype(str)).tolist(),
        "quantity": rng.integers(1, 3, len(rows)).tolist(), "payable_fen": (amounts[rows] // 2).tolist(),
        "title": np.char.add("商品 ", line_products.astype(str)).tolist(),
    }  # fmt: skip
    if raw:
        lake.put_bytes(table_key(LINES_TABLE, day), _parquet(lines, LINE_SCHEMA), "")
    write_rollups(lake, day, kinds, users, products, amounts, rows, line_products, np.asarray(lines["quantity"]),
                  amounts[rows] // 2)  # fmt: skip


def write_rollups(
    lake: FolderLake, day: str, kinds: np.ndarray, users: np.ndarray, products: np.ndarray, amounts: np.ndarray,
    rows: np.ndarray, line_products: np.ndarray, quantities: np.ndarray, payable: np.ndarray,
) -> None:  # fmt: skip
    """The day's roll-up tables as the compaction writes them (here from the arrays, with numpy)."""
    count = lambda code, of=products, where=None: np.bincount(  # noqa: E731
        of[(kinds == code) if where is None else where], minlength=50_000
    )
    paid_lines, placed_lines = kinds[rows] == 5, kinds[rows] == 4
    per_product = {
        "views": count(0), "favorites": count(2), "cart_adds": count(3), "cart_units": count(3),
        "orders": np.bincount(line_products[placed_lines], minlength=50_000),
        "ordered_units": np.bincount(line_products[placed_lines], quantities[placed_lines], 50_000).astype(np.int64),
        "paid_orders": np.bincount(line_products[paid_lines], minlength=50_000),
        "paid_units": np.bincount(line_products[paid_lines], quantities[paid_lines], 50_000).astype(np.int64),
        "gmv_fen": np.bincount(line_products[paid_lines], payable[paid_lines], 50_000).astype(np.int64),
        "reviews": np.zeros(50_000, np.int64),
    }  # fmt: skip
    active = np.flatnonzero(sum(per_product.values()))
    product_rows = {name: values[active].tolist() for name, values in per_product.items()}
    product_rows |= {"product_id": np.char.add("p", active.astype(str)).tolist(),
                     "category_id": np.char.add("c", (active % 250).astype(str)).tolist(),
                     "title": np.char.add("商品 ", active.astype(str)).tolist()}  # fmt: skip
    lake.put_bytes(table_key(PRODUCT_DAYS_TABLE, day), _parquet(product_rows, SCHEMAS[PRODUCT_DAYS_TABLE]), "")
    categories = active % 250
    category_rows = {"category_id": [f"c{c}" for c in range(250)]} | {
        name: np.bincount(categories, per_product[name][active], 250).astype(np.int64).tolist()
        for name in ("views", "cart_adds", "orders", "paid_orders", "paid_units", "gmv_fen")
    }
    lake.put_bytes(table_key(CATEGORY_DAYS_TABLE, day), _parquet(category_rows, SCHEMAS[CATEGORY_DAYS_TABLE]), "")
    payers = np.unique(users[kinds == 5])
    totals = dict.fromkeys(SCHEMAS[DAY_TOTALS_TABLE].names, 0) | {
        "views": int((kinds == 0).sum()), "searches": int((kinds == 1).sum()), "favorites": int((kinds == 2).sum()),
        "cart_adds": int((kinds == 3).sum()), "orders": int((kinds == 4).sum()), "paid_orders": int((kinds == 5).sum()),
        "gmv_fen": int(amounts[kinds == 5].sum()), "buyers": len(payers), "receipts": int((kinds == 6).sum()),
        "refunds": int((kinds == 7).sum()), "refunded_fen": int(amounts[kinds == 7].sum()),
    }  # fmt: skip
    lake.put_bytes(table_key(DAY_TOTALS_TABLE, day), _parquet({k: [v] for k, v in totals.items()},
                                                              SCHEMAS[DAY_TOTALS_TABLE]), "")  # fmt: skip
    buyers = {"user_id": np.char.add("u", payers.astype(str)).tolist()}
    lake.put_bytes(table_key(BUYER_DAYS_TABLE, day), _parquet(buyers, SCHEMAS[BUYER_DAYS_TABLE]), "")


def _parquet(columns: dict[str, Any], schema: pa.Schema) -> bytes:
    sink = pa.BufferOutputStream()
    pq.write_table(pa.Table.from_pydict(columns, schema=schema), sink, compression="zstd")
    return bytes(sink.getvalue().to_pybytes())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--months", type=int, default=12)
    parser.add_argument("--per-month", type=int, default=1_000_000)
    parser.add_argument("--rollups-only", action="store_true", help="write only the tables the report reads")
    parser.add_argument("--folder", help="keep the lake in this folder and reuse it on later runs (same arguments)")
    args = parser.parse_args()
    last = date(2026, 11, 30)
    first = last - timedelta(days=round(args.months * 365 / 12) - 1)
    days = [(first + timedelta(days=n)).isoformat() for n in range((last - first).days + 1)]
    per_day = args.per_month * 12 // 365
    rng = np.random.default_rng(7)
    with contextlib.ExitStack() as stack:
        folder = args.folder or stack.enter_context(tempfile.TemporaryDirectory())
        lake = FolderLake(Path(folder))
        started = time.perf_counter()
        if not (Path(folder) / "written").exists():  # --folder: written once, reused by later runs
            for n, day in enumerate(days):
                write_day(lake, day, per_day, rng, n * per_day, raw=not args.rollups_only)
            (Path(folder) / "written").write_text("")
        size = sum(p.stat().st_size for p in Path(folder).rglob("*.parquet"))
        print(f"lake: {len(days)} days, {per_day * len(days):,} events, {size / 1e6:.0f} MB of Parquet "
              f"(written in {time.perf_counter() - started:.0f} s)")  # fmt: skip
        query = RangeQuery.model_validate({"from": days[0], "to": days[-1]})
        timings, cpu = [], []
        for _ in range(3):
            started, started_cpu = time.perf_counter(), time.process_time()
            answer = service.summary(None, query, DuckDBWarehouse(lake))  # type: ignore[arg-type]
            timings.append(time.perf_counter() - started)
            cpu.append(time.process_time() - started_cpu)
        print(f"summary of {days[0]}..{days[-1]}: {len(answer['daily'])} days, {answer['paid_orders']:,} paid orders, "
              f"{answer['buyers']:,} buyers, top product {answer['top_products'][0]['product_id']}")  # fmt: skip
        print(f"time: best {min(timings):.2f} s, worst {max(timings):.2f} s of 3 runs (DuckDB, 2 shared vCPUs); "
              f"CPU {min(cpu):.2f}-{max(cpu):.2f} s (all threads)")  # fmt: skip
        print(f"goal within {GOAL_SECONDS:.0f} s: {'met' if max(timings) <= GOAL_SECONDS else 'NOT met'}")


if __name__ == "__main__":
    main()
