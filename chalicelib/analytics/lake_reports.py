"""Reports beyond LONG_RANGE_DAYS from the lake's daily roll-ups: four SQL statements (days, buyers, products,
categories) run together by the warehouse (Athena, or DuckDB locally), answered in the roll-ups' row shapes so the
summary and the CSV export read them exactly as they read the DynamoDB roll-ups."""

from __future__ import annotations

from typing import Any

from chalicelib.analytics.rollup import (
    CATEGORY_COUNTERS,
    CATEGORY_DAY_PK,
    DAY_COUNTERS,
    DAY_PK,
    PRODUCT_COUNTERS,
    PRODUCT_DAY_PK,
)
from chalicelib.analytics.warehouse import Statement, Warehouse

LONG_RANGE_DAYS = 31  # longer ranges are read from the lake, shorter ones from the roll-ups


def _sums(names: tuple[str, ...]) -> str:
    return ", ".join(f"SUM({name}) AS {name}" for name in names)


# The compaction keeps each day's roll-ups in the lake (columnar.daily_rollups): a year is 365 totals rows, a few
# thousand product rows a day, and the distinct payers of each day.
DAILY_SQL = f"""
SELECT dt AS sk, {_sums(DAY_COUNTERS)}
FROM shop_day_totals WHERE dt BETWEEN ? AND ?
GROUP BY dt ORDER BY dt"""  # noqa: S608 (built from constants; values are ? parameters)

BUYERS_SQL = """
SELECT COUNT(DISTINCT user_id) AS buyers
FROM shop_buyer_days WHERE dt BETWEEN ? AND ?"""

PRODUCTS_SQL = f"""
SELECT product_id, MAX_BY(title, dt) FILTER (WHERE title IS NOT NULL) AS title,
  MAX_BY(category_id, dt) FILTER (WHERE category_id IS NOT NULL) AS category_id, {_sums(PRODUCT_COUNTERS)}
FROM shop_product_days WHERE dt BETWEEN ? AND ?
GROUP BY product_id
ORDER BY gmv_fen DESC, paid_units DESC, views DESC, product_id"""  # noqa: S608 (constants only)

CATEGORIES_SQL = f"""
SELECT category_id, {_sums(CATEGORY_COUNTERS)}
FROM shop_category_days WHERE dt BETWEEN ? AND ?
GROUP BY category_id"""  # noqa: S608 (constants only)


def statements(first: str, last: str, top: int | None) -> list[Statement]:
    days = [first, last]
    products = PRODUCTS_SQL + (f"\nLIMIT {int(top)}" if top is not None else "")
    return [(DAILY_SQL, days), (BUYERS_SQL, days), (products, days), (CATEGORIES_SQL, days)]


class LakeFigures:
    """The roll-ups' read side over the lake for one range: the four statements run once, on first use."""

    def __init__(self, warehouse: Warehouse, first: str, last: str, top: int | None = None) -> None:
        self.warehouse = warehouse
        self.first, self.last, self.top = first, last, top
        self._answers: list[list[dict[str, Any]]] | None = None

    def _rows(self, index: int) -> list[dict[str, Any]]:
        if self._answers is None:
            self._answers = self.warehouse.query(statements(self.first, self.last, self.top), (self.first, self.last))
        return self._answers[index]

    def rollups(self, pk: str, first: str, last: str) -> list[dict[str, Any]]:
        """Days as DAY rows (sk = the day); products and categories as one row each for the whole range."""
        if pk == DAY_PK:
            return [_ints(row) for row in self._rows(0)]
        if pk == PRODUCT_DAY_PK:
            return [_ints(row) | {"sk": f"{self.last}#{row['product_id']}"} for row in self._rows(2)]
        if pk == CATEGORY_DAY_PK:
            return [_ints(row) | {"sk": f"{self.last}#{row['category_id']}"} for row in self._rows(3)]
        raise ValueError(f"no lake report for {pk}")

    def buyer_count(self, first: str, last: str) -> int:
        rows = self._rows(1)
        return int(rows[0]["buyers"] or 0) if rows else 0


def _ints(row: dict[str, Any]) -> dict[str, Any]:
    return {key: int(value) if isinstance(value, int | float) and not isinstance(value, bool) else value
            for key, value in row.items()}  # fmt: skip
