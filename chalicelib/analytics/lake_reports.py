"""Reports beyond LONG_RANGE_DAYS from the columnar lake: four SQL statements (days, buyers, products, categories)
run together by the warehouse (Athena, or DuckDB locally), answered in the roll-ups' row shapes so the summary and
the CSV export read them exactly as they read the DynamoDB roll-ups."""

from __future__ import annotations

from typing import Any

from chalicelib.analytics.rollup import CATEGORY_DAY_PK, DAY_PK, PRODUCT_DAY_PK
from chalicelib.analytics.warehouse import Statement, Warehouse

LONG_RANGE_DAYS = 31  # longer ranges are read from the lake, shorter ones from the roll-ups


def _count(kind: str) -> str:
    return f"SUM(CASE WHEN type = '{kind}' THEN 1 ELSE 0 END)"


def _sum(kind: str, column: str) -> str:
    return f"SUM(CASE WHEN type = '{kind}' THEN {column} ELSE 0 END)"


DAILY_SQL = f"""
SELECT dt AS sk,
  {_count("order_placed")} AS orders, {_count("order_paid")} AS paid_orders,
  {_sum("order_paid", "amount_fen")} AS gmv_fen,
  COUNT(DISTINCT CASE WHEN type = 'order_paid' THEN user_id END) AS buyers,
  {_count("product_viewed")} AS views, {_count("cart_item_added")} AS cart_adds,
  {_count("order_refunded")} AS refunds, {_sum("order_refunded", "amount_fen")} AS refunded_fen,
  {_count("search_performed")} AS searches, {_count("favorite_added")} AS favorites,
  {_count("order_received")} AS receipts, {_count("review_posted")} AS reviews
FROM shop_events WHERE dt BETWEEN ? AND ?
GROUP BY dt ORDER BY dt"""  # noqa: S608 (built from constants; values are ? parameters)

BUYERS_SQL = """
SELECT COUNT(DISTINCT user_id) AS buyers
FROM shop_events WHERE dt BETWEEN ? AND ? AND type = 'order_paid'"""

PRODUCTS_SQL = f"""
WITH seen AS (
  SELECT product_id, {_count("product_viewed")} AS views, {_count("favorite_added")} AS favorites,
    {_count("cart_item_added")} AS cart_adds, {_sum("cart_item_added", "quantity")} AS cart_units,
    {_count("review_posted")} AS reviews, MAX(category_id) AS category_id
  FROM shop_events WHERE dt BETWEEN ? AND ? AND product_id IS NOT NULL
  GROUP BY product_id
), bought AS (
  SELECT product_id,
    COUNT(DISTINCT CASE WHEN type = 'order_placed' THEN order_id END) AS orders,
    {_sum("order_placed", "quantity")} AS ordered_units,
    COUNT(DISTINCT CASE WHEN type = 'order_paid' THEN order_id END) AS paid_orders,
    {_sum("order_paid", "quantity")} AS paid_units, {_sum("order_paid", "payable_fen")} AS gmv_fen,
    MAX_BY(title, occurred_at) AS title, MAX_BY(category_id, occurred_at) AS category_id
  FROM shop_order_lines WHERE dt BETWEEN ? AND ?
  GROUP BY product_id
)
SELECT COALESCE(b.product_id, s.product_id) AS product_id, b.title AS title,
  COALESCE(b.category_id, s.category_id) AS category_id,
  COALESCE(s.views, 0) AS views, COALESCE(s.favorites, 0) AS favorites, COALESCE(s.cart_adds, 0) AS cart_adds,
  COALESCE(s.cart_units, 0) AS cart_units, COALESCE(s.reviews, 0) AS reviews,
  COALESCE(b.orders, 0) AS orders, COALESCE(b.ordered_units, 0) AS ordered_units,
  COALESCE(b.paid_orders, 0) AS paid_orders, COALESCE(b.paid_units, 0) AS paid_units,
  COALESCE(b.gmv_fen, 0) AS gmv_fen
FROM bought b FULL OUTER JOIN seen s ON b.product_id = s.product_id
ORDER BY gmv_fen DESC, paid_units DESC, views DESC, product_id"""  # noqa: S608 (constants only)

CATEGORIES_SQL = """
SELECT category_id, SUM(payable_fen) AS gmv_fen, SUM(quantity) AS paid_units
FROM shop_order_lines WHERE dt BETWEEN ? AND ? AND type = 'order_paid' AND category_id IS NOT NULL
GROUP BY category_id"""


def statements(first: str, last: str, top: int | None) -> list[Statement]:
    days = [first, last]
    products = PRODUCTS_SQL + (f"\nLIMIT {int(top)}" if top is not None else "")
    return [(DAILY_SQL, days), (BUYERS_SQL, days), (products, days + days), (CATEGORIES_SQL, days)]


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
