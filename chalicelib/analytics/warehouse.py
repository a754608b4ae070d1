"""One small query interface over the columnar lake: Athena on AWS, DuckDB locally, the same SQL on both.

The SQL names two tables, `shop_events` and `shop_order_lines` (docs/analytics.md), partitioned by `dt`, and takes
positional `?` parameters (strings). Athena gets them as ExecutionParameters; DuckDB reads the Parquet files of
the days asked for from the lake bucket. duckdb is a development dependency, imported only by DuckDBWarehouse.
"""

from __future__ import annotations

import time
from typing import Any, Protocol

from chalicelib.analytics.lake import Lake
from chalicelib.analytics.rollup import CATEGORY_COUNTERS, DAY_COUNTERS, PRODUCT_COUNTERS

COLUMNAR_PREFIX = "columnar/"
ATHENA_POLL_SECONDS = (0.1, 0.2, 0.3, 0.5, 0.5, 1.0)
ATHENA_TIMEOUT_SECONDS = 25.0  # inside API Gateway's 29 s


class QueryFailed(RuntimeError):
    """The warehouse could not answer."""


Statement = tuple[str, list[str]]  # SQL with `?` placeholders, and their values


class Warehouse(Protocol):
    def query(self, statements: list[Statement], days: tuple[str, str]) -> list[list[dict[str, Any]]]:
        """Each statement's rows as dicts (run together: in parallel on Athena, on one connection on DuckDB);
        `days` (first, last) bounds the dt partitions they read."""
        ...


def _literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


class AthenaWarehouse:
    """Athena over the Glue tables of the template (partition projection on dt: no crawler, no MSCK)."""

    def __init__(self, database: str, workgroup: str) -> None:
        self.database = database
        self.workgroup = workgroup

    def query(self, statements: list[Statement], days: tuple[str, str]) -> list[list[dict[str, Any]]]:
        from chalicelib.aws import client

        athena = client("athena")
        ids = [
            athena.start_query_execution(
                QueryString=sql,
                QueryExecutionContext={"Database": self.database},
                WorkGroup=self.workgroup,
                **({"ExecutionParameters": [_literal(p) for p in params]} if params else {}),
            )["QueryExecutionId"]
            for sql, params in statements
        ]
        deadline = time.monotonic() + ATHENA_TIMEOUT_SECONDS
        pending = set(ids)
        for attempt in range(10_000):
            for query_id in sorted(pending):
                state = athena.get_query_execution(QueryExecutionId=query_id)["QueryExecution"]["Status"]
                if state["State"] == "SUCCEEDED":
                    pending.discard(query_id)
                elif state["State"] in ("FAILED", "CANCELLED"):
                    raise QueryFailed(state.get("StateChangeReason") or state["State"])
            if not pending:
                break
            if time.monotonic() > deadline:
                raise QueryFailed("the warehouse did not answer in time")
            time.sleep(ATHENA_POLL_SECONDS[min(attempt, len(ATHENA_POLL_SECONDS) - 1)])
        return [_results(athena, query_id) for query_id in ids]


def _results(athena: Any, query_id: str) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for number, page in enumerate(athena.get_paginator("get_query_results").paginate(QueryExecutionId=query_id)):
        columns = [(c["Name"], c["Type"]) for c in page["ResultSet"]["ResultSetMetadata"]["ColumnInfo"]]
        data = page["ResultSet"]["Rows"][1:] if number == 0 else page["ResultSet"]["Rows"]  # the header row first
        for row in data:
            values = [cell.get("VarCharValue") for cell in row["Data"]]
            rows.append({name: _typed(kind, value) for (name, kind), value in zip(columns, values, strict=True)})
    return rows


def _typed(kind: str, value: str | None) -> Any:
    if value is None:
        return None
    if kind in ("bigint", "integer", "smallint", "tinyint"):
        return int(value)
    if kind in ("double", "float", "real", "decimal"):
        return float(value)
    return value


class DuckDBWarehouse:
    """The same SQL on DuckDB over the lake bucket's Parquet files (the local runtime, tests and benches: Athena on
    moto runs no SQL). The files of the days asked for are read into memory (Arrow) and queried as the tables."""

    def __init__(self, lake: Lake) -> None:
        self.lake = lake

    def query(self, statements: list[Statement], days: tuple[str, str]) -> list[list[dict[str, Any]]]:
        import duckdb  # development dependencies: only the local runtime, tests and benches query this way

        wanted = [table for table in TABLES if any(table in sql for sql, _ in statements)]  # only the tables read
        tables = self._tables(wanted, days)
        with duckdb.connect() as db:
            for table in wanted:
                if tables[table] is None:
                    db.execute(f"CREATE VIEW {table} AS SELECT * FROM {_EMPTY[table]}")  # noqa: S608 (our names)
                else:
                    db.register(table, tables[table])
            answers = []
            for sql, params in statements:
                cursor = db.execute(sql, params)
                names = [d[0] for d in cursor.description]
                answers.append([dict(zip(names, row, strict=True)) for row in cursor.fetchall()])
            return answers

    def _tables(self, tables: list[str], days: tuple[str, str]) -> dict[str, Any]:
        """Each table's files of those days as one Arrow table with its dt column (None: no file). The files of all
        the tables are read in one pool: a year is ~1,500 small files, so the cost is per file, and each one is read
        single-threaded (pyarrow's own threads cost more than they save on a file of a few rows)."""
        from concurrent.futures import ThreadPoolExecutor

        import pyarrow as pa
        import pyarrow.parquet as pq

        def day_of(key: str) -> str:
            return key.split("dt=", 1)[1].split("/", 1)[0]

        keys = [
            (table, key)
            for table in tables
            for key in self.lake.keys(f"{COLUMNAR_PREFIX}{table}/")
            if days[0] <= day_of(key) <= days[1]
        ]

        def read(key: str) -> Any:
            body = self.lake.get_bytes(key)
            if body is None:
                return None
            part = pq.ParquetFile(pa.BufferReader(body)).read(use_threads=False)
            dt = pa.DictionaryArray.from_arrays(pa.nulls(part.num_rows, pa.int8()).fill_null(0), [day_of(key)])
            return part.append_column("dt", dt.cast(pa.string()))

        with ThreadPoolExecutor(8) as pool:
            parts = list(pool.map(read, [key for _, key in keys]))
        found: dict[str, list[Any]] = {table: [] for table in tables}
        for (table, _), part in zip(keys, parts, strict=True):
            if part is not None:
                found[table].append(part)
        return {table: pa.concat_tables(found[table]) if found[table] else None for table in tables}


def _columns(names: tuple[str, ...], kind: str) -> list[tuple[str, str]]:
    return [(name, kind) for name in names]


# The lake's tables and their columns (dt, the partition, apart): raw events and order lines for ad-hoc SQL, and the
# daily roll-ups the compaction adds up from them (the same arithmetic as the DynamoDB roll-ups) for the reports.
TABLE_COLUMNS: dict[str, list[tuple[str, str]]] = {
    "shop_events": [
        ("event_id", "string"), ("type", "string"), ("occurred_at", "string"), ("user_id", "string"),
        ("product_id", "string"), ("sku_id", "string"), ("category_id", "string"), ("quantity", "int"),
        ("keyword", "string"), ("results", "int"), ("order_id", "string"), ("refund_id", "string"),
        ("payment_id", "string"), ("channel", "string"), ("amount_fen", "bigint"), ("rating", "int"),
    ],
    "shop_order_lines": [
        ("event_id", "string"), ("type", "string"), ("occurred_at", "string"), ("user_id", "string"),
        ("order_id", "string"), ("product_id", "string"), ("sku_id", "string"), ("category_id", "string"),
        ("quantity", "int"), ("payable_fen", "bigint"), ("title", "string"),
    ],
    "shop_day_totals": _columns(DAY_COUNTERS, "bigint"),
    "shop_product_days": [("product_id", "string"), ("category_id", "string"), ("title", "string"),
                          *_columns(PRODUCT_COUNTERS, "bigint")],
    "shop_category_days": [("category_id", "string"), *_columns(CATEGORY_COUNTERS, "bigint")],
    "shop_buyer_days": [("user_id", "string")],
}  # fmt: skip
TABLES = tuple(TABLE_COLUMNS)
_DUCK_TYPES = {"string": "VARCHAR", "int": "INTEGER", "bigint": "BIGINT"}
# No file for the range: an empty table of the same columns.
_EMPTY = {
    table: "(SELECT "
    + ", ".join(f"NULL::{_DUCK_TYPES[kind]} AS {name}" for name, kind in [*columns, ("dt", "string")])
    + " WHERE false)"
    for table, columns in TABLE_COLUMNS.items()
}
