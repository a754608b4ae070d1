"""The lake in columns: each business day's raw event objects compacted into two zstd Parquet files that Athena
(and DuckDB locally) read: `shop_events` (one row per event) and `shop_order_lines` (one row per line of an order
event), under columnar/<table>/dt=<day>/part-0.parquet.

pyarrow is imported only here, and this module only by the compaction handler (its own function and layer).
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from chalicelib.analytics.lake import Lake, day_prefix

COLUMNAR_PREFIX = "columnar/"
EVENTS_TABLE = "shop_events"
LINES_TABLE = "shop_order_lines"
READERS = 8

EVENT_SCHEMA = pa.schema([
    ("event_id", pa.string()), ("type", pa.string()), ("occurred_at", pa.string()), ("user_id", pa.string()),
    ("product_id", pa.string()), ("sku_id", pa.string()), ("category_id", pa.string()), ("quantity", pa.int32()),
    ("keyword", pa.string()), ("results", pa.int32()), ("order_id", pa.string()), ("refund_id", pa.string()),
    ("payment_id", pa.string()), ("channel", pa.string()), ("amount_fen", pa.int64()), ("rating", pa.int32()),
])  # fmt: skip
LINE_SCHEMA = pa.schema([
    ("event_id", pa.string()), ("type", pa.string()), ("occurred_at", pa.string()), ("user_id", pa.string()),
    ("order_id", pa.string()), ("product_id", pa.string()), ("sku_id", pa.string()), ("category_id", pa.string()),
    ("quantity", pa.int32()), ("payable_fen", pa.int64()), ("title", pa.string()),
])  # fmt: skip


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


def compact_day(lake: Lake, day: str) -> int:
    """Rewrite the day's two Parquet files from its raw objects (each event once); how many events they hold."""
    rows, lines = tables(_once(lake, lake.keys(day_prefix(day))))
    lake.put_bytes(table_key(EVENTS_TABLE, day), _parquet(rows, EVENT_SCHEMA), "application/vnd.apache.parquet")
    lake.put_bytes(table_key(LINES_TABLE, day), _parquet(lines, LINE_SCHEMA), "application/vnd.apache.parquet")
    return len(rows["event_id"])
