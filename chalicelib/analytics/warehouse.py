"""One small query interface over the columnar lake: Athena on AWS, DuckDB locally, the same SQL on both.

The SQL names two tables, `shop_events` and `shop_order_lines` (docs/analytics.md), partitioned by `dt`, and takes
positional `?` parameters (strings). Athena gets them as ExecutionParameters; DuckDB reads the Parquet files of
the days asked for from the lake bucket. duckdb is a development dependency, imported only by DuckDBWarehouse.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path
from typing import Any, Protocol

from chalicelib.analytics.lake import Lake

TABLES = ("shop_events", "shop_order_lines")
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
    """The same SQL on DuckDB over the lake bucket's Parquet files (the local runtime and tests: Athena on moto
    runs no SQL). The files of the days asked for are fetched into a temporary folder, then read as the tables."""

    def __init__(self, lake: Lake) -> None:
        self.lake = lake

    def query(self, statements: list[Statement], days: tuple[str, str]) -> list[list[dict[str, Any]]]:
        import duckdb  # development dependency: only the local runtime, tests and benches query this way

        with tempfile.TemporaryDirectory() as folder, duckdb.connect() as db:
            for table in TABLES:
                files = self._fetch(table, days, Path(folder))
                source = _EMPTY[table]
                if files:
                    listed = ", ".join(_literal(str(f)) for f in files)
                    source = f"read_parquet([{listed}], hive_partitioning = true, hive_types = {{'dt': VARCHAR}})"
                db.execute(f"CREATE VIEW {table} AS SELECT * FROM {source}")  # noqa: S608 (our names and paths)
            answers = []
            for sql, params in statements:
                cursor = db.execute(sql, params)
                names = [d[0] for d in cursor.description]
                answers.append([dict(zip(names, row, strict=True)) for row in cursor.fetchall()])
            return answers

    def _fetch(self, table: str, days: tuple[str, str], folder: Path) -> list[Path]:
        files = []
        for key in self.lake.keys(f"{COLUMNAR_PREFIX}{table}/"):
            day = key.split("dt=", 1)[1].split("/", 1)[0]
            if days[0] <= day <= days[1]:
                body = self.lake.get_bytes(key)
                if body is not None:
                    path = folder / key
                    path.parent.mkdir(parents=True, exist_ok=True)
                    path.write_bytes(body)
                    files.append(path)
        return files


# No file for the range: empty tables of the same columns (types as the Parquet files have them).
_EMPTY = {
    "shop_events": "(SELECT NULL::VARCHAR AS event_id, NULL::VARCHAR AS type, NULL::VARCHAR AS occurred_at, "
    "NULL::VARCHAR AS user_id, NULL::VARCHAR AS product_id, NULL::VARCHAR AS sku_id, NULL::VARCHAR AS category_id, "
    "NULL::INTEGER AS quantity, NULL::VARCHAR AS keyword, NULL::INTEGER AS results, NULL::VARCHAR AS order_id, "
    "NULL::VARCHAR AS refund_id, NULL::VARCHAR AS payment_id, NULL::VARCHAR AS channel, NULL::BIGINT AS amount_fen, "
    "NULL::INTEGER AS rating, NULL::VARCHAR AS dt WHERE false)",
    "shop_order_lines": "(SELECT NULL::VARCHAR AS event_id, NULL::VARCHAR AS type, NULL::VARCHAR AS occurred_at, "
    "NULL::VARCHAR AS user_id, NULL::VARCHAR AS order_id, NULL::VARCHAR AS product_id, NULL::VARCHAR AS sku_id, "
    "NULL::VARCHAR AS category_id, NULL::INTEGER AS quantity, NULL::BIGINT AS payable_fen, NULL::VARCHAR AS title, "
    "NULL::VARCHAR AS dt WHERE false)",
}
