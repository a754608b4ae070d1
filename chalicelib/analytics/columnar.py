"""The lake in columns: each business day's raw event objects compacted into zstd Parquet files that Athena (and
DuckDB locally) read, under columnar/<table>/dt=<day>/part-0.parquet: `shop_events` (one row per event) and
`shop_order_lines` (one row per line of an order event) for ad-hoc SQL, and the day's roll-ups (`shop_day_totals`,
`shop_product_days`, `shop_category_days`, `shop_buyer_days`) that long reports add up.

pyarrow is imported only here, and this module only by the compaction handler (its own function and layer).
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from chalicelib.analytics import rollup
from chalicelib.analytics.lake import Lake, day_prefix
from chalicelib.analytics.schemas import EVENT_ADAPTER
from chalicelib.analytics.warehouse import TABLE_COLUMNS

COLUMNAR_PREFIX = "columnar/"
EVENTS_TABLE = "shop_events"
LINES_TABLE = "shop_order_lines"
READERS = 8

DAY_TOTALS_TABLE, PRODUCT_DAYS_TABLE, CATEGORY_DAYS_TABLE, BUYER_DAYS_TABLE = (
    "shop_day_totals", "shop_product_days", "shop_category_days", "shop_buyer_days",
)  # fmt: skip
_ARROW = {"string": pa.string(), "int": pa.int32(), "bigint": pa.int64()}
SCHEMAS = {table: pa.schema([(n, _ARROW[k]) for n, k in columns]) for table, columns in TABLE_COLUMNS.items()}
EVENT_SCHEMA, LINE_SCHEMA = SCHEMAS[EVENTS_TABLE], SCHEMAS[LINES_TABLE]


def table_key(table: str, day: str) -> str:
    return f"{COLUMNAR_PREFIX}{table}/dt={day}/part-0.parquet"


def _once(lake: Lake, keys: list[str]) -> Iterator[dict[str, Any]]:
    seen: set[str] = set()
    with ThreadPoolExecutor(READERS) as pool:
        for lines in pool.map(lake.lines, sorted(keys)):
            for line in lines:
                event_id = str(line.get("event_id"))
                if event_id not in seen:
                    seen.add(event_id)
                    yield line


def _parquet(rows: dict[str, list[Any]], schema: pa.Schema) -> bytes:
    out = io.BytesIO()
    pq.write_table(pa.Table.from_pydict(rows, schema=schema), out, compression="zstd")
    return out.getvalue()


def tables(events: Iterable[dict[str, Any]]) -> tuple[dict[str, list[Any]], dict[str, list[Any]]]:
    """The events' columns and their order lines' columns (the lake's cleaned events: no validation needed)."""
    rows: dict[str, list[Any]] = {name: [] for name in EVENT_SCHEMA.names}
    lines: dict[str, list[Any]] = {name: [] for name in LINE_SCHEMA.names}
    for event in events:
        for name in EVENT_SCHEMA.names:
            rows[name].append(event.get(name))
        for line in event.get("lines") or []:
            for name in ("event_id", "type", "occurred_at", "user_id", "order_id"):
                lines[name].append(event.get(name))
            for name in ("product_id", "sku_id", "category_id", "quantity", "payable_fen", "title"):
                lines[name].append(line.get(name))
    return rows, lines


def daily_rollups(events: list[dict[str, Any]]) -> dict[str, dict[str, list[Any]]]:
    """The day's roll-up tables, by the consumer's own arithmetic (rollup.increments_of): totals (one row), products,
    categories, and the distinct buyers."""
    increments: list[rollup.Increment] = []
    buyers: set[str] = set()
    for line in events:
        event = EVENT_ADAPTER.validate_python(line)
        increments.extend(rollup.increments_of(event))
        if (buyer := rollup.buyer_day_of(event)) is not None:
            buyers.add(buyer[1])
    out: dict[str, dict[str, list[Any]]] = {
        table: {name: [] for name in SCHEMAS[table].names} for table in (PRODUCT_DAYS_TABLE, CATEGORY_DAYS_TABLE)
    }
    totals = dict.fromkeys(rollup.DAY_COUNTERS, 0) | {"buyers": len(buyers)}
    for increment in rollup.merge(increments):
        if increment.pk == rollup.DAY_PK:
            for name, value in increment.counters.items():
                totals[name] += value
            continue
        table = PRODUCT_DAYS_TABLE if increment.pk == rollup.PRODUCT_DAY_PK else CATEGORY_DAYS_TABLE
        values = {**increment.counters, **increment.labels}
        for name, column in out[table].items():
            column.append(values.get(name, None if SCHEMAS[table].field(name).type == pa.string() else 0))
    out[DAY_TOTALS_TABLE] = {name: [value] for name, value in totals.items()}
    out[BUYER_DAYS_TABLE] = {"user_id": sorted(buyers)}
    return out


def compacted(lake: Lake, day: str) -> bool:
    return bool(lake.keys(table_key(EVENTS_TABLE, day)))


def compact_day(lake: Lake, day: str) -> int:
    """Rewrite the day's Parquet files from its raw objects (each event once); how many events they hold."""
    events = list(_once(lake, lake.keys(day_prefix(day))))
    rows, lines = tables(events)
    written = {EVENTS_TABLE: rows, LINES_TABLE: lines, **daily_rollups(events)}
    for table, columns in written.items():
        lake.put_bytes(table_key(table, day), _parquet(columns, SCHEMAS[table]), "application/vnd.apache.parquet")
    return len(rows["event_id"])
